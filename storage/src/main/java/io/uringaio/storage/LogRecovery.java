package io.uringaio.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Crash recovery of an {@link AppendLog} directory: tells a torn tail, which it cuts, from corruption, which it
 * reports.
 * {@link AppendLog#open} runs it; it may also run on its own ({@link #recover}), on a log that is not open (it takes
 * the directory's lock).
 *
 * <p><b>What a crash can leave.</b> Groups are written in position order, and at most {@code maxGroupsInFlight} (G)
 * are in flight at once: group k+G is submitted only after group k's write and {@code fdatasync} succeeded. A group is
 * acknowledged only once it and every group before it are durable, and the first group of a new segment is written
 * only once every group before it is durable. So after a crash, every segment but the last is complete, and the last
 * one holds complete groups up to some group k (every acknowledged one among them) followed by at most G groups that
 * were in flight, of which any bytes may have reached the disk (the space they went to was zeros: the segment is
 * zero-filled, or unwritten preallocation, or past the end of the file). A bad frame (a length overrunning the file, a
 * malformed word, a checksum mismatch, or a zero header where data continues) can therefore only be in one of those
 * in-flight groups, and after it at most G-1 other groups can have landed.
 *
 * <p><b>The rule.</b> The segments are checked in order, every frame's CRC32C (over payload, position and word):
 * <ul>
 *   <li>in a segment before the last, the records must run without a bad frame to exactly where the next segment
 *   begins: a bad frame there, a gap, or an overlap is corruption;</li>
 *   <li>in the last segment, the first bad frame is a torn tail, cut off with everything after it, unless valid frames
 *   after it open G or more commit groups (each group's first frame carries a mark and the writer's G, see
 *   {@link RecordFrame}): then a group that can only have been written after the bad frame's group was durable is on
 *   disk, so the bad frame is damage to a durable, possibly acknowledged group: corruption. The same holds when the
 *   frames from the bad one on, checksums aside, chain by their lengths through G or more group starts: a crash
 *   leaves each in-flight frame as written or zeros, so only damage (or a segment under a wrong name, whose every
 *   checksum fails) makes such a chain;</li>
 *   <li>trailing segments without a single complete record (the process died before a new segment's first group was
 *   durable) are deleted, under the same rule, if they begin exactly where the records of the segment before them end
 *   (else they are renamed or foreign files: corruption); so is the spare segment prepared ahead
 *   ({@link LogSegment#SPARE_NAME}).</li>
 * </ul>
 * Corruption fails the recovery with a {@link LogCorruptedException} naming the segment, the offset and the log
 * position, and nothing is modified; with {@code repair} (off by default; {@link AppendLogConfig#repairByTruncation})
 * everything from the bad frame on is cut instead, and {@link Result#repaired()} reports what. {@link #read} never
 * skips a bad frame either: it throws the same exception.
 *
 * <p><b>Why this rule.</b> RocksDB offers the choice as a recovery mode: {@code kTolerateCorruptedTailRecords} cuts a
 * bad record only at the end of the log, {@code kAbsoluteConsistency} refuses any, {@code kPointInTimeRecovery} stops
 * at the first (and loses what follows, silently: what this class did before). PostgreSQL ends redo at the first
 * invalid record. Both write one buffer at a time, so a torn write can only be the last; this log pipelines G groups,
 * so "the last" is "within the last G groups", and the marks make the groups countable on disk without costing a byte
 * or a position. TigerBeetle's journal makes the same distinction (a torn prepare at the head is truncated, a corrupt
 * one before it is a fault to repair, never to cut) with redundant headers; refusing to open, and leaving the repair to
 * an explicit, reported choice, is what a single-node log can do.
 *
 * <p><b>What it cannot tell.</b> Damage to the last G groups of the last segment, with nothing written after them,
 * looks exactly like a torn write (no later group proves that they were durable) and is cut: the acknowledged records
 * in those groups are lost to media damage, as they would be in any log without a redundant copy. Every other bad
 * frame before the last acknowledged record is reported. No acknowledged record is ever cut by a torn write: the cut
 * point lies in the first group not durable, after every acknowledged one.
 *
 * <p><b>No segment header.</b> A segment's only metadata is its base, in its name; every frame's checksum covers its
 * log position (base plus offset), so a segment under a wrong name, or a frame copied to another place, fails as a
 * bad frame, and the chain rule above turns it into corruption. A segment's name is twenty ASCII digits and
 * {@code .log}; other names are not the log's and are left alone, and an entry under a segment's name that is not a
 * regular file (a directory, a FIFO) is corruption, reported before any segment is read or modified.
 *
 * <p><b>Cost.</b> Recovery reads every record of every segment once (CRC32C at memory speed, 1 MiB reads), and the
 * rest of the last segment after its data (its zeros) to look for groups past a bad or missing frame; not its holes
 * ({@link SegmentFile}: {@code lseek} {@code SEEK_DATA}), which read as zeros and may be a TiB long (a segment
 * extended by {@code ftruncate}). Data past a hole is read and judged as any other.
 */
public final class LogRecovery {
    /**
     * What recovery found.
     *
     * @param tail            the position where the next record goes
     * @param tailBase        the base position of the tail segment
     * @param segments        segments left in the directory
     * @param tailRecords     complete records in the tail segment
     * @param truncatedBytes  bytes cut off the tail segment (its zeroed preallocation included)
     * @param tornTail        true when the cut part began with a torn or corrupt frame, not with zeros
     * @param deletedSegments trailing segments deleted because they held no complete record (or, repairing, because
     *                        they came after the corruption)
     * @param repaired        the corruption that a repair cut off (everything from its position on), or null
     */
    public record Result(long tail, long tailBase, int segments, long tailRecords, long truncatedBytes,
                         boolean tornTail, int deletedSegments, LogCorruptedException repaired) {
    }

    private LogRecovery() {
    }

    /** {@link #recover(Path, boolean)} without repair: corruption is an exception. */
    public static Result recover(Path directory) throws IOException {
        return recover(directory, false);
    }

    /**
     * Recovers the log in {@code directory} (which must exist; an empty one is an empty log), holding its lock.
     *
     * @param repair cut the log at a bad frame that is corruption, instead of failing
     * @throws LogCorruptedException if a bad frame is not a torn tail (and not {@code repair})
     * @throws LogLockedException    if the log is open
     * @throws IOException           if a segment cannot be read, truncated or synced
     */
    public static Result recover(Path directory, boolean repair) throws IOException {
        try (DirectoryLock lock = DirectoryLock.acquire(directory)) {
            return recoverLocked(directory, repair);
        }
    }

    /** The recovery, by the holder of the directory's lock. */
    static Result recoverLocked(Path directory, boolean repair) throws IOException {
        Files.deleteIfExists(directory.resolve(LogSegment.SPARE_NAME)); // prepared ahead, never named: no records
        List<Long> bases = LogSegment.list(directory);
        for (long base : bases) {
            LogSegment.dropCachedPages(directory.resolve(LogSegment.fileName(base))); // the disk's bytes, not the cache's
        }
        LogCorruptedException[] repairedTrailing = new LogCorruptedException[1];
        // Found now, deleted only once every check has passed: corruption found later must leave the directory as
        // it was (and a repair deletes them anyway, being after the cut).
        List<Path> emptyTrailing = emptyTrailingSegments(directory, bases, repair, repairedTrailing);
        LogCorruptedException repaired = repairedTrailing[0];
        int deleted = 0;
        // Where a repair cut a segment before the last (which becomes the last), and whether a bad frame or a record
        // past the next base (not zeros) began the cut part.
        long cutAt = Long.MAX_VALUE;
        boolean cutTorn = false;
        for (int i = 0; i + 1 < bases.size(); i++) {
            long base = bases.get(i);
            long next = bases.get(i + 1);
            Path path = directory.resolve(LogSegment.fileName(base));
            LogCorruptedException corruption;
            try (SegmentFile file = SegmentFile.open(path, false)) {
                SegmentScanner scanner = new SegmentScanner(file, base);
                SegmentScanner.Result scan = scanner.scan(0, next - base, null);
                String cut = segmentsCut(bases.size() - i - 1 + emptyTrailing.size(), repair);
                corruption = scan.validEnd() != next - base
                        ? new LogCorruptedException(path, base, scan.validEnd(),
                                (scan.end() == SegmentScanner.End.TORN ? "a bad frame" : "no record")
                                        + " in a segment before the last, whose records must run to the next "
                                        + "segment's base " + next + cut)
                        : overlap(scanner, path, base, next, cut);
                cutTorn = scan.end() == SegmentScanner.End.TORN || scan.validEnd() == next - base;
            }
            if (corruption != null) {
                if (!repair) {
                    throw corruption;
                }
                cutAt = corruption.offset();
                while (bases.size() > i + 1) {
                    Files.delete(directory.resolve(LogSegment.fileName(bases.removeLast())));
                    deleted++;
                }
                repaired = corruption;
            }
        }
        if (bases.isEmpty()) {
            deleted += deleteAll(emptyTrailing);
            if (deleted > 0) {
                LogSegment.fsyncDirectory(directory);
            }
            return new Result(0, 0, 0, 0, 0, false, deleted, null);
        }
        long base = bases.getLast();
        Path path = directory.resolve(LogSegment.fileName(base));
        try (SegmentFile file = SegmentFile.open(path, true)) {
            FileChannel channel = file.channel;
            SegmentScanner scanner = new SegmentScanner(file, base);
            long size = scanner.fileSize();
            // A repair that cut this segment above ends it where its report says: records past a next segment's base
            // (an overlap) are cut too, not kept as the tail.
            SegmentScanner.Result scan = scanner.scan(0, cutAt, null);
            LogCorruptedException corruption = cutAt == Long.MAX_VALUE
                    ? corruptTail(scanner, path, base, scan.validEnd(), repair) : null;
            if (corruption != null) {
                if (!repair) {
                    throw corruption;
                }
                repaired = corruption;
            }
            deleted += deleteAll(emptyTrailing);
            if (size > scan.validEnd()) {
                channel.truncate(scan.validEnd());
                channel.force(true);
            }
            if (deleted > 0) {
                LogSegment.fsyncDirectory(directory);
            }
            return new Result(base + scan.validEnd(), base, bases.size(), scan.records(), size - scan.validEnd(),
                    cutAt == Long.MAX_VALUE ? scan.end() == SegmentScanner.End.TORN : cutTorn, deleted, repaired);
        }
    }

    /** Deletes {@code files}; returns how many. */
    private static int deleteAll(List<Path> files) throws IOException {
        for (Path f : files) {
            Files.delete(f);
        }
        return files.size();
    }

    /**
     * Takes from the end of {@code bases} the segments to delete, those without a complete record, as long as they
     * hold no proof of durable groups
     * (then they are corrupt) and begin where the records of the segment before them end: a roll-over names the new
     * segment at the end of the records, once they are all durable, so that is the only place a crash can leave one.
     * A segment without a valid record anywhere else is a renamed, foreign or misplaced file (a renamed segment's
     * frames all fail their position-bound checksums): corruption, reported, not deleted with whatever it holds. The
     * first segment stays, even empty: it is the tail. Repairing, the first corruption to delete goes to
     * {@code repaired[0]}. Nothing is deleted here: the caller deletes the returned files once the log has passed
     * every check.
     */
    private static List<Path> emptyTrailingSegments(Path directory, List<Long> bases, boolean repair,
                                                    LogCorruptedException[] repaired) throws IOException {
        List<Path> empty = new ArrayList<>();
        while (bases.size() > 1) {
            long base = bases.getLast();
            Path path = directory.resolve(LogSegment.fileName(base));
            try (SegmentFile file = SegmentFile.open(path, false)) {
                SegmentScanner scanner = new SegmentScanner(file, base);
                SegmentScanner.Result scan = scanner.scan(0, Long.MAX_VALUE, null);
                if (scan.records() > 0) {
                    return empty;
                }
                // Where it is first: a misplaced file's own frames say nothing about the log.
                LogCorruptedException corruption = notAtTheEndOfTheRecords(directory, bases.get(bases.size() - 2),
                        path, base, repair);
                if (corruption == null) {
                    corruption = corruptTail(scanner, path, base, 0, repair);
                }
                if (corruption != null && !repair) {
                    throw corruption;
                }
                if (repaired[0] == null) {
                    repaired[0] = corruption;
                }
            }
            empty.add(path);
            bases.removeLast();
        }
        return empty;
    }

    /**
     * The corruption that the segment {@code emptyPath} without records, the next after the segment at
     * {@code previousBase}, is when the records of that segment do not end exactly at its base {@code emptyBase}; or
     * null when they do (a crash just after a roll-over).
     */
    private static LogCorruptedException notAtTheEndOfTheRecords(Path directory, long previousBase, Path emptyPath,
                                                                 long emptyBase, boolean repair) throws IOException {
        Path previous = directory.resolve(LogSegment.fileName(previousBase));
        long validEnd;
        boolean spans;
        try (SegmentFile file = SegmentFile.open(previous, false)) {
            SegmentScanner scanner = new SegmentScanner(file, previousBase);
            validEnd = scanner.scan(0, emptyBase - previousBase, null).validEnd();
            if (validEnd == emptyBase - previousBase) {
                return null;
            }
            spans = scanner.validFrameAt(validEnd); // a valid record runs across the empty segment's base
        }
        String here = spans ? "a record here runs past position " + emptyBase : "the records end here";
        return new LogCorruptedException(previous, previousBase, validEnd, here + ", but the next segment "
                + "file, " + emptyPath.getFileName() + ", begins at position " + emptyBase + " and holds no valid "
                + "record (a crash leaves a segment without records only where the records end): a segment renamed, "
                + "foreign or missing" + (repair ? "; repaired: " + emptyPath.getFileName() + " deleted" : ""));
    }

    /**
     * The corruption that the bad (or zero) frame at {@code offset} of the last segment is, or null if it is a torn
     * tail: G or more commit groups after it, G being the largest window their own first frames record.
     */
    private static LogCorruptedException corruptTail(SegmentScanner scanner, Path path, long base, long offset,
                                                     boolean repair) throws IOException {
        if (offset >= scanner.fileSize()) {
            return null;
        }
        String cut = repair ? "; repaired: cut from here, " + (scanner.fileSize() - offset) + " bytes" : "";
        SegmentScanner.Groups after = scanner.groupsAfter(offset);
        if (tooMany(after)) {
            return new LogCorruptedException(path, base, offset, "a bad frame followed by " + after.groups()
                    + " valid commit groups (from offset " + after.firstValid() + "), more than the "
                    + (after.maxGroupsInFlight() - 1) + " a crash can leave after a torn group (maxGroupsInFlight "
                    + after.maxGroupsInFlight() + "): durable records were damaged" + cut);
        }
        SegmentScanner.Groups chained = scanner.chainedGroupsAfter(offset);
        if (tooMany(chained)) {
            return new LogCorruptedException(path, base, offset, "a bad frame from which frames, their checksums "
                    + "failing, chain by their lengths through " + chained.groups() + " more commit groups (to offset "
                    + chained.lastValidEnd() + "), more than the " + (chained.maxGroupsInFlight() - 1) + " a crash "
                    + "can leave after a torn group: durable records were damaged, or the segment is not at its "
                    + "position (renamed or foreign)" + cut);
        }
        return null;
    }

    /**
     * The corruption that a valid frame at the base {@code next} of the following segment is, in the segment at
     * {@code base} whose records run exactly to it; null if there is none. A roll-over names the next segment where
     * the records end, and nothing is written to a segment after it: a record there means that two segment files
     * claim the positions from {@code next} on (one restored from another time, or another writer's), and which one
     * holds the acknowledged records cannot be told.
     */
    private static LogCorruptedException overlap(SegmentScanner scanner, Path path, long base, long next, String cut)
            throws IOException {
        if (!scanner.validFrameAt(next - base)) {
            return null;
        }
        return new LogCorruptedException(path, base, next - base, "a valid record continues past the base of the "
                + "next segment, " + LogSegment.fileName(next) + ": two segment files claim the positions from " + next
                + cut);
    }

    /** Whether {@code groups} after a bad frame are more than a crash can leave after a torn group. */
    private static boolean tooMany(SegmentScanner.Groups groups) {
        return groups.groups() > 0 && groups.groups() >= groups.maxGroupsInFlight();
    }

    private static String segmentsCut(int later, boolean repair) {
        return repair ? "; repaired: cut from here, and the " + later + " later segment(s) deleted" : "";
    }

    /**
     * Checks that a read's start, at {@code offset} of the segment at {@code base}, is a record's, by walking the
     * segment's records to it from {@code known}, a boundary (the segment's start, or one an open log's
     * {@link RecordStarts} knows): a frame found at the start proves nothing, since a payload may hold a whole frame
     * made for that very position (the checksum covers the position, not where records begin), and a bad frame or a
     * zero header there (which a payload holds as well as unwritten space) must be told from a bad record. Returns if
     * the records reach {@code offset} exactly (true; if its frame is bad, the caller's rules apply), or if a bad frame
     * stops the walk before it and a valid frame starts there (false: not proven; the read does not cover the damage);
     * throws
     * {@code IllegalArgumentException} if a record spans it, or if it lies past the end of the records of a log whose
     * end is not known; throws the corruption that stops the records short of it otherwise.
     */
    private static boolean checkReadStart(Path directory, SegmentScanner scanner, Path path, long base, long known,
                                          long offset, long limit, boolean knownEnd, RecordStarts starts)
            throws IOException {
        if (offset == known) {
            return true; // a segment's base starts its first record; a known boundary is one
        }
        long[] reached = new long[1];
        RecordVisitor walker = (position, payload) -> {
            reached[0] = position - base + RecordFrame.frameBytes(payload.remaining());
            return reached[0] < offset;
        };
        SegmentScanner.Result walk = scanner.scan(known, limit, starts == null ? walker : sampling(starts, walker));
        if (walk.end() == SegmentScanner.End.STOPPED) {
            if (reached[0] == offset) {
                return true;
            }
            throw new IllegalArgumentException("no record at position " + (base + offset) + " in " + directory
                    + ": it lies inside the record ending at " + (base + reached[0]));
        }
        if (scanner.validFrameAt(offset)) {
            return false; // damage before the start stops the walk: the start's own frame is all there is to go by
        }
        if (knownEnd) {
            throw new LogCorruptedException(path, base, walk.validEnd(), (walk.end() == SegmentScanner.End.TORN
                    ? "a bad frame" : "no record") + " before the read's position " + (base + offset)
                    + ", where the records must continue");
        }
        LogCorruptedException corruption = corruptTail(scanner, path, base, walk.validEnd(), false);
        if (corruption != null) {
            throw corruption;
        }
        throw new IllegalArgumentException("no record at position " + (base + offset) + " in " + directory
                + ": the records end at " + (base + walk.validEnd()));
    }

    /**
     * Visits the complete records of the log in {@code directory} from {@code from} (0, or a position an append
     * reported) to the end of the valid data, in position order. Reads with {@code pread}; does not modify the log.
     * Never skips: a bad frame before the end of the data is a {@link LogCorruptedException}, after the records
     * before it were visited. (The end of the last segment's data is where its frames stop; on a log that crashed and
     * was not recovered since, a torn tail ends the data there, under {@link LogRecovery}'s rule: a bad frame in the
     * last segment followed by as many commit groups as can be in flight is corruption.) Meant for a log that is not
     * open: the rest of the last segment is read to apply that rule, and on a log being written, its groups may land
     * between this method's reads; read an open log with {@link AppendLog#read}, which stops at its durable position.
     * The start is checked to be a record's by walking the records of its segment to it from the segment's start.
     *
     * @throws IllegalArgumentException if no record starts at {@code from}: it lies inside a record, past the end
     *                                  of the records (their end itself is a valid start: nothing is visited), or
     *                                  before the first segment, whose predecessors were removed (0 is a valid start:
     *                                  the first record there is)
     * @throws LogCorruptedException    if a segment before the last does not run to the next one, or the last one
     *                                  holds a bad frame that is not a torn tail
     */
    public static void read(Path directory, long from, RecordVisitor visitor) throws IOException {
        read(directory, from, Long.MAX_VALUE, visitor);
    }

    /**
     * As {@link #read(Path, long, RecordVisitor)}, up to (not past) position {@code end}; with an {@code end} other
     * than {@code Long.MAX_VALUE}, the records must reach it (it is the log's durable position).
     */
    static void read(Path directory, long from, long end, RecordVisitor visitor) throws IOException {
        read(directory, from, end, visitor, null);
    }

    /**
     * As {@link #read(Path, long, long, RecordVisitor)}, checking the start from the nearest boundary {@code starts}
     * knows (null: from the start of its segment), and telling {@code starts} the boundaries this read passes.
     */
    static void read(Path directory, long from, long end, RecordVisitor visitor, RecordStarts starts)
            throws IOException {
        if (from < 0) {
            throw new IllegalArgumentException("negative position " + from);
        }
        if (from > end) {
            throw new IllegalArgumentException("no record at position " + from + " in " + directory
                    + ": the durable records end at " + end);
        }
        List<Long> bases = LogSegment.list(directory);
        if (bases.isEmpty() && from > 0) {
            throw new IllegalArgumentException("no record at position " + from + " in " + directory
                    + ": the log holds no segment");
        }
        if (from > 0 && from < bases.getFirst()) { // bases is not empty: from > 0 on an empty log threw above
            // Its segment was removed: starting at the first record there is would skip, unseen, every record of
            // the removed segments after from (a reader resuming from a saved position would never know).
            throw new IllegalArgumentException("no record at position " + from + " in " + directory
                    + ": the log's records begin at " + bases.getFirst() + " (the segments before it were removed)");
        }
        int first = 0;
        for (int i = 0; i < bases.size(); i++) {
            if (bases.get(i) <= from) {
                first = i;
            }
        }
        // The durable end of an open log is a group's end: a boundary that needs no check.
        boolean checkStart = from > 0 && (end == Long.MAX_VALUE || from != end);
        RecordStarts learning = starts; // null once the start is not proven: what the read passes is not either
        for (int i = first; i < bases.size(); i++) {
            long base = bases.get(i);
            if (base >= end) {
                return;
            }
            boolean last = i + 1 == bases.size();
            long stop = last ? end : Math.min(end, bases.get(i + 1));
            long limit = stop == Long.MAX_VALUE ? Long.MAX_VALUE : stop - base;
            long offset = Math.max(0, from - base);
            Path path = directory.resolve(LogSegment.fileName(base));
            try (SegmentFile file = SegmentFile.open(path, false)) {
                SegmentScanner scanner = new SegmentScanner(file, base);
                if (checkStart) {
                    long known = starts == null ? base : Math.max(base, starts.floor(from));
                    if (!checkReadStart(directory, scanner, path, base, known - base, offset, limit,
                            !last || end != Long.MAX_VALUE, starts)) {
                        learning = null;
                    }
                    checkStart = false;
                }
                SegmentScanner.Result scan = scanner.scan(offset, limit,
                        learning == null ? visitor : sampling(learning, visitor));
                if (scan.end() == SegmentScanner.End.STOPPED) {
                    if (learning != null) {
                        learning.ended(base + scan.validEnd()); // where this reader will resume
                    }
                    return;
                }
                if (scan.validEnd() < limit && (!last || end != Long.MAX_VALUE)) {
                    throw new LogCorruptedException(path, base, scan.validEnd(),
                            (scan.end() == SegmentScanner.End.TORN ? "a bad frame" : "no record")
                                    + " where the records must continue to position " + stop);
                }
                if (!last && stop == bases.get(i + 1)) {
                    LogCorruptedException overlap = overlap(scanner, path, base, stop, "");
                    if (overlap != null) {
                        throw overlap;
                    }
                }
                if (last && end == Long.MAX_VALUE) {
                    // No known end: the data ends at the first bad frame only if recovery would call it a torn tail.
                    LogCorruptedException corruption = corruptTail(scanner, path, base, scan.validEnd(), false);
                    if (corruption != null) {
                        throw corruption;
                    }
                }
                if (last || stop == end) {
                    return;
                }
            }
        }
    }

    /**
     * {@code visitor}, telling {@code starts} the first record start it is given in each MiB of positions; the
     * shared, locked set is touched once per MiB, not per record.
     */
    private static RecordVisitor sampling(RecordStarts starts, RecordVisitor visitor) {
        long[] lastMiB = {-1};
        return (position, payload) -> {
            long miB = position >>> RecordStarts.SPACING_SHIFT;
            if (miB != lastMiB[0]) {
                lastMiB[0] = miB;
                starts.sample(position);
            }
            return visitor.visit(position, payload);
        };
    }
}
