package io.uringaio.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Walks the frames of one segment file from an offset, checking each, through a read window of at least 1 MiB (one
 * {@code pread} per window, not per record). Stops at the first frame that is not a complete record.
 */
final class SegmentScanner {
    /** Why a scan stopped. */
    enum End {
        /** A zero length: the end of the written data (the rest is preallocated zeros), or the end of the file. */
        CLEAN,
        /** A frame whose length overruns the file or whose checksum fails: a torn write, or corruption. */
        TORN,
        /** The visitor asked to stop. */
        STOPPED,
        /** The limit offset was reached. */
        LIMIT
    }

    /** Where a scan stopped: the offset just past the last complete record, how many it saw, and why. */
    record Result(long validEnd, long records, End end) {
    }

    private static final int WINDOW_BYTES = 1 << 20;

    private final FileChannel channel;
    private final long base;
    private final long fileSize;
    private final CRC32C crc = new CRC32C();
    private final byte[] scratch = new byte[12];
    private ByteBuffer window = ByteBuffer.allocate(WINDOW_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private long windowStart;

    SegmentScanner(FileChannel channel, long base) throws IOException {
        this.channel = channel;
        this.base = base;
        this.fileSize = channel.size();
        window.limit(0);
    }

    /**
     * Visits the complete records from file offset {@code from} up to (not past) file offset {@code limit}.
     *
     * @param visitor null to only find the end
     */
    Result scan(long from, long limit, RecordVisitor visitor) throws IOException {
        long end = Math.min(limit, fileSize);
        long offset = from;
        long records = 0;
        while (true) {
            if (offset >= end) {
                return new Result(offset, records, end < fileSize ? End.LIMIT : End.CLEAN);
            }
            if (offset + RecordFrame.HEADER_BYTES > end) {
                return new Result(offset, records, allZero(offset, (int) (end - offset)) ? End.CLEAN : End.TORN);
            }
            ensure(offset, RecordFrame.HEADER_BYTES);
            int at = (int) (offset - windowStart);
            int length = window.getInt(at);
            int expected = window.getInt(at + 4);
            if (length == 0) {
                return new Result(offset, records, expected == 0 ? End.CLEAN : End.TORN);
            }
            if (length < 0 || offset + RecordFrame.frameBytes(length) > end) {
                return new Result(offset, records, End.TORN);
            }
            if (!ensure(offset, RecordFrame.HEADER_BYTES + length)) {
                return new Result(offset, records, End.TORN);
            }
            at = (int) (offset - windowStart);
            ByteBuffer payload = window.slice(at + RecordFrame.HEADER_BYTES, length).asReadOnlyBuffer();
            crc.reset();
            crc.update(payload.duplicate());
            long position = base + offset;
            if (RecordFrame.finish(crc, position, length, scratch) != expected) {
                return new Result(offset, records, End.TORN);
            }
            offset += RecordFrame.frameBytes(length);
            records++;
            if (visitor != null && !visitor.visit(position, payload)) {
                return new Result(offset, records, End.STOPPED);
            }
        }
    }

    /** Makes file bytes {@code [offset, offset + n)} available in the window; false if the file is shorter. */
    private boolean ensure(long offset, int n) throws IOException {
        if (offset >= windowStart && offset + n <= windowStart + window.limit()) {
            return true;
        }
        if (n > window.capacity()) {
            window = ByteBuffer.allocate(Math.max(n, 2 * window.capacity())).order(ByteOrder.LITTLE_ENDIAN);
        }
        window.clear();
        windowStart = offset;
        while (window.hasRemaining()) {
            int read = channel.read(window, offset + window.position());
            if (read < 0) {
                break;
            }
        }
        window.flip();
        return window.limit() >= n;
    }

    private boolean allZero(long offset, int n) throws IOException {
        if (!ensure(offset, n)) {
            return false;
        }
        int at = (int) (offset - windowStart);
        for (int i = 0; i < n; i++) {
            if (window.get(at + i) != 0) {
                return false;
            }
        }
        return true;
    }
}
