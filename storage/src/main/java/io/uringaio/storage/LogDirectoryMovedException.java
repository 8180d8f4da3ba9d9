package io.uringaio.storage;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.file.Path;

/**
 * An open {@link AppendLog}'s directory is no longer at its path: renamed, deleted, or replaced by another directory
 * while the log was open. The log's segment being written is open by descriptor, but a roll-over and a read reach the
 * directory by name, and would use whatever directory the name gives now (another log's, perhaps). They refuse
 * instead, with this exception (errno {@code ENOENT}): a roll-over poisons the log ({@link LogPoisonedException}, this
 * as its cause); a close leaves the prepared spare segment for the next recovery to delete. The records acknowledged
 * before are in the directory the log locked, wherever it is now; reopen the log there.
 */
public final class LogDirectoryMovedException extends UringIOException {
    private static final long serialVersionUID = 1L;

    LogDirectoryMovedException(String operation, Path directory) {
        super(ErrnoTable.ENOENT, operation, directory.toString(), "the log's directory is no longer at this path "
                + "(renamed, deleted or replaced while the log was open); its records are in the directory it "
                + "locked, wherever that is now");
    }
}
