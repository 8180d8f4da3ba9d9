package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The per-ring in-flight bound, the priority order of the waiting requests, and submission batching. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InFlightBoundTest extends KernelTest {
    @org.junit.jupiter.api.BeforeEach
    void ringsOnly() {
        assumeRings("per-ring in-flight bound, SQE batching");
    }

    @TempDir
    Path dir;

    @Test
    void atMostMaxInFlightReachTheKernelTheRestWait() throws Exception {
        List<Pipe> pipes = pipes(20);
        List<Recorder> recorders = new ArrayList<>();
        try (Arena arena = Arena.ofShared();
             RingEngine engine = RingEngine.open(config().rings(1).maxInFlightPerRing(8))) {
            MemorySegment buf = arena.allocate(20 * 8);
            for (int i = 0; i < 20; i++) {
                Recorder rec = new Recorder();
                recorders.add(rec);
                engine.submit(new Request(rec).prepRead(pipes.get(i).readFd, buf.address() + 8L * i, 8, 0));
            }
            waitUntil(() -> engine.stats().inFlight() == 8 && engine.stats().queued() == 12,
                    () -> "8 in flight, 12 queued: " + engine.stats());
            EngineStats s = engine.stats();
            assertEquals(20, s.submitted());
            assertEquals(0, s.completed());
            assertEquals(8, s.sqesSubmitted(), "only 8 SQEs reached the kernel");
            // Completing one lets exactly one waiting request in; the bound holds.
            pipes.get(0).write(1);
            waitUntil(() -> recorders.get(0).calls() == 1, () -> "first read");
            waitUntil(() -> engine.stats().sqesSubmitted() == 9 && engine.stats().queued() == 11,
                    () -> "one more in: " + engine.stats());
            assertEquals(8, engine.stats().inFlight());
            for (Recorder rec : recorders.subList(1, 20)) {
                assertEquals(0, rec.calls());
            }
        } finally {
            closeAll(pipes);
        }
    }

    /**
     * Fills the ring with 8 reads that block, queues 12 more with mixed priorities on pipes that already hold a byte
     * (so each completes the moment it reaches the kernel), then frees one slot: the queued requests pass through
     * that slot one at a time, so their completion order is their dispatch order. It must be priority first (lowest
     * value first), then FIFO. Two of them are canceled while waiting and must never reach the kernel.
     */
    @Test
    void waitingRequestsEnterByPriorityThenFifo() throws Exception {
        int blocked = 8;
        int waiting = 12;
        Random random = new Random(2024);
        List<Pipe> pipes = pipes(blocked + waiting);
        List<Integer> dispatchOrder = new CopyOnWriteArrayList<>();
        try (Arena arena = Arena.ofShared();
             RingEngine engine = RingEngine.open(config().rings(1).maxInFlightPerRing(blocked))) {
            MemorySegment buf = arena.allocate(8L * (blocked + waiting));
            List<Request> requests = new ArrayList<>();
            List<Recorder> recorders = new ArrayList<>();
            int[] priority = new int[blocked + waiting];
            for (int i = 0; i < blocked + waiting; i++) {
                int id = i;
                Recorder rec = new Recorder() {
                    @Override
                    public void complete(Request request, int res) {
                        if (res > 0) {
                            dispatchOrder.add(id);
                        }
                        super.complete(request, res);
                    }
                };
                // The blockers have the lowest value, so they take the slots even if all 20 arrive in one drain
                // (the engine then orders the whole drain by priority); the rest: -1..2, many ties.
                priority[i] = i < blocked ? -2 : random.nextInt(4) - 1;
                if (i >= blocked) {
                    pipes.get(i).write(1);
                }
                Request r = new Request(rec).prepRead(pipes.get(i).readFd, buf.address() + 8L * i, 8, 0)
                        .priority(priority[i]);
                requests.add(r);
                recorders.add(rec);
                engine.submit(r);
            }
            waitUntil(() -> engine.stats().inFlight() == blocked && engine.stats().queued() == waiting,
                    () -> "ring full: " + engine.stats());
            assertTrue(dispatchOrder.isEmpty());
            // Cancel two waiting requests: they leave the queue at once (removal from the middle of the heap).
            int canceledA = blocked + 3;
            int canceledB = blocked + 7;
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(requests.get(canceledA))));
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(requests.get(canceledB))));
            assertEquals(-ErrnoTable.ECANCELED, recorders.get(canceledA).awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, recorders.get(canceledB).awaitResult());

            pipes.get(0).write(1); // frees one slot
            List<Integer> expected = new ArrayList<>();
            expected.add(0);
            List<Integer> queuedIds = new ArrayList<>();
            for (int i = blocked; i < blocked + waiting; i++) {
                if (i != canceledA && i != canceledB) {
                    queuedIds.add(i);
                }
            }
            queuedIds.sort(Comparator.<Integer>comparingInt(i -> priority[i]).thenComparingInt(i -> i));
            expected.addAll(queuedIds);
            waitUntil(() -> dispatchOrder.size() == expected.size(), () -> "all queued reads done: " + dispatchOrder);
            List<Integer> priorities = new ArrayList<>();
            for (int id : expected) {
                priorities.add(priority[id]);
            }
            assertEquals(expected, dispatchOrder, "dispatch order; priorities in expected order: " + priorities);
            assertEquals(blocked - 1, engine.stats().inFlight());
            assertEquals(0, engine.stats().queued());
            closeWithin(engine);
            for (int i = 0; i < recorders.size(); i++) {
                assertEquals(1, recorders.get(i).calls(), "request " + i + " completed once");
            }
        } finally {
            closeAll(pipes);
        }
    }

    /**
     * 32 reads submitted from one thread while the ring thread is busy (held inside a completion callback) reach the
     * kernel in one batch: one turn, one enter. Without the hold, the figure depends on scheduling; it is printed.
     */
    @Test
    void submissionsFromOneThreadAreBatched() throws Exception {
        Path path = dir.resolve("batch");
        Files.write(path, new byte[32 * 4096]);
        int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(32 * 4096);

            // Unheld: whatever the scheduler gives.
            EngineStats before = engine.stats();
            List<Recorder> free = submit32(engine, fd, buf);
            for (Recorder rec : free) {
                assertEquals(4096, rec.awaitResult());
            }
            EngineStats unheld = engine.stats().since(before);
            assertEquals(32, unheld.sqesSubmitted());

            // Held: the ring thread is inside a completion callback while the 32 are submitted.
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Integer> gateDone = new CompletableFuture<>();
            Request gate = new Request((r, res) -> {
                inCallback.countDown();
                try {
                    release.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                gateDone.complete(res);
            }).prepRead(fd, buf.address(), 1, 0);
            engine.submit(gate);
            assertTrue(inCallback.await(WAIT_SECONDS, TimeUnit.SECONDS));
            before = engine.stats();
            List<Recorder> held = submit32(engine, fd, buf);
            release.countDown();
            assertEquals(1, await(gateDone));
            for (Recorder rec : held) {
                assertEquals(4096, rec.awaitResult());
            }
            EngineStats batched = engine.stats().since(before);
            System.out.printf("batching: unheld %d SQEs in %d enters (%.1f per enter); held %d SQEs in %d enters"
                    + " (%.1f per enter)%n", unheld.sqesSubmitted(), unheld.enterCalls(), unheld.sqesPerEnter(),
                    batched.sqesSubmitted(), batched.enterCalls(), batched.sqesPerEnter());
            assertEquals(32, batched.sqesSubmitted());
            assertTrue(batched.sqesPerEnter() >= 8, "SQEs per enter: " + batched.sqesPerEnter());
            assertTrue(unheld.enterCalls() >= 1 && unheld.enterCalls() <= 32);
        } finally {
            Libc.close(fd);
        }
    }

    /** {@link RingEngine#submitBatch}: the whole list reaches the kernel together (all or nothing on errors). */
    @Test
    void submitBatchHandsTheListOverTogether() throws Exception {
        Path path = dir.resolve("batch");
        Files.write(path, new byte[32 * 4096]);
        int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(2)) {
            MemorySegment buf = arena.allocate(32 * 4096);
            Request[] batch = new Request[33];
            List<Recorder> recorders = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                Recorder rec = new Recorder();
                recorders.add(rec);
                batch[i] = new Request(rec).prepRead(fd, buf.address() + 4096L * i, 4096, 4096L * i);
            }
            batch[32] = new Request(new Recorder()).prepRead(fd, buf.address(), 1, -1);
            EngineStats before = engine.stats();
            assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(batch, 33));
            for (Request r : batch) {
                assertFalse(r.inFlight(), "all or nothing");
            }
            engine.submitBatch(batch, 32);
            for (Recorder rec : recorders) {
                assertEquals(4096, rec.awaitResult());
            }
            EngineStats delta = engine.stats().since(before);
            System.out.println("submitBatch: 32 SQEs in " + delta.enterCalls() + " enters");
            assertEquals(32, delta.submitted());
            assertEquals(32, delta.sqesSubmitted());
            assertTrue(delta.enterCalls() <= 2, "one turn (two if it met a turn already running): " + delta);
        } finally {
            Libc.close(fd);
        }
    }

    private static List<Recorder> submit32(RingEngine engine, int fd, MemorySegment buf) {
        List<Recorder> recorders = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            Recorder rec = new Recorder();
            recorders.add(rec);
            engine.submit(new Request(rec).prepRead(fd, buf.address() + 4096L * i, 4096, 4096L * i));
        }
        return recorders;
    }
}
