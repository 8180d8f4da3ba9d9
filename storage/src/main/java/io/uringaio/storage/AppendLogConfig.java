package io.uringaio.storage;

import java.util.function.UnaryOperator;

/**
 * How an {@link AppendLog} is laid out and how large its commit groups may grow. Mutable builder;
 * {@link AppendLog#open} copies it.
 *
 * <p>Defaults: 64 MiB segments, preallocated and zero-filled; records up to 1 MiB; a commit group of at most 1024
 * records and 4 MiB; two groups in flight; a leader's wait of at most 300 µs ({@link #maxGroupWaitNanos}); at most 64 MiB of records
 * waiting for their group before {@link AppendLog#append} blocks.
 */
public final class AppendLogConfig {
    /** The smallest segment accepted. */
    public static final long MIN_SEGMENT_BYTES = 4096;
    /**
     * The largest segment accepted: 64 GiB. Larger ones cannot work or cost what nobody asked for: a file system
     * refuses a file of 16 TiB (ext4) at the preallocation, a segment without preallocation but zero-filled is written
     * in full (until the disk is full) before its first record, and recovery keeps a running checksum per 4 KiB of the
     * segment it searches after a bad frame (64 MiB of heap at this size).
     */
    public static final long MAX_SEGMENT_BYTES = 1L << 36;
    /**
     * The largest commit group accepted, in bytes: the most one Linux {@code write} transfers ({@code MAX_RW_COUNT},
     * {@code INT_MAX} rounded down to a 4 KiB page). A larger group would be written short, which the log must take
     * for a failed write: it would poison itself.
     */
    public static final int MAX_GROUP_BYTES = 0x7FFF_F000;

    private long segmentBytes = 64L << 20;
    private static final int DEFAULT_MAX_RECORD_BYTES = 1 << 20;

    /** -1: the default, shrunk to what a segment and a group hold. */
    private int maxRecordBytes = -1;
    private int maxGroupRecords = 1024;
    private int maxGroupBytes = 4 << 20;
    private long maxPendingBytes = 64L << 20;
    private boolean preallocate = true;
    private boolean zeroFill = true;
    private int maxGroupsInFlight = 2;
    /** The default of {@link #maxGroupWaitNanos}: 300 µs, and never more than the recent fdatasync time. */
    public static final long DEFAULT_MAX_GROUP_WAIT_NANOS = 300_000;

    private long maxGroupWaitNanos = DEFAULT_MAX_GROUP_WAIT_NANOS;
    private boolean repairByTruncation;
    private boolean waiterWrites = true;
    /** Test seam: wraps each segment's I/O (fault injection). */
    private UnaryOperator<SegmentIo> segmentIoWrapper = UnaryOperator.identity();

    /** A config with the defaults. */
    public AppendLogConfig() {
    }

    AppendLogConfig copy() {
        AppendLogConfig c = new AppendLogConfig();
        c.segmentBytes = segmentBytes;
        c.maxRecordBytes = maxRecordBytes;
        c.maxGroupRecords = maxGroupRecords;
        c.maxGroupBytes = maxGroupBytes;
        c.maxPendingBytes = maxPendingBytes;
        c.preallocate = preallocate;
        c.zeroFill = zeroFill;
        c.maxGroupsInFlight = maxGroupsInFlight;
        c.maxGroupWaitNanos = maxGroupWaitNanos;
        c.repairByTruncation = repairByTruncation;
        c.waiterWrites = waiterWrites;
        c.segmentIoWrapper = segmentIoWrapper;
        return c;
    }

