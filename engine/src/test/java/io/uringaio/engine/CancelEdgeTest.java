package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Cancels at the edges: a linked chain's unstarted member, and a cancel that loses its race with the engine's close. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CancelEdgeTest extends KernelTest {
    @TempDir
    Path dir;

    /**
     * A chain [read of an empty pipe, write]: the write waits in the kernel behind the read. The kernel's
     * ASYNC_CANCEL cannot find it (-ENOENT); before the fix the engine reported ALREADY_DONE at once, while the write
     * had not even started and then ran. The outcome must be about how the member actually ended.
     */
    @Test
    void aCancelOfAnUnstartedChainMemberReportsHowTheMemberEnded() throws Exception {
        int fd = Libc.open(dir.resolve("f").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertEquals(true, fd >= 0, "open: " + fd);
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder head = new Recorder();
            Recorder member = new Recorder();
            Request read = new Request(head).prepRead(pipe.readFd, buf.address(), 1, 0);
            Request write = new Request(member).prepWrite(fd, buf.address(), 1, 0);
            engine.submitLinked(read, write);
            waitUntil(() -> engine.stats().inFlight() >= 1, () -> "chain in flight: " + engine.stats());
            CompletableFuture<CancelOutcome> outcome = engine.cancel(write);
            // A round trip through the one ring after the cancel: its task, and its ASYNC_CANCEL, went first. Only
            // then may the head end (else the member could legitimately be done before the cancel ran).
            Recorder nop = new Recorder();
            engine.submit(new Request(nop).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertEquals(0, nop.awaitResult());
            pipe.write(1);
            assertEquals(1, head.awaitResult(), "the head was not canceled");
            int memberResult = member.awaitResult();
            CancelOutcome o = await(outcome);
            assertNotEquals(CancelOutcome.ALREADY_DONE, o, "the member had not ended when the cancel came");
            assertEquals(o == CancelOutcome.CANCELED, memberResult == -ErrnoTable.ECANCELED,
                    () -> "outcome " + o + " vs member result " + memberResult);
            assertEquals(1, head.calls());
            assertEquals(1, member.calls());
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * The CI failure of CancelTargetTest (a cancel reported ALREADY_DONE, its target ended -ECANCELED), frozen. The
     * kernel can answer a cancel -ENOENT for a target that then ends -ECANCELED, and the two CQEs arrive in one drain:
     * for a buffered write in an io-wq worker, IORING_OP_ASYNC_CANCEL flags the running work (-EALREADY), falls through
     * to the poll, waitid, futex and timeout lookups (-ENOENT), then searches every io-wq again: if the worker has
     * meanwhile seen the flag and failed the write -ECANCELED, that second search finds nothing and the cancel's answer
     * is -ENOENT. Here the same two CQEs come deterministically: a chain [read of an empty pipe, write] and, in one
     * turn of the ring (from a completion on the ring thread), a cancel of the write (its unstarted member: -ENOENT)
     * then a cancel of the read, which fails the write -ECANCELED. Before the fix the engine decided the -ENOENT when
     * it delivered the cancel, after the write's -ECANCELED of the same drain was recorded, and answered ALREADY_DONE.
     */
    @Test
    void aCancelAnsweredNotFoundWhoseTargetEndsCanceledInTheSameDrainReportsCanceled() throws Exception {
        int fd = Libc.open(dir.resolve("f").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertEquals(true, fd >= 0, "open: " + fd);
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder head = new Recorder();
            Recorder member = new Recorder();
            Request read = new Request(head).prepRead(pipe.readFd, buf.address(), 1, 0);
            Request write = new Request(member).prepWrite(fd, buf.address(), 1, 0);
            engine.submitLinked(read, write);
            waitUntil(() -> engine.stats().inFlight() >= 1, () -> "chain in flight: " + engine.stats());
            CompletableFuture<CancelOutcome> ofWrite = new CompletableFuture<>();
            CompletableFuture<CancelOutcome> ofRead = new CompletableFuture<>();
            Recorder nop = new Recorder() {
                @Override
                public void complete(Request r, int res) {
                    // One turn: both ASYNC_CANCELs go to the kernel in one enter, the member's first.
                    engine.cancel(write).whenComplete((o, e) -> ofWrite.complete(o));
                    engine.cancel(read).whenComplete((o, e) -> ofRead.complete(o));
                    super.complete(r, res);
                }
            };
            engine.submit(new Request(nop).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertEquals(0, nop.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, head.awaitResult(), "the head was canceled");
            assertEquals(-ErrnoTable.ECANCELED, member.awaitResult(), "the member failed with its head");
            assertEquals(CancelOutcome.CANCELED, await(ofRead));
            assertEquals(CancelOutcome.CANCELED, await(ofWrite), "the member's completion ran with -ECANCELED");
            assertEquals(1, head.calls());
            assertEquals(1, member.calls());
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * A second cancel of a request that a first cancel ended: its -ECANCELED CQE is reaped, and the second cancel runs
     * (from a completion of the same drain, on the ring thread) before that completion is delivered. Its completion
     * runs with -ECANCELED, so both cancels say CANCELED; before the fix the second said ALREADY_DONE.
     */
    @Test
    void aCancelThatFindsItsTargetReapedCanceledButUndeliveredReportsCanceled() throws Exception {
        assumeRings("a CQE reaped but not yet delivered is a ring's state");
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder blocked = new Recorder();
            Request target = new Request(blocked).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(target);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "read waiting: " + engine.stats());
            CompletableFuture<CancelOutcome> ofFirst = new CompletableFuture<>();
            CompletableFuture<CancelOutcome> ofSecond = new CompletableFuture<>();
            Recorder nop = new Recorder() {
                @Override
                public void complete(Request r, int res) {
                    // One turn: a NOP (whose completion cancels again) and the first cancel go in one enter; the
                    // NOP's CQE, the cancel's and the read's -ECANCELED come in one drain, the NOP's delivered first.
                    engine.submit(new Request((q, ignored) -> engine.cancel(target)
                            .whenComplete((o, e) -> ofSecond.complete(o))).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
                    engine.cancel(target).whenComplete((o, e) -> ofFirst.complete(o));
                    super.complete(r, res);
                }
            };
            engine.submit(new Request(nop).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertEquals(0, nop.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, blocked.awaitResult());
            assertEquals(CancelOutcome.CANCELED, await(ofFirst));
            assertEquals(CancelOutcome.CANCELED, await(ofSecond), "the read's completion ran with -ECANCELED");
            assertEquals(1, blocked.calls());
        }
    }

    /**
     * The race of a cancel with close, frozen at its worst point: the caller saw the request in flight on a ring,
     * then the engine closed and its loop shut down before the cancel reached the ring. Before the fix the loop's
     * RejectedExecutionException escaped {@code cancel}.
     */
    @Test
    void aCancelThatArrivesAfterTheRingsLoopShutDownAnswersAlreadyDone() throws Exception {
        assumeRings("the ring's loop rejecting the cancel task");
        RingEngine engine = engine(1);
        Lane ring = engine.pickRing();
        engine.close();
        Request r = new Request((q, res) -> { });
        r.ring = ring; // what the canceling thread read before the close
        r.state.set(Request.IN_KERNEL);
        assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(r)));
    }

    /**
     * A raw IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_ANY needs no key: before the fix io_uring ran it and it
     * canceled a bystander's read that nobody canceled (the thread pool answered -EINVAL). Now it is refused up front
     * on both backends, and the bystander is untouched.
     */
    @Test
    void aRawCancelOpIsRefusedAndTouchesNoBystander() throws Exception {
        int cancelAny = 1 << 2;
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder bystander = new Recorder();
            engine.submit(new Request(bystander).prepRead(pipe.readFd, buf.address(), 1, 0));
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "bystander in flight: " + engine.stats());
            Recorder raw = new Recorder();
            Request cancel = new Request(raw).prep(Uapi.IORING_OP_ASYNC_CANCEL, -1, 0, 0, 0, cancelAny);
            try {
                engine.submit(cancel);
            } catch (IllegalArgumentException refused) {
                assertFalse(cancel.inFlight(), "the refused request stays idle");
            }
            Recorder nop = new Recorder(); // a round trip: a raw cancel that went in has done its work by then
            engine.submit(new Request(nop).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertEquals(0, nop.awaitResult());
            pipe.write(1);
            assertEquals(1, bystander.awaitResult(), "the bystander was not canceled");
            assertEquals(0, raw.calls(), "the raw cancel was refused, not run");
        }
    }

    /**
     * 400 cancels of one waiting read from 8 threads: the read completes once, with -ECANCELED, and every outcome is
     * true of it (CANCELED or, for a cancel that came after its end, ALREADY_DONE; never NOT_CANCELED).
     */
    @Test
    void manyConcurrentCancelsOfOneRequestCompleteItOnceAndAllTellTheTruth() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(read);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "read waiting: " + engine.stats());
            java.util.Queue<CompletableFuture<CancelOutcome>> outcomes = new java.util.concurrent.ConcurrentLinkedQueue<>();
            java.util.List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int k = 0; k < 50; k++) {
                        outcomes.add(engine.cancel(read));
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(-ErrnoTable.ECANCELED, done.awaitResult());
            int canceled = 0;
            for (CompletableFuture<CancelOutcome> o : outcomes) {
                CancelOutcome outcome = await(o);
                assertNotEquals(CancelOutcome.NOT_CANCELED, outcome);
                canceled += outcome == CancelOutcome.CANCELED ? 1 : 0;
            }
            assertEquals(true, canceled >= 1, "at least the first cancel reports CANCELED");
            assertEquals(1, done.calls());
        }
    }

    /** A cancel from inside another request's completion (on the ring or worker thread) cancels its target. */
    @Test
    void aCancelFromACompletionCallbackCancelsItsTarget() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder blocked = new Recorder();
            Request target = new Request(blocked).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(target);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "read waiting: " + engine.stats());
            CompletableFuture<CancelOutcome> fromCallback = new CompletableFuture<>();
            engine.submit(new Request((r, res) -> engine.cancel(target).whenComplete((o, e) -> {
                if (e != null) {
                    fromCallback.completeExceptionally(e);
                } else {
                    fromCallback.complete(o);
                }
            })).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertEquals(CancelOutcome.CANCELED, await(fromCallback));
            assertEquals(-ErrnoTable.ECANCELED, blocked.awaitResult());
            assertEquals(1, blocked.calls());
        }
    }
}
