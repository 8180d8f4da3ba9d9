package io.uringaio.posix;

import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.Backend;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.RingEngineConfig;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;

/**
 * {@link Unistd#close} against requests of the descriptor that are between the facade and the engine: released by an
 * older request's completion but not yet handed to the engine, and long runs held back by the descriptor's ordering.
 * A request that {@code aio_write} accepted before the close was called either is canceled or completes on its own file
 * before the close; never on the file that takes the number next, and the close stays bounded.
 */
class CloseRaceTest extends PosixTestSupport {
    /** The default pipe capacity on Linux (16 pages): a write of this many bytes to an empty pipe does not block. */
    private static final int PIPE_CAPACITY = 65536;

    /**
     * Write A blocks on a full pipe; write B (same range) is held back behind it. A's completion releases B on the
     * engine's thread, which is then held before it hands B to the engine (the descriptor table's map entry is held,
     * reached through the test-only small dense range). The pipe is closed meanwhile and a file takes its number.
     * Before the fix the close saw B as in the facade's hands but unknown to the engine (its cancel answered "already
     * done"), did not wait, and B then wrote into the file that took the number.
     */
    @Test
    void aReleasedRequestNotYetInTheEngineNeverRunsOnTheReusedNumber() throws Exception {
        try (AioContext ctx = new AioContext(new RingEngineConfig(), 0)) {
            int[] p = new int[2];
            assertEquals(0, Unistd.pipe(p));
            int readEnd = p[0];
            int writeEnd = p[1];
            try {
                assertEquals(PIPE_CAPACITY, Unistd.write(writeEnd, ByteBuffer.allocateDirect(PIPE_CAPACITY),
                        PIPE_CAPACITY));
                Aiocb a = writeCb(writeEnd, 0, "AAAA");
                Aiocb b = writeCb(writeEnd, 0, "BBBB");
                assertEquals(0, ctx.aio_write(a));
                assertEquals(0, ctx.aio_write(b));
                assertEquals(Aiocb.WAITING, b.state, "B is not held back behind A");
                MapEntryHold hold = MapEntryHold.take(ctx, writeEnd);
                CountDownLatch closeReturned = new CountDownLatch(1);
                Thread closer = null;
                boolean reused = false;
                try {
                    // Room in the pipe: A completes, releases B, and its thread stops at the held entry.
                    assertEquals(8192, Unistd.read(readEnd, ByteBuffer.allocateDirect(8192), 8192));
                    awaitDone(ctx, a);
                    assertEquals(4L, ctx.aio_return(a));
                    assertEquals(Aiocb.IN_KERNEL, b.state);
                    closer = Thread.ofPlatform().name("closer").start(() -> {
                        Unistd.close(writeEnd);
                        closeReturned.countDown();
                    });
                    // Either the close returns without waiting for B (the defect), or it waits for B's completion.
                    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
                    while (!closeReturned.await(1, TimeUnit.MILLISECONDS)
                            && LockSupport.getBlocker(closer) != Waiters.class) {
                        assertTrue(System.nanoTime() < deadline, "close neither returned nor waited for B");
                    }
                    if (closeReturned.getCount() == 0) {
                        int bystander = tempFileWith("bystander", "untouched");
                        assumeTrue(bystander == writeEnd, "the bystander did not take the closed number");
                        reused = true;
                    }
                } finally {
                    hold.release();
                }
                join(closer);
                awaitDone(ctx, b);
                if (reused) {
                    assertEquals("untouched", fileContent("bystander"),
                            "a write released before the close ran on the file that took the closed number");
                }
                // B either was canceled or wrote to its own pipe, before the close.
                int err = ctx.aio_error(b);
                assertTrue(err == 0 || err == Errno.ECANCELED, "B ended with errno " + err);
                if (err == 0) {
                    assertEquals(4L, ctx.aio_return(b));
                }
            } finally {
                Unistd.close(readEnd);
            }
        }
    }

