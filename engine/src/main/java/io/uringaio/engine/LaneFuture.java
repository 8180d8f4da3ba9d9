package io.uringaio.engine;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The future of an {@link AsyncFile} operation. When the operation went to a caller ring, a thread that blocks on it
 * ({@link #join()}, {@link #get()}, {@link #get(long, TimeUnit)}) first waits inside that ring's
 * {@code io_uring_enter}, reaping the completion itself instead of being woken by another thread; otherwise (no caller
 * ring, a virtual thread, a {@link ForkJoinWorkerThread}, the ring closed, the thread interrupted) it waits as any
 * {@link CompletableFuture} does.
 * Everything else is {@link CompletableFuture}'s; dependent stages are plain futures.
 */
final class LaneFuture<T> extends CompletableFuture<T> {
    /** Set once the operation was handed to a caller ring; null while it was not (or not yet). */
    private volatile CallerRing lane;

    /** Records that the operation went to {@code ring}. */
    void waitIn(CallerRing ring) {
        this.lane = ring;
    }

    @Override
    public T join() {
        waitInLane(Long.MAX_VALUE);
        return super.join();
    }

    @Override
    public T get() throws InterruptedException, ExecutionException {
        waitInLane(Long.MAX_VALUE);
        return super.get();
    }

    @Override
    public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
        long nanos = unit.toNanos(timeout); // saturates: Long.MIN_VALUE stays negative, never wraps below
        if (nanos <= 0) {
            return super.get(timeout, unit); // no wait at all: done, or TimeoutException
        }
        long start = System.nanoTime();
        waitInLane(nanos);
        long left = nanos - (System.nanoTime() - start);
        return super.get(Math.max(0, left), TimeUnit.NANOSECONDS);
    }

    /**
     * Waits in the lane until done or {@code maxNanos} (positive) passed; returns early (leaving the rest to
     * {@link CompletableFuture}'s own wait) when there is no lane, the lane refuses, or the thread is interrupted.
     * Never on a {@link ForkJoinWorkerThread}: there {@link CompletableFuture}'s wait is a managed block, which lets
     * the pool run other tasks meanwhile (one of them may be what this future waits for); a wait in the kernel would
     * hold the worker without the pool knowing.
     */
    private void waitInLane(long maxNanos) {
        CallerRing ring = lane;
        if (ring == null || isDone() || Thread.currentThread() instanceof ForkJoinWorkerThread) {
            return;
        }
        long start = System.nanoTime();
        while (!isDone() && !Thread.currentThread().isInterrupted()) {
            long left = maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start);
            if (left <= 0 || !ring.await(this, left)) {
                return;
            }
        }
    }
}