    /**
     * Bytes per segment file, {@value #MIN_SEGMENT_BYTES}..{@link #MAX_SEGMENT_BYTES}; a segment rolls over when the
     * next record does not fit. Default 64 MiB.
     */
    public AppendLogConfig segmentBytes(long segmentBytes) {
        if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
            throw new IllegalArgumentException("segmentBytes must be in " + MIN_SEGMENT_BYTES + ".."
                    + MAX_SEGMENT_BYTES + ", was " + segmentBytes);
        }
        this.segmentBytes = segmentBytes;
        return this;
    }

    /**
     * The largest payload {@link AppendLog#append} accepts; default 1 MiB, or less when a frame of that size would not
     * fit {@link #segmentBytes} or {@link #maxGroupBytes}.
     */
    public AppendLogConfig maxRecordBytes(int maxRecordBytes) {
        if (maxRecordBytes < 1 || maxRecordBytes > RecordFrame.MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("maxRecordBytes must be in 1.." + RecordFrame.MAX_PAYLOAD_BYTES
                    + " (a frame's length has 27 bits), was " + maxRecordBytes);
        }
        this.maxRecordBytes = maxRecordBytes;
        return this;
    }

    /** The most records one commit group (one write and one fdatasync) carries; default 1024. */
    public AppendLogConfig maxGroupRecords(int maxGroupRecords) {
        if (maxGroupRecords < 1 || maxGroupRecords > 1 << 20) {
            throw new IllegalArgumentException("maxGroupRecords must be in 1..2^20, was " + maxGroupRecords);
        }
        this.maxGroupRecords = maxGroupRecords;
        return this;
    }

    /**
     * The most frame bytes one commit group carries, from one frame of one byte to {@link #MAX_GROUP_BYTES}; default
     * 4 MiB.
     */
    public AppendLogConfig maxGroupBytes(int maxGroupBytes) {
        if (maxGroupBytes < RecordFrame.HEADER_BYTES + 1 || maxGroupBytes > MAX_GROUP_BYTES) {
            throw new IllegalArgumentException("maxGroupBytes must be in " + (RecordFrame.HEADER_BYTES + 1) + ".."
                    + MAX_GROUP_BYTES + " (one frame of one byte .. the most one write transfers), was "
                    + maxGroupBytes);
        }
        this.maxGroupBytes = maxGroupBytes;
        return this;
    }

    /**
     * The most frame bytes accepted but not yet durable; beyond it {@link AppendLog#append} blocks until a group is
     * durable (on a thread that can wait: appends from the engine's threads and from records' completions go over).
     * Default 64 MiB.
     */
    public AppendLogConfig maxPendingBytes(long maxPendingBytes) {
        if (maxPendingBytes < 1) {
            throw new IllegalArgumentException("maxPendingBytes must be positive, was " + maxPendingBytes);
        }
        this.maxPendingBytes = maxPendingBytes;
        return this;
    }

    /**
     * Whether a new segment is preallocated with {@code fallocate(fd, 0, 0, segmentBytes)} (default true), so that
     * appends never change the file's size and the per-group {@code fdatasync} has no size to commit.
     */
    public AppendLogConfig preallocate(boolean preallocate) {
        this.preallocate = preallocate;
        return this;
    }

    /**
     * Whether a new segment is written with zeros over its whole size (after the {@code fallocate}, if any), then
     * {@code fsync}ed, before a record goes into it; default true. {@code fallocate} alone leaves <em>unwritten</em>
     * extents: the first write into each one converts it, and the {@code fdatasync} after that write must commit the
     * conversion through the file system's journal, on every group. Over written zeros, a group's {@code fdatasync}
     * is a data write and a device cache flush only (PostgreSQL's {@code wal_init_zero}). The next segment is
     * prepared ahead, on a background thread, so the zero-fill is off the append path.
     */
    public AppendLogConfig zeroFill(boolean zeroFill) {
        this.zeroFill = zeroFill;
        return this;
    }

    /**
     * Whether an appender that waits for each of its records writes and syncs the group its record goes out in
     * itself, on its own thread with plain system calls ({@link io.uringaio.engine.AsyncFile#writeDurableBlocking}),
     * instead of through a ring; default true. It applies to a platform thread that called {@code join()} or
     * {@code get()} on the future of its previous append (and is not running a completion of this log, nor one of the
     * engine's threads), when its append cuts the group: that {@code append} then returns only once the group is
     * durable, its own record's future already complete. Such a thread would wait for the same write anyway; going
     * through the ring, an {@code fdatasync} always runs in a kernel worker thread, whose wake-up and the completion's
     * way back cost about 100 µs per group on a small VM. Appends from callbacks, virtual threads, and threads that do
     * not wait are never written this way, nor is a thread whose last {@code get(timeout)} on that future timed out
     * (it bounds its waits: its append must not block in a sync). When it appends while the log acknowledges a group (its record was durable
     * a moment ago), it waits for that acknowledgement to end, at most {@link #maxGroupWaitNanos}, before it cuts its
     * group; the acknowledging thread would cut it through a ring otherwise.
     */
    public AppendLogConfig waiterWrites(boolean waiterWrites) {
        this.waiterWrites = waiterWrites;
        return this;
    }

    /**
     * How many commit groups may be in flight (written, their {@code fdatasync} not yet complete) at once; default 2.
     * With 2, group k+1 is written and synced while group k's {@code fdatasync} runs; groups are still acknowledged
     * strictly in order. Each in-flight group uses its own file descriptor of the segment, so each {@code fdatasync}
     * reports every write-back error since that descriptor's previous one (the kernel reports an error once per
     * open file description). 1 is the classic one-flush-at-a-time group commit.
     */
    public AppendLogConfig maxGroupsInFlight(int maxGroupsInFlight) {
        if (maxGroupsInFlight < 1 || maxGroupsInFlight > 16) {
            throw new IllegalArgumentException("maxGroupsInFlight must be in 1..16, was " + maxGroupsInFlight);
        }
        this.maxGroupsInFlight = maxGroupsInFlight;
        return this;
    }

    /**
     * The longest a new commit group's leader waits for the group to fill before it is cut; default
     * {@value #DEFAULT_MAX_GROUP_WAIT_NANOS} ns (300 µs); 0 cuts every group at once. The leader is the first appender back after a group was
     * acknowledged, when it appends on a thread of its own (never on one of the engine's threads, nor on a thread
     * whose previous append is still pending: it runs ahead of its acknowledgements); it waits only while fewer
     * records are pending than the last acknowledged group held, only if that group was acknowledged within the
     * recent {@code fdatasync} time (an idle log never waits), and never longer than that time. Threads
     * that each append and then block until their record is durable come back one by one after an acknowledgement;
     * without the wait the first back would be sent alone and the others would wait for the next {@code fdatasync}.
     *
     * <p>Measured on a 2-core VM with a virtio disk (an {@code fdatasync} about 280 µs), 8 threads each appending and
     * joining: 3.1 records per {@code fdatasync} without the wait, 7.5 with it (then capped at a quarter of the sync
     * time), and 1.3-1.4 times the records per second; since groups are written by their appenders
     * ({@link #waiterWrites}), a whole sync time and 300 µs: 7.6-7.7 records per group and 15.0-15.5k records/s
     * against 7.0-7.3 and 11.6-13.9k with a quarter and 150 µs. The wait pays where waking a blocked thread costs a small part of an
     * {@code fdatasync}; on a machine so loaded that the woken threads come back late it costs what it waits (a
     * heavily loaded run gave no gain): 0 turns it off.
     */
    public AppendLogConfig maxGroupWaitNanos(long maxGroupWaitNanos) {
        if (maxGroupWaitNanos < 0) {
            throw new IllegalArgumentException("maxGroupWaitNanos must not be negative, was " + maxGroupWaitNanos);
        }
        this.maxGroupWaitNanos = maxGroupWaitNanos;
        return this;
    }

    /**
     * Whether {@link AppendLog#open} cuts the log at a bad frame that recovery judges to be corruption (everything from
     * it on: the rest of its segment and every later segment), instead of failing with a
     * {@link LogCorruptedException}; default false. Records after the bad frame, acknowledged ones among them, are
     * lost: use it only when they are restored from elsewhere or knowingly given up.
     * {@link LogRecovery.Result#repaired()} reports what was cut. A torn tail is cut either way.
     */
    public AppendLogConfig repairByTruncation(boolean repairByTruncation) {
        this.repairByTruncation = repairByTruncation;
        return this;
    }

    AppendLogConfig segmentIoWrapper(UnaryOperator<SegmentIo> wrapper) {
        this.segmentIoWrapper = wrapper;
        return this;
    }

    /** Checks that the limits fit together. */
    void validate() {
        long frame = RecordFrame.frameBytes(maxRecordBytes());
        if (frame > maxGroupBytes) {
            throw new IllegalArgumentException("a record of maxRecordBytes " + maxRecordBytes
                    + " does not fit a group of maxGroupBytes " + maxGroupBytes);
        }
        if (frame > segmentBytes) {
            throw new IllegalArgumentException("a record of maxRecordBytes " + maxRecordBytes
                    + " does not fit a segment of segmentBytes " + segmentBytes);
        }
    }

    /** Bytes per segment file. */
    public long segmentBytes() {
        return segmentBytes;
    }

    /** The largest payload an append accepts, after defaults. */
    public int maxRecordBytes() {
        if (maxRecordBytes > 0) {
            return maxRecordBytes;
        }
        long room = Math.min(segmentBytes, maxGroupBytes) - RecordFrame.HEADER_BYTES;
        return (int) Math.min(DEFAULT_MAX_RECORD_BYTES, room);
    }

    /** The most records one commit group carries. */
    public int maxGroupRecords() {
        return maxGroupRecords;
    }

    /** The most frame bytes one commit group carries. */
    public int maxGroupBytes() {
        return maxGroupBytes;
    }

    /** The most bytes of appends that may wait for a group before append blocks. */
    public long maxPendingBytes() {
        return maxPendingBytes;
    }

    /** Whether a new segment is preallocated with {@code fallocate}. */
    public boolean preallocate() {
        return preallocate;
    }

    /** Whether a new segment is written with zeros and synced before records go into it. */
    public boolean zeroFill() {
        return zeroFill;
    }

    /** Whether an appender that waits for its records writes and syncs its group itself ({@link #waiterWrites(boolean)}). */
    public boolean waiterWrites() {
        return waiterWrites;
    }

    /** How many commit groups may be in flight at once. */
    public int maxGroupsInFlight() {
        return maxGroupsInFlight;
    }

    /** The longest a new group's leader waits for the group to fill, in nanoseconds. */
    public long maxGroupWaitNanos() {
        return maxGroupWaitNanos;
    }

    /** Whether recovery cuts a corrupt log at the first bad frame instead of refusing it. */
    public boolean repairByTruncation() {
        return repairByTruncation;
    }

    UnaryOperator<SegmentIo> segmentIoWrapper() {
        return segmentIoWrapper;
    }
}
