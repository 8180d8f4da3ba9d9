package io.uringaio.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A log segment holds a bad frame where only complete records can be: in a segment before the last, or in the last
 * one followed by more commit groups than a crash can leave unacknowledged (see {@link LogRecovery}). Records from
 * {@link #position()} on cannot be trusted or are missing; {@link AppendLog#open} refuses the log rather than cut
 * records that may have been acknowledged, and {@code read} stops here rather than skip. Restore the log from a replica
 * or a backup, or open it with {@link AppendLogConfig#repairByTruncation} to cut everything from the bad frame on.
 */
public final class LogCorruptedException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path segment;
    /** The bad frame's offset in its segment file. */
    private final long offset;
    /** The bad frame's log position. */
    private final long position;

    LogCorruptedException(Path segment, long base, long offset, String detail) {
        super("log segment " + segment + " is corrupt at offset " + offset + " (log position " + (base + offset)
                + "): " + detail);
        this.segment = segment;
        this.offset = offset;
        this.position = base + offset;
    }

    /** The segment file holding the bad frame. */
    public Path segment() {
        return segment;
    }

    /** The bad frame's offset in {@link #segment()}. */
    public long offset() {
        return offset;
    }

    /** The bad frame's log position: every record before it is intact. */
    public long position() {
        return position;
    }
}
