package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The third hostile pass under load and concurrency, on both backends (with caller rings on where io_uring has them):
 * the counters balance once idle, virtual threads lose nothing, a chain whose middle fails ends the rest canceled,
 * futures canceled or obtruded by their user leave the I/O to finish and the file to close, and a completion that
 * submits thousands more behind a tiny in-flight bound loses none.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineThirdPassLoadTest extends KernelTest {
    private static final int BLOCK = 512;

    @TempDir
    Path dir;

    /** Every submission of a mixed workload from many threads completes exactly once; the counters then balance. */
    @Test
    void statsBalanceOnceIdleAfterAMixedLoad() throws Exception {
        for (int callerRings : new int[] {0, 2}) {
            try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe();
                 RingEngine engine = RingEngine.open(config().rings(2).maxInFlightPerRing(8)
                         .callerRings(callerRings))) {
                Path path = dir.resolve("mixed" + callerRings);
                Files.write(path, new byte[4 * BLOCK]);
                AsyncFile file = await(engine.open(path, READ, WRITE));
                AtomicInteger completions = new AtomicInteger();
                AtomicInteger submissions = new AtomicInteger();
                Completion count = (r, res) -> completions.incrementAndGet();
                ExecutorService threads = Executors.newFixedThreadPool(4);
                List<Future<?>> work = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    work.add(threads.submit(() -> {
                        MemorySegment buf = arena.allocate(BLOCK);
                        for (int i = 0; i < 200; i++) {
                            Request read = new Request(count).prepRead(file.fd(), buf, 0).pageCacheFirst(i % 2 == 0);
                            engine.submit(read);
                            submissions.incrementAndGet();
                            Request[] batch = {new Request(count).prepRead(file.fd(), arena.allocate(8), 8),
                                new Request(count).prepFsync(file.fd(), true)};
                            engine.submitBatch(batch, 2);
                            submissions.addAndGet(2);
                            // The middle fails (bad descriptor): the last ends -ECANCELED.
                            engine.submitLinked(new Request(count).prepRead(file.fd(), arena.allocate(8), 0),
                                    new Request(count).prepRead(-1, arena.allocate(8), 0),
                                    new Request(count).prepRead(file.fd(), arena.allocate(8), 0));
                            submissions.addAndGet(3);
                            Request blocked = new Request(count).prepRead(pipe.readFd, arena.allocate(8), 0);
                            engine.submit(blocked);
                            submissions.incrementAndGet();
                            engine.cancel(blocked).join();
                            file.write(ByteBuffer.allocate(16), 64).join();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : work) {
                    await(f);
                }
                threads.shutdown();
                waitUntil(() -> completions.get() == submissions.get(),
                        () -> completions.get() + " of " + submissions.get() + " completed");
                await(file.closeAsync());
                waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
                EngineStats stats = engine.stats();
                assertEquals(stats.submitted(), stats.completed(), () -> "callerRings " + callerRings + ": " + stats);
                assertEquals(0, stats.queued(), stats::toString);
                assertTrue(stats.submitted() >= submissions.get(), stats::toString);
                assertEquals(submissions.get(), completions.get(), "each exactly once");
            }
        }
    }

    /** A linked chain whose middle fails: the head keeps its result, the middle its errno, the rest -ECANCELED. */
    @Test
    void aChainWhoseMiddleFailsCancelsOnlyWhatFollows() throws Exception {
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            Path path = dir.resolve("chain");
            Files.write(path, new byte[64]);
            AsyncFile file = await(engine.open(path, READ, WRITE));
            Recorder head = new Recorder();
            Recorder middle = new Recorder();
            Recorder tail = new Recorder();
            Recorder last = new Recorder();
            engine.submitLinked(new Request(head).prepRead(file.fd(), arena.allocate(8), 0),
                    new Request(middle).prepRead(file.fd(), arena.allocate(8), 1L << 40), // past the end: short (0)
                    new Request(tail).prepWrite(file.fd(), arena.allocate(8), 0),
                    new Request(last).prepFsync(file.fd(), false));
            assertEquals(8, head.awaitResult());
            assertEquals(0, middle.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, tail.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, last.awaitResult());
            assertArrayEquals(new byte[64], Files.readAllBytes(path), "the canceled write wrote nothing");
            await(file.closeAsync());
            closeWithin(engine);
            for (Recorder r : List.of(head, middle, tail, last)) {
                assertEquals(1, r.calls());
            }
        }
    }

    /**
     * Futures canceled, obtruded or completed by their user: the read still runs to its end in the engine, the file's
     * close waits for it and completes, and the user's outcome is what the future keeps.
     */
    @Test
    void futuresEndedByTheirUserLeaveTheIoToFinishAndTheFileToClose() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            CompletableFuture<Integer> canceled = file.read(ByteBuffer.allocateDirect(4), 0);
            CompletableFuture<Integer> obtruded = file.read(ByteBuffer.allocate(4), 0);
            CompletableFuture<Integer> failed = file.read(ByteBuffer.allocate(4), 0);
            assertTrue(canceled.cancel(true));
            obtruded.obtrudeValue(42);
            failed.obtrudeException(new IllegalStateException("user's"));
            assertThrows(CancellationException.class, canceled::join);
            assertEquals(42, obtruded.join());
            CompletionException e = assertThrows(CompletionException.class, failed::join);
            assertInstanceOf(IllegalStateException.class, e.getCause());
            CompletableFuture<Void> closed = file.closeAsync();
            assertTrue(!closed.isDone(), "three reads still in flight: the close waits for them");
            pipe.write(12); // each read takes its 4 bytes (or a pipe hands them out unevenly: all 12 go)
            await(closed);
            assertEquals(42, obtruded.join(), "the user's value is kept");
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
            EngineStats stats = engine.stats();
            assertEquals(stats.submitted(), stats.completed(), stats::toString);
            closeWithin(engine);
        }
    }

    /** Many virtual threads writing and reading back their own blocks lose nothing, on every lane. */
    @Test
    void virtualThreadsGetTheirOwnBytes() throws Exception {
        try (RingEngine engine = RingEngine.open(config().rings(2).callerRings(2))) {
            Path path = dir.resolve("virtual");
            AsyncFile file = await(engine.open(path, READ, WRITE, CREATE));
            int threads = 64;
            int rounds = 20;
            List<Thread> started = new ArrayList<>();
            List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                started.add(Thread.ofVirtual().start(() -> {
                    try {
                        for (int i = 0; i < rounds; i++) {
                            ByteBuffer out = ByteBuffer.allocate(BLOCK);
                            while (out.hasRemaining()) {
                                out.put((byte) (me * 31 + i));
                            }
                            out.flip();
                            assertEquals(BLOCK, file.write(out, (long) me * BLOCK).join());
                            ByteBuffer in = ByteBuffer.allocateDirect(BLOCK);
                            assertEquals(BLOCK, file.read(in, (long) me * BLOCK).get(WAIT_SECONDS, TimeUnit.SECONDS));
                            for (int k = 0; k < BLOCK; k++) {
                                assertEquals((byte) (me * 31 + i), in.get(k), "thread " + me + " round " + i);
                            }
                        }
                    } catch (Throwable x) {
                        failures.add(x);
                    }
                }));
            }
            for (Thread t : started) {
                assertTrue(t.join(java.time.Duration.ofSeconds(WAIT_SECONDS)), "virtual thread finished");
            }
            assertEquals(List.of(), failures);
            await(file.closeAsync());
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
            EngineStats stats = engine.stats();
            assertEquals(stats.submitted(), stats.completed(), stats::toString);
        }
    }

    /**
     * A completion that submits thousands of requests at once into a ring bounded to 2 in flight: they wait in the
     * engine, and every one completes exactly once, with its own result.
     */
    @Test
    void aCompletionSubmittingThousandsBehindATinyBoundLosesNone() throws Exception {
        int many = 3000;
        try (Arena arena = Arena.ofShared(); RingEngine engine = RingEngine.open(bounded(1, 2))) {
            Path path = dir.resolve("many");
            Files.write(path, new byte[BLOCK]);
            AsyncFile file = await(engine.open(path, READ));
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger calls = new AtomicInteger();
            CompletableFuture<Void> all = new CompletableFuture<>();
            Completion each = (r, res) -> {
                if (res == 16) {
                    ok.incrementAndGet();
                }
                if (calls.incrementAndGet() == many) {
                    all.complete(null);
                }
            };
            MemorySegment dst = arena.allocate(16);
            Request trigger = new Request((r, res) -> {
                for (int i = 0; i < many; i++) {
                    engine.submit(new Request(each).prepRead(file.fd(), dst, i % 32 * 16));
                }
            }).prepFsync(file.fd(), false);
            engine.submit(trigger);
            await(all);
            assertEquals(many, ok.get());
            await(file.closeAsync());
            closeWithin(engine);
            assertEquals(many, calls.get(), "none doubled");
        }
    }
}
