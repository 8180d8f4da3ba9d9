package io.uringaio.engine.internal.sys;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link CompletableFuture} whose blocking waits ({@link #join}, {@link #get}, {@link #get(long, TimeUnit)}) first
 * wait in a way of the subclass's ({@link #waitUntilDone}: a caller ring, a {@link FutexBoard}), then leave the rest,
 * and every outcome, to {@link CompletableFuture}: results, exceptions, interrupts (get throws
 * {@link InterruptedException} and clears the status; join keeps waiting and keeps it) and timeouts (0 or less:
 * answered at once, never a wait; {@link Long#MAX_VALUE} in any unit: no bound). Dependent stages are plain futures.
 */
public abstract class SleepingFuture<T> extends CompletableFuture<T> {

    /**
     * Waits until this future is done, {@code maxNanos} (positive; {@link Long#MAX_VALUE}: no bound) passed, or, with
     * {@code interruptible}, the thread is interrupted; may return earlier (the rest is {@link CompletableFuture}'s
     * wait). Must not throw.
     */
    protected abstract void waitUntilDone(long maxNanos, boolean interruptible);

    /**
     * Called by {@link #join}, {@link #get} and {@link #get(long, TimeUnit)} on a future not yet done, before any
     * wait: throws (an unchecked exception) when the calling thread is the one that must complete this future, whose
     * wait could only end in a hang (or a certain timeout). Does nothing by default.
     */
    protected void checkMayWait() {
    }

    /**
     * Called first by every {@link #join}, {@link #get} and {@link #get(long, TimeUnit)}, done or not, on the calling
     * thread: tells who waits for this future. Does nothing by default; must not throw.
     */
    protected void onBlockingCall() {
    }

    @Override
    public final T join() {
        onBlockingCall();
        if (!isDone()) {
            checkMayWait();
            waitUntilDone(Long.MAX_VALUE, false);
        }
        return super.join();
    }

    @Override
    public final T get() throws InterruptedException, ExecutionException {
        onBlockingCall();
        if (!isDone() && !Thread.currentThread().isInterrupted()) {
            checkMayWait();
            waitUntilDone(Long.MAX_VALUE, true);
        }
        return super.get(); // done, or interrupted: InterruptedException (the status cleared), as CompletableFuture
    }

    /**
     * Called when a {@link #get(long, TimeUnit)} on the calling thread ends with {@link TimeoutException}: that thread
     * bounds its waits, and is not one that waits for this future ({@link #onBlockingCall} told otherwise). Does
     * nothing by default; must not throw.
     */
    protected void onTimedOut() {
    }

    @Override
    public final T get(long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        onBlockingCall();
        try {
            return timedGet(timeout, unit);
        } catch (TimeoutException e) {
            onTimedOut();
            throw e;
        }
    }

    private T timedGet(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        long nanos = unit.toNanos(timeout); // saturates: Long.MIN_VALUE stays negative, never wraps below
        if (nanos <= 0 || isDone() || Thread.currentThread().isInterrupted()) {
            return super.get(timeout, unit); // no wait at all: done, TimeoutException, or InterruptedException
        }
        checkMayWait();
        long start = System.nanoTime();
        waitUntilDone(nanos, true);
        long left = nanos == Long.MAX_VALUE ? Long.MAX_VALUE : nanos - (System.nanoTime() - start);
        return super.get(Math.max(0, left), TimeUnit.NANOSECONDS);
    }

    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
        return new CompletableFuture<>(); // dependents are plain futures
    }
}
