package io.uringaio.storage;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The future of one appended record ({@link AppendLog#append}): a {@link CompletableFuture} whose blocking waits
 * ({@link #join}, {@link #get}, {@link #get(long, TimeUnit)}) on a platform thread (not a fork/join worker) sleep on
 * the log's {@link DurableWakeup}, so that one system call wakes every thread of an acknowledged group. Its results,
 * exceptions, dependents and interrupt behaviour are {@link CompletableFuture}'s; a completion made through its public
 * methods (by a caller, a timeout) wakes its sleepers too.
 */
final class RecordFuture extends CompletableFuture<Long> {
    private final DurableWakeup wakeup;

    RecordFuture(DurableWakeup wakeup) {
        this.wakeup = wakeup;
    }

    /** The log's completion: no wake-up here; the acknowledging thread wakes everyone once, after the whole group. */
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
            wakeup.await(this, Long.MAX_VALUE, false);
        }
        return super.join();
    }

    @Override
    public Long get() throws InterruptedException, ExecutionException {
        if (!isDone() && DurableWakeup.usableOnThisThread()) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            wakeup.await(this, Long.MAX_VALUE, true);
            if (!isDone() && Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
        return super.get();
    }

    @Override
    public Long get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        long nanos = unit.toNanos(timeout); // saturates
        if (nanos > 0 && !isDone() && DurableWakeup.usableOnThisThread()) {
            // A timeout of 0 or less waits for nothing: CompletableFuture's own get answers it. (Not through the
            // deadline below: start + Long.MIN_VALUE, less a later nanoTime, wraps to a distance far in the future.)
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            long start = System.nanoTime();
            long deadline = nanos >= Long.MAX_VALUE / 2 ? Long.MAX_VALUE : start + nanos;
            wakeup.await(this, deadline, true);
            if (!isDone()) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                throw new TimeoutException();
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
        wakeup.wakeAll();
    }

    @Override
    public void obtrudeException(Throwable ex) {
        super.obtrudeException(ex);
        wakeup.wakeAll();
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
                wakeup.wakeAll();
            }
        }));
    }

    private boolean woke(boolean completedNow) {
        if (completedNow) {
            wakeup.wakeAll();
        }
        return completedNow;
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>(); // dependents are plain futures, not tied to the log
    }
}
