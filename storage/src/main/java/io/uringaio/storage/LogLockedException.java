package io.uringaio.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A log directory is already open for writing, in this process or in another one: {@link AppendLog#open} (and
 * {@link LogRecovery#recover}) take an exclusive lock ({@code flock}) on the directory itself for the log's life,
 * because two writers would interleave their records at the same positions and lose acknowledged ones.
 */
public final class LogLockedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path directory;

    LogLockedException(Path directory, String holder) {
        super("log directory " + directory + " is locked: " + holder + " has it open (its pid is in "
                + directory.resolve(DirectoryLock.FILE_NAME) + "); a log has one writer");
        this.directory = directory;
    }

    /** The locked directory. */
    public Path directory() {
        return directory;
    }
}
