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

    static CancelOutcome ofCancelResult(int res) {
        if (res == 0) {
            return CANCELED;
        }
        return res == -ErrnoTable.EALREADY ? NOT_CANCELED : ALREADY_DONE;
    }
}
