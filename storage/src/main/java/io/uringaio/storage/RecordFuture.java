package io.uringaio.storage;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.internal.sys.FutexBoard;
import io.uringaio.engine.internal.sys.SleepingFuture;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The future of one appended record ({@link AppendLog#append}): a {@link CompletableFuture} whose blocking waits
 * ({@link #join}, {@link #get}, {@link #get(long, TimeUnit)}) on a platform thread (not a fork/join worker) sleep on
 * the log's {@link FutexBoard} with their record's group's bit, so that one system call wakes every thread of an
 * acknowledged group. Its results,
 * exceptions, dependents and interrupt behaviour are {@link CompletableFuture}'s; a completion made through its public
 * methods (by a caller, a timeout) wakes its sleepers too.
 */
final class RecordFuture extends SleepingFuture<Long> {
    private final AppendLog log;
    private final FutexBoard board;
    /** The wake-up bit of the record's commit group ({@link CommitGroup#wakeBit}). */
    private final int bit;
    private final RingEngine engine;
    /**
     * The record's commit group, for its write's lane ({@link #waitInLane}). The group is reused once acknowledged,
     * when this future is done: a waiter that reads it late may wait in a later group's lane, and comes back at
     * that lane's first completion to find itself done.
     */
    private final CommitGroup group;

    RecordFuture(AppendLog log, FutexBoard board, RingEngine engine, CommitGroup group) {
        this.log = log;
        this.board = board;
        this.bit = group.wakeBit();
        this.engine = engine;
        this.group = group;
    }

    /** The log's completion: no wake-up here; the acknowledging thread wakes the group's sleepers once, after all. */
    void completeQuietly(long position) {
        super.complete(position);
    }

    /** The log's failure of the record: as {@link #completeQuietly}. */
    void failQuietly(Throwable failure) {
        super.completeExceptionally(failure);
    }

    /** Tells the log this thread waits for its records ({@link AppendLogConfig#waiterWrites}). */
    @Override
    protected void onBlockingCall() {
        AppendLog.waitingFor(this);
    }

    /**
     * A timed get that timed out: this thread bounds its waits, so its next append must not block in a write and sync
     * of its own ({@link AppendLogConfig#waiterWrites}), even if this record is done by then.
     */
    @Override
    protected void onTimedOut() {
        AppendLog.notWaitingFor(this);
    }

    /**
     * A blocking wait for a record not yet durable, on a thread that runs an acknowledgement of the same log (inside
     * a record's completion or a dependent of it): the appends made there go out only once that acknowledgement
     * returns, and the acknowledgements of later groups wait for it, so the wait could never end. It fails at once
     * with {@link IllegalStateException}; chain a callback instead. Before, the thread hung, and with it the log.
     * Also for a record whose group is in flight already: such a wait would end only if another thread acknowledged
     * that group, while a group that was durable when this acknowledgement began is acknowledged by this very thread,
     * after it; the log does not tell the two apart, so it refuses both (a callback is never blocked that way).
     */
    @Override
    protected void checkMayWait() {
        if (log.acknowledgesOnThisThread()) {
            throw new IllegalStateException("a blocking wait (join/get) for a record of the log " + log.directory()
                    + " inside an acknowledgement of that log (a completion of one of its records): the record cannot"
                    + " become durable before the acknowledgement returns; chain a callback (thenRun, whenComplete)"
                    + " instead");
        }
    }

    /**
     * Waits in the lane of the group's write, if it went to a caller ring and no other waiter of the group waits
     * there ({@link #waitInLane}), then sleeps on the log's board until done, {@code maxNanos} passed, or (with
     * {@code interruptible}) the thread is interrupted; returns at once where the board cannot be used
     * ({@link FutexBoard#usableOnThisThread}: a virtual thread, a fork/join worker, a refused futex), leaving the
     * wait to {@link CompletableFuture}.
     */
    @Override
    protected void waitUntilDone(long maxNanos, boolean interruptible) {
        if (FutexBoard.usableOnThisThread()) {
            long start = System.nanoTime();
            waitInLane(maxNanos);
            long left = maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start);
            if (left > 0) {
                board.await(this, bit, left, interruptible);
            }
        }
    }

    /**
     * The group's write+fdatasync went to a caller ring ({@link RingEngine#awaitInLane(CompletableFuture, long)}):
     * one waiter of the group (the first to claim it, typically the appender that submitted it) waits inside that
     * ring's {@code io_uring_enter}, reaps the completion itself and acknowledges the group on this thread, waking the
     * group's other waiters on the board once. Returns when the write is done (the acknowledgement follows on the
     * reaping thread), {@code maxNanos} passed, the thread is interrupted, or the lane refuses.
     */
    private void waitInLane(long maxNanos) {
        CompletableFuture<Integer> io = group.io;
        if (io == null || io.isDone() || !group.claimLaneWaiter()) {
            return;
        }
        try {
            long start = System.nanoTime();
            while (!isDone() && !io.isDone() && !Thread.currentThread().isInterrupted()) {
                long left = maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start);
                if (left <= 0 || !engine.awaitInLane(io, left)) {
                    return;
                }
            }
        } finally {
            group.releaseLaneWaiter();
        }
    }

    // A completion through the public API wakes its sleepers (they would otherwise notice only at their next slice).

    @Override
    public boolean complete(Long value) {
        return woke(super.complete(value));
    }

    @Override
    public boolean completeExceptionally(Throwable ex) {
        return woke(super.completeExceptionally(ex));
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
        return woke(super.cancel(mayInterruptIfRunning));
    }

    @Override
    public void obtrudeValue(Long value) {
        super.obtrudeValue(value);
        board.wake(bit);
    }

    @Override
    public void obtrudeException(Throwable ex) {
        super.obtrudeException(ex);
        board.wake(bit);
    }

    @Override
    public CompletableFuture<Long> completeAsync(Supplier<? extends Long> supplier, Executor executor) {
        if (executor == null) {
            throw new NullPointerException("executor");
        }
        return super.completeAsync(supplier, task -> executor.execute(() -> {
            try {
                task.run();
            } finally {
                board.wake(bit);
            }
        }));
    }

    private boolean woke(boolean completedNow) {
        if (completedNow) {
            board.wake(bit);
        }
        return completedNow;
    }

}
