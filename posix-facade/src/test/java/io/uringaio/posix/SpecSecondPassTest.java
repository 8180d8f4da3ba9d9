package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.LIO_NOP;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A spec-conformance pass by a reader who did not write the facade: {@code spec/posix-facade.md} line by line (and,
 * where it leaves a case open, POSIX and aio(7)), each pinned behaviour that no other class asserted, as a hostile
 * caller would reach it. Each case asserts the return value, the errno and that nothing else changed: a request in
 * flight all along (the bystander, a pipe read) still completes with its own result, and nothing ends ECANCELED that
 * nobody canceled. Private context; both backends (the pom runs the suite twice).
 */
class SpecSecondPassTest extends PosixTestSupport {

    private AioContext ctx;
    private int[] bystanderPipe;
    private Aiocb bystander;
    private final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void start() {
        ctx = new AioContext();
        bystanderPipe = pipe();
        bystander = readCb(bystanderPipe[0], 0, 8);
        assertEquals(0, ctx.aio_read(bystander));
    }

    /** Nothing else changed: the bystander is still in flight, then completes with its own result. */
    @AfterEach
    void bystanderUnharmed() {
        try {
            assertEquals(EINPROGRESS, ctx.aio_error(bystander), "the bystander was disturbed");
            writeTo(bystanderPipe[1], "bystand");
            awaitDone(ctx, bystander);
            assertEquals(0, ctx.aio_error(bystander));
            assertEquals(7, ctx.aio_return(bystander));
            assertEquals("bystand", text(bystander.aio_buf, 7));
        } finally {
            ctx.close();
        }
    }

    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), null);
    }

    private void assertNotifications(int expected) {
        awaitTrue(expected + " notifications", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
    }

    // ---------------------------------------------------------------- buffers by absolute index

    /**
     * The spec: {@code aio_buf}'s "position and limit are never read or changed" (Unistd: "buffers by absolute index
     * from 0, like Aiocb"), so another thread may move them as it likes while a write runs. A read-only heap buffer has
     * no array for the facade to copy from: the copy went through {@code duplicate()}, which reads the caller's mark,
     * position and limit one after the other and checks them together, and threw IllegalArgumentException ("mark >
     * position", "newPosition > limit") when they moved in between: out of {@code Unistd.pwrite} as an exception, and
     * an {@code aio_write} ended EIO having written nothing. Bounded (3 s): the copy itself ({@code Bounce.copyIn}, in
     * a tight loop, where the race is likeliest) and, every so often, a pwrite and an aio_write, each of indices [0, n)
     * whatever the window, which the file then holds.
     */
    @Test
    void readOnlyHeapBuffer_whoseWindowAnotherThreadMoves_isWrittenFromIndexZero_andNothingThrows() throws Exception {
        int fd = openTemp("window", 0);
        byte[] data = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
        int n = data.length;
        ByteBuffer ro = ByteBuffer.wrap(data).asReadOnlyBuffer();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger moves = new AtomicInteger(); // fences between the steps: each is stored, none merged away
        Thread mover = new Thread(() -> {
            while (!stop.get()) {
                ro.limit(n).position(n).mark(); // a mark at the end ...
                moves.incrementAndGet();
                ro.position(0).limit(1); // ... dropped again, and a window of one byte at the start
                moves.incrementAndGet();
            }
        }, "window-mover");
        mover.setDaemon(true);
        mover.start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            ByteBuffer scratch = ByteBuffer.allocateDirect(n);
            ByteBuffer got = ByteBuffer.allocateDirect(n);
            for (int round = 0; System.nanoTime() - end < 0; round++) {
                for (int i = 0; i < 4096; i++) {
                    moves.get(); // a volatile read: the copy's reads of the window are not hoisted out of the loop
                    Bounce.copyIn(scratch, ro, n);
                }
                assertEquals("0123456789abcdef", text(scratch, n));
                long off = (long) (round % 64) * n;
                if (round % 2 == 1) {
                    Aiocb w = aiocb(fd, off, ro, n);
                    assertEquals(0, ctx.aio_write(w));
                    awaitDone(ctx, w);
                    assertEquals(0, ctx.aio_error(w), "aio_write round " + round);
                    assertEquals(n, ctx.aio_return(w));
                } else {
                    assertEquals(n, Unistd.pwrite(fd, ro, n, off), () -> "pwrite errno " + Aio.errno());
                }
                assertEquals(n, Unistd.pread(fd, got, n, off));
                assertEquals("0123456789abcdef", text(got, n), "round " + round);
            }
        } finally {
            stop.set(true);
            join(mover);
        }
    }
}
