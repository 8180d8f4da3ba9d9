package io.uringaio.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Crash recovery of an {@link AppendLog} directory: finds the end of the last complete record and cuts off whatever
 * follows it. {@link AppendLog#open} runs it; it may also run on its own, on a log that is not open.
 *
 * <p><b>What is scanned.</b> Only the tail: the last segment holding a record. A segment before it is complete by
 * construction, because the log writes a group to a new segment only once every group before it is durable, and a
 * segment comes into existence only for such a group. Trailing segments without a single complete record (created,
 * then the process died before their first group was durable) are deleted.
 *
 * <p><b>What is cut.</b> In the tail segment, the scan checks each frame (length, CRC32C over payload, position and
 * length) and stops at the first zero length (the end of the data) or the first frame that fails (a torn write). The
 * file is truncated there and {@code fsync}ed; {@link AppendLog#open} then preallocates and zero-fills it again. With
 * groups in flight together, a later group may have reached the disk while an earlier one did not: the scan stops at
 * the earlier one's hole (zeros, or a torn frame), and the truncation removes the later one, which was never
 * acknowledged (acknowledgements are in order). A segment prepared ahead and never named
 * ({@link LogSegment#SPARE_NAME}) is deleted. Every acknowledged
 * record lies before that point: acknowledgements come after the group's {@code fdatasync}, groups are written in
 * position order, and a torn group was never acknowledged.
 */
public final class LogRecovery {
    /**
     * What recovery found.
     *
     * @param tail           the position where the next record goes
     * @param tailBase       the base position of the tail segment
     * @param segments       segments left in the directory
     * @param tailRecords    complete records in the tail segment
     * @param truncatedBytes bytes cut off the tail segment (its zeroed preallocation included)
     * @param tornTail       true when the cut part began with a torn or corrupt frame, not with zeros
     * @param deletedSegments trailing segments deleted because they held no complete record
     */
    public record Result(long tail, long tailBase, int segments, long tailRecords, long truncatedBytes,
                         boolean tornTail, int deletedSegments) {
    }

    private LogRecovery() {
    }

    /**
     * Recovers the log in {@code directory} (which must exist; an empty one is an empty log).
     *
     * @throws IOException if a segment cannot be read, truncated or synced
     */
    public static Result recover(Path directory) throws IOException {
        Files.deleteIfExists(directory.resolve(LogSegment.SPARE_NAME)); // prepared ahead, never named: no records
        List<Long> bases = LogSegment.list(directory);
        int deleted = 0;
        while (!bases.isEmpty()) {
            long base = bases.getLast();
            Path path = directory.resolve(LogSegment.fileName(base));
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                long size = channel.size();
                SegmentScanner.Result scan = new SegmentScanner(channel, base).scan(0, Long.MAX_VALUE, null);
                if (scan.records() == 0 && bases.size() > 1) {
                    channel.close();
                    Files.delete(path);
                    bases.removeLast();
                    deleted++;
                    continue;
                }
                if (size > scan.validEnd()) {
                    channel.truncate(scan.validEnd());
                    channel.force(true);
                }
                if (deleted > 0) {
                    LogSegment.fsyncDirectory(directory);
                }
                return new Result(base + scan.validEnd(), base, bases.size(), scan.records(), size - scan.validEnd(),
                        scan.end() == SegmentScanner.End.TORN, deleted);
            }
        }
        return new Result(0, 0, 0, 0, 0, false, deleted);
    }

    /**
     * Visits the complete records of the log in {@code directory} from {@code from} (0, or a position an append
     * reported) to the end of the valid data, in position order. Reads with {@code pread}; does not modify the log.
     *
     * @throws IllegalArgumentException if no record starts at {@code from}
     */
    public static void read(Path directory, long from, RecordVisitor visitor) throws IOException {
        read(directory, from, Long.MAX_VALUE, visitor);
    }

    /** As {@link #read(Path, long, RecordVisitor)}, up to (not past) position {@code end}. */
    static void read(Path directory, long from, long end, RecordVisitor visitor) throws IOException {
        if (from < 0) {
            throw new IllegalArgumentException("negative position " + from);
        }
        List<Long> bases = LogSegment.list(directory);
        int first = 0;
        for (int i = 0; i < bases.size(); i++) {
            if (bases.get(i) <= from) {
                first = i;
            }
        }
        boolean checkStart = from > 0;
        for (int i = first; i < bases.size(); i++) {
            long base = bases.get(i);
            if (base >= end) {
                return;
            }
            long offset = Math.max(0, from - base);
            Path path = directory.resolve(LogSegment.fileName(base));
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                SegmentScanner.Result scan = new SegmentScanner(channel, base).scan(offset, end - base, visitor);
                if (checkStart && scan.records() == 0 && scan.end() == SegmentScanner.End.TORN) {
                    throw new IllegalArgumentException("no record at position " + from + " in " + directory);
                }
                checkStart = false;
                if (scan.end() == SegmentScanner.End.STOPPED || scan.end() == SegmentScanner.End.LIMIT) {
                    return;
                }
            }
        }
    }
}
