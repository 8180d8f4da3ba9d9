package io.uringaio.engine;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The caller-driven lane ({@link RingEngineConfig#callerRings(int)}, {@link CallerRing}): a request submitted from an
 * application thread goes to a ring the thread drives itself; a thread that waits reaps inside the kernel; what nobody
 * waits for is reaped by the reaper thread; cancel, close and exactly-once hold as on the Netty rings. io_uring only
 * (the option has no effect on the thread pool, checked once here).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingTest extends KernelTest {
    private static final int BLOCK = 4096;
    private static final long LONG_WAIT_NANOS = TimeUnit.SECONDS.toNanos(WAIT_SECONDS);

    private Path dir;

    @BeforeEach
    void makeDir() throws Exception {
        Path target = Path.of("target");
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target, "caller-ring-");
    }

    @AfterEach
    void removeDir() throws Exception {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** An io_uring engine with {@code count} caller rings; skips where the kernel gives none. */
    private static RingEngine callerEngine(int count) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(count).pageCacheFastPath(false));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        assertEquals(count, engine.callerRingCount());
        return engine;
    }

    /** A file of {@code blocks} blocks; block i is filled with byte i. */
    private Path patternFile(int blocks) throws Exception {
        byte[] bytes = new byte[blocks * BLOCK];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i / BLOCK);
        }
        Path path = dir.resolve("pattern-" + blocks);
        Files.write(path, bytes);
        return path;
    }

    private static CallerRing callerRingOf(Request r) {
        return assertInstanceOf(CallerRing.class, r.ring, () -> "lane of " + r);
    }

    /**
     * {@code callerRingDepth(1)}: a thread's second request while its first is in flight goes to a Netty ring (batched
     * with others there) instead of paying its own enter in the caller ring; both complete once.
     */
    @Test
    void aDepthOfOneSendsTheThreadsNextRequestToANettyRing() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new RingEngineConfig().callerRingDepth(0));
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1));
             Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder first = new Recorder();
            Recorder second = new Recorder();
            Request a = new Request(first).prepRead(pipe.readFd, arena.allocate(4).address(), 4, 0);
            Request b = new Request(second).prepRead(pipe.readFd, arena.allocate(4).address(), 4, 0);
            engine.submit(a);
            engine.submit(b);
            callerRingOf(a);
            assertInstanceOf(Ring.class, b.ring, "the second request of the thread went to a Netty ring");
            pipe.write(8);
            assertEquals(4, first.awaitResult());
            assertEquals(4, second.awaitResult());
            assertEquals(1, first.calls());
            assertEquals(1, second.calls());
            // Both done, but the thread was at depth at its last submission: a thread at depth finds its count at zero
            // whenever a ring thread delivered all its completions before it came back to resubmit them. Its next
            // request stays on the Netty ring (failed before: it went into the caller ring); once a submission of the
            // thread was a lone one again, the next goes to the caller ring.
            Recorder third = new Recorder();
            Request c = new Request(third).prepRead(pipe.readFd, arena.allocate(4).address(), 4, 0);
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
            engine.submit(c);
            assertInstanceOf(Ring.class, c.ring, "the thread was at depth at its previous submission");
            pipe.write(4);
            assertEquals(4, third.awaitResult());
            Recorder fourth = new Recorder();
            Request d = new Request(fourth).prepRead(pipe.readFd, arena.allocate(4).address(), 4, 0);
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
            engine.submit(d);
            callerRingOf(d);
            pipe.write(4);
            assertEquals(4, fourth.awaitResult());
            for (Recorder r : new Recorder[] {first, second, third, fourth}) {
                assertEquals(1, r.calls(), "each completed once");
            }
        }
    }

    /**
     * {@code callerRingDepth(1)} counts a thread's own requests, on every lane: while the thread's request is in flight
     * on its Netty ring, its next goes there too even though its caller ring is empty; once it has nothing in flight,
     * the next goes to the caller ring again. Failed before the count was per thread (the second request below went to
     * the empty caller ring).
     */
    @Test
    void aDepthOfOneCountsTheThreadsRequestsOnEveryLane() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1));
             Pipe p1 = new Pipe(); Pipe p2 = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder ra = new Recorder();
            Recorder rb = new Recorder();
            Recorder rc = new Recorder();
            Request a = new Request(ra).prepRead(p1.readFd, arena.allocate(4).address(), 4, 0);
            Request b = new Request(rb).prepRead(p2.readFd, arena.allocate(4).address(), 4, 0);
            Request c = new Request(rc).prepRead(p2.readFd, arena.allocate(4).address(), 4, 0);
            engine.submit(a);
            engine.submit(b);
            callerRingOf(a);
            assertInstanceOf(Ring.class, b.ring, "the thread's second request goes to its Netty ring");
            p1.write(4);
            assertEquals(4, ra.awaitResult());
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "a done, b in flight: " + engine.stats());
            engine.submit(c);
            assertInstanceOf(Ring.class, c.ring, "b of this thread is still in flight: c joins it on the Netty ring");
            p2.write(8);
            assertEquals(4, rb.awaitResult());
            assertEquals(4, rc.awaitResult());
            // c went in at depth 2: the thread's next request still joins the Netty ring, the one after is lone.
            Recorder rd = new Recorder();
            Request d = new Request(rd).prepRead(p1.readFd, arena.allocate(4).address(), 4, 0);
            engine.submit(d);
            assertInstanceOf(Ring.class, d.ring, "the thread's previous submission was at depth");
            p1.write(4);
            assertEquals(4, rd.awaitResult());
            Recorder re = new Recorder();
            Request e = new Request(re).prepRead(p1.readFd, arena.allocate(4).address(), 4, 0);
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "idle: " + engine.stats());
            engine.submit(e);
            callerRingOf(e);
            p1.write(4);
            assertEquals(4, re.awaitResult());
            for (Recorder r : new Recorder[] {ra, rb, rc, rd, re}) {
                assertEquals(1, r.calls(), "each completed once");
            }
        }
    }

    /**
     * Two threads sharing one caller ring with {@code callerRingDepth(1)}: each thread's lone request goes into it
     * (the depth counts a thread's requests, not the ring's). Failed before: the second thread's went to the Netty
     * ring because the shared caller ring already held one.
     */
    @Test
    void aDepthOfOneIsPerThreadOnASharedCallerRing() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1));
             Pipe p1 = new Pipe(); Pipe p2 = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder ra = new Recorder();
            Recorder rb = new Recorder();
            Request a = new Request(ra).prepRead(p1.readFd, arena.allocate(4).address(), 4, 0);
            Request b = new Request(rb).prepRead(p2.readFd, arena.allocate(4).address(), 4, 0);
            engine.submit(a);
            CompletableFuture<Void> other = CompletableFuture.runAsync(() -> engine.submit(b),
                    r -> Thread.ofPlatform().start(r));
            other.get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertEquals(callerRingOf(a), callerRingOf(b), "both threads' lone requests are in the one caller ring");
            p1.write(4);
            p2.write(4);
            assertEquals(4, ra.awaitResult());
            assertEquals(4, rb.awaitResult());
        }
    }

    /**
     * A thread keeps its Netty ring: with two rings, every request of one thread goes to the same one, and the next
     * thread to submit gets the other (threads are spread in turn). Round robin per request (before) sent this thread's
     * requests to both.
     */
    @Test
    void aThreadKeepsItsNettyRing_andThreadsAreSpreadInTurn() throws Exception {
        assumeRings("Netty rings");
        try (RingEngine engine = RingEngine.open(config().rings(2)); Pipe pipe = new Pipe();
             Arena arena = Arena.ofShared()) {
            Request[] mine = new Request[6];
            Recorder[] done = new Recorder[mine.length];
            for (int i = 0; i < mine.length; i++) {
                done[i] = new Recorder();
                mine[i] = new Request(done[i]).prepRead(pipe.readFd, arena.allocate(1).address(), 1, 0);
                engine.submit(mine[i]);
            }
            Lane home = mine[0].ring;
            for (Request r : mine) {
                assertEquals(home, r.ring, "every request of this thread on its one ring");
            }
            Request theirs = new Request(new Recorder()).prepRead(pipe.readFd, arena.allocate(1).address(), 1, 0);
            CompletableFuture.runAsync(() -> engine.submit(theirs), r -> Thread.ofPlatform().start(r))
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotEquals(home, theirs.ring, "the next thread to submit gets the other ring");
            pipe.write(mine.length + 1);
            for (Recorder r : done) {
                assertEquals(1, r.awaitResult());
            }
        }
    }

    @Test
    void threadPoolBackendIgnoresTheOption() {
        Assumptions.assumeTrue(BACKEND == Backend.THREAD_POOL, "checks the thread-pool backend");
        try (RingEngine engine = RingEngine.open(config().callerRings(2))) {
            assertEquals(0, engine.callerRingCount());
        }
    }

    /** A request nobody waits for still completes, once, on the reaper thread (woken through the eventfd). */
    @Test
    void completionWithoutAWaiterRunsOnTheReaper() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(read);
            callerRingOf(read);
            pipe.write(5);
            assertEquals(5, done.awaitResult());
            assertEquals("uring-aio-caller-reaper", done.thread);
            waitUntil(() -> engine.stats().completed() == 1, () -> "counted: " + engine.stats());
            assertEquals(1, done.calls());
        }
    }

    /**
     * A thread waiting in its lane reaps its own completion: the callback runs on the waiting thread, not on a Netty
     * loop or the reaper (the eventfd is off while it waits).
     */
    @Test
    void waiterReapsItsOwnCompletion() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(read);
            CallerRing ring = callerRingOf(read);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    waitUntil(() -> ring.waiters() == 1, () -> "waiter inside");
                    pipe.write(7);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long deadline = System.nanoTime() + LONG_WAIT_NANOS;
            while (read.inFlight() && System.nanoTime() < deadline) {
                assertTrue(engine.awaitInLane(read, LONG_WAIT_NANOS), "request on a caller ring");
            }
            writer.join();
            assertEquals(7, done.awaitResult());
            assertEquals(Thread.currentThread().getName(), done.thread);
            assertEquals(1, done.calls());
            assertEquals(0, ring.waiters());
        }
    }

    /**
     * A thread waiting for any of several requests (aio_suspend) waits on one of them: the wait returns when another
     * one completes, so the caller can re-check them all. (With an unbounded wait, a wait that only returned for its
     * own request would never return here.)
     */
    @Test
    void waitReturnsWhenAnyCompletionRan() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe silent = new Pipe(); Pipe fed = new Pipe();
             Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(32);
            Recorder waitedOn = new Recorder();
            Recorder other = new Recorder();
            Request a = new Request(waitedOn).prepRead(silent.readFd, buf.address(), 16, 0);
            Request b = new Request(other).prepRead(fed.readFd, buf.address() + 16, 16, 0);
            engine.submit(a);
            engine.submit(b);
            CompletableFuture<Boolean> waited = new CompletableFuture<>();
            Thread waiter = Thread.ofPlatform().start(() -> waited.complete(engine.awaitInLane(a, Long.MAX_VALUE)));
            waitUntil(() -> callerRingOf(a).waiters() == 1, () -> "waiter inside");
            fed.write(6);
            assertTrue(await(waited), "a caller-ring request");
            waiter.join();
            assertEquals(6, other.awaitResult());
            assertTrue(a.inFlight(), "the request waited on is still in flight");
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(a)));
            assertEquals(-ErrnoTable.ECANCELED, waitedOn.awaitResult());
            assertEquals(1, waitedOn.calls());
        }
    }

    @Test
    void awaitInLaneRefusesWhatIsNotOnACallerRing() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Request idle = new Request(new Recorder()).prepRead(pipe.readFd, buf.address(), 16, 0);
            assertFalse(engine.awaitInLane(idle, LONG_WAIT_NANOS), "idle request");
            // A batch goes to the Netty ring.
            Recorder onNetty = new Recorder();
            Request batched = new Request(onNetty).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submitBatch(new Request[] {batched}, 1);
            assertInstanceOf(Ring.class, batched.ring);
            assertFalse(engine.awaitInLane(batched, LONG_WAIT_NANOS), "request on a Netty ring");
            // A virtual thread does not wait in the kernel.
            Recorder onCaller = new Recorder();
            Request mine = new Request(onCaller).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(mine);
            callerRingOf(mine);
            CompletableFuture<Boolean> fromVirtual = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> fromVirtual.complete(engine.awaitInLane(mine, LONG_WAIT_NANOS)));
            assertFalse(await(fromVirtual), "virtual thread");
            pipe.write(32);
            assertEquals(16, onNetty.awaitResult());
            assertEquals(16, onCaller.awaitResult());
            assertEquals(1, onNetty.calls());
            assertEquals(1, onCaller.calls());
        }
    }

    /**
     * The kernel cancels what a thread left unstarted when it exits (a poll-driven pipe read whose data comes later):
     * the lane hands such a request to a Netty ring, so it still completes with its data, once, not -ECANCELED.
     */
    @Test
    void requestOutlivesTheThreadThatSubmittedIt() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            Thread submitter = Thread.ofPlatform().start(() -> engine.submit(read));
            submitter.join();
            callerRingOf(read);
            pipe.write(9);
            assertEquals(9, done.awaitResult());
            assertEquals(1, done.calls());
        }
    }

    /**
     * A request the kernel completes during the submission itself (a buffered read of cached pages) completes on the
     * submitting thread before {@code submit} returns: no reaper, no waiter, no wake-up.
     */
    @Test
    void completionDuringTheSubmissionRunsOnTheSubmitter() throws Exception {
        Path path = patternFile(4);
        Files.readAllBytes(path); // cached
        try (RingEngine engine = callerEngine(1); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(path, READ)).fd();
            MemorySegment buf = arena.allocate(BLOCK);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(fd, buf.address(), BLOCK, 2L * BLOCK);
            engine.submit(read);
            assertEquals(1, done.calls(), "completed inside submit");
            assertEquals(BLOCK, done.awaitResult());
            assertEquals(Thread.currentThread().getName(), done.thread);
            assertEquals(2, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        }
    }

    /** A wait with nothing arriving returns after its bound; the request stays in flight, untouched. */
    @Test
    void waitTimesOutAndTheRequestStaysInFlight() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(read);
            long start = System.nanoTime();
            assertTrue(engine.awaitInLane(read, TimeUnit.MILLISECONDS.toNanos(30)));
            long waited = System.nanoTime() - start;
            assertTrue(waited >= TimeUnit.MILLISECONDS.toNanos(30), "returned after " + waited + " ns");
            assertTrue(read.inFlight());
            assertEquals(0, done.calls());
            pipe.write(3);
            while (read.inFlight()) {
                engine.awaitInLane(read, LONG_WAIT_NANOS);
            }
            assertEquals(3, done.awaitResult());
            assertEquals(1, done.calls());
        }
    }

    /** An interrupted waiter comes back within a slice; its interrupt status stays set. */
    @Test
    void interruptedWaiterReturns() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            Request read = new Request(new Recorder()).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(read);
            CompletableFuture<Boolean> interrupted = new CompletableFuture<>();
            Thread waiter = Thread.ofPlatform().start(() -> {
                engine.awaitInLane(read, LONG_WAIT_NANOS * 10);
                interrupted.complete(Thread.currentThread().isInterrupted());
            });
            waitUntil(() -> callerRingOf(read).waiters() == 1, () -> "waiter inside");
            waiter.interrupt();
            assertTrue(await(interrupted), "interrupt status kept");
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(read)));
        }
    }

    /** Cancel of a pipe read on a caller ring: CANCELED, -ECANCELED once; a bystander read is untouched. */
    @Test
    void cancelOfAPipeReadHitsOnlyItsTarget() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Pipe other = new Pipe();
             Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(32);
            Recorder target = new Recorder();
            Recorder bystander = new Recorder();
            Request t = new Request(target).prepRead(pipe.readFd, buf.address(), 16, 0);
            Request b = new Request(bystander).prepRead(other.readFd, buf.address() + 16, 16, 0);
            engine.submit(t);
            engine.submit(b);
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(t)));
            assertEquals(-ErrnoTable.ECANCELED, target.awaitResult());
            assertFalse(target.byClose);
            assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(t)), "second cancel");
            assertTrue(b.inFlight(), "bystander untouched");
            other.write(4);
            assertEquals(4, bystander.awaitResult());
            assertEquals(1, target.calls());
            assertEquals(1, bystander.calls());
        }
    }

    /**
     * A cancel reaches only the submission it was made for: after a request completed, its slot serves the next
     * request (same slot, next generation); canceling the finished one answers ALREADY_DONE and leaves the new one in
     * flight.
     */
    @Test
    void cancelOfAFinishedRequestLeavesTheSlotsNextUserAlone() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(32);
            Recorder first = new Recorder();
            Request a = new Request(first).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(a);
            int slotOfA = a.slot;
            pipe.write(2);
            while (a.inFlight()) {
                engine.awaitInLane(a, LONG_WAIT_NANOS);
            }
            assertEquals(2, first.awaitResult());
            Recorder second = new Recorder();
            Request b = new Request(second).prepRead(pipe.readFd, buf.address() + 16, 16, 0);
            engine.submit(b);
            assertEquals(slotOfA, b.slot, "the slot is reused (else this test checks nothing)");
            assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(a)));
            assertTrue(b.inFlight(), "the slot's new request is untouched");
            pipe.write(3);
            assertEquals(3, second.awaitResult());
            assertEquals(1, first.calls());
            assertEquals(1, second.calls());
            assertEquals(engine.stats().submitted(), engine.stats().completed(), () -> "" + engine.stats());
        }
    }

    /** Close with pipe reads in flight from several threads: each ends -ECANCELED by close, once, and close returns. */
    @Test
    void closeCancelsPipeReadsInFlight() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = callerEngine(2);
            MemorySegment buf = arena.allocate(16 * 64);
            List<Recorder> recorders = new ArrayList<>();
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                List<Recorder> mine = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    mine.add(new Recorder());
                }
                recorders.addAll(mine);
                int base = t * 16;
                submitters.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < mine.size(); i++) {
                        engine.submit(new Request(mine.get(i)).prepRead(pipe.readFd,
                                buf.address() + 16L * (base + i), 16, 0));
                    }
                }));
            }
            for (Thread t : submitters) {
                t.join();
            }
            waitUntil(() -> engine.stats().inFlight() == 64, () -> "in flight: " + engine.stats());
            closeWithin(engine);
            for (Recorder r : recorders) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult());
                assertTrue(r.byClose, "canceled by close");
                assertEquals(1, r.calls());
            }
        }
    }

    /** A callback that throws is logged; the lane goes on and every other request completes once. */
    @Test
    void throwingCallbackDoesNotStopTheLane() throws Exception {
        Path file = patternFile(4);
        try (RingEngine engine = callerEngine(1); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ)).fd();
            MemorySegment buf = arena.allocate(2 * BLOCK);
            AtomicInteger thrown = new AtomicInteger();
            Request bad = new Request((r, res) -> {
                thrown.incrementAndGet();
                throw new IllegalStateException("callback failure (expected by the test)");
            }).prepRead(fd, buf.address(), BLOCK, 0);
            Recorder good = new Recorder();
            Request ok = new Request(good).prepRead(fd, buf.address() + BLOCK, BLOCK, BLOCK);
            engine.submit(bad);
            engine.submit(ok);
            while (bad.inFlight() || ok.inFlight()) {
                engine.awaitInLane(bad.inFlight() ? bad : ok, LONG_WAIT_NANOS);
            }
            assertEquals(BLOCK, good.awaitResult());
            assertEquals(1, thrown.get());
            assertEquals(1, good.calls());
            assertEquals(1, buf.get(java.lang.foreign.ValueLayout.JAVA_BYTE, BLOCK));
            // The lane still works after the throw.
            Recorder after = new Recorder();
            engine.submit(new Request(after).prepRead(fd, buf.address(), BLOCK, 2 * BLOCK));
            assertEquals(BLOCK, after.awaitResult());
        }
    }

    /**
     * More threads than rings, each reading through {@link AsyncFile} and joining (waiting inside the shared rings):
     * every read returns its block's bytes, and every future completes.
     */
    @Test
    void manyThreadsShareFewerRings() throws Exception {
        int blocks = 64;
        Path path = patternFile(blocks);
        try (RingEngine engine = callerEngine(2)) {
            AsyncFile file = await(engine.open(path, READ));
            int threads = 6;
            int readsEach = 300;
            ConcurrentHashMap<String, Boolean> completionThreads = new ConcurrentHashMap<>();
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 1000 + t;
                CompletableFuture<Void> finished = new CompletableFuture<>();
                done.add(finished);
                Thread.ofPlatform().name("lane-user-" + t).start(() -> {
                    try {
                        Random random = new Random(seed);
                        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
                        for (int i = 0; i < readsEach; i++) {
                            int block = random.nextInt(blocks);
                            buffer.clear();
                            CompletableFuture<Integer> read = file.read(buffer, (long) block * BLOCK);
                            read.thenRun(() -> completionThreads.put(Thread.currentThread().getName(), true));
                            assertEquals(BLOCK, read.join());
                            assertEquals((byte) block, buffer.get(0));
                            assertEquals((byte) block, buffer.get(BLOCK - 1));
                        }
                        finished.complete(null);
                    } catch (Throwable e) {
                        finished.completeExceptionally(e);
                    }
                });
            }
            for (CompletableFuture<Void> f : done) {
                await(f);
            }
            assertEquals((long) threads * readsEach + 1, engine.stats().completed(), () -> "" + engine.stats());
            assertTrue(completionThreads.keySet().stream().anyMatch(n -> n.startsWith("lane-user-")),
                    () -> "completions ran on " + completionThreads.keySet());
            assertFalse(completionThreads.keySet().stream().anyMatch(n -> n.startsWith("uring-aio-ring")),
                    () -> "no completion on a Netty loop: " + completionThreads.keySet());
            file.close();
        }
    }

    /**
     * The lane's hot path allocates nothing: once warm, a loop of raw submit + {@link RingEngine#awaitInLane} on one
     * thread allocates no bytes on that thread, both for reads the kernel completes inside the submission (cached file
     * pages) and for reads whose completion the thread waits for in the kernel (an empty pipe that a helper thread
     * feeds once the test thread waits inside).
     */
    @Test
    void submitAndWaitAllocateNothingOnceWarm() throws Exception {
        Path path = patternFile(16);
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean tb && tb.isThreadAllocatedMemorySupported(),
                "per-thread allocation counter unavailable");
        com.sun.management.ThreadMXBean counter = (com.sun.management.ThreadMXBean) bean;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean armed = new AtomicBoolean();
        try (RingEngine engine = callerEngine(1); Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            int fd = (int) await(engine.open(path, READ)).fd();
            MemorySegment buf = arena.allocate(BLOCK);
            MemorySegment oneByte = arena.allocate(1);
            int[] completions = new int[1];
            Request read = new Request((r, res) -> completions[0]++);
            read.prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(read); // only to learn the ring (completes once the feeder starts)
            CallerRing ring = callerRingOf(read);
            Thread feeder = Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    if (armed.get() && ring.waiters() == 1) {
                        armed.set(false);
                        Libc.write(pipe.writeFd, oneByte.address(), 1);
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            try {
                armed.set(true);
                while (read.inFlight()) {
                    engine.awaitInLane(read, LONG_WAIT_NANOS);
                }
                long tid = Thread.currentThread().threadId();
                int window = 2_000;
                long fewest = Long.MAX_VALUE;
                // Warm-up is whatever it takes the JIT on a loaded machine: the best of up to 12 windows counts.
                for (int w = 0; w < 12 && fewest >= window; w++) {
                    long before = counter.getThreadAllocatedBytes(tid);
                    for (int i = 0; i < window; i++) {
                        boolean fromPipe = (i & 1) == 1;
                        read.prepRead(fromPipe ? pipe.readFd : fd, buf.address(), fromPipe ? 1 : BLOCK,
                                fromPipe ? 0 : (long) (i % 16) * BLOCK);
                        engine.submit(read);
                        if (fromPipe) {
                            armed.set(true);
                        }
                        while (read.inFlight()) {
                            engine.awaitInLane(read, LONG_WAIT_NANOS);
                        }
                    }
                    fewest = Math.min(fewest, counter.getThreadAllocatedBytes(tid) - before);
                }
                long allocated = fewest;
                assertTrue(completions[0] >= window, "completions counted: " + completions[0]);
                assertTrue(allocated < window, () -> allocated + " bytes allocated in " + window + " submit+wait");
            } finally {
                stop.set(true);
                feeder.join();
            }
        }
    }

    /** O_DIRECT reads through the lane return the right bytes (skips where the file system refuses O_DIRECT). */
    @Test
    void directReadsAreCorrect() throws Exception {
        int blocks = 32;
        Path path = patternFile(blocks);
        try (RingEngine engine = callerEngine(1)) {
            AsyncFile file;
            try {
                file = engine.open(path, READ, UringOpenOption.DIRECT).get(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                Assumptions.assumeFalse(e.getCause() instanceof UringIOException u && u.errno() == ErrnoTable.EINVAL,
                        () -> "the file system of " + dir.toAbsolutePath() + " refuses O_DIRECT");
                throw e;
            }
            try (Arena arena = Arena.ofShared()) {
                MemorySegment aligned = arena.allocate(BLOCK, BLOCK);
                byte[] expected = new byte[BLOCK];
                for (int i = 0; i < 200; i++) {
                    int block = (i * 7) % blocks;
                    aligned.fill((byte) -1);
                    CompletableFuture<Integer> read = file.read(aligned, (long) block * BLOCK);
                    assertEquals(BLOCK, read.join());
                    java.util.Arrays.fill(expected, (byte) block);
                    assertArrayEquals(expected, aligned.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                }
            }
            file.close();
        }
    }

    /**
     * Seeded chaos: several threads submit pipe and file reads, wait in the lane, cancel their own and each other's
     * requests, while the engine closes midway. Every submitted request completes exactly once; a request nobody
     * canceled never ends -ECANCELED unless the close canceled it; no thread hangs.
     */
    @Test
    void seededMixOfSubmitWaitCancelClose() throws Exception {
        Path path = patternFile(16);
        for (long seed = 1; seed <= 3; seed++) {
            chaosRound(path, seed);
        }
    }

    private void chaosRound(Path path, long seed) throws Exception {
        RingEngine engine = callerEngine(2);
        int fileFd = (int) await(engine.open(path, READ)).fd();
        int threads = 4;
        int perThread = 150;
        List<Tracked> all = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean closing = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(threads);
        List<CompletableFuture<Void>> workers = new ArrayList<>();
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buffers = arena.allocate((long) threads * perThread * 64);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                CompletableFuture<Void> finished = new CompletableFuture<>();
                workers.add(finished);
                Thread.ofPlatform().start(() -> {
                    Random random = new Random(seed * 31 + thread);
                    started.countDown();
                    try {
                        for (int i = 0; i < perThread && !closing.get(); i++) {
                            Tracked tr = new Tracked();
                            long address = buffers.address() + 64L * (thread * perThread + i);
                            boolean fromPipe = random.nextInt(3) == 0;
                            tr.request.prepRead(fromPipe ? pipe.readFd : fileFd, address, 16,
                                    fromPipe ? 0 : 16L * random.nextInt(64));
                            try {
                                engine.submit(tr.request);
                            } catch (EngineRejectedException closed) {
                                break;
                            }
                            all.add(tr);
                            switch (random.nextInt(4)) {
                                case 0 -> engine.awaitInLane(tr.request, TimeUnit.MILLISECONDS.toNanos(2));
                                case 1 -> {
                                    tr.canceled = true;
                                    engine.cancel(tr.request);
                                }
                                case 2 -> {
                                    Tracked victim = all.get(random.nextInt(all.size()));
                                    victim.canceled = true;
                                    engine.cancel(victim.request);
                                }
                                default -> { }
                            }
                            if (random.nextInt(8) == 0) {
                                pipe.write(16);
                            }
                        }
                        finished.complete(null);
                    } catch (Throwable e) {
                        finished.completeExceptionally(e);
                    }
                });
            }
            started.await();
            Thread.sleep(20 + seed * 10); // let the mix run a little before the close (no ordering depends on it)
            closing.set(true);
            closeWithin(engine);
            for (CompletableFuture<Void> w : workers) {
                await(w);
            }
            for (Tracked tr : all) {
                waitUntil(() -> tr.calls.get() >= 1, () -> "completion of " + tr.request + " (seed " + seed + ")");
                assertEquals(1, tr.calls.get(), () -> "calls of " + tr.request + " (seed " + seed + ")");
                if (!tr.canceled) {
                    assertTrue(tr.result != -ErrnoTable.ECANCELED || tr.byClose,
                            () -> "uncanceled request ended ECANCELED (seed " + seed + ")");
                }
            }
        }
    }

    /** One chaos request and what happened to it. */
    private static final class Tracked implements Completion {
        final Request request = new Request(this);
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean canceled;
        volatile int result;
        volatile boolean byClose;

        @Override
        public void complete(Request r, int res) {
            result = res;
            byClose = r.canceledByClose();
            calls.incrementAndGet();
        }
    }
}
