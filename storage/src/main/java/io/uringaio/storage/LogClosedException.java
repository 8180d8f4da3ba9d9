package io.uringaio.storage;

import java.io.IOException;

/** An {@link AppendLog} refused an append because it is closed (or closing). */
public final class LogClosedException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * An append to the log in {@code directory} after its close.
     *
     * @param directory the log's directory, as the message names it
     */
    public LogClosedException(String directory) {
        super("append " + directory + ": log is closed");
    }
}
