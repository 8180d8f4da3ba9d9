package io.uringaio.storage;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One wake-up for every thread blocked on a log's records: the threads that wait for an appended record to be durable
 * ({@code join}/{@code get} on {@link AppendLog#append}'s future, a thread per appender) sleep on one futex word, and
 * the thread that acknowledges a commit group completes all of the group's futures, then wakes every sleeper with a
 * single {@code FUTEX_WAKE}.
 *
 * <p>Why: a {@link java.util.concurrent.CompletableFuture} wakes its waiter with an {@code unpark} per future, a system
 * call each, made one after another by the acknowledging (ring) thread; each woken thread is placed on that thread's
 * CPU and preempts it, so a group of n records costs n wake-ups in series (about 10 µs each here) before the next
 * group can form. One {@code FUTEX_WAKE} wakes them all at once and lets the scheduler spread them.
 *
 * <p>Protocol (no lost wake-up): a sleeper counts itself in, reads the word, checks its future and sleeps only while
 * the word still holds what it read; a waker completes the futures, then bumps the word, then wakes if anyone is
 * counted in. Each side's second step is ordered after its first (volatile), so either the sleeper sees its future
 * done, or the word moved before it slept ({@code EAGAIN}), or the waker sees it counted in and wakes it.
 *
 * <p>Sleeps are sliced ({@link #SLICE_NANOS}): a thread in the futex call cannot see an interrupt, nor a completion
 * that bypassed {@link #wakeAll} (a hostile {@code complete} on the future through a path that is not overridden), for
 * longer than a slice.
 */
final class DurableWakeup {
    /** Longest single sleep: the bound on noticing an interrupt or a completion nobody signalled. */
    static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final VarHandle INT = JAVA_INT.varHandle();

    /** The futex word: bumped by every {@link #wakeAll}. Off-heap (the kernel needs its address), freed with this. */
    private final MemorySegment word = Arena.ofAuto().allocate(JAVA_INT);
    /** Threads counted in to sleep on {@link #word}. */
    private final AtomicInteger sleepers = new AtomicInteger();

    /**
     * Whether waiting here is possible on this thread: a platform thread, on an architecture with a known futex, and
     * not a {@link ForkJoinPool} worker. There {@link java.util.concurrent.CompletableFuture}'s own wait is a
     * {@link ForkJoinPool#managedBlock managed block}: the pool adds a worker while it waits (and the waiter helps run
     * async tasks), whereas a futex sleep would hold the worker silently and could starve the very task that the
     * record's durability waits for (a pool of one worker that appends and joins, then is to open the gate).
     */
    static boolean usableOnThisThread() {
        Thread current = Thread.currentThread();
        return Libc.hasFutex() && !current.isVirtual() && !(current instanceof ForkJoinWorkerThread);
    }

    /**
     * Sleeps until {@code future} is done or {@code deadlineNanos} ({@link System#nanoTime}) passes; with
     * {@code interruptible}, also returns once the thread is interrupted (its status left set). Never throws.
     */
    void await(RecordFuture future, long deadlineNanos, boolean interruptible) {
        sleepers.incrementAndGet();
        try {
            while (!future.isDone()) {
                int seen = (int) INT.getVolatile(word, 0L);
                if (future.isDone() || (interruptible && Thread.currentThread().isInterrupted())) {
                    return;
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                Libc.futexWait(word.address(), seen, Math.min(left, SLICE_NANOS));
            }
        } finally {
            sleepers.decrementAndGet();
        }
    }

    /** How many threads are counted in to sleep here now (for tests: none may be left behind). */
    int sleepers() {
        return sleepers.get();
    }

    /** Wakes every thread sleeping here; the futures they wait for were completed before this call. */
    void wakeAll() {
        INT.getAndAdd(word, 0L, 1);
        if (sleepers.get() > 0) {
            Libc.futexWake(word.address(), Integer.MAX_VALUE);
        }
    }
}
