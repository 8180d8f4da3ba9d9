package io.uringaio.storage;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The future of one appended record ({@link AppendLog#append}): a {@link CompletableFuture} whose blocking waits
 * ({@link #join}, {@link #get}, {@link #get(long, TimeUnit)}) on a platform thread sleep on the log's
 * {@link DurableWakeup}, so that one system call wakes every thread of an acknowledged group. Its results,
 * exceptions, dependents and interrupt behaviour are {@link CompletableFuture}'s; a completion made through its public
 * methods (by a caller, a timeout) wakes its sleepers too.
 */
final class RecordFuture extends CompletableFuture<Long> {
    private final DurableWakeup wakeup;
    /** The wake-up bit of the record's commit group ({@link DurableWakeup#bitOf}). */
    private final int bit;

    RecordFuture(DurableWakeup wakeup, int bit) {
        this.wakeup = wakeup;
        this.bit = bit;
    }

    /** The log's completion: no wake-up here; the acknowledging thread wakes the group's sleepers once, after all. */
    void completeQuietly(long position) {
        super.complete(position);
    }

    /** The log's failure of the record: as {@link #completeQuietly}. */
    void failQuietly(Throwable failure) {
        super.completeExceptionally(failure);
    }

    @Override
    public Long join() {
        if (!isDone() && DurableWakeup.usableOnThisThread()) {
            wakeup.await(this, bit, Long.MAX_VALUE, false);
        }
        return super.join();
    }

    @Override
    public Long get() throws InterruptedException, ExecutionException {
        if (!isDone() && DurableWakeup.usableOnThisThread()) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            wakeup.await(this, bit, Long.MAX_VALUE, true);
            if (!isDone() && Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return super.get();
    }

    @Override
    public Long get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        if (!isDone() && DurableWakeup.usableOnThisThread()) {
            long nanos = unit.toNanos(timeout); // saturates
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            long start = System.nanoTime();
            long deadline = nanos >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : start + nanos;
            wakeup.await(this, bit, deadline, true);
            if (!isDone()) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new TimeoutException();
                }
                return super.get(left, TimeUnit.NANOSECONDS); // the kernel refused the futex: wait as usual
            }
            return super.get();
        }
        return super.get(timeout, unit);
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
        wakeup.wake(bit);
    }

    @Override
    public void obtrudeException(Throwable ex) {
        super.obtrudeException(ex);
        wakeup.wake(bit);
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
                wakeup.wake(bit);
            }
        }));
    }

    private boolean woke(boolean completedNow) {
        if (completedNow) {
            wakeup.wake(bit);
        }
        return completedNow;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>(); // dependents are plain futures, not tied to the log
    }
}
