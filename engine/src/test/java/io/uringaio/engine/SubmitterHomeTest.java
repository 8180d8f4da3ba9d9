package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile cases of {@link SubmitterHome}: which Netty ring a submitting thread keeps. Threads are spread over the
 * rings as they come; a thread that submitted once and died must not leave two busy threads sharing a ring while
 * another ring idles (thread pools retire and replace their threads all the time).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SubmitterHomeTest extends KernelTest {

    /**
     * Thread A keeps a request in flight on its ring; a short-lived thread submits once and exits; thread B then starts
     * submitting. B must get the ring nobody busy is on, not the one its place in the turn gives (A's): the dead
     * thread's turn is gone with it. Failed before (strict turn: A ring 0, the dead thread ring 1, B ring 0 with A).
     */
    @Test
    void aThreadThatDied_doesNotPutTheNextThreadOnABusyRing() throws Exception {
        assumeRings("Netty rings");
        try (RingEngine engine = RingEngine.open(config().rings(2).pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe quick = new Pipe(); Arena arena = Arena.ofShared()) {
            Recorder ra = new Recorder();
            Request a = new Request(ra).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(a);
            Lane busy = a.ring;
            waitUntil(() -> busy.inFlight() == 1, () -> "A's read in the kernel: " + engine.stats());
            quick.write(1);
            Recorder rt = new Recorder();
            Request once = new Request(rt).prepRead(quick.readFd, arena.allocate(1).address(), 1, 0);
            Thread dead = Thread.ofPlatform().start(() -> engine.submit(once));
            dead.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertEquals(1, rt.awaitResult());
            Recorder rb = new Recorder();
            Request b = new Request(rb).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            CompletableFuture.runAsync(() -> engine.submit(b), r -> Thread.ofPlatform().start(r))
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotEquals(busy, b.ring, "B shares the busy ring of A while the other ring idles");
            held.write(2);
            assertEquals(1, ra.awaitResult());
            assertEquals(1, rb.awaitResult());
            assertEquals(1, ra.calls());
            assertEquals(1, rb.calls());
        }
    }

    /**
     * {@code callerRingDepth(1)} counts every request of the thread in flight, on every lane: also those of its
     * {@code submitBatch} (the facade's lio_listio) and {@code submitLinked}. While one of them is in flight, the
     * thread's next lone request goes to its Netty ring; once they completed, the count is back to zero and the next
     * goes to the caller ring again (nothing leaked). Failed before: batches and chains were not counted, so the lone
     * request after a batch went into the caller ring.
     */
    @Test
    void aDepthOfOneCountsTheThreadsBatchesAndChains() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1)
                .pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder rBatch = new Recorder();
            Request inBatch = new Request(rBatch).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submitBatch(new Request[] {inBatch}, 1);
            Recorder rLone = new Recorder();
            Request lone = new Request(rLone).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(lone);
            assertInstanceOf(Ring.class, lone.ring, "the thread's batch is in flight: its next request joins it");
            held.write(1);
            other.write(1);
            assertEquals(1, rBatch.awaitResult());
            assertEquals(1, rLone.awaitResult());

            Recorder rHead = new Recorder();
            Recorder rTail = new Recorder();
            Request head = new Request(rHead).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            Request tail = new Request(rTail).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submitLinked(head, tail);
            Recorder rNext = new Recorder();
            Request next = new Request(rNext).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(next);
            assertInstanceOf(Ring.class, next.ring, "the thread's chain is in flight: its next request joins it");
            held.write(2);
            other.write(1);
            assertEquals(1, rHead.awaitResult());
            assertEquals(1, rTail.awaitResult());
            assertEquals(1, rNext.awaitResult());

            // Nothing of the thread in flight, but its previous submission was at depth: one more on the Netty ring,
            // then, after that lone one, the caller ring (nothing leaked).
            Recorder rAfter = new Recorder();
            Request after = new Request(rAfter).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(after);
            assertInstanceOf(Ring.class, after.ring, "the thread's previous submission was at depth");
            other.write(1);
            assertEquals(1, rAfter.awaitResult());
            Recorder rLast = new Recorder();
            Request last = new Request(rLast).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(last);
            assertInstanceOf(CallerRing.class, last.ring, "nothing of the thread in flight: its caller ring");
            other.write(1);
            assertEquals(1, rLast.awaitResult());
            for (Recorder r : new Recorder[] {rBatch, rLone, rHead, rTail, rNext, rAfter, rLast}) {
                assertEquals(1, r.calls(), "each completed once");
            }
        }
    }

    /**
     * A chain is routed like one request, previous submission included: with a depth of one, a thread whose previous
     * submission found another request of its own in flight sends its next chain to its Netty ring, though nothing of
     * it is in flight by then; the chain after that goes into the caller ring. Failed before: the chain looked only at
     * the count of now, and went into the caller ring.
     */
    @Test
    void aChainAfterASubmissionAtDepthGoesToTheNettyRing() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1)
                .pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder rFirst = new Recorder();
            Request first = new Request(rFirst).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(first);
            Recorder rSecond = new Recorder();
            Request second = new Request(rSecond).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(second); // at depth: the thread's first is in flight
            held.write(1);
            other.write(1);
            assertEquals(1, rFirst.awaitResult());
            assertEquals(1, rSecond.awaitResult());

            Request[] chain = chainOfTwo(held, arena);
            engine.submitLinked(chain[0], chain[1]);
            assertInstanceOf(Ring.class, chain[0].ring, "the thread's previous submission was at depth");
            held.write(2);
            assertEquals(1, ((Recorder) chain[0].completion()).awaitResult());
            assertEquals(1, ((Recorder) chain[1].completion()).awaitResult());

            Request[] again = chainOfTwo(held, arena);
            engine.submitLinked(again[0], again[1]);
            assertInstanceOf(CallerRing.class, again[0].ring, "nothing of the thread in flight: its caller ring");
            held.write(2);
            assertEquals(1, ((Recorder) again[0].completion()).awaitResult());
            assertEquals(1, ((Recorder) again[1].completion()).awaitResult());
        }
    }

    private static Request[] chainOfTwo(Pipe pipe, Arena arena) {
        return new Request[] {
                new Request(new Recorder()).prepRead(pipe.readFd, arena.allocate(1).address(), 1, 0),
                new Request(new Recorder()).prepRead(pipe.readFd, arena.allocate(1).address(), 1, 0)};
    }

    /**
     * A thread keeps its ring, but not when that ring is full while another has room. Thread C gets its ring while all
     * are idle; then a thread on the same ring fills it (every slot taken by pipe reads that wait for data). C's next
     * request must go to the ring with room, not wait behind requests that may never
     * end while the other ring idles. Failed before: C's request went to its full ring and waited there (it completed
     * only once the pipe got data), every request of C after it too.
     */
    @Test
    void aThreadWhoseRingIsFull_isNotStuckBehindItWhileAnotherRingHasRoom() throws Exception {
        assumeRings("Netty rings");
        int max = 2;
        ExecutorService c = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().unstarted(r));
        ExecutorService filler = null;
        try (RingEngine engine = RingEngine.open(bounded(2, max).pageCacheFastPath(false));
             Pipe flood = new Pipe(); Pipe quick = new Pipe(); Arena arena = Arena.ofShared()) {
            Lane home = c.submit(() -> quickRead(engine, quick, arena)).get(WAIT_SECONDS, TimeUnit.SECONDS);
            // A thread on C's ring: threads that find the rings idle are spread in turn, so one of the next two.
            for (int i = 0; i < 2 && filler == null; i++) {
                ExecutorService candidate = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().unstarted(r));
                if (candidate.submit(() -> quickRead(engine, quick, arena)).get(WAIT_SECONDS, TimeUnit.SECONDS)
                        == home) {
                    filler = candidate;
                } else {
                    candidate.shutdown();
                }
            }
            Assumptions.assumeTrue(filler != null, "no second thread got C's ring (the rings were not idle)");
            Recorder[] floods = new Recorder[max]; // every slot: any more could rightly go to the other ring
            Request[] floodReads = new Request[floods.length];
            for (int i = 0; i < floods.length; i++) {
                floods[i] = new Recorder();
                floodReads[i] = new Request(floods[i]).prepRead(flood.readFd, arena.allocate(1).address(), 1, 0);
            }
            filler.submit(() -> {
                for (Request r : floodReads) {
                    engine.submit(r);
                }
            }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            for (Request r : floodReads) {
                assertEquals(home, r.ring, "the filler's requests are on its (C's) ring");
            }
            waitUntil(() -> home.inFlight() == max, () -> "C's ring full: " + engine.stats());
            quick.write(1);
            Recorder rc = new Recorder();
            Request mine = new Request(rc).prepRead(quick.readFd, arena.allocate(1).address(), 1, 0);
            Lane went = c.submit(() -> {
                engine.submit(mine);
                return mine.ring;
            }).get(WAIT_SECONDS, TimeUnit.SECONDS);
            if (went != null) { // null: it completed already
                assertNotEquals(home, went, "C's request waits behind its full ring while the other has room");
            }
            assertEquals(1, rc.awaitResult(), "C's request completed while its ring stayed full");
            flood.write(floods.length);
            for (Recorder r : floods) {
                assertEquals(1, r.awaitResult());
                assertEquals(1, r.calls());
            }
            assertEquals(1, rc.calls());
        } finally {
            c.shutdown();
            if (filler != null) {
                filler.shutdown();
            }
        }
    }

    /** Submits a one-byte read of {@code pipe} (the caller wrote a byte first or does next), waits; its ring. */
    private static Lane quickRead(RingEngine engine, Pipe pipe, Arena arena) throws Exception {
        Recorder r = new Recorder();
        Request read = new Request(r).prepRead(pipe.readFd, arena.allocate(1).address(), 1, 0);
        pipe.write(1);
        engine.submit(read);
        Lane lane = read.ring;
        assertEquals(1, r.awaitResult());
        return lane == null ? engine.pickRing() : lane;
    }

    /**
     * The thread's count (callerRingDepth) after every way a submission can end: refused as already in flight or
     * invalid (nothing counted), canceled in the caller ring and on the Netty ring, completed inside the submission
     * and resubmitted from its own callback, refused by the closed engine (single, batch, chain), and canceled by a
     * close mid-flight. It must come back to exactly zero, neither leak (the thread would lose its caller ring for
     * good) nor go below (the thread would put a whole queue depth into its caller ring).
     */
    @Test
    void theThreadsCountComesBackToZero_afterRefusalsCancelsResubmissionsAndClose() throws Exception {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1)
                .pageCacheFastPath(false));
        try (Pipe p = new Pipe(); Pipe q = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder ra = new Recorder();
            Request a = new Request(ra).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(a);
            assertInstanceOf(CallerRing.class, a.ring);
            assertEquals(1, engine.countedInFlightOfThisThread());
            assertThrows(IllegalStateException.class, () -> engine.submit(a));
            Request bad = new Request(new Recorder()).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            bad.offset = -5;
            assertThrows(IllegalArgumentException.class, () -> engine.submit(bad));
            assertEquals(1, engine.countedInFlightOfThisThread(), "refused submissions count nothing");
            Recorder rb = new Recorder();
            Request b = new Request(rb).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(b);
            assertInstanceOf(Ring.class, b.ring);
            assertEquals(CancelOutcome.CANCELED, engine.cancel(a).get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(CancelOutcome.CANCELED, engine.cancel(b).get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(-ErrnoTable.ECANCELED, ra.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, rb.awaitResult());
            assertEquals(0, engine.countedInFlightOfThisThread(), "after two cancels");

            // Completed inside its own submission (data already there), resubmitted by its callback three times.
            q.write(4);
            AtomicInteger left = new AtomicInteger(4);
            CompletableFuture<Integer> last = new CompletableFuture<>();
            MemorySegment one = arena.allocate(1);
            Request again = new Request((r, res) -> {
                if (left.decrementAndGet() > 0) {
                    engine.submit(r);
                } else {
                    last.complete(res);
                }
            }).prepRead(q.readFd, one.address(), 1, 0);
            engine.submit(again);
            assertEquals(1, last.get(WAIT_SECONDS, TimeUnit.SECONDS));
            waitUntil(() -> !again.inFlight(), () -> "the last resubmission delivered");
            assertEquals(0, engine.countedInFlightOfThisThread(), "after resubmissions from the callback");

            // Close mid-flight: one in the caller ring, one on the Netty ring.
            Recorder rc = new Recorder();
            Recorder rd = new Recorder();
            Request c = new Request(rc).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            Request d = new Request(rd).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(c);
            engine.submit(d);
            assertEquals(2, engine.countedInFlightOfThisThread());
            closeWithin(engine);
            assertEquals(-ErrnoTable.ECANCELED, rc.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, rd.awaitResult());
            assertEquals(0, engine.countedInFlightOfThisThread(), "after the close canceled both");

            Request e = new Request(new Recorder()).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            Request f = new Request(new Recorder()).prepRead(p.readFd, arena.allocate(1).address(), 1, 0);
            assertThrows(EngineRejectedException.class, () -> engine.submit(e));
            assertThrows(EngineRejectedException.class, () -> engine.submitBatch(new Request[] {e}, 1));
            assertThrows(EngineRejectedException.class, () -> engine.submitLinked(e, f));
            assertEquals(0, engine.countedInFlightOfThisThread(), "the closed engine's refusals count nothing");
            for (Recorder r : new Recorder[] {ra, rb, rc, rd}) {
                assertEquals(1, r.calls(), "each completed once");
            }
        } finally {
            engine.close();
        }
    }

    /**
     * Many threads that come and go (a pool whose threads time out after 1 ms, and virtual threads) share two caller
     * rings and two Netty rings, each task submitting lone requests, a batch and a chain of writes and reads of one
     * file, and waiting for them. Every completion runs once, and on the task's thread its count is back to zero once
     * its requests completed (bounded: about a second). Holds.
     */
    @Test
    void threadsThatComeAndGo_eachCountsItsOwnRequestsExactly() throws Exception {
        assumeRings("caller rings are io_uring instances");
        ThreadPoolExecutor pool = new ThreadPoolExecutor(0, 16, 1, TimeUnit.MILLISECONDS, new SynchronousQueue<>(),
                r -> Thread.ofPlatform().unstarted(r), new ThreadPoolExecutor.CallerRunsPolicy());
        java.nio.file.Files.createDirectories(Path.of("target"));
        Path file = java.nio.file.Files.createTempFile(Path.of("target"), "homes-", ".dat");
        int fd = Libc.open(file.toString(), Libc.O_RDWR, 0);
        assertTrue(fd >= 0, "open: " + fd);
        try (RingEngine engine = RingEngine.open(config().rings(2).callerRings(2).callerRingDepth(1));
             Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 2, "the kernel gave no caller rings");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicLong completions = new AtomicLong();
            AtomicLong submitted = new AtomicLong();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
            int tasks = 0;
            java.util.List<CompletableFuture<Void>> all = new java.util.ArrayList<>();
            while (System.nanoTime() < end && failure.get() == null) {
                int id = tasks++;
                Runnable task = () -> {
                    try {
                        oneTask(engine, fd, arena, id, submitted, completions);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                };
                all.add(id % 3 == 0 ? CompletableFuture.runAsync(task, r -> Thread.ofVirtual().start(r))
                        : CompletableFuture.runAsync(task, pool));
                if (all.size() >= 32) {
                    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);
                    all.clear();
                }
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(WAIT_SECONDS, TimeUnit.SECONDS);
            if (failure.get() != null) {
                throw new AssertionError("a task failed", failure.get());
            }
            assertEquals(submitted.get(), completions.get(), "every request completed exactly once");
            assertTrue(tasks > 0);
        } finally {
            pool.shutdownNow();
            Libc.close(fd);
            java.nio.file.Files.deleteIfExists(file);
        }
    }

    /** One task: 2 lone writes, a batch of 3 reads, a chain write+read; waits; its count must be zero after. */
    private static void oneTask(RingEngine engine, int fd, Arena arena, int id, AtomicLong submitted,
                                AtomicLong completions) throws Exception {
        int n = 7;
        CountDownLatch left = new CountDownLatch(n);
        AtomicInteger[] calls = new AtomicInteger[n];
        Request[] rs = new Request[n];
        long base = (id % 64) * 4096L;
        for (int i = 0; i < n; i++) {
            AtomicInteger c = calls[i] = new AtomicInteger();
            MemorySegment buf = arena.allocate(512);
            Completion done = (r, res) -> {
                c.incrementAndGet();
                completions.incrementAndGet();
                left.countDown();
            };
            rs[i] = i % 2 == 0 ? new Request(done).prepWrite(fd, buf.address(), 512, base + i * 512L)
                    : new Request(done).prepRead(fd, buf.address(), 512, base + i * 512L);
        }
        submitted.addAndGet(n);
        engine.submit(rs[0]);
        engine.submit(rs[1]);
        engine.submitBatch(new Request[] {rs[2], rs[3], rs[4]}, 3);
        engine.submitLinked(rs[5], rs[6]);
        assertTrue(left.await(WAIT_SECONDS, TimeUnit.SECONDS), "the task's requests completed");
        for (AtomicInteger c : calls) {
            assertEquals(1, c.get(), "completed once");
        }
        assertEquals(0, engine.countedInFlightOfThisThread(), "the task's thread counts nothing in flight after");
    }

    /**
     * The same for caller rings: thread A keeps a request in flight in its caller ring; a short-lived thread submits
     * once and exits; thread B then gets the caller ring nobody busy is in, not A's by its place in the turn. Failed
     * before (caller rings were given by turn alone: B shared A's caller ring while the other stayed empty).
     */
    @Test
    void aThreadThatDied_doesNotPutTheNextThreadInABusyCallerRing() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(2).pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe quick = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 2, "the kernel gave no caller rings");
            Recorder ra = new Recorder();
            Request a = new Request(ra).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(a);
            Lane busy = assertInstanceOf(CallerRing.class, a.ring);
            quick.write(1);
            Recorder rt = new Recorder();
            Request once = new Request(rt).prepRead(quick.readFd, arena.allocate(1).address(), 1, 0);
            Thread dead = Thread.ofPlatform().start(() -> engine.submit(once));
            dead.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertEquals(1, rt.awaitResult());
            Recorder rb = new Recorder();
            Request b = new Request(rb).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            CompletableFuture.runAsync(() -> engine.submit(b), r -> Thread.ofPlatform().start(r))
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertInstanceOf(CallerRing.class, b.ring);
            assertNotEquals(busy, b.ring, "B shares the busy caller ring of A while the other is empty");
            held.write(2);
            assertEquals(1, ra.awaitResult());
            assertEquals(1, rb.awaitResult());
        }
    }
}