    /**
     * {@code aio_cancel} of a request released by an older one's completion but not yet handed to the engine (the
     * completing thread held as in the close case above). Before the fix the engine, which did not hold it yet,
     * answered "already done", and aio_cancel returned AIO_ALLDONE for a request whose aio_error was EINPROGRESS and
     * which then ran. It was not canceled and completes normally: AIO_NOTCANCELED.
     */
    @Test
    void cancelOfAReleasedRequestNotYetInTheEngineIsNotCanceledRatherThanAllDone() throws Exception {
        try (AioContext ctx = new AioContext(new RingEngineConfig(), 0)) {
            int[] p = new int[2];
            assertEquals(0, Unistd.pipe(p));
            try {
                assertEquals(PIPE_CAPACITY, Unistd.write(p[1], ByteBuffer.allocateDirect(PIPE_CAPACITY),
                        PIPE_CAPACITY));
                Aiocb a = writeCb(p[1], 0, "AAAA");
                Aiocb b = writeCb(p[1], 0, "BBBB");
                assertEquals(0, ctx.aio_write(a));
                assertEquals(0, ctx.aio_write(b));
                assertEquals(Aiocb.WAITING, b.state, "B is not held back behind A");
                MapEntryHold hold = MapEntryHold.take(ctx, p[1]);
                int rc;
                int errorRightAfter;
                try {
                    assertEquals(8192, Unistd.read(p[0], ByteBuffer.allocateDirect(8192), 8192));
                    awaitDone(ctx, a);
                    assertEquals(Aiocb.IN_KERNEL, b.state);
                    rc = ctx.aio_cancel(p[1], b);
                    errorRightAfter = ctx.aio_error(b);
                } finally {
                    hold.release();
                }
                awaitDone(ctx, b);
                assertTrue(rc != Aio.AIO_ALLDONE || errorRightAfter != EINPROGRESS,
                        "aio_cancel answered AIO_ALLDONE for a request still in progress");
                assertEquals(Aio.AIO_NOTCANCELED, rc);
                assertEquals(0, ctx.aio_error(b), "B, not canceled, completes normally");
                assertEquals(4L, ctx.aio_return(b));
            } finally {
                Unistd.close(p[1]);
                Unistd.close(p[0]);
            }
        }
    }

    /**
     * Thousands of writes to one range of a full pipe: the first is blocked in the engine, each of the others waits on
     * the one before it. Closing the write end cancels them all and returns in bounded time; none reaches the pipe.
     * Before the fix the close canceled them oldest first: each cancel released the next, which went to the engine
     * and needed a cancel round trip of its own (on the thread pool, a blocked write's cancel interrupts its worker:
     * about 1 ms each here); and one released while the close went on could still be in progress after it returned.
     */
    @Test
    void closeWithThousandsOfHeldBackWritesIsBoundedAndCancelsThemAll() throws Exception {
        int n = 3000;
        try (AioContext ctx = new AioContext()) {
            int[] p = new int[2];
            assertEquals(0, Unistd.pipe(p));
            try {
                assertEquals(PIPE_CAPACITY, Unistd.write(p[1], ByteBuffer.allocateDirect(PIPE_CAPACITY),
                        PIPE_CAPACITY));
                Aiocb[] writes = new Aiocb[n];
                for (int i = 0; i < n; i++) {
                    writes[i] = writeCb(p[1], 0, "w");
                    assertEquals(0, ctx.aio_write(writes[i]));
                }
                AtomicInteger written = new AtomicInteger();
                EngineStats before = ctx.engineStats();
                long start = System.nanoTime();
                assertEquals(0, Unistd.close(p[1]));
                long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                // The held-back writes are canceled where they wait; none is handed to the engine on the way (at
                // most the first write's cancel is submitted).
                long submitted = ctx.engineStats().since(before).submitted();
                assertTrue(submitted <= 2, "close handed " + submitted + " requests to the engine");
                for (Aiocb w : writes) {
                    assertNotEquals(EINPROGRESS, ctx.aio_error(w), "a write still in progress after close");
                    if (ctx.aio_error(w) == 0) {
                        written.incrementAndGet();
                    }
                }
                assertEquals(0, written.get(), "a write reached the full pipe");
                // Not a speed test: the bound is two orders of magnitude above what the fixed code takes, and far
                // below the thousands of cancel round trips the code before the fix made.
                assertTrue(closeMillis < 15_000, "close took " + closeMillis + " ms for " + n + " held-back writes");
                ByteBuffer rest = ByteBuffer.allocateDirect(PIPE_CAPACITY + 1);
                assertEquals(PIPE_CAPACITY, Unistd.read(p[0], rest, PIPE_CAPACITY + 1), "the pipe holds more");
            } finally {
                Unistd.close(p[0]);
            }
        }
    }

