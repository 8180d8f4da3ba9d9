package io.uringaio.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Walks the frames of one segment file from an offset, checking each, through a read window of at least 1 MiB (one
 * {@code pread} per window, not per record). {@link #scan} stops at the first frame that is not a complete record;
 * {@link #groupsAfter} looks past such a frame for commit groups that reached the disk after it.
 */
final class SegmentScanner {
    /** Why a scan stopped. */
    enum End {
        /** A zero header: unwritten space (preallocated zeros), or the end of the file. */
        CLEAN,
        /** A frame whose length overruns the file, whose word is malformed or whose checksum fails. */
        TORN,
        /** The visitor asked to stop. */
        STOPPED,
        /** The limit offset was reached. */
        LIMIT
    }

    /** Where a scan stopped: the offset just past the last complete record, how many it saw, and why. */
    record Result(long validEnd, long records, End end) {
    }

    /**
     * What lies past a bad frame: {@code groups} commit groups whose first record is a valid frame (counted up to the
     * window their own frames record), the largest such window ({@code maxGroupsInFlight}, 0 if none), and the
     * offsets of the first valid frame found and of the end of the last one (-1 if none).
     */
    record Groups(int groups, int maxGroupsInFlight, long firstValid, long lastValidEnd) {
    }

    private static final int WINDOW_BYTES = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocate(WINDOW_BYTES).asReadOnlyBuffer();

    private final SegmentFile file;
    private final FileChannel channel;
    private final long base;
    private final long fileSize;
    private final CRC32C crc = new CRC32C();
    private final byte[] scratch = new byte[12];
    /** The longest frame that {@link #groupsAfter}'s search checksums directly; longer ones by range. */
    private static final int DIRECT_CHECK_BYTES = 64 << 10;

    private ByteBuffer window = ByteBuffer.allocate(WINDOW_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    /** The search's range checksums, from {@link #rangesFrom} to the end of the file; built at first need. */
    private RangeChecksums ranges;
    private long rangesFrom;
    private long windowStart;
    /** Bytes read into the window so far: what a scan cost (for tests). */
    private long bytesRead;

    /** A scanner that reads every byte of {@code channel}'s file, holes included. */
    SegmentScanner(FileChannel channel, long base) throws IOException {
        this(SegmentFile.of(channel), base);
    }

    /** A scanner that skips the holes {@code file} knows of where it looks for data past the records. */
    SegmentScanner(SegmentFile file, long base) throws IOException {
        this.file = file;
        this.channel = file.channel;
        this.base = base;
        this.fileSize = channel.size();
        window.limit(0);
    }

    long fileSize() {
        return fileSize;
    }

    /** The bytes this scanner read into its window so far. */
    long bytesRead() {
        return bytesRead;
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
                boolean zeros = end == fileSize && allZero(offset, (int) (end - offset));
                return new Result(offset, records, zeros ? End.CLEAN : end < fileSize ? End.LIMIT : End.TORN);
            }
            if (!ensure(offset, RecordFrame.HEADER_BYTES)) {
                // The file is shorter than when the scan began (truncated under the reader): the frame is not there.
                return new Result(offset, records, End.TORN);
            }
            int at = (int) (offset - windowStart);
            if (window.getLong(at) == 0) {
                return new Result(offset, records, End.CLEAN);
            }
            ByteBuffer payload = frameAt(offset, end);
            if (payload == null) {
                return new Result(offset, records, End.TORN);
            }
            long position = base + offset;
            offset += RecordFrame.frameBytes(payload.remaining());
            records++;
            if (visitor != null && !visitor.visit(position, payload)) {
                return new Result(offset, records, End.STOPPED);
            }
        }
    }

    /** Whether a valid, checksummed frame starts at {@code offset} (whatever comes before it). */
    boolean validFrameAt(long offset) throws IOException {
        return frameAt(offset, fileSize) != null;
    }

    /**
     * The payload of the valid frame at {@code offset} (a read-only view into the window, valid until the next read),
     * or null if the bytes there are not a complete, checksummed frame ending by {@code end}.
     */
    private ByteBuffer frameAt(long offset, long end) throws IOException {
        if (offset + RecordFrame.HEADER_BYTES > end || !ensure(offset, RecordFrame.HEADER_BYTES)) {
            return null;
        }
        int at = (int) (offset - windowStart);
        int word = window.getInt(at);
        int expected = window.getInt(at + 4);
        int length = RecordFrame.length(word);
        if (length < 1 || offset + RecordFrame.frameBytes(length) > end) {
            return null;
        }
        if (!ensure(offset, RecordFrame.HEADER_BYTES + length)) {
            return null;
        }
        at = (int) (offset - windowStart);
        ByteBuffer payload = window.slice(at + RecordFrame.HEADER_BYTES, length).asReadOnlyBuffer();
        crc.reset();
        crc.update(payload.duplicate());
        if (RecordFrame.finish(crc, base + offset, word, scratch) != expected) {
            return null;
        }
        return payload;
    }

    /**
     * The payload length of the valid frame at {@code offset}, whose header is in the window, or -1: for
     * {@link #groupsAfter}, which tries every offset from {@code searchFrom} on. A frame longer than
     * {@link #DIRECT_CHECK_BYTES} is checked through {@link RangeChecksums} (built once, from {@code searchFrom} to the
     * end of the file): garbage claims such lengths at a good share of its offsets, and checksumming each would cost
     * the search the square of the garbage.
     */
    private int searchedFrameLength(long offset, long searchFrom) throws IOException {
        int at = (int) (offset - windowStart);
        int word = window.getInt(at);
        int expected = window.getInt(at + 4);
        int length = RecordFrame.length(word);
        if (length < 1 || offset + RecordFrame.frameBytes(length) > fileSize) {
            return -1;
        }
        if (length <= DIRECT_CHECK_BYTES) {
            return frameAt(offset, fileSize) == null ? -1 : length;
        }
        if (ranges == null || rangesFrom > offset) {
            ranges = RangeChecksums.of(file, searchFrom, fileSize);
            rangesFrom = searchFrom;
        }
        long payload = offset + RecordFrame.HEADER_BYTES;
        int payloadCrc = ranges.crcOf(payload, payload + length);
        crc.reset();
        int positionAndWord = RecordFrame.finish(crc, base + offset, word, scratch); // the 12 bytes on their own
        return (RangeChecksums.shift(payloadCrc, 12) ^ positionAndWord) == expected ? length : -1;
    }

    /** The word of the frame at {@code offset}, which must be in the window (just checked by {@link #frameAt}). */
    private int wordAt(long offset) {
        return window.getInt((int) (offset - windowStart));
    }

    /**
     * Looks for valid frames after the bad frame at {@code bad}, at every byte offset (a bad frame's length cannot be
     * trusted to find the next one), following each valid frame's length to the next; counts the group-opening ones
     * until there are as many as the largest window they record, which is proof enough (see {@link LogRecovery}).
     * Reads the rest of the file; runs only when a scan stopped before the end of the file.
     */
    Groups groupsAfter(long bad) throws IOException {
        int groups = 0;
        int window = 0;
        long firstValid = -1;
        long lastValidEnd = -1;
        long offset = bad + 1;
        while (offset + RecordFrame.HEADER_BYTES <= fileSize) {
            if (!ensure(offset, RecordFrame.HEADER_BYTES)) {
                break; // the file shrank under the search: nothing more to find
            }
            if (this.window.getLong((int) (offset - windowStart)) == 0) {
                // A frame's word is non-zero, so no frame starts more than 3 bytes before the next non-zero byte.
                offset = Math.max(offset + 5, nextNonZero(offset + 8) - 3);
                continue;
            }
            int length = searchedFrameLength(offset, bad + 1);
            if (length < 0) {
                offset++;
                continue;
            }
            int word = wordAt(offset);
            if (firstValid < 0) {
                firstValid = offset;
            }
            offset += RecordFrame.frameBytes(length);
            lastValidEnd = offset;
            if (RecordFrame.isGroupStart(word)) {
                groups++;
                window = Math.max(window, RecordFrame.groupsInFlight(word));
                if (groups >= window) {
                    break;
                }
            }
        }
        return new Groups(groups, window, firstValid, lastValidEnd);
    }

    /**
     * Follows the frames from the bad frame at {@code bad} by their lengths alone, without their checksums, while each
     * header is well-formed and in the file, and counts the commit groups opened after the bad frame, up to the largest
     * window their words record. A crash leaves each frame of the groups in flight as written or as zeros (a header
     * cut by a missing sector ends the chain), so from a torn frame this chain stays on true frame boundaries and
     * crosses at most {@code maxGroupsInFlight - 1} group starts; more is damage to durable data that no checksum
     * shows, e.g. a segment under another name (every frame's position-bound checksum fails). Returned as
     * {@link Groups} with {@code firstValid} and {@code lastValidEnd} the chain's start and end.
     */
    Groups chainedGroupsAfter(long bad) throws IOException {
        int groups = 0;
        int window = 0;
        long offset = bad;
        boolean first = true;
        while (offset + RecordFrame.HEADER_BYTES <= fileSize && ensure(offset, RecordFrame.HEADER_BYTES)) {
            int word = wordAt(offset);
            int length = word == 0 ? -1 : RecordFrame.length(word);
            if (length < 1 || offset + RecordFrame.frameBytes(length) > fileSize) {
                break;
            }
            if (!first && RecordFrame.isGroupStart(word)) {
                groups++;
                window = Math.max(window, RecordFrame.groupsInFlight(word));
                if (groups >= window) {
                    offset += RecordFrame.frameBytes(length);
                    break;
                }
            }
            first = false;
            offset += RecordFrame.frameBytes(length);
        }
        return new Groups(groups, window, bad, offset);
    }

    /**
     * The offset of the first non-zero byte at or after {@code offset}, or the file's size: a vectorized compare of the
     * window with zeros, so that the preallocated zeros of a segment cost a read, not a loop per byte; and a hole, all
     * zeros, costs no read at all (a segment extended by {@code ftruncate} to a TiB took an hour to read).
     */
    private long nextNonZero(long offset) throws IOException {
        while (offset < fileSize) {
            if (offset < windowStart || offset >= windowStart + window.limit()) {
                offset = Math.min(file.nextData(offset), fileSize); // past the window: skip a hole, unread
                if (offset == fileSize) {
                    break;
                }
            }
            if (!ensure(offset, 1)) {
                break;
            }
            int at = (int) (offset - windowStart);
            int n = Math.min(window.limit() - at, ZEROS.capacity());
            int mismatch = window.slice(at, n).mismatch(ZEROS.slice(0, n));
            if (mismatch >= 0) {
                return offset + mismatch;
            }
            offset += n;
        }
        return fileSize;
    }

    /**
     * Makes file bytes {@code [offset, offset + n)} available in the window, reading at most to the next hole past
     * them; false if the file is shorter.
     */
    private boolean ensure(long offset, int n) throws IOException {
        if (offset >= windowStart && offset + n <= windowStart + window.limit()) {
            return true;
        }
        if (n > window.capacity()) {
            window = ByteBuffer.allocate(Math.max(n, 2 * window.capacity())).order(ByteOrder.LITTLE_ENDIAN);
        }
        window.clear();
        windowStart = offset;
        // Up to the next hole (but at least n): a few bytes of data before a long hole cost their block, not a window
        // of the hole's zeros (which nextNonZero then skips unread).
        long toHole = file.nextHole(offset) - offset;
        if (toHole > 0 && toHole < window.capacity()) {
            window.limit(Math.max(n, (int) toHole));
        }
        while (window.hasRemaining()) {
            int read = channel.read(window, offset + window.position());
            if (read < 0) {
                break;
            }
            bytesRead += read;
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
