package io.uringaio.engine;

import io.uringaio.engine.internal.sys.FutexBoard;

/**
 * The wakes of blocked threads ({@link FutexBoard}) that a thread delivering a batch of completions holds back until
 * the batch ends, so that the threads whose futures the batch completed are woken with one system call. A batch is
 * opened around a lane's delivery loop ({@link #open}, {@link #close}); a wake asked outside any batch is made at once.
 * Held-back wakes are made before any code of the user runs, and the batch is suspended while it runs ({@link
 * #suspendBatch}: a completion callback, a future's dependents; the after-batch hook runs after the batch closed): that
 * code might wait for one of the threads still asleep, or for one whose wake it asks for itself (a cancel).
 */
final class DeferredWakes {
    private static final ThreadLocal<DeferredWakes> CURRENT = ThreadLocal.withInitial(DeferredWakes::new);

    private int depth;
    /** The board of the held-back wakes; null when none are held. */
    private FutexBoard board;
    private int bits;

    private DeferredWakes() {
    }

    /** Opens a batch on this thread (batches nest: only the outermost close wakes). */
    static void open() {
        CURRENT.get().depth++;
    }

    /** Closes a batch on this thread; the outermost close makes the held-back wakes. */
    static void close() {
        DeferredWakes d = CURRENT.get();
        if (--d.depth == 0) {
            d.wakeHeld();
        }
    }

    /** Wakes the sleepers of {@code board} with {@code bits}, at the end of this thread's batch if one is open. */
    static void wakeSoon(FutexBoard board, int bits) {
        DeferredWakes d = CURRENT.get();
        if (d.depth == 0) {
            board.wake(bits);
        } else if (d.board == board) {
            d.bits |= bits;
        } else {
            d.wakeHeld(); // another engine's wakes: made now, one board is held at a time
            d.board = board;
            d.bits = bits;
        }
    }

    /** This thread's batch state: {@link #suspendBatch} and {@link #resumeBatch} with one look-up. */
    static DeferredWakes current() {
        return CURRENT.get();
    }

    /**
     * Suspends this thread's batch while code of the user runs (a completion callback, a future's dependents): makes
     * the held-back wakes now, and until {@link #resumeBatch} every wake is made at once, since that code may wait for
     * a thread whose wake it (or the engine before it) asked for. Returns what {@link #resumeBatch} needs.
     */
    int suspendBatch() {
        wakeHeld();
        int outer = depth;
        depth = 0;
        return outer;
    }

    /** Reopens the batch {@link #suspendBatch} returned {@code outer} for, once the code of the user returned. */
    void resumeBatch(int outer) {
        depth = outer;
    }

    /** The bits of the wakes held back on this thread now, 0 when none (for tests). */
    static int heldOnThisThread() {
        DeferredWakes d = CURRENT.get();
        return d.board == null ? 0 : d.bits;
    }

    /** How many batches are open on this thread (for tests: 0 outside any delivery). */
    static int depthOnThisThread() {
        return CURRENT.get().depth;
    }

    private void wakeHeld() {
        FutexBoard b = board;
        if (b != null) {
            board = null;
            int held = bits;
            bits = 0;
            b.wake(held);
        }
    }
}
