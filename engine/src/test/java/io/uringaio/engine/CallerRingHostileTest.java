package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile uses of the caller-driven lane ({@link CallerRing}): a close from a callback that runs inside
 * {@code submit}, and a callback that blocks on a waiting thread while completions nobody waits for arrive.
 * io_uring only.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingHostileTest extends KernelTest {
    /** How long the test lets a stalled completion go before it calls it stranded (well under the callback's own bound). */
    private static final long STRANDED_SECONDS = 5;

    private static RingEngine callerEngine(int count) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(count).pageCacheFastPath(false));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    /**
     * A pipe write with room completes during the submission's own enter, so its callback runs on the submitting thread
     * inside {@code submit}. A close from there must not wait for that very thread (it is inside the engine's
     * submission guard): the submit returns, the close finishes, the write completed once.
     */
    @Test
    void closeFromACallbackRunningInsideSubmitDoesNotDeadlock() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = callerEngine(1);
            MemorySegment bytes = arena.allocate(8);
            Recorder done = new Recorder();
            AtomicBoolean ranInsideSubmit = new AtomicBoolean();
            Thread submitter = Thread.currentThread();
            Request write = new Request((r, res) -> {
                ranInsideSubmit.set(Thread.currentThread() == submitter);
                engine.close();
                done.complete(r, res);
            }).prepWrite(pipe.writeFd, bytes.address(), 8, 0);
            CompletableFuture<Void> submitted = CompletableFuture.runAsync(() -> engine.submit(write),
                    r -> Thread.ofPlatform().daemon().start(r));
            try {
                submitted.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("submit whose callback closes the engine did not return within "
                        + WAIT_SECONDS + " s", e);
            }
            assertEquals(8, done.awaitResult());
            closeWithin(engine);
            assertFalse(engine.isOpen());
            assertEquals(1, done.calls());
        }
    }

    /**
     * Thread A waits inside the ring for its own read; it reaps another request's completion whose callback blocks
     * (until a third request, which nobody waits for, completes). That third completion must still be delivered (by
     * the reaper): a callback blocked on one thread must not strand the ring's other completions.
     */
    @Test
    void callbackBlockedOnAWaiterDoesNotStrandCompletionsNobodyWaitsFor() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe own = new Pipe(); Pipe slow = new Pipe();
             Pipe free = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(48);
            CountDownLatch inBlockedCallback = new CountDownLatch(1);
            CountDownLatch freeDone = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Recorder ownDone = new Recorder();
            Recorder slowDone = new Recorder();
            Recorder freeRecorder = new Recorder();
            Request ownRead = new Request(ownDone).prepRead(own.readFd, buf.address(), 16, 0);
            Request slowRead = new Request((r, res) -> {
                inBlockedCallback.countDown();
                try {
                    // Blocks until the other completion arrives, or the test gives up on it.
                    freeDone.await(WAIT_SECONDS, TimeUnit.SECONDS);
                    release.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                slowDone.complete(r, res);
            }).prepRead(slow.readFd, buf.address() + 16, 16, 0);
            Request freeRead = new Request((r, res) -> {
                freeRecorder.complete(r, res);
                freeDone.countDown();
            }).prepRead(free.readFd, buf.address() + 32, 16, 0);
            engine.submit(ownRead);
            engine.submit(slowRead);
            engine.submit(freeRead);
            CallerRing ring = assertInstanceOf(CallerRing.class, ownRead.ring);
            assertTrue(slowRead.ring == ring && freeRead.ring == ring, "one ring for all three");
            Thread waiter = Thread.ofPlatform().daemon().start(() -> {
                while (ownRead.inFlight()) {
                    engine.awaitInLane(ownRead, TimeUnit.SECONDS.toNanos(WAIT_SECONDS));
                }
            });
            try {
                waitUntil(() -> ring.waiters() == 1, () -> "waiter inside");
                slow.write(3);
                assertTrue(inBlockedCallback.await(WAIT_SECONDS, TimeUnit.SECONDS), "the waiter ran the callback");
                free.write(5);
                assertTrue(freeDone.await(STRANDED_SECONDS, TimeUnit.SECONDS),
                        "a completion nobody waits for was stranded while a waiter's callback blocked");
                assertEquals(5, freeRecorder.awaitResult());
            } finally {
                release.countDown();
                own.write(7);
                waiter.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            }
            assertEquals(7, ownDone.awaitResult());
            assertEquals(3, slowDone.awaitResult());
            assertEquals(1, ownDone.calls());
            assertEquals(1, slowDone.calls());
            assertEquals(1, freeRecorder.calls());
        }
    }

    /**
     * Many short-lived threads each submit a pipe read (its data comes after the thread exited), an O_DIRECT read, a
     * buffered write and an fsync, and exit at once. The kernel cancels what an exiting thread left unstarted; none of
     * these requests was canceled by anybody, so each completes exactly once with its own result: never -ECANCELED,
     * never -EINTR.
     */
    @Test
    void requestsOfThreadsThatExitAtOnceCompleteWithTheirOwnResults() throws Exception {
        int threads = 120;
        int block = 4096;
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "caller-exit-");
        Path data = dir.resolve("data");
        Files.write(data, new byte[16 * block]);
        Path out = dir.resolve("out");
        List<Pipe> pipes = pipes(threads);
        try (RingEngine engine = callerEngine(2); Arena arena = Arena.ofShared()) {
            int directFd;
            try {
                directFd = (int) engine.open(data, StandardOpenOption.READ, UringOpenOption.DIRECT)
                        .get(WAIT_SECONDS, TimeUnit.SECONDS).fd();
            } catch (ExecutionException e) {
                Assumptions.assumeFalse(e.getCause() instanceof UringIOException u
                        && u.errno() == io.uringaio.engine.uapi.ErrnoTable.EINVAL, "the file system refuses O_DIRECT");
                throw e;
            }
            int outFd = (int) await(engine.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE)).fd();
            MemorySegment buffers = arena.allocate((long) threads * 2 * block, block);
            List<Recorder> pipeReads = new ArrayList<>();
            List<Recorder> others = new ArrayList<>();
            List<Integer> expected = new ArrayList<>();
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Recorder pipeRead = new Recorder();
                Recorder direct = new Recorder();
                Recorder write = new Recorder();
                Recorder fsync = new Recorder();
                pipeReads.add(pipeRead);
                others.add(direct);
                expected.add(block);
                others.add(write);
                expected.add(block);
                others.add(fsync);
                expected.add(0);
                long slot = buffers.address() + (long) t * 2 * block;
                Request[] requests = {
                    new Request(pipeRead).prepRead(pipes.get(t).readFd, slot, 16, 0),
                    new Request(direct).prepRead(directFd, slot + block, block, (long) (t % 16) * block),
                    new Request(write).prepWrite(outFd, slot + block, block, (long) t * block),
                    new Request(fsync).prepFsync(outFd, true),
                };
                Thread submitter = Thread.ofPlatform().start(() -> {
                    for (Request r : requests) {
                        engine.submit(r);
                    }
                });
                submitters.add(submitter);
            }
            for (Thread submitter : submitters) {
                submitter.join();
            }
            for (int t = 0; t < threads; t++) {
                pipes.get(t).write(1 + t % 16);
            }
            for (int t = 0; t < threads; t++) {
                int index = t;
                assertEquals(1 + t % 16, pipeReads.get(t).awaitResult(), () -> "pipe read of thread " + index);
            }
            for (int i = 0; i < others.size(); i++) {
                int index = i;
                assertEquals(expected.get(i), others.get(i).awaitResult(), () -> "request " + index);
            }
            closeWithin(engine);
            for (Recorder r : pipeReads) {
                assertEquals(1, r.calls());
            }
            for (Recorder r : others) {
                assertEquals(1, r.calls());
            }
        } finally {
            closeAll(pipes);
            for (Path p : List.of(data, out, dir)) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * The kernel canceled a request because its submitting thread exited (its -ECANCELED CQE posted, not reaped yet)
     * when an application cancel of it was sent: that cancel finds nothing (-ENOENT), and both CQEs are reaped, the
     * target's first. A cancel watched the target, so the target ends -ECANCELED (it is not handed on): the cancel's
     * answer must agree with that end, CANCELED, not ALREADY_DONE (the facade would answer AIO_ALLDONE for a request
     * whose status is ECANCELED).
     */
    @Test
    void cancelAnswerAgreesWithATargetThatEndedCanceledBeforeTheCancelWasAnswered() throws Exception {
        Request target = new Request((r, res) -> { });
        CompletableFuture<CancelOutcome> outcome = new CompletableFuture<>();
        CallerRing.LaneCancel watch = new CallerRing.LaneCancel(target, outcome);
        target.laneCancels = watch;
        CallerRing.Batch batch = new CallerRing.Batch();
        CallerRing.LaneCancel.targetEnded(target, -io.uringaio.engine.uapi.ErrnoTable.ECANCELED, batch);
        watch.cancelAnswered(-io.uringaio.engine.uapi.ErrnoTable.ENOENT, batch);
        assertEquals(1, batch.count, "the decision is queued once");
        watch.publish();
        assertEquals(CancelOutcome.CANCELED, outcome.getNow(null));
    }

    /**
     * The same two CQEs in the other order, as the kernel's io-wq race makes them (see {@link Ring.KernelCancel}): a
     * cancel that flagged a write running in an io-wq worker is answered -ENOENT, and the write then ends -ECANCELED.
     * The cancel must keep watching its target (else the target's -ECANCELED, watched by nobody, is taken for the
     * kernel's cancel of an exited submitter's work and the write is run again on a Netty ring) and answer CANCELED.
     * Before the fix it answered ALREADY_DONE at once and stopped watching.
     */
    @Test
    void aCancelAnsweredNotFoundBeforeItsTargetEndedCanceledReportsCanceled() throws Exception {
        Request target = new Request((r, res) -> { });
        CompletableFuture<CancelOutcome> outcome = new CompletableFuture<>();
        CallerRing.LaneCancel watch = new CallerRing.LaneCancel(target, outcome);
        target.laneCancels = watch;
        CallerRing.Batch batch = new CallerRing.Batch();
        watch.cancelAnswered(-io.uringaio.engine.uapi.ErrnoTable.ENOENT, batch);
        assertEquals(0, batch.count, "nothing decided while the target has not ended");
        assertEquals(watch, target.laneCancels, "the target is still watched: its -ECANCELED is not handed on");
        CallerRing.LaneCancel.targetEnded(target, -io.uringaio.engine.uapi.ErrnoTable.ECANCELED, batch);
        assertEquals(1, batch.count, "the decision is queued once");
        watch.publish();
        assertEquals(CancelOutcome.CANCELED, outcome.getNow(null));
    }

    /** -ENOENT while the target had not ended, and the target then runs to its own result: NOT_CANCELED. */
    @Test
    void aCancelAnsweredNotFoundBeforeItsTargetRanToItsEndReportsNotCanceled() throws Exception {
        Request target = new Request((r, res) -> { });
        CompletableFuture<CancelOutcome> outcome = new CompletableFuture<>();
        CallerRing.LaneCancel watch = new CallerRing.LaneCancel(target, outcome);
        target.laneCancels = watch;
        CallerRing.Batch batch = new CallerRing.Batch();
        watch.cancelAnswered(-io.uringaio.engine.uapi.ErrnoTable.ENOENT, batch);
        CallerRing.LaneCancel.targetEnded(target, 512, batch);
        assertEquals(1, batch.count, "the decision is queued once");
        watch.publish();
        assertEquals(CancelOutcome.NOT_CANCELED, outcome.getNow(null));
    }

    /**
     * A caller ring full (its in-flight bound reached) sends the excess to a Netty ring: every request still completes
     * once with its own data; a cancel of one in the caller ring and of one in the Netty ring hits only its target.
     */
    @Test
    void fullCallerRingFallsBackAndCancelsHitOnlyTheirTargets() throws Exception {
        assumeRings("caller rings are io_uring instances");
        int count = 24;
        List<Pipe> pipes = pipes(count);
        try (RingEngine engine = RingEngine.open(config().rings(1).ringSize(64).maxInFlightPerRing(8).callerRings(1)
                .pageCacheFastPath(false)); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            MemorySegment buf = arena.allocate(16L * count);
            List<Recorder> done = new ArrayList<>();
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Recorder r = new Recorder();
                done.add(r);
                Request read = new Request(r).prepRead(pipes.get(i).readFd, buf.address() + 16L * i, 16, 0);
                reads.add(read);
                engine.submit(read);
            }
            int inCaller = (int) reads.stream().filter(r -> r.ring instanceof CallerRing).count();
            assertEquals(8, inCaller, "the caller ring holds its bound, the rest went to the Netty ring");
            int callerVictim = 0;
            int nettyVictim = count - 1;
            assertTrue(reads.get(callerVictim).ring instanceof CallerRing);
            assertFalse(reads.get(nettyVictim).ring instanceof CallerRing);
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(reads.get(callerVictim))));
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(reads.get(nettyVictim))));
            for (int i = 0; i < count; i++) {
                if (i != callerVictim && i != nettyVictim) {
                    pipes.get(i).write(1 + i % 16);
                }
            }
            for (int i = 0; i < count; i++) {
                int expected = i == callerVictim || i == nettyVictim
                        ? -io.uringaio.engine.uapi.ErrnoTable.ECANCELED : 1 + i % 16;
                int index = i;
                assertEquals(expected, done.get(i).awaitResult(), () -> "read " + index);
            }
            closeWithin(engine);
            for (Recorder r : done) {
                assertEquals(1, r.calls());
            }
        } finally {
            closeAll(pipes);
        }
    }

    /**
     * Two completions reaped in one batch, A's then B's; A's callback waits (inside the same ring, on the same thread)
     * for B. B's completion sits in the batch being delivered, behind A's callback: the nested wait must deliver it
     * (before, it waited its full bound and then gave up, and a wait without bound, a {@code join}, hung forever).
     * A standalone ring without a reaper, so the batch is [A, B] by construction: the eventfd tells when each CQE is
     * posted, and nobody reaps until the test thread waits.
     */
    @Test
    void aCallbackWaitingForALaterCompletionOfItsOwnBatchGetsIt() throws Exception {
        assumeRings("caller rings are io_uring instances");
        int eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        Assumptions.assumeTrue(eventFd >= 0, "no eventfd");
        CallerRing ring;
        try {
            ring = CallerRing.open(0, 64, 16, eventFd, null, r -> { throw new AssertionError("no thread exits here"); });
        } catch (UnsupportedOperationException e) {
            Libc.close(eventFd);
            Assumptions.assumeTrue(false, e.getMessage());
            return;
        }
        try (Pipe first = new Pipe(); Pipe second = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(32);
            MemorySegment counter = arena.allocate(8);
            Recorder bDone = new Recorder();
            Request b = new Request(bDone).prepRead(second.readFd, buf.address() + 16, 16, 0);
            AtomicBoolean bDoneInsideA = new AtomicBoolean();
            Recorder aDone = new Recorder();
            Request a = new Request((r, res) -> {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STRANDED_SECONDS);
                while (b.inFlight() && System.nanoTime() < deadline) {
                    ring.await(b, deadline - System.nanoTime());
                }
                bDoneInsideA.set(!b.inFlight());
                aDone.complete(r, res);
            }).prepRead(first.readFd, buf.address(), 16, 0);
            for (Request r : List.of(a, b)) {
                r.ring = ring;
                r.state.set(Request.QUEUED);
                assertTrue(ring.tryAccept(r));
            }
            first.write(3);
            assertTrue(Libc.read(eventFd, counter.address(), 8) == 8, "A's CQE signaled");
            second.write(4);
            assertTrue(Libc.read(eventFd, counter.address(), 8) == 8, "B's CQE signaled");
            assertTrue(ring.await(a, TimeUnit.SECONDS.toNanos(WAIT_SECONDS)));
            assertEquals(3, aDone.awaitResult());
            assertEquals(4, bDone.awaitResult());
            assertTrue(bDoneInsideA.get(), "B completed while A's callback waited for it");
            assertEquals(1, aDone.calls());
            assertEquals(1, bDone.calls());
        } finally {
            ring.beginClose();
            ring.deregister();
            Libc.close(eventFd);
        }
    }

    /**
     * A thread that used an engine's caller ring keeps nothing of it once the engine closed: an application that opens
     * and closes engines (AioContexts) on its long-lived threads must not keep every closed engine alive.
     */
    @Test
    void aClosedEngineIsNotKeptAliveByTheThreadsThatUsedItsCallerRings() throws Exception {
        assumeRings("caller rings are io_uring instances");
        java.lang.ref.WeakReference<RingEngine> ref = useAndCloseCallerEngine();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STRANDED_SECONDS);
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(ref.get() == null, "the closed engine is still reachable (from this thread's thread-locals)");
    }

    private static java.lang.ref.WeakReference<RingEngine> useAndCloseCallerEngine() throws Exception {
        RingEngine engine = callerEngine(1);
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(8);
            Recorder done = new Recorder();
            Request write = new Request(done).prepWrite(pipe.writeFd, buf.address(), 8, 0);
            engine.submit(write);
            assertEquals(8, done.awaitResult());
        }
        engine.close();
        return new java.lang.ref.WeakReference<>(engine);
    }
}
