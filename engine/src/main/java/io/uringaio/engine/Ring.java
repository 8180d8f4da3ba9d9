package io.uringaio.engine;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoOps;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One io_uring: a registration on one Netty io_uring event loop, its slot table, its incoming queue and its waiting
 * queue. Every field without a concurrency annotation in its comment belongs to the ring thread.
 *
 * <p>A <em>turn</em> is one task on the ring thread: deliver the completions gathered by the last CQE drain, then move
 * everything queued into SQEs. The SQEs of one turn go to the kernel in the loop's next {@code io_uring_enter}, so N
 * submissions that arrive together cost one wake-up and one enter.
 */
final class Ring implements IoUringIoHandle, Lane {
    /** Slots kept for internal cancels, so a ring full of blocked requests can still cancel them. */
    static final int CONTROL_SLOTS = 32;
    /** SQ entries Netty uses for itself (eventfd read, timeout) beside ours. */
    static final int NETTY_SQ_RESERVE = 8;

    final int index;
    private final Runnable afterCompletionBatch;
    final IoEventLoop loop;
    private final int maxInFlight;
    private IoRegistration registration;

    private final RequestTable table;
    private final IncomingQueue incoming = new IncomingQueue();
    private final WaitingQueue waiting = new WaitingQueue();
    private final ArrayDeque<Request> controlWaiting = new ArrayDeque<>();
    private Request[] completed = new Request[64];
    /** Scratch for {@link #drainIncoming()}. */
    private Request[] drainScratch = new Request[64];
    private int completedCount;

    private int userInFlight;
    private int controlInFlight;
    private long nextSeq;
    private int batchSqes;
    private boolean inTurn;
    private boolean closing;
    private CompletableFuture<Void> drained;
    /**
     * Set on the ring thread when Netty closes this handle because the application shut the loop down under an open
     * engine ({@link #close()}): no turn runs any more, so completions are delivered where they are reaped.
     */
    private boolean loopClosing;
    /** True while {@link #deliverCompletions()} runs (a callback that cancels must not re-enter it). */
    private boolean delivering;
    /**
     * Set once the loop terminated (any thread reads it): from then on nobody else touches this ring's queues, and
     * what is left in them is completed by {@link #afterLoopTerminated()} under {@link #postMortem}.
     */
    private volatile boolean loopGone;
    /** Serializes the queues' consumers once the ring thread is gone (the termination listener, refused producers). */
    private final Object postMortem = new Object();
    /** The future of {@link #beginClose()}, so that a loop that died before running the close still completes it. */
    private volatile CompletableFuture<Void> closeRequested;
    /** How long after its cancels were all answered a closing ring cancels again what is left ({@link #checkDrained}). */
    private static final long CANCEL_AGAIN_MILLIS = 10;
    /** A {@link #cancelAgainForClose} is scheduled on the loop (loop thread only). */
    private boolean cancelAgainScheduled;
    /** Set when the engine's close drained this ring on its loop: the termination listener has nothing left to do. */
    private volatile boolean drainedByClose;
    private final GenericFutureListener<Future<Object>> terminationListener = f -> afterLoopTerminated();
    /** {@link #onLoopShutDown}: the engine's, set once it exists (any thread reads it). */
    private volatile Runnable loopShutDownHook;

    /** Set by any thread that queues work; cleared by the ring thread when a turn starts. */
    private final AtomicBoolean turnScheduled = new AtomicBoolean();
    private final Runnable turnTask = this::turn;

    // Counters: LongAdder for producers; volatile single-writer fields for the ring thread.
    final LongAdder submitted = new LongAdder();
    private volatile long completedTotal;
    private volatile long enters;
    private volatile long sqes;
    private volatile int inFlightGauge;

    Ring(int index, IoEventLoop loop, int maxInFlight, Runnable afterCompletionBatch) {
        this.afterCompletionBatch = afterCompletionBatch;
        this.index = index;
        this.loop = loop;
        this.maxInFlight = maxInFlight;
        this.table = new RequestTable(maxInFlight + CONTROL_SLOTS);
    }

