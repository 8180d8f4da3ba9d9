package io.uringaio.engine;

/** The kernel's (or the engine's) answer to a cancel. */
public enum CancelOutcome {
    /** The request was canceled; it completes (or completed) with {@code -ECANCELED}. */
    CANCELED,
    /** The request is already running and cannot be canceled; it completes normally ({@code -EALREADY}). */
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
