package io.uringaio.engine;

import io.netty.util.concurrent.BlockingOperationException;
import io.uringaio.engine.internal.sys.FutexBoard;
import io.uringaio.engine.internal.sys.SleepingFuture;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;

/**
 * The future of an {@link AsyncFile} operation, for the threads that block on it ({@link #join()}, {@link #get()},
 * {@link #get(long, TimeUnit)}):
 * <ul>
 * <li>when the operation went to a caller ring, the thread first waits inside that ring's {@code io_uring_enter},
 *     reaping the completion itself instead of being woken by another thread;</li>
 * <li>otherwise (a Netty ring, the thread pool), a platform thread sleeps on the engine's {@link FutexBoard} with its
 *     thread's bit, and the thread that delivers a batch of completions wakes all the threads of that batch with one
 *     system call at its end ({@link DeferredWakes}), instead of one {@code unpark} per future made in series.</li>
 * </ul>
 * A virtual thread, a {@link ForkJoinWorkerThread} (its pool compensates only for the managed block that
 * {@link CompletableFuture}'s own wait is), or a thread whose wait the kernel refused waits as any
 * {@link CompletableFuture} does. Results, exceptions, interrupts and timeouts are {@link CompletableFuture}'s;
 * dependent stages are plain futures ({@link Dependent}) whose blocking waits only add the self-wait check.
 * <p>A blocking wait on an event loop that runs an engine's ring, for an operation not yet done, fails at once
 * ({@link #checkMayWait}).
 */
final class LaneFuture<T> extends SleepingFuture<T> {
    private static final VarHandle SLEEPERS;

    static {
        try {
            SLEEPERS = MethodHandles.lookup().findVarHandle(LaneFuture.class, "sleeperBits", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final FutexBoard board;
    /** Set once the operation was handed to a caller ring; null while it was not (or not yet). */
    private volatile CallerRing lane;
    /**
     * The request that went to {@link #lane} (of a chain, the last member: it ends last), or null; written before it,
     * read after it.
     */
    private Request laneRequest;
    /** The bits of the threads that sleep (or slept) on {@link #board} for this future; 0 when none. */
    @SuppressWarnings("unused") // through SLEEPERS
    private volatile int sleeperBits;

    LaneFuture(FutexBoard board) {
        this.board = board;
    }

    /** Records that the operation went to {@code ring}. */
    void waitIn(CallerRing ring) {
        this.lane = ring;
    }

    /** The caller ring the operation went to; null when it went elsewhere (or not yet). */
    CallerRing callerLane() {
        return lane;
    }

    /** Records the lane the operation went to (null: completed on the submitting thread): see {@link #checkMayWait}. */
    void sentTo(Lane where) {
        sentTo(where, null);
    }

    /**
     * {@link #sentTo(Lane)} of an operation that went as {@code request} (of a chain, its last member), so a wait can
     * follow it.
     */
    void sentTo(Lane where, Request request) {
        if (where instanceof CallerRing caller) {
            laneRequest = request;
            lane = caller;
        }
    }

    /**
     * Whether the operation is still in the caller ring {@code ring}, so a wait there can reap it. Not once the kernel
     * canceled it unstarted for its exited submitter and the engine handed it to a Netty ring ({@code RingEngine.rehome}):
     * it completes there, and a wait in the caller ring would only poll it in slices until then.
     */
    boolean stillIn(CallerRing ring) {
        if (lane != ring) {
            return false;
        }
        Request r = laneRequest; // after the volatile read of lane, which published it
        return r == null || r.ring == ring;
    }

    /**
     * A blocking wait for an operation not yet done fails at once with Netty's {@link BlockingOperationException}
     * (what Netty's own promises throw on their loop) on any event loop that runs a ring of an engine
     * ({@link Ring#onRingThread()}), unless the operation went to a caller ring (which the waiting thread reaps
     * itself). Such a loop delivers its ring's completions only between tasks, so a wait there can deadlock:
     * <ul>
     * <li>for an operation of its own ring, always: the completion comes after the waiting task returns (typical in a
     *     Netty application that shares its loops with the engine, {@link RingEngineConfig#eventLoopGroup}: a channel
     *     handler joins a read it just started, which went to that loop's ring);</li>
     * <li>for an operation of another loop's ring (of this engine or another, of this group or another), as soon as
     *     that loop waits in turn, directly or through others, for this one: loop A joins B's read while B joins A's.
     *     Only refusing every such wait rules that out: the engine cannot see what else a loop waits for.</li>
     * </ul>
     * Before, the self-wait hung the loop for good, with every channel on it, and a wait cycle hung all its loops.
     * The operation goes on either way (its future completes when its loop is free); chain a callback instead.
     */
    @Override
    protected void checkMayWait() {
        if (!isDone() && lane == null && Ring.onRingThread()) {
            throw refusedWait();
        }
    }

    /** The check of {@link Dependent}'s waits, which may be for other operations composed behind this one. */
    static void checkDependentMayWait() {
        if (Ring.onRingThread()) {
            throw refusedWait();
        }
    }

    private static BlockingOperationException refusedWait() {
        return new BlockingOperationException("a blocking wait (join/get) on the event loop thread "
                + Thread.currentThread().getName() + " for a file operation not yet done: an engine's operations"
                + " complete on event loops (this one, or one that may be waiting for this one), so the wait could"
                + " never end; chain a callback (whenComplete, thenAccept) instead");
    }

    /** The caller ring's wait first (the request went there), then the engine's board. */
    @Override
    protected void waitUntilDone(long maxNanos, boolean interruptible) {
        long start = System.nanoTime();
        waitInLane(maxNanos);
        sleep(maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start), interruptible);
    }

    /**
     * Waits in the lane until done or {@code maxNanos} (positive) passed; returns early (leaving the rest to the
     * other waits) when there is no lane, the operation left it ({@link #stillIn}), the lane refuses, or the thread is
     * interrupted. Never on a {@link ForkJoinWorkerThread}: a wait in the kernel would hold the worker without the pool
     * knowing.
     */
    private void waitInLane(long maxNanos) {
        CallerRing ring = lane;
        if (ring == null || isDone() || Thread.currentThread() instanceof ForkJoinWorkerThread) {
            return;
        }
        long start = System.nanoTime();
        while (!isDone() && stillIn(ring) && !Thread.currentThread().isInterrupted()) {
            long left = maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start);
            if (left <= 0 || !ring.await(this, left)) {
                return;
            }
        }
    }

    /**
     * Sleeps on the engine's board until done, {@code maxNanos} passed, or (with {@code interruptible}) the thread is
     * interrupted; returns at once where the board cannot be used (see {@link FutexBoard#usableOnThisThread}).
     */
    private void sleep(long maxNanos, boolean interruptible) {
        if (maxNanos <= 0 || isDone() || !FutexBoard.usableOnThisThread()) {
            return;
        }
        // Before the look at isDone in await: a completion that misses this bit is seen done there.
        SLEEPERS.getAndBitwiseOr(this, FutexBoard.threadBit());
        board.await(this, FutexBoard.threadBit(), maxNanos, interruptible);
    }

    /**
     * Dependent stages ({@code thenApply}, {@code whenComplete}...) check the same: a handler that joins
     * {@code file.read(b, 0).thenApply(...)} on the loop that runs the read would hang it as surely as a join of the
     * read's own future. Also once this future is done, as long as the stage is not: it may wait for another
     * operation composed behind this one ({@code thenCompose(n -> file.write(...))}), which a stage cannot see; a
     * cached read done at once on the loop composed with a write to that loop's ring hung the loop for good.
     */
    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new Dependent<>();
    }

