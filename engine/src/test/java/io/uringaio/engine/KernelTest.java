package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.channel.uring.IoUring;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;

/**
 * Base of the tests that need a real io_uring: they skip, with Netty's reason, where io_uring is unavailable. Every
 * wait here has a deadline, so a broken engine fails a test instead of hanging the build.
 */
abstract class KernelTest {
    /** Deadline of any single wait; generous, since the machine is shared with other builds. */
    static final long WAIT_SECONDS = 20;

    /**
     * The backend these tests run on: io_uring, or the thread pool when the build runs the suite again with
     * {@code -Duringaio.backend=THREAD_POOL} (the engine's second surefire execution). Never AUTO: a test must know.
     */
    static final Backend BACKEND = "THREAD_POOL".equalsIgnoreCase(System.getProperty(Backend.PROPERTY, "").trim())
            ? Backend.THREAD_POOL : Backend.IO_URING;

    @BeforeAll
    static void requireIoUring() {
        if (BACKEND == Backend.IO_URING) {
            Assumptions.assumeTrue(IoUring.isAvailable(),
                    () -> "io_uring unavailable: " + IoUring.unavailabilityCause());
        }
    }

    /** Skips a test about the rings themselves (SQE batching, per-ring bounds, Netty loops) on the thread pool. */
    static void assumeRings(String why) {
        Assumptions.assumeTrue(BACKEND == Backend.IO_URING, () -> "io_uring rings only: " + why);
    }

    /**
     * A config whose in-flight bound is {@code rings × maxPerRing} on either backend: per ring on io_uring, the
     * pool's worker count on the thread pool.
     */
    static RingEngineConfig bounded(int rings, int maxPerRing) {
        return config().rings(rings).maxInFlightPerRing(maxPerRing).poolThreads(rings * maxPerRing);
    }

    /** The name prefix of the threads that run completions on the backend under test. */
    static String completionThreadPrefix() {
        return BACKEND == Backend.IO_URING ? "uring-aio-ring" : "uring-aio-pool";
    }

    /** A config pinned to the backend under test, whatever AUTO would pick. */
    static RingEngineConfig config() {
        return new RingEngineConfig().backend(BACKEND);
    }

    static RingEngine engine(int rings) {
        return RingEngine.open(config().rings(rings));
    }

    static <T> T await(Future<T> future) throws Exception {
        try {
            return future.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no completion within " + WAIT_SECONDS + " s", e);
        }
    }

    /** The exception a future failed with (unwrapped), within the deadline; fails if it succeeded. */
    static Throwable failure(Future<?> future) throws Exception {
        try {
            Object value = future.get(WAIT_SECONDS, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure, got " + value);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("no completion within " + WAIT_SECONDS + " s", e);
        }
    }

    /** Asserts that {@code future} failed with a {@link UringIOException} of {@code errno}, and returns it. */
    static UringIOException uringFailure(Future<?> future, int errno) throws Exception {
        Throwable t = failure(future);
        UringIOException e = assertInstanceOf(UringIOException.class, t);
        assertEquals(errno, e.errno(), () -> "errno of " + e);
        return e;
    }

    static void waitUntil(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not reached within " + WAIT_SECONDS + " s: " + what.get());
            }
            Thread.sleep(1);
        }
    }

    /**
     * Runs {@code action} on a new platform thread and returns once the kernel's task of that thread is gone (its
     * directory under {@code /proc/self/task} removed), not only the Java thread: the kernel cancels the thread's
     * unstarted io_uring work as the task exits.
     */
    static void runOnThreadThatExits(Runnable action) throws Exception {
        CompletableFuture<java.nio.file.Path> task = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                task.complete(java.nio.file.Path.of("/proc/thread-self").toRealPath());
            } catch (java.io.IOException e) {
                task.completeExceptionally(e);
            }
            action.run();
        });
        t.join();
        java.nio.file.Path gone = await(task);
        waitUntil(() -> !java.nio.file.Files.exists(gone), () -> gone + " gone");
    }

    /** Closes the engine on another thread and fails (instead of hanging) if it does not return in time. */
    static void closeWithin(RingEngine engine) throws Exception {
        CompletableFuture<Void> closing = CompletableFuture.runAsync(engine::close);
        try {
            closing.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("engine.close() did not return within " + WAIT_SECONDS + " s", e);
        }
    }

    /**
     * A completion that records every call: how many, and each result. Asserting {@link #calls()} after the engine
     * drained (or closed) checks "exactly once".
     */
    static class Recorder implements Completion {
        final AtomicInteger calls = new AtomicInteger();
        final List<Integer> results = new CopyOnWriteArrayList<>();
        final CompletableFuture<Integer> first = new CompletableFuture<>();
        volatile boolean byClose;
        volatile String thread;

        @Override
        public void complete(Request request, int res) {
            calls.incrementAndGet();
            results.add(res);
            byClose = request.canceledByClose();
            thread = Thread.currentThread().getName();
            first.complete(res);
        }

        int calls() {
            return calls.get();
        }

        int awaitResult() throws Exception {
            return await(first);
        }
    }

    /** A pipe through libc; reads of its read end block until something is written. */
    static final class Pipe implements AutoCloseable {
        final int readFd;
        final int writeFd;
        private boolean closed;

        Pipe() {
            int[] fds = new int[2];
            int res = Libc.pipe(fds);
            assertEquals(0, res, () -> "pipe: " + ErrnoTable.describe(-res));
            readFd = fds[0];
            writeFd = fds[1];
        }

        void write(int count) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = arena.allocate(Math.max(1, count));
                bytes.fill((byte) 'x');
                long res = Libc.write(writeFd, bytes.address(), count);
                assertEquals(count, res, () -> "write to pipe: " + ErrnoTable.describe((int) -res));
            }
        }

        /** Reads (and discards) up to {@code count} bytes; blocks while the pipe is empty. */
        long drain(int count) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment bytes = arena.allocate(count);
                return Libc.read(readFd, bytes.address(), count);
            }
        }

        /** The read end as a path, so that {@link RingEngine#open} can open the pipe like a file. */
        java.nio.file.Path readPath() {
            return java.nio.file.Path.of("/proc/self/fd/" + readFd);
        }

        java.nio.file.Path writePath() {
            return java.nio.file.Path.of("/proc/self/fd/" + writeFd);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                Libc.close(readFd);
                Libc.close(writeFd);
            }
        }
    }

    static List<Pipe> pipes(int n) {
        List<Pipe> list = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            list.add(new Pipe());
        }
        return list;
    }

    static void closeAll(List<Pipe> pipes) {
        for (Pipe p : pipes) {
            p.close();
        }
    }

    static void assertTrueWithin(BooleanSupplier condition, String what) throws InterruptedException {
        waitUntil(condition, () -> what);
        assertTrue(condition.getAsBoolean(), what);
    }
}