    /**
     * The context's first request A starts its engine, which is held while starting; B, on the same range, is held
     * back behind A and its {@code aio_write} returned. The descriptor is closed meanwhile. Before the fix the context
     * joined the contexts a close settles only once its engine had started: the close saw nothing, returned, a file
     * took the number, and A and B then wrote into that file.
     */
    @Test
    void aRequestHeldBehindAnEngineThatIsStillStartingIsSettledByClose() throws Exception {
        assumeTrue(IoUring.isAvailable() && !"THREAD_POOL".equalsIgnoreCase(System.getProperty("uringaio.backend")),
                "the engine's start is held through the application's io_uring event loop, which this run does not use");
        // The engine's start waits for its ring to register on the application's loop, which is held in a task.
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        CountDownLatch letStart = new CountDownLatch(1);
        group.execute(() -> {
            try {
                letStart.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        RingEngineConfig config = new RingEngineConfig().backend(Backend.IO_URING).eventLoopGroup(group).rings(1);
        try (AioContext ctx = new AioContext(config)) {
            int fd = Fcntl.open(dir.resolve("closed").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
            assertTrue(fd >= 0);
            Aiocb a = writeCb(fd, 0, "AAAA");
            Aiocb b = writeCb(fd, 0, "BBBB");
            Thread first = Thread.ofPlatform().name("first-request").start(() -> ctx.aio_write(a));
            CountDownLatch closeReturned = new CountDownLatch(1);
            Thread closer = null;
            boolean reused = false;
            try {
                awaitBlocked(first, "the first request never began to start the engine");
                assertEquals(0, ctx.aio_write(b));
                assertEquals(Aiocb.WAITING, b.state, "B is not held back behind A");
                closer = Thread.ofPlatform().name("closer").start(() -> {
                    Unistd.close(fd);
                    closeReturned.countDown();
                });
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
                while (!closeReturned.await(1, TimeUnit.MILLISECONDS)
                        && LockSupport.getBlocker(closer) != Waiters.class) {
                    assertTrue(System.nanoTime() < deadline, "close neither returned nor waited for A");
                }
                if (closeReturned.getCount() == 0) {
                    int bystander = tempFileWith("bystander", "untouched");
                    assumeTrue(bystander == fd, "the bystander did not take the closed number");
                    reused = true;
                }
            } finally {
                letStart.countDown();
            }
            join(first);
            join(closer);
            awaitDone(ctx, a, b);
            if (reused) {
                assertEquals("untouched", fileContent("bystander"),
                        "requests accepted before the close ran on the file that took the closed number");
            }
            assertEquals(0, ctx.aio_error(a), "A, already on its way when the close began, completes on its file");
            assertEquals(Errno.ECANCELED, ctx.aio_error(b), "B, held back, is canceled by the close");
            assertEquals("AAAA", fileContent("closed"));
        } finally {
            letStart.countDown();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** Waits (with the deadline) until {@code t} blocks: WAITING or TIMED_WAITING. */
    private static void awaitBlocked(Thread t, String failure) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < deadline && t.isAlive(), failure);
            Thread.sleep(1);
        }
    }

    /**
     * Thousands of reads pending on an empty pipe, each in the engine (on the thread pool, most queued behind the
     * workers, some blocked in read(2)): closing the read end cancels every one, none returns data, and the close is
     * bounded.
     */
    @Test
    void closeWithThousandsOfPendingPipeReadsCancelsThemAllInBoundedTime() throws Exception {
        int n = 5000;
        try (AioContext ctx = new AioContext()) {
            int[] p = new int[2];
            assertEquals(0, Unistd.pipe(p));
            try {
                Aiocb[] reads = new Aiocb[n];
                for (int i = 0; i < n; i++) {
                    reads[i] = readCb(p[0], 0, 1);
                    assertEquals(0, ctx.aio_read(reads[i]));
                }
                long start = System.nanoTime();
                assertEquals(0, Unistd.close(p[0]));
                long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                for (Aiocb r : reads) {
                    assertEquals(Errno.ECANCELED, ctx.aio_error(r));
                }
                assertTrue(closeMillis < 30_000, "close took " + closeMillis + " ms for " + n + " pending reads");
            } finally {
                Unistd.close(p[1]);
            }
        }
    }

    /**
     * Holds the lock of one key of a context's descriptor map (test-only: the context's dense range is 0, so every
     * descriptor's state lives there) on a thread of its own, until released: a completion that drops or re-checks
     * that descriptor's state stops there.
     */
    private static final class MapEntryHold {
        private final CountDownLatch held = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private Thread holder;

        static MapEntryHold take(AioContext ctx, int fd) throws Exception {
            Field fdsField = AioContext.class.getDeclaredField("fds");
            fdsField.setAccessible(true);
            Object table = fdsField.get(ctx);
            Field sparseField = FdTable.class.getDeclaredField("sparse");
            sparseField.setAccessible(true);
            @SuppressWarnings("unchecked")
            ConcurrentHashMap<Integer, FdState> sparse = (ConcurrentHashMap<Integer, FdState>) sparseField.get(table);
            assertTrue(sparse.containsKey(fd), "the descriptor's state is not in the map");
            MapEntryHold h = new MapEntryHold();
            h.holder = Thread.ofPlatform().name("map-entry-hold").start(() -> sparse.computeIfPresent(fd, (k, v) -> {
                h.held.countDown();
                try {
                    h.release.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return v;
            }));
            assertTrue(h.held.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS), "map entry not held");
            return h;
        }

        void release() throws InterruptedException {
            release.countDown();
            holder.join(DEADLINE_MILLIS);
        }
    }
}