    /** Registers this ring on its loop; blocks until Netty answered. */
    void register() throws Exception {
        registration = loop.register(this).sync().getNow();
        // An application's group may shut down under an open engine: its requests must still complete once.
        loop.terminationFuture().addListener(terminationListener);
        if (loop.inEventLoop()) {
            markRingThread();
        } else {
            loop.submit(Ring::markRingThread).sync();
        }
    }

    /**
     * How many rings (of any engines) the calling thread runs: event loops of an engine's own group or of an
     * application's group given to one, for {@link #onRingThread()}. Counted up when a ring registers and down when it
     * deregisters, each on the loop itself; a loop whose engines all closed is an ordinary thread again.
     */
    private static final ThreadLocal<int[]> RINGS_ON_THREAD = ThreadLocal.withInitial(() -> new int[1]);

    private static void markRingThread() {
        RINGS_ON_THREAD.get()[0]++;
    }

    private static void unmarkRingThread() {
        RINGS_ON_THREAD.get()[0]--;
    }

    /**
     * True on an event loop that runs a ring of any engine. A blocking wait there for an engine operation not yet
     * done could deadlock: that loop delivers completions of its ring, for which other loops may be waiting
     * ({@link LaneFuture#checkMayWait}). A thread-local look-up: for blocking waits, not for the hot paths.
     */
    static boolean onRingThread() {
        return RINGS_ON_THREAD.get()[0] > 0;
    }

    /**
     * Called once the engine exists: {@code hook} is run when this ring's loop is seen shutting down (the
     * application shut its group, or this loop, down under the open engine), so that the engine stops taking work
     * everywhere at once. Run at once if the loop is already shutting down.
     */
    void onLoopShutDown(Runnable hook) {
        this.loopShutDownHook = hook;
        if (loop.isShuttingDown()) {
            hook.run();
        }
    }

    /** Tells the engine that this ring's loop is shutting down ({@link #onLoopShutDown}); any thread, idempotent. */
    private void loopShutDownSeen() {
        Runnable hook = loopShutDownHook;
        if (hook != null) {
            hook.run();
        }
    }

    @Override
    public boolean loopShutDown() {
        return loop.isShuttingDown();
    }

    // ---------------------------------------------------------------- submission (any thread)

    /**
     * Accepts a request (or the head of a linked chain) whose state is already QUEUED. From the ring thread it is
     * dispatched at once; from any other thread it goes through the incoming queue and one turn.
     */
    @Override
    public void accept(Request request) {
        refuseIfLoopShutDown();
        submitted.add(request.chainLength());
        if (loop.inEventLoop()) {
            acceptOnRing(request);
            scheduleTurnFromRing();
        } else {
            incoming.offer(request);
            scheduleTurn();
        }
    }

    /** Accepts {@code count} QUEUED requests as one batch: one turn moves them all into SQEs together. */
    @Override
    public void acceptBatch(Request[] requests, int count) {
        refuseIfLoopShutDown();
        submitted.add(count);
        if (loop.inEventLoop()) {
            for (int i = 0; i < count; i++) {
                acceptOnRing(requests[i]);
            }
            scheduleTurnFromRing();
        } else {
            for (int i = 0; i < count; i++) {
                incoming.offer(requests[i]);
            }
            scheduleTurn();
        }
    }

    /**
     * Refuses a submission once the loop is shutting down (the application shut its group down while the engine was
     * open): the loop runs no turn for it any more, and before this check such a request sat in the incoming queue
     * forever (or the submitter got Netty's untyped RejectedExecutionException). Nothing is accepted; the caller
     * resets the request. One volatile read of the loop's state per submission.
     */
    private void refuseIfLoopShutDown() {
        if (loop.isShuttingDown()) {
            loopShutDownSeen();
            throw new EngineRejectedException("the event loop of ring " + index + " is shut down (its group was shut"
                    + " down while the engine was open)");
        }
    }

