package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A future of an operation that went to a caller ring ({@link LaneFuture}) under waits a hostile caller makes: a
 * timeout at the edge of {@code long}, and a join on a {@link ForkJoinPool} worker. Each must behave as
 * {@link CompletableFuture} does; the operation itself is untouched and completes with its own result afterwards.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LaneFutureHostileTest extends KernelTest {

    /** Before the fix, {@code get(Long.MIN_VALUE, …)} waited until the pipe read completed (the timeout overflowed). */
    @Test
    void aTimedGetWithTheMostNegativeTimeoutTimesOutAtOnce() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            ByteBuffer buf = ByteBuffer.allocateDirect(64);
            CompletableFuture<Integer> read = file.read(buf, 0); // the pipe is empty: it waits in the caller ring
            for (TimeUnit unit : new TimeUnit[] {TimeUnit.NANOSECONDS, TimeUnit.SECONDS, TimeUnit.DAYS}) {
                assertTimeoutPreemptively(Duration.ofSeconds(10),
                        () -> assertThrows(TimeoutException.class, () -> read.get(Long.MIN_VALUE, unit)),
                        () -> "get(Long.MIN_VALUE, " + unit + ") waited");
                assertTimeoutPreemptively(Duration.ofSeconds(10),
                        () -> assertThrows(TimeoutException.class, () -> read.get(-1, unit)));
            }
            assertFalse(read.isDone(), "a timed-out get left the read alone");
            pipe.write(24);
            assertEquals(24, read.get(10, TimeUnit.SECONDS));
            await(file.closeAsync());
            assertEquals(0, engine.stats().inFlight());
        }
    }

    /**
     * A join on a ForkJoinPool worker lets the pool compensate, as CompletableFuture's does: here the only worker joins
     * a pipe read whose data another task of the same pool writes. Before the fix the worker waited inside the caller
     * ring, the pool never ran the writer, and the join never returned.
     */
    @Test
    void aJoinOnTheOnlyForkJoinWorkerLetsThePoolRunTheTaskItWaitsFor() throws Exception {
        ForkJoinPool pool = new ForkJoinPool(1);
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            ByteBuffer buf = ByteBuffer.allocateDirect(64);
            ForkJoinTask<Integer> reader = pool.submit(() -> file.read(buf, 0).join()); // submitted on the worker
            ForkJoinTask<?> writer = pool.submit(() -> pipe.write(16));
            try {
                assertEquals(16, reader.get(20, TimeUnit.SECONDS));
                writer.get(20, TimeUnit.SECONDS);
            } finally {
                if (!reader.isDone()) {
                    pipe.write(16); // release the stuck worker before the engine closes
                }
            }
            await(file.closeAsync());
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
        }
    }
    // ---------------------------------------------------------------- threads asleep on the engine's futex board

    /**
     * Platform threads blocked on futures of operations on a Netty ring (no caller rings) sleep on the engine's board
     * and are woken by the batch that completes them: every read returns its own bytes, and nobody is left asleep.
     */
    @Test
    void manyThreadsJoiningNettyRingFuturesAllGetTheirOwnBytes(@TempDir Path dir) throws Exception {
        int threads = 12;
        int reads = 300;
        Path path = dir.resolve("blocks");
        byte[] content = new byte[threads * 4096];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i / 4096 * 7 + i % 251);
        }
        Files.write(path, content);
        try (RingEngine engine = RingEngine.open(config().rings(2).callerRings(0).pageCacheFastPath(false))) {
            AsyncFile file = await(engine.open(path, StandardOpenOption.READ));
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> started = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int lane = t;
                started.add(Thread.ofPlatform().start(() -> {
                    ByteBuffer buf = ByteBuffer.allocateDirect(4096);
                    try {
                        for (int i = 0; i < reads; i++) {
                            buf.clear();
                            int n = i % 2 == 0 ? file.read(buf, lane * 4096L).join()
                                    : file.read(buf, lane * 4096L).get(10, TimeUnit.SECONDS);
                            assertEquals(4096, n);
                            for (int b = 0; b < 4096; b += 511) {
                                assertEquals(content[lane * 4096 + b], buf.get(b), "lane " + lane + " byte " + b);
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (Thread t : started) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(t.isAlive(), "a reader is stuck");
            }
            assertNull(failure.get(), () -> "reader failed: " + failure.get());
            assertEquals(0, engine.blocked.sleepers(), "a sleeper is left counted in");
            await(file.closeAsync());
        }
    }

    /**
     * get() on a thread interrupted while it sleeps on the board ends with InterruptedException (status cleared, as
     * CompletableFuture's); the read is not disturbed and completes with its count once the data comes.
     */
    @Test
    void anInterruptEndsAGetAsleepOnTheBoardAndLeavesTheReadAlone() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(0))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            CompletableFuture<Integer> read = file.read(ByteBuffer.allocateDirect(64), 0);
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            AtomicReference<Boolean> statusAfter = new AtomicReference<>();
            CountDownLatch asleep = new CountDownLatch(1);
            Thread getter = Thread.ofPlatform().start(() -> {
                asleep.countDown();
                try {
                    read.get();
                } catch (Throwable e) {
                    thrown.set(e);
                }
                statusAfter.set(Thread.currentThread().isInterrupted());
            });
            asleep.await();
            while (engine.blocked.sleepers() == 0 && getter.isAlive()) {
                Thread.onSpinWait(); // until it sleeps on the board
            }
            getter.interrupt();
            getter.join(TimeUnit.SECONDS.toMillis(10));
            assertFalse(getter.isAlive(), "get() did not see the interrupt");
            assertInstanceOf(InterruptedException.class, thrown.get());
            assertEquals(Boolean.FALSE, statusAfter.get(), "the interrupt status is cleared, as CompletableFuture's");
            assertFalse(read.isDone());
            pipe.write(10);
            assertEquals(10, read.get(10, TimeUnit.SECONDS));
            assertEquals(0, engine.blocked.sleepers());
            await(file.closeAsync());
        }
    }

    /** join() is not interruptible: it sleeps on until the read completes, and the interrupt status stays set. */
    @Test
    void anInterruptedJoinKeepsWaitingAndKeepsTheStatus() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(0))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            CompletableFuture<Integer> read = file.read(ByteBuffer.allocateDirect(64), 0);
            AtomicReference<Integer> result = new AtomicReference<>();
            AtomicReference<Boolean> statusAfter = new AtomicReference<>();
            Thread joiner = Thread.ofPlatform().start(() -> {
                result.set(read.join());
                statusAfter.set(Thread.currentThread().isInterrupted());
            });
            while (engine.blocked.sleepers() == 0 && joiner.isAlive()) {
                Thread.onSpinWait();
            }
            joiner.interrupt();
            joiner.join(100);
            assertTrue(joiner.isAlive(), "join() returned on an interrupt before the read completed");
            pipe.write(12);
            joiner.join(TimeUnit.SECONDS.toMillis(10));
            assertEquals(12, result.get());
            assertEquals(Boolean.TRUE, statusAfter.get());
            await(file.closeAsync());
        }
    }

    /** A caller that completes the future itself wakes the thread asleep on it at once, not at its next slice. */
    @Test
    void aFutureCompletedByItsCallerWakesItsSleeper() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(0))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            CompletableFuture<Integer> read = file.read(ByteBuffer.allocateDirect(64), 0);
            AtomicReference<Object> got = new AtomicReference<>();
            Thread joiner = Thread.ofPlatform().start(() -> {
                try {
                    got.set(read.join());
                } catch (Throwable e) {
                    got.set(e);
                }
            });
            while (engine.blocked.sleepers() == 0 && joiner.isAlive()) {
                Thread.onSpinWait();
            }
            assertTrue(read.cancel(false));
            joiner.join(TimeUnit.SECONDS.toMillis(10));
            assertInstanceOf(java.util.concurrent.CancellationException.class, got.get());
            pipe.write(5); // the read itself still ends (its future was canceled by the caller, not the read)
            await(file.closeAsync());
            assertEquals(0, engine.stats().inFlight());
        }
    }
}
