package io.uringaio.engine.internal.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Where platform threads blocked on futures sleep, so that one system call wakes many of them: one futex word, each
 * sleeper waiting with a bit of 32 ({@code FUTEX_WAIT_BITSET}), each wake naming the bits of the sleepers it is for
 * ({@code FUTEX_WAKE_BITSET}). The thread that completes a batch of futures completes them all, then wakes their
 * sleepers once, instead of one {@code unpark} per future (a system call each, made in series, each woken thread
 * preempting the waker on its CPU). Which bit stands for whom is the user's choice: a commit group (the storage log),
 * a thread (the engine's futures); two sleepers that share a bit merely wake each other for nothing, and look again.
 *
 * <p>Protocol (no lost wake-up): a sleeper counts itself in, reads the word, checks its future, and sleeps only while
 * the word still holds what it read; a waker, after completing the futures, bumps the word, then wakes if anyone is
 * counted in. Each side's second step is ordered after its first (volatile), so either the sleeper sees its future
 * done, or the word moved before it slept ({@code EAGAIN}), or the waker sees it counted in and wakes it.
 *
 * <p>Sleeps are sliced ({@link #SLICE_NANOS}): a thread in the futex call sees neither an interrupt nor a completion
 * that nobody woke it for (a caller completing the future itself) for longer than a slice. Where the kernel refuses
 * the call, {@link #usableOnThisThread} turns false for good and callers wait as {@link
 * java.util.concurrent.CompletableFuture} does.
 */
public final class FutexBoard {
    /** Longest single sleep: the bound on noticing an interrupt or a completion nobody woke the sleeper for. */
    public static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private static final VarHandle INT = JAVA_INT.varHandle();

    /** Set for good once the kernel refused a futex wait for a reason other than the protocol's own answers. */
    private static volatile boolean refused;

    /** The futex word: bumped by every {@link #wake}. Off-heap (the kernel needs its address), freed with this. */
    private final MemorySegment word = Arena.ofAuto().allocate(JAVA_INT);
    /** Threads counted in to sleep on {@link #word}. */
    private final AtomicInteger sleepers = new AtomicInteger();
    /** This board's longest single sleep: {@link #SLICE_NANOS} but for tests that must see a missed wake as a hang. */
    private final long sliceNanos;

    /** A board whose sleeps are sliced at {@link #SLICE_NANOS}. */
    public FutexBoard() {
        this(SLICE_NANOS);
    }

    /**
     * A board whose sleeps are sliced at {@code sliceNanos} (positive). For tests: with a slice far longer than their
     * bounds, a sleeper that nobody wakes shows as a hang instead of a {@link #SLICE_NANOS} delay.
     */
    public FutexBoard(long sliceNanos) {
        if (sliceNanos <= 0) {
            throw new IllegalArgumentException("slice must be positive, was " + sliceNanos);
        }
        this.sliceNanos = sliceNanos;
    }

    /**
     * Whether a thread may sleep here now: a platform thread (a virtual one would pin its carrier), not a
     * {@link ForkJoinWorkerThread} (its pool compensates only for a managed block, which
     * {@link java.util.concurrent.CompletableFuture}'s own wait is), on an architecture with a known futex that the
     * kernel has not refused.
     */
    public static boolean usableOnThisThread() {
        Thread t = Thread.currentThread();
        return Libc.hasFutex() && !refused && !t.isVirtual() && !(t instanceof ForkJoinWorkerThread);
    }

    /** The bit of the running thread, for boards whose bits stand for threads: never 0. */
    public static int threadBit() {
        return 1 << (int) (Thread.currentThread().threadId() & 31);
    }

    /**
     * Sleeps until {@code future} is done, {@code maxNanos} passed (from now; {@link Long#MAX_VALUE}: no bound), or,
     * with {@code interruptible}, the thread is interrupted (its status left set); at once if the kernel refuses the
     * futex call. The sleeper waits for wakes that name {@code bit} (not 0). Never throws.
     */
    public void await(Future<?> future, int bit, long maxNanos, boolean interruptible) {
        long start = System.nanoTime();
        sleepers.incrementAndGet();
        try {
            while (!future.isDone()) {
                int seen = (int) INT.getVolatile(word, 0L);
                if (future.isDone() || (interruptible && Thread.currentThread().isInterrupted())) {
                    return;
                }
                long left = maxNanos == Long.MAX_VALUE ? Long.MAX_VALUE : maxNanos - (System.nanoTime() - start);
                if (left <= 0) {
                    return;
                }
                long until = Libc.monotonicNanos() + Math.min(left, sliceNanos);
                int res = Libc.futexWait(word.address(), seen, until, bit);
                if (res < 0 && res != -ErrnoTable.EAGAIN && res != -ErrnoTable.ETIMEDOUT
                        && res != -ErrnoTable.EINTR) {
                    // Not an answer of the protocol (a filter denying futex, say): waiting here would spin.
                    refused = true;
                    return;
                }
            }
        } finally {
            sleepers.decrementAndGet();
        }
    }

    /**
     * Wakes the sleepers waiting for any of {@code bits} (-1: every sleeper), in one system call when there are any;
     * the futures they wait for must be complete before this call.
     */
    public void wake(int bits) {
        INT.getAndAdd(word, 0L, 1);
        if (sleepers.get() > 0) {
            Libc.futexWake(word.address(), Integer.MAX_VALUE, bits);
        }
    }

    /** Threads sleeping here now (for tests: none may be left counted in). */
    public int sleepers() {
        return sleepers.get();
    }
}
