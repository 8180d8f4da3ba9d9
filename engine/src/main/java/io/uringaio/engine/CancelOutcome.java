package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * The answer to a cancel, decided by what the request ended with: CANCELED never comes for a request that did not end
 * {@code -ECANCELED}.
 */
public enum CancelOutcome {
    /** The request was canceled: its completion runs (or ran) with {@code -ECANCELED}. */
    CANCELED,
    /**
     * The request was already running and ran to its own result (the kernel's {@code -EALREADY}, or a cancel that came
     * too late); the cancel's future completes when the request ends.
     */
    NOT_CANCELED,
    /** The request was not in flight: it had completed, or was never submitted ({@code -ENOENT}). */
    ALREADY_DONE;

    /** A kernel cancel's answer, or its target's result, not known yet. */
    static final int PENDING = Integer.MIN_VALUE;

    /**
     * The outcome of one kernel cancel ({@code IORING_OP_ASYNC_CANCEL}) of a request, from the kernel's answer and
     * what the target ended with ({@link #PENDING} while not known): CANCELED whenever the target ends
     * {@code -ECANCELED}, whatever the kernel answered (see {@link Ring.KernelCancel} for the kernel's -ENOENT for a
     * target it then ends -ECANCELED); after an answer that waits for the target ({@link #awaitsTarget}),
     * NOT_CANCELED once it ran to its own end; otherwise by the answer alone. The rule of both {@link Ring} and
     * {@link CallerRing}.
     *
     * @return the outcome, or null while it depends on a target that has not ended (or the answer is not known)
     */
    static CancelOutcome ofKernelCancel(int cancelResult, int targetResult, boolean notFoundButRunning) {
        if (cancelResult == PENDING) {
            return null;
        }
        if (targetResult == -ErrnoTable.ECANCELED) {
            return CANCELED;
        }
        if (awaitsTarget(cancelResult, notFoundButRunning)) {
            return targetResult == PENDING ? null : NOT_CANCELED;
        }
        return ofCancelResult(cancelResult);
    }

    /**
     * Whether a kernel cancel answered {@code cancelResult} is decided by how its target ends: after 0 (canceled) and
     * {@code -EALREADY} (running in an io-wq worker: flagged, it may still end -ECANCELED if the worker had not issued
     * it yet), and after {@code -ENOENT} that came before the target's end ({@code notFoundButRunning}: the kernel
     * cannot find an unstarted member of a linked chain, nor io-wq work it has just flagged and failed).
     */
    static boolean awaitsTarget(int cancelResult, boolean notFoundButRunning) {
        return cancelResult == 0 || cancelResult == -ErrnoTable.EALREADY || notFoundButRunning;
    }

    /** Whether a cancel's answer {@code res} is "not found" while its target has not ended ({@code targetResult}). */
    static boolean notFoundButRunning(int res, int targetResult) {
        return res == -ErrnoTable.ENOENT && targetResult == PENDING;
    }

    static CancelOutcome ofCancelResult(int res) {
        if (res == 0) {
            return CANCELED;
        }
        return res == -ErrnoTable.EALREADY ? NOT_CANCELED : ALREADY_DONE;
    }
}