    /** Runs {@code cancel} against {@code target} on the ring thread; the future gets the outcome. */
    @Override
    public void cancel(Request target, CompletableFuture<CancelOutcome> outcome) {
        if (loop.inEventLoop()) {
            cancelOnRing(target, outcome);
            return;
        }
        try {
            loop.execute(() -> cancelOnRing(target, outcome));
        } catch (RejectedExecutionException loopGone) {
            // The loop shut down after the caller saw the request in flight: the engine closed meanwhile, and its close
            // completed every request of this ring before the loop went away.
            outcome.complete(CancelOutcome.ALREADY_DONE);
        }
    }

    /**
     * Starts closing: every queued request completes with {@code -ECANCELED}, every in-flight one is canceled in the
     * kernel. The returned future completes once no request of this ring is left in the kernel.
     */
    @Override
    public CompletableFuture<Void> beginClose() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        closeRequested = done; // a loop that terminates without running the task below completes it then
        if (loopGone) {
            done.complete(null);
            return done;
        }
        try {
            loop.execute(() -> closeOnRing(done));
        } catch (RuntimeException rejected) {
            // The loop is shutting down (an application's group went first) and runs no task any more. Its requests
            // may still be in the kernel: completing the close now let the engine free their buffers and close their
            // files under them, and drop the termination listener that still had to complete them (a pipe read
            // never completed). The termination listener completes `done` once it has drained the ring.
            if (loopGone) {
                done.complete(null);
            }
        }
        return done;
    }

    private void scheduleTurn() {
        if (!turnScheduled.get() && turnScheduled.compareAndSet(false, true)) {
            try {
                loop.execute(turnTask);
            } catch (RejectedExecutionException loopDied) {
                // The loop shut down between refuseIfLoopShutDown and here: no turn will take what was just queued.
                // Complete it here if the loop is gone already, else the termination listener will.
                drainAfterLoopGone();
            }
        } else if (loopGone) {
            // A turn was refused (the flag stays set) and the listener's drain may have run before this offer.
            drainAfterLoopGone();
        }
    }

    private void scheduleTurnFromRing() {
        if (loopClosing) {
            // Netty is closing the loop: it runs no task any more; deliver here (unless a delivery runs already).
            if (!delivering) {
                deliverCompletions();
                checkDrained();
            }
            return;
        }
        if (!inTurn && !turnScheduled.get()) {
            turnScheduled.set(true);
            loop.execute(turnTask);
        }
    }

    // ---------------------------------------------------------------- the turn (ring thread)

    private void turn() {
        assert loop.inEventLoop();
        turnScheduled.set(false);
        inTurn = true;
        try {
            deliverCompletions();
            drainIncoming();
            dispatchWaiting();
            deliverCompletions();
        } finally {
            inTurn = false;
            closeBatch();
        }
    }

    private void closeBatch() {
        if (batchSqes > 0) {
            enters = enters + 1;
            sqes = sqes + batchSqes;
            batchSqes = 0;
        }
        checkDrained();
    }

    /**
     * Moves everything queued into SQEs. When all of it fits and nothing waits, it goes in arrival order; otherwise it
     * all joins the waiting queue first, so that priority, not arrival, decides who takes the free slots.
     */
    private void drainIncoming() {
        int n = 0;
        int slots = 0;
        Request request;
        while ((request = incoming.poll()) != null) {
            if (n == drainScratch.length) {
                drainScratch = Arrays.copyOf(drainScratch, n * 2);
            }
            drainScratch[n++] = request;
            slots += request.linkNext == null ? 1 : request.chainLength();
        }
        if (n == 0) {
            return;
        }
        boolean fits = waiting.isEmpty() && userInFlight + slots <= maxInFlight;
        for (int i = 0; i < n; i++) {
            Request r = drainScratch[i];
            drainScratch[i] = null;
            r.seq = nextSeq++;
            if (closing || r.chainCancelRequested()) {
                completeChainLocally(r, -ErrnoTable.ECANCELED, closing);
            } else if (fits) {
                dispatch(r);
            } else {
                waiting.add(r);
            }
        }
        if (!fits) {
            dispatchWaiting();
        }
    }

    private void acceptOnRing(Request request) {
        request.seq = nextSeq++;
        if (closing || request.chainCancelRequested()) {
            completeChainLocally(request, -ErrnoTable.ECANCELED, closing);
        } else if (waiting.isEmpty() && hasRoomFor(request)) {
            dispatch(request);
        } else {
            waiting.add(request);
        }
    }

    private boolean hasRoomFor(Request head) {
        return userInFlight + (head.linkNext == null ? 1 : head.chainLength()) <= maxInFlight;
    }

    private void dispatchWaiting() {
        Request head;
        while ((head = waiting.peek()) != null && hasRoomFor(head)) {
            waiting.poll();
            if (head.chainCancelRequested()) {
                completeChainLocally(head, -ErrnoTable.ECANCELED, false);
            } else {
                dispatch(head);
            }
        }
        while (!controlWaiting.isEmpty() && controlInFlight < CONTROL_SLOTS) {
            writeControl(controlWaiting.poll());
        }
    }

    /** Writes the request, or its whole linked chain, as consecutive SQEs in this turn. */
    private void dispatch(Request head) {
        for (Request r = head; r != null; r = r.linkNext) {
            writeSqe(r, r.linkNext != null ? Uapi.IOSQE_IO_LINK : 0);
        }
    }

    /** The one place an SQE is written. */
    private void writeSqe(Request r, byte extraFlags) {
        int tag = table.acquire(r);
        if (r.control) {
            controlInFlight++;
        } else {
            inFlightGauge = ++userInFlight;
        }
        assert userInFlight <= maxInFlight : "in flight " + userInFlight + " > " + maxInFlight;
        r.state.set(Request.IN_KERNEL);
        long userData = registration.submit(new IoUringIoOps(r.opcode, (byte) (r.sqeFlags | extraFlags), r.ioPrio,
                r.fd, r.offset, r.address, r.length, r.opFlags, (short) tag, (short) 0, (short) 0, 0, 0L));
        if (userData == 0) {
            // The registration is gone (the loop shut down under us): the kernel will never see this one.
            table.release(tag);
            onSlotFreed(r);
            finish(r, -ErrnoTable.ECANCELED, true);
            return;
        }
        r.userData = userData;
        batchSqes++;
    }

    // ---------------------------------------------------------------- completion (ring thread)

    /** Called by Netty inside its CQE drain: record the result, run nothing. */
    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        IoUringIoEvent cqe = (IoUringIoEvent) event;
        Request r = table.release(cqe.data() & 0xFFFF);
        if (r == null) {
            return; // not ours (cannot happen: every SQE of this registration has a slot)
        }
        onSlotFreed(r);
        int res = cqe.res();
        if (r.control) {
            // In CQE order, not at delivery: a target CQE later in this drain must not look as if it came first.
            ((KernelCancel) r.completion()).answered(res);
        }
        if (res < 0 && !r.control) {
            res = restartAsEintr(res);
            if (res == -ErrnoTable.ECANCELED && notAskedFor(r)) {
                res = -ErrnoTable.EAGAIN;
            } else {
                res = interruptedAsCanceled(res, r.closedByEngine || r.cancelWatch != null);
            }
        }
        // closeOnRing marked what it canceled; a request that still ran to its own result was not canceled by close.
        finish(r, res, r.closedByEngine && res == -ErrnoTable.ECANCELED);
        scheduleTurnFromRing();
    }

    /**
     * {@code -EINTR} for the kernel's internal restart codes ({@code ERESTARTSYS} 512 to {@code ERESTART_RESTARTBLOCK}
     * 516), which a system call never returns but a CQE does: a cancel (or the submitter's exit) that interrupts io-wq
     * work blocked in an interruptible wait, an {@code openat} of a FIFO waiting for its other end, ends it with
     * {@code -ERESTARTSYS} (measured on Linux 6.x); else {@code res}. Off the hot path: one compare for a negative
     * result only.
     */
    /**
     * {@code -ECANCELED} for {@code -EINTR} of a request that a cancel of ours or the engine's close targeted
     * ({@code canceledByUs}): the cancel found it blocked in an io-wq worker (an open of a FIFO waiting for its other
     * end) and interrupted it before it did anything. Every other result as it is. For both ring kinds.
     */
    static int interruptedAsCanceled(int res, boolean canceledByUs) {
        return res == -ErrnoTable.EINTR && canceledByUs ? -ErrnoTable.ECANCELED : res;
    }

    static int restartAsEintr(int res) {
        return res <= -ERESTARTSYS && res >= -ERESTART_RESTARTBLOCK ? -ErrnoTable.EINTR : res;
    }

    private static final int ERESTARTSYS = 512;
    private static final int ERESTART_RESTARTBLOCK = 516;

    /**
     * True for a request that ended {@code -ECANCELED} though nothing canceled it: no cancel of ours watches it, the
     * close did not mark it, it is not in a linked chain (where a failed member or an expired linked timeout
     * cancels). The kernel does that when it cannot start an io-wq worker for work that must block (an
     * {@code openat}, an {@code fsync}, a buffered write the file system cannot do without waiting): with no worker
     * at all it cancels the work ({@code io_wq_enqueue}: "failed to create the first worker"), which happens under a
     * pids or thread limit. The request never ran and nobody canceled it, so it ends
     * {@code -EAGAIN}, the error the refused thread got, as on the thread pool; a request nobody canceled never ends
     * {@code -ECANCELED}. Off the hot path: only consulted for {@code -ECANCELED}.
     */
    private boolean notAskedFor(Request r) {
        return !r.control && !closing && !r.closedByEngine && r.cancelWatch == null && !r.cancelRequested
                && !r.linked;
    }

    private void onSlotFreed(Request r) {
        if (r.control) {
            controlInFlight--;
        } else {
            inFlightGauge = --userInFlight;
        }
    }

    /** Marks the request final and queues its completion for delivery after the drain. */
    private void finish(Request r, int res, boolean byClose) {
        r.result = res;
        r.closedByEngine = byClose;
        if (r.cancelWatch != null) {
            KernelCancel.targetFinished(r, res);
        }
        completed(r);
    }

    /** Queues {@code r}'s completion (its result already set) for delivery after the drain. */
    private void completed(Request r) {
        if (completedCount == completed.length) {
            completed = Arrays.copyOf(completed, completedCount * 2);
        }
        completed[completedCount++] = r;
    }

    private void completeChainLocally(Request head, int res, boolean byClose) {
        for (Request r = head; r != null; ) {
            Request next = r.linkNext;
            finish(r, res, byClose);
            r = next;
        }
    }

    private void deliverCompletions() {
        // Threads blocked on these completions are woken once, after the whole batch (DeferredWakes).
        delivering = true;
        DeferredWakes.open();
        try {
            // A callback may complete more (a cancel of a waiting request): iterate until the list stops growing.
            for (int i = 0; i < completedCount; i++) {
                Request r = completed[i];
                completed[i] = null;
                if (!r.control) {
                    completedTotal = completedTotal + 1;
                }
                r.deliver();
            }
        } finally {
            DeferredWakes.close();
            delivering = false;
        }
        boolean any = completedCount > 0;
        completedCount = 0;
        if (any) {
            Request.runAfterBatch(afterCompletionBatch);
        }
    }

    // ---------------------------------------------------------------- cancel and close (ring thread)

    private void cancelOnRing(Request target, CompletableFuture<CancelOutcome> outcome) {
        drainIncoming();
        if (target.ring != this || target.state.get() == Request.IDLE
                || (target.state.get() != Request.QUEUED && !inKernelHere(target))) {
            // Idle, on another ring, or its CQE already reaped and its completion not yet delivered: the request
            // finished before this cancel; its slot may already serve a newer request, which must not be hit. A
            // reaped -ECANCELED (canceled by another cancel, the close, or its chain) is what its completion runs
            // with: the outcome says so.
            boolean reapedCanceled = target.ring == this && target.state.get() != Request.IDLE
                    && target.result == -ErrnoTable.ECANCELED;
            outcome.complete(reapedCanceled ? CancelOutcome.CANCELED : CancelOutcome.ALREADY_DONE);
        } else if (target.state.get() == Request.QUEUED) {
            if (waiting.remove(target)) {
                completeChainLocally(target, -ErrnoTable.ECANCELED, false);
            } else {
                // A member behind the head of a waiting chain: the whole chain completes canceled when it leaves.
                target.cancelRequested = true;
            }
            outcome.complete(CancelOutcome.CANCELED);
        } else {
            issueKernelCancel(target, outcome);
        }
        scheduleTurnFromRing();
    }

    /** True while {@code target}'s SQE is in the kernel on this ring: it holds its slot, with the tag it went in with. */
    private boolean inKernelHere(Request target) {
        int slot = target.slot;
        return slot >= 0 && slot < table.capacity() && table.get(slot) == target
                && (int) (target.userData & 0xFFFF) == table.tagOf(slot);
    }

    /**
     * Sends an {@code IORING_OP_ASYNC_CANCEL} for {@code target}, keyed by the user data of the target's current
     * submission (its slot's tag differs from every other use of the slot). {@code outcome}, if any, is decided by what
     * the target ended with, not by the cancel's own result alone.
     */
    private void issueKernelCancel(Request target, CompletableFuture<CancelOutcome> outcome) {
        KernelCancel watch = new KernelCancel(target, outcome);
        if (outcome != null) {
            watch.next = target.cancelWatch;
            target.cancelWatch = watch;
        }
        Request cancel = watch.request;
        cancel.prep(Uapi.IORING_OP_ASYNC_CANCEL, -1, target.userData, 0, 0, 0);
        cancel.control = true;
        cancel.ring = this;
        cancel.state.set(Request.QUEUED);
        if (controlInFlight < CONTROL_SLOTS && controlWaiting.isEmpty()) {
            writeSqe(cancel, (byte) 0);
        } else {
            controlWaiting.add(cancel);
        }
    }

    /** Writes a waiting cancel, unless its target finished meanwhile (then its key may belong to another request). */
    private void writeControl(Request control) {
        KernelCancel watch = (KernelCancel) control.completion();
        if (inKernelHere(watch.target) && watch.target.userData == watch.targetUserData) {
            writeSqe(control, (byte) 0);
        } else {
            control.result = -ErrnoTable.ENOENT;
            completed(control);
        }
    }

    /**
     * One kernel cancel and, when a caller waits for its outcome, the decision by what the target ended with: CANCELED
     * whenever the target ends {@code -ECANCELED}, whatever the cancel's own answer; otherwise, after 0 or
     * {@code -EALREADY}, NOT_CANCELED (decided when the target ends); after {@code -ENOENT}, ALREADY_DONE if the
     * target's CQE came before the cancel's, else decided when the target ends. Ring thread only.
     *
     * <p>Why the cancel's own answer cannot decide: the kernel answers {@code -ENOENT} for a target that it then ends
     * {@code -ECANCELED}. {@code IORING_OP_ASYNC_CANCEL} of work running in an io-wq worker flags it (the io-wq's
     * {@code -EALREADY}), then falls through to the poll, waitid, futex and timeout lookups ({@code -ENOENT}) and
     * searches every io-wq once more; a worker that saw the flag before issuing the work has failed it
     * {@code -ECANCELED} by then, so the second search finds nothing and the answer is {@code -ENOENT}. The two CQEs
     * arrive in either order, often in one drain.
     */
    static final class KernelCancel implements Completion {
        private static final int PENDING = CancelOutcome.PENDING;

        final Request request = new Request(this);
        final Request target;
        final long targetUserData;
        private final CompletableFuture<CancelOutcome> outcome;
        KernelCancel next;
        private int cancelResult = PENDING;
        private int targetResult = PENDING;
        /** The kernel answered -ENOENT while the target had not ended (an unstarted member of a linked chain). */
        private boolean notFoundButRunning;

        KernelCancel(Request target, CompletableFuture<CancelOutcome> outcome) {
            this.target = target;
            this.targetUserData = target.userData;
            this.outcome = outcome;
        }

        /** The target's result is final: every watching cancel learns it. */
        static void targetFinished(Request target, int res) {
            KernelCancel w = target.cancelWatch;
            target.cancelWatch = null;
            for (; w != null; w = w.next) {
                w.targetResult = res;
                w.decide();
            }
        }

        /**
         * Records the kernel's answer when the cancel's CQE is reaped ({@link Ring#handle}), or at delivery for a cancel
         * that never reached the kernel; once.
         */
        void answered(int res) {
            if (cancelResult != PENDING) {
                return;
            }
            cancelResult = res;
            // Decided once, here, in CQE order: targetResult changes when the target's CQE is reaped.
            notFoundButRunning = outcome != null && CancelOutcome.notFoundButRunning(res, targetResult);
            if (!CancelOutcome.awaitsTarget(cancelResult, notFoundButRunning) && target.cancelWatch != null) {
                unwatch();
            }
        }

        @Override
        public void complete(Request r, int res) {
            answered(res);
            decide();
        }

        private void unwatch() {
            KernelCancel prev = null;
            for (KernelCancel w = target.cancelWatch; w != null; prev = w, w = w.next) {
                if (w == this) {
                    if (prev == null) {
                        target.cancelWatch = next;
                    } else {
                        prev.next = next;
                    }
                    return;
                }
            }
        }

        private void decide() {
            if (outcome == null || outcome.isDone()) {
                return;
            }
            CancelOutcome decided = CancelOutcome.ofKernelCancel(cancelResult, targetResult, notFoundButRunning);
            if (decided != null) {
                outcome.complete(decided);
            }
        }
    }

    /**
     * Under a close ({@link #closing} set): what waits here, handed over but not in the kernel, ends {@code -ECANCELED}
     * as canceled by the close, the incoming queue's and the waiting queue's alike.
     */
    private void cancelQueuedByClose() {
        drainIncoming(); // closing: each chain it takes ends canceled by the close
        Request waiter;
        while ((waiter = waiting.poll()) != null) {
            completeChainLocally(waiter, -ErrnoTable.ECANCELED, true);
        }
    }

    /**
     * Under a close: each request of ours in the kernel gets a cancel and is marked as canceled by the close; with
     * {@code exceptWatched}, those a caller's cancel already watches are left to it (the dying loop's close).
     */
    private void cancelInKernelByClose(boolean exceptWatched) {
        for (int slot = 0; slot < table.capacity(); slot++) {
            Request r = table.get(slot);
            if (r != null && !r.control && !(exceptWatched && r.cancelWatch != null)) {
                r.closedByEngine = true;
                issueKernelCancel(r, null);
            }
        }
    }

    private void closeOnRing(CompletableFuture<Void> done) {
        closing = true;
        drained = done;
        cancelQueuedByClose();
        cancelInKernelByClose(false);
        deliverCompletions();
        closeBatch();
    }

    /** At most {@link #maxInFlight} requests in the kernel, and a chain's members go in together. */
    @Override
    public int maxChainLength() {
        return maxInFlight;
    }

    private void checkDrained() {
        if (closing && drained != null && userInFlight == 0 && controlInFlight == 0 && controlWaiting.isEmpty()
                && completedCount == 0) {
            CompletableFuture<Void> d = drained;
            drained = null;
            drainedByClose = true;
            d.complete(null);
        } else if (mayNeedCancelAgain() && !cancelAgainScheduled) {
            cancelAgainScheduled = true;
            try {
                loop.schedule(this::cancelAgainForClose, CANCEL_AGAIN_MILLIS, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException loopGone) {
                cancelAgainScheduled = false; // the termination listener completes what is left
            }
        }
    }

    /**
     * Under the engine's close, every cancel answered and requests still in the kernel: a request can outlive the
     * close's cancel. A chain member not started yet is not found (-ENOENT), starts when the member before it (one
     * the kernel could not stop, a running {@code fdatasync}) ends, and may then wait for good (a pipe read), holding
     * the close. Such a ring cancels what is left again, {@link #CANCEL_AGAIN_MILLIS} later.
     */
    private boolean mayNeedCancelAgain() {
        return closing && drained != null && !loopClosing && userInFlight > 0 && controlInFlight == 0
                && controlWaiting.isEmpty();
    }

    private void cancelAgainForClose() {
        cancelAgainScheduled = false;
        if (mayNeedCancelAgain()) {
            cancelInKernelByClose(false);
            deliverCompletions();
            closeBatch();
        }
    }

    /** Releases the Netty registration; after {@link #beginClose()} completed. */
    @Override
    public void deregister() {
        if (drainedByClose) {
            // Nothing is left for the listener: the group does not keep the closed engine. Otherwise (the loop died
            // under the close) it stays, and completes what the dying loop still held.
            loop.terminationFuture().removeListener(terminationListener);
        }
        if (registration != null) {
            try {
                registration.cancel();
            } catch (RejectedExecutionException loopGone) {
                // The application's group terminated first: its loop took the registration down with it. Before,
                // engine.close() threw Netty's exception here (after the group's shutdown) and skipped the rest.
            }
        }
        try {
            loop.execute(Ring::unmarkRingThread); // after the cancel's task, which Netty runs first
        } catch (RejectedExecutionException loopGone) {
            // its thread is done: nothing to unmark
        }
    }

    /**
     * Netty closes the handle when its loop shuts down (the application shut its group down before closing the
     * engine), on the loop thread, with the registration still valid: queued requests complete with
     * {@code -ECANCELED} as by a close, and each request in the kernel gets a cancel, as {@link #closeOnRing} does.
     * Netty then submits those cancels and reaps what completes within its drain (about 200 ms), delivered at once
     * ({@link #loopClosing}); what the kernel has not ended by then is completed when the loop terminated
     * ({@link #afterLoopTerminated()}). Before, the requests in the kernel were never completed at all.
     */
    @Override
    public void close() {
        loopShutDownSeen();
        closing = true;
        loopClosing = true;
        cancelQueuedByClose();
        cancelInKernelByClose(true);
        deliverCompletions();
        if (registration != null) {
            registration.cancel(); // Netty removes it once the cancels' and targets' CQEs are reaped
        }
    }

    /**
     * The loop terminated (its thread is done): completes, once each, every request still held here with
     * {@code -ECANCELED} as canceled by close (the kernel did not end it within Netty's final drain; the ring is gone,
     * and the kernel's teardown cancels it), and the close future of a {@link #beginClose()} whose task never ran.
     * Runs on the thread that completed the loop's termination, or on a submitter that the dead loop refused.
     */
    private void afterLoopTerminated() {
        loopShutDownSeen();
        loopGone = true;
        drainAfterLoopGone();
        CompletableFuture<Void> close = closeRequested;
        if (close != null) {
            close.complete(null);
        }
    }

    /** Completes what the dead loop left in the queues and the slot table; a no-op while the loop may still run. */
    private void drainAfterLoopGone() {
        synchronized (postMortem) {
            if (!loopGone) {
                return; // the loop still runs (or its close does): it or the termination listener takes them
            }
            closing = true;
            loopClosing = true;
            cancelQueuedByClose();
            for (int slot = 0; slot < table.capacity(); slot++) {
                Request r = table.get(slot);
                if (r != null) {
                    table.release(table.tagOf(slot));
                    onSlotFreed(r);
                    if (!r.control) {
                        finish(r, -ErrnoTable.ECANCELED, true);
                    }
                }
            }
            controlWaiting.clear();
            deliverCompletions();
            checkDrained();
        }
    }

    // ---------------------------------------------------------------- stats (any thread)

    @Override
    public int index() {
        return index;
    }

    @Override
    public boolean isCurrentThread() {
        return loop.inEventLoop();
    }

    @Override
    public long submittedCount() {
        return submitted.sum();
    }

    @Override
    public long completedTotal() {
        return completedTotal;
    }

    @Override
    public long enters() {
        return enters;
    }

    @Override
    public long sqes() {
        return sqes;
    }

    @Override
    public int inFlight() {
        return inFlightGauge;
    }

    @Override
    public boolean full() {
        return inFlightGauge >= maxInFlight;
    }
}
