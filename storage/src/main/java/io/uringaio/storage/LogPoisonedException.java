package io.uringaio.storage;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

/**
 * A write or {@code fdatasync} of the log failed, so nothing from the failed group on can be trusted to be durable:
 * the kernel may have dropped the dirty pages and cleared the error, and a retried {@code fdatasync} would report
 * success for data that is gone (PostgreSQL's "fsyncgate", 2018). The log therefore refuses every append of the failed
 * group, of every group queued behind it, and every later append, with this exception.
 *
 * <p>Carries the original errno and operation ({@link #errno()}, {@link #errnoName()}, {@link #operation()}); the
 * original exception is the {@linkplain #getCause() cause}. Records acknowledged before {@link #failedPosition()} are
 * durable. Recover by closing the log and opening it again, which scans the tail and truncates what did not make it.
 */
public final class LogPoisonedException extends UringIOException {
    private static final long serialVersionUID = 1L;

    /** The position of the first record of the group that failed. */
    private final long failedPosition;

    LogPoisonedException(int errno, String operation, String path, long failedPosition, Throwable cause) {
        super(errno, operation, path, ErrnoTable.describe(errno) + "; the log is poisoned from position "
                + failedPosition + ": no append from there on is durable, and the log refuses new appends until it is"
                + " reopened");
        this.failedPosition = failedPosition;
        initCause(cause);
    }

    /** The position of the first record of the group that failed. */
    public long failedPosition() {
        return failedPosition;
    }
}
