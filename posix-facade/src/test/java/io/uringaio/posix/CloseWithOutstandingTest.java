package io.uringaio.posix;

import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.uapi.Uapi;

import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * {@link Unistd#close} of a descriptor with requests still outstanding on it. POSIX: such a request "may be canceled;
 * one that is not canceled completes as if the close had not yet occurred". A request still queued in user space when
 * the descriptor is closed must therefore never run on the file that reuses the descriptor's number afterwards (the
 * kernel resolves the number when the request starts): it would read another file's data, or write into it.
 */
class CloseWithOutstandingTest extends PosixTestSupport {

    /**
     * Every ring thread of a private context is held in a completion callback while a pipe read is queued behind it;
     * the pipe is closed and a new pipe takes the same numbers; a read is queued on the new pipe; the rings are let go.
     * The first read belongs to the closed pipe: it must end (canceled, EBADF or EOF) without data, and the new pipe's
     * read must receive what is written to the new pipe. Before the fix the stale read ran on the new pipe and took its
     * data (the waiting read never completed: the hang seen in AioSuspendTest's huge-timeout case under load).
     */
    @Test
    void aQueuedReadNeverRunsOnTheFileThatReusesTheClosedNumber() throws Exception {
        try (AioContext ctx = nettyRingsOnly()) {
            RingEngine engine = ctx.engine();
            CountDownLatch release = holdEveryRing(engine);
            Thread releaser = new Thread(() -> {
                sleepMillis(300); // the window in which a close may race the queued read (before the fix)
                release.countDown();
            }, "ring-releaser");
            try {
                int[] old = new int[2];
                assertEquals(0, Unistd.pipe(old));
                Aiocb stale = readCb(old[0], 0, 8);
                assertEquals(0, ctx.aio_read(stale));
                releaser.start();
                assertEquals(0, Unistd.close(old[1]));
                assertEquals(0, Unistd.close(old[0]));
                int[] fresh = pipe();
                assumeTrue(fresh[0] == old[0] || fresh[1] == old[0],
                        "the new pipe did not reuse the closed read end's number (another thread took it)");
                int readEnd = fresh[0];
                // The next read goes to the stale read's ring: a thread keeps its ring.
                Aiocb mine = readCb(readEnd, 0, 8);
                assertEquals(0, ctx.aio_read(mine));
                release.countDown();
                awaitDone(ctx, stale);
                assertNotEquals(1L, ctx.aio_return(stale), "the closed pipe's read took the new pipe's data");
                writeTo(fresh[1], "x");
                awaitDone(ctx, mine);
                assertEquals(0, ctx.aio_error(mine));
                assertEquals(1L, ctx.aio_return(mine));
                assertEquals('x', ((ByteBuffer) mine.aio_buf).get(0));
            } finally {
                release.countDown();
                releaser.join(DEADLINE_MILLIS);
            }
        }
    }

    /**
     * A write queued in user space when its descriptor is closed never lands in the file that takes the number next:
     * the other file keeps its bytes.
     */
    @Test
    void aQueuedWriteNeverLandsInTheFileThatReusesTheClosedNumber() throws Exception {
        try (AioContext ctx = nettyRingsOnly()) {
            RingEngine engine = ctx.engine();
            CountDownLatch release = holdEveryRing(engine);
            Thread releaser = new Thread(() -> {
                sleepMillis(300);
                release.countDown();
            }, "ring-releaser");
            try {
                int closed = Fcntl.open(dir.resolve("closed").toString(),
                        Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
                assertTrue(closed >= 0);
                Aiocb stray = writeCb(closed, 0, "STRAY");
                assertEquals(0, ctx.aio_write(stray));
                releaser.start();
                assertEquals(0, Unistd.close(closed));
                int bystander = tempFileWith("bystander", "untouched");
                assumeTrue(bystander == closed, "the bystander file did not reuse the closed number");
                release.countDown();
                awaitDone(ctx, stray);
                ByteBuffer back = ByteBuffer.allocateDirect(9);
                assertEquals(9, Unistd.pread(bystander, back, 9, 0));
                byte[] got = new byte[9];
                back.get(0, got);
                assertEquals("untouched", new String(got, java.nio.charset.StandardCharsets.US_ASCII),
                        "a write queued for the closed descriptor landed in the file that reused its number");
                assertNotEquals(EINPROGRESS, ctx.aio_error(stray));
            } finally {
                release.countDown();
                releaser.join(DEADLINE_MILLIS);
            }
        }
    }

    /**
     * A context whose requests all go through the Netty rings' queues (no caller rings: a caller ring's request enters
     * the kernel on the submitting thread, inside the call, so its descriptor is resolved before the call returns).
     */
    private static AioContext nettyRingsOnly() {
        return new AioContext(new RingEngineConfig().callerRings(0));
    }

    /**
     * Holds every ring thread of {@code engine} inside a completion callback (a NOP per ring, each submitted from a
     * fresh thread: a thread keeps one ring and new threads take the rings in turn) until the returned latch is
     * counted down; returns once all are held.
     */
    private static CountDownLatch holdEveryRing(RingEngine engine) throws InterruptedException {
        int rings = engine.ringCount();
        CountDownLatch held = new CountDownLatch(rings);
        CountDownLatch release = new CountDownLatch(1);
        for (int i = 0; i < rings; i++) {
            Request hold = new Request((r, res) -> {
                held.countDown();
                awaitQuietly(release);
            });
            hold.prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0);
            Thread submitter = Thread.ofPlatform().start(() -> engine.submit(hold));
            submitter.join(DEADLINE_MILLIS);
        }
        assertTrue(held.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS), "ring threads not held");
        return release;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
