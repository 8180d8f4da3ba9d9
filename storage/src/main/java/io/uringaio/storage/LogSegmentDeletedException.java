package io.uringaio.storage;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.file.Path;

/**
 * The segment an open {@link AppendLog} writes has no name left: its directory was removed ({@code rm -rf}) or the
 * file deleted while the log was open. The segment is open by descriptor, so its writes and {@code fdatasync}s go on
 * succeeding, into a file that no open of the log will ever find: the log acknowledges none of them. It checks, after
 * each group's {@code fdatasync} and before it acknowledges the group, that the segment still has a link, and else
 * poisons itself ({@link LogPoisonedException}, this as its cause, errno {@code ENOENT}): that group, every one behind
 * it and every later append fail. Records acknowledged before were in the deleted files.
 */
public final class LogSegmentDeletedException extends UringIOException {
    private static final long serialVersionUID = 1L;

    LogSegmentDeletedException(Path segment) {
        super(ErrnoTable.ENOENT, "write+fdatasync", segment.toString(), "the segment being written was deleted (its "
                + "directory removed, or the file) while the log was open: a record written to it could never be "
                + "found by an open of the log, so none written since is acknowledged");
    }
}