    /**
     * A dependent stage of a {@link LaneFuture}, or a combination of the engine's futures ({@link AsyncFile#allOf},
     * {@link AsyncFile#anyOf}): a plain future whose blocking waits, while it is not done, fail on an event loop that
     * runs an engine's ring ({@link #checkDependentMayWait}).
     */
    static final class Dependent<T> extends CompletableFuture<T> {
        private void check() {
            if (!isDone()) {
                checkDependentMayWait();
            }
        }

        @Override
        public T join() {
            check();
            return super.join();
        }

        @Override
        public T get() throws InterruptedException, java.util.concurrent.ExecutionException {
            check();
            return super.get();
        }

        @Override
        public T get(long timeout, TimeUnit unit)
                throws InterruptedException, java.util.concurrent.ExecutionException,
                java.util.concurrent.TimeoutException {
            check();
            return super.get(timeout, unit);
        }

        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new Dependent<>();
        }
    }

    // ---------------------------------------------------------------- completion: wake the sleepers

    @Override
    public boolean complete(T value) {
        if (getNumberOfDependents() > 0) {
            return completeBeforeDependents(() -> super.complete(value));
        }
        boolean now = super.complete(value);
        wakeSleepers(now);
        return now;
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        if (getNumberOfDependents() > 0) {
            return completeBeforeDependents(() -> super.completeExceptionally(ex));
        }
        boolean now = super.completeExceptionally(ex);
        wakeSleepers(now);
        return now;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        if (getNumberOfDependents() > 0) {
            return completeBeforeDependents(() -> super.cancel(mayInterruptIfRunning));
        }
        boolean now = super.cancel(mayInterruptIfRunning);
        wakeSleepers(now);
        return now;
    }

    @Override
    public void obtrudeValue(T value) {
        super.obtrudeValue(value);
        wakeSleepers(true);
    }

    @Override
    public void obtrudeException(Throwable ex) {
        super.obtrudeException(ex);
        wakeSleepers(true);
    }

    /**
     * Completes through {@code completion} a future that has dependents: code of the user, which may wait for a thread
     * asleep on this future, on one completed earlier in the delivering thread's batch, or on one whose future it
     * completes itself. So the batch's held wakes are made first, the batch is suspended while the dependents run
     * (their wakes are made at once), and this future's own sleepers are woken by a dependent pushed last, which the
     * completion runs first (a future runs its dependents newest first), before any of the user's.
     */
    private boolean completeBeforeDependents(java.util.function.BooleanSupplier completion) {
        DeferredWakes wakes = DeferredWakes.current();
        int batch = wakes.suspendBatch();
        try {
            if ((int) SLEEPERS.getVolatile(this) != 0) {
                super.whenComplete((v, e) -> wakeSleepers(true));
                return completion.getAsBoolean();
            }
            // Nobody asleep yet: one who comes while the dependents run is woken after them (or sees it done).
            boolean now = completion.getAsBoolean();
            wakeSleepers(now);
            return now;
        } finally {
            wakes.resumeBatch(batch);
        }
    }

    /** Wakes the threads asleep on this future: at the end of the delivering thread's batch, if one is open. */
    private void wakeSleepers(boolean completedNow) {
        int bits = (int) SLEEPERS.getVolatile(this);
        if (completedNow && bits != 0) {
            DeferredWakes.wakeSoon(board, bits);
        }
    }

}
