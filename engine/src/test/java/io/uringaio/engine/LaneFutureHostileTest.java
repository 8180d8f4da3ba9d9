package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
}
