package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.RingEngine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery on hand-damaged segments: torn frames of every kind are cut, complete records kept; a bad frame that cannot
 * be a torn tail (more groups after it than can be in flight, or in a segment before the last) is corruption.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogRecoveryTest {
    @TempDir
    Path dir;
    RingEngine engine;
    List<Long> positions = new ArrayList<>();
    long end;

    @BeforeEach
    void writeTenRecords() throws Exception {
        engine = StorageTesting.engine();
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            for (int i = 0; i < 10; i++) {
                positions.add(await(log.append(record(7, i, 500))));
            }
            end = log.durablePosition();
        }
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    private Path segment() {
        return dir.resolve(LogSegment.fileName(0));
    }

    private void overwrite(long offset, byte[] bytes) throws Exception {
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(bytes), offset);
        }
    }

    private List<Long> recovered() throws Exception {
        List<Long> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (position, payload) -> found.add(position));
        return found;
    }

    @Test
    void cleanTailIsKeptAndPreallocationCut() throws Exception {
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(end, r.tail());
        assertFalse(r.tornTail());
        assertEquals(10, r.tailRecords());
        assertEquals((64 << 10) - end, r.truncatedBytes());
        assertEquals(end, Files.size(segment()));
        assertEquals(positions, recovered());
    }

    @Test
    void partialFrameAfterTheLastRecordIsCut() throws Exception {
        // A header that promises 400 bytes, followed by 100 of them.
        ByteBuffer torn = ByteBuffer.allocate(108).order(ByteOrder.LITTLE_ENDIAN).putInt(400).putInt(12345);
        overwrite(end, torn.array());
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(end, r.tail());
        assertTrue(r.tornTail());
        assertEquals(end, Files.size(segment()));
    }

    @Test
    void flippedByteInTheLastRecordCutsThatRecordOnly() throws Exception {
        overwrite(positions.get(9) + RecordFrame.HEADER_BYTES, new byte[] {(byte) 0xA5});
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(positions.get(9), r.tail());
        assertTrue(r.tornTail());
        assertEquals(positions.subList(0, 9), recovered());
    }

    @Test
    void lengthOverrunningTheFileIsTorn() throws Exception {
        ByteBuffer header = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(Integer.MAX_VALUE).putInt(1);
        overwrite(end, header.array());
        assertEquals(end, LogRecovery.recover(dir).tail());
        ByteBuffer negative = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(-5).putInt(1);
        overwrite(end, negative.array());
        assertEquals(end, LogRecovery.recover(dir).tail());
    }

    @Test
    void headerCutShortAtTheEndOfTheFileIsTorn() throws Exception {
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            ch.truncate(end);
            ch.write(ByteBuffer.wrap(new byte[] {7, 0, 0}), end);
        }
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(end, r.tail());
        assertTrue(r.tornTail());
    }

    @Test
    void aRecordCopiedToAnotherPositionIsRejected() throws Exception {
        // Frame 0, byte for byte, written again at the tail: the checksum binds it to position 0.
        byte[] frame0 = new byte[(int) (positions.get(1) - positions.get(0))];
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.READ)) {
            ch.read(ByteBuffer.wrap(frame0), 0);
        }
        overwrite(end, frame0);
        assertEquals(end, LogRecovery.recover(dir).tail());
    }

    @Test
    void aTrailingSegmentWithoutRecordsWhereTheLogEndsIsDeleted() throws Exception {
        // A crash just after a roll-over: the new segment is named (at the end of the records) but holds no record.
        Path empty = dir.resolve(LogSegment.fileName(end));
        Files.write(empty, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9}); // a torn first group
        Files.writeString(dir.resolve("notes.txt"), "not a segment");
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(1, r.deletedSegments());
        assertEquals(end, r.tail());
        assertEquals(0, r.tailBase());
        assertEquals(1, r.segments());
        assertFalse(Files.exists(empty));
        assertTrue(Files.exists(dir.resolve("notes.txt")));
    }

    @Test
    void aSegmentFileWithoutRecordsPastTheEndOfTheLogIsCorruptionNotDeleted() throws Exception {
        // No crash names a segment anywhere but at the end of the records: a file past a gap is foreign or renamed.
        Path garbage = dir.resolve(LogSegment.fileName(end + 100_000));
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(segment(), e.segment());
        assertEquals(end, e.position());
        assertTrue(e.getMessage().contains(garbage.getFileName().toString()), e.getMessage());
        assertTrue(Files.exists(garbage), "nothing deleted");
        LogRecovery.Result r = LogRecovery.recover(dir, true);
        assertEquals(end, r.repaired().position());
        assertEquals(1, r.deletedSegments());
        assertFalse(Files.exists(garbage));
        assertEquals(positions, recovered());
    }

    /**
     * A segment file without records whose base falls inside a record of the segment before it: reported at that
     * record, and said so; the report said "the records end here", at a record that runs on past the file's base.
     */
    @Test
    void aSegmentFileWithoutRecordsInsideARecordIsReportedAtThatRecord() throws Exception {
        long inside = positions.get(3) + 5;
        Path misplaced = dir.resolve(LogSegment.fileName(inside));
        Files.write(misplaced, new byte[0]);
        byte[] before = Files.readAllBytes(segment());
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(segment(), e.segment());
        assertEquals(positions.get(3), e.position(), e.getMessage());
        assertTrue(e.getMessage().contains("a record here runs past position " + inside), e.getMessage());
        assertFalse(e.getMessage().contains("the records end here"), e.getMessage());
        assertTrue(Files.exists(misplaced), "nothing deleted");
        assertArrayEquals(before, Files.readAllBytes(segment()), "nothing modified");
    }

    /** The damages to a segment before the last that a crash cannot leave; each must fail the open, changing nothing. */
    private enum MiddleDamage { MISSING, ZERO_LENGTH, SHORTENED_AT_A_FRAME, LAST_FRAME_FLIPPED, LAST_FRAME_TORN }

    @Test
    void everyDamageToASegmentBeforeTheLastIsCorruption() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(400);
        for (MiddleDamage damage : MiddleDamage.values()) {
            Path multi = dir.resolve("middle-" + damage);
            List<Long> written = new ArrayList<>();
            try (AppendLog log = AppendLog.open(engine, multi, config)) {
                for (int i = 0; i < 60; i++) {
                    written.add(await(log.append(record(11, i, 400))));
                }
            }
            List<Long> bases = LogSegment.list(multi);
            assertTrue(bases.size() >= 4, "segments " + bases);
            long base = bases.get(1);
            Path middle = multi.resolve(LogSegment.fileName(base));
            long lastInMiddle = written.stream().filter(p -> p >= base && p < bases.get(2)).reduce((a, b) -> b)
                    .orElseThrow();
            switch (damage) {
                case MISSING -> Files.delete(middle);
                case ZERO_LENGTH -> Files.write(middle, new byte[0]);
                case SHORTENED_AT_A_FRAME -> {
                    try (FileChannel ch = FileChannel.open(middle, StandardOpenOption.WRITE)) {
                        ch.truncate(lastInMiddle - base);
                    }
                }
                case LAST_FRAME_FLIPPED -> flipBit(middle, lastInMiddle - base + RecordFrame.HEADER_BYTES);
                case LAST_FRAME_TORN -> {
                    try (FileChannel ch = FileChannel.open(middle, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(new byte[RecordFrame.HEADER_BYTES]), lastInMiddle - base);
                    }
                }
            }
            List<Long> filesBefore = LogSegment.list(multi);
            long tailSize = Files.size(multi.resolve(LogSegment.fileName(bases.getLast())));
            LogCorruptedException e = assertThrows(LogCorruptedException.class,
                    () -> AppendLog.open(engine, multi, config), damage.toString());
            assertTrue(e.position() <= lastInMiddle, damage + ": " + e.getMessage());
            assertEquals(filesBefore, LogSegment.list(multi), damage + ": nothing deleted");
            assertEquals(tailSize, Files.size(multi.resolve(LogSegment.fileName(bases.getLast()))),
                    damage + ": tail not truncated");
            List<Long> seen = new ArrayList<>();
            assertThrows(LogCorruptedException.class, () -> LogRecovery.read(multi, 0, (p, b) -> seen.add(p)),
                    damage + ": read never skips");
            assertEquals(written.subList(0, seen.size()), seen, damage.toString());
            assertTrue(seen.size() <= written.indexOf(lastInMiddle), damage + ": " + seen.size());
        }
    }

    @Test
    void aRenamedOnlySegmentIsCorruptionNotCutToNothing() throws Exception {
        // Every frame of a segment under a wrong name fails its position-bound checksum, so no valid group follows the
        // first bad frame; but its frames still chain by their lengths through ten commit groups, more than the
        // in-flight window, and a crash leaves each frame of the in-flight groups either as written or zeros. Before
        // the fix: a torn tail at offset 0, the file truncated to nothing with its ten acknowledged records.
        Path renamed = dir.resolve(LogSegment.fileName(1_000_000));
        Files.move(segment(), renamed);
        byte[] before = Files.readAllBytes(renamed);
        LogCorruptedException e = assertThrows(LogCorruptedException.class,
                () -> AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10)));
        assertEquals(renamed, e.segment());
        assertEquals(0, e.offset());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(renamed)), "not truncated");
        Files.move(renamed, segment());
        assertEquals(positions, recovered());
    }

    @Test
    void aRenamedLastSegmentIsCorruptionNotDeletedWithItsAcknowledgedRecords() throws Exception {
        Path multi = dir.resolve("renamed");
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(400);
        List<Long> written = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, multi, config)) {
            for (int i = 0; i < 60; i++) {
                written.add(await(log.append(record(9, i, 400))));
            }
        }
        List<Long> bases = LogSegment.list(multi);
        assertTrue(bases.size() >= 3, "segments " + bases);
        long last = bases.getLast();
        Path renamed = multi.resolve(LogSegment.fileName(last + 8192));
        Files.move(multi.resolve(LogSegment.fileName(last)), renamed);
        byte[] before = Files.readAllBytes(renamed);
        // Before the fix: the renamed segment (every frame fails its position-bound checksum) counted as a segment
        // without records left by a crash, and was deleted with its acknowledged records; the open succeeded.
        LogCorruptedException e = assertThrows(LogCorruptedException.class,
                () -> AppendLog.open(engine, multi, config));
        assertEquals(last, e.position(), "the log's records end where the renamed segment began");
        assertEquals(multi.resolve(LogSegment.fileName(bases.get(bases.size() - 2))), e.segment());
        assertTrue(Files.exists(renamed), "not deleted");
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(renamed)), "not modified");
        // Named back, the log is whole again.
        Files.move(renamed, multi.resolve(LogSegment.fileName(last)));
        List<Long> found = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, multi, config)) {
            log.read(0, (p, b) -> found.add(p));
        }
        assertEquals(written, found);
    }

    @Test
    void readFromAPositionInsideARecordIsRefused() throws Exception {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LogRecovery.read(dir, positions.get(3) + 1, (p, b) -> true));
        assertTrue(e.getMessage().contains("no record at position"), e.getMessage());
        List<Long> fromTail = new ArrayList<>();
        LogRecovery.read(dir, end, (p, b) -> fromTail.add(p));
        assertEquals(List.of(), fromTail);
    }

    @Test
    void appendsAfterRecoveryOverwriteTheTornTail() throws Exception {
        ByteBuffer torn = ByteBuffer.allocate(2000);
        torn.put(0, (byte) 0x77);
        java.util.Arrays.fill(torn.array(), (byte) 0x5A);
        overwrite(end, torn.array());
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            assertTrue(log.recovery().tornTail());
            assertEquals(64 << 10, Files.size(segment()), "preallocated again");
            assertEquals(end, await(log.append(ByteBuffer.wrap(new byte[] {1}))));
        }
        List<Long> found = recovered();
        assertEquals(11, found.size());
        assertEquals(end, found.getLast());
    }

    // ------------------------------------------------------------------ corruption (issue 11 item 13)

    private void flipBit(Path file, long offset) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 0x10)}), offset);
        }
    }

    @Test
    void aFlippedBitInTheFirstRecordWithAcknowledgedGroupsAfterItIsCorruption() throws Exception {
        // Ten records, each acknowledged before the next was appended: ten groups. Before the fix, recovery cut all
        // ten.
        flipBit(segment(), RecordFrame.HEADER_BYTES + 3);
        byte[] before = Files.readAllBytes(segment());
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(segment(), e.segment());
        assertEquals(0, e.offset());
        assertEquals(0, e.position());
        assertTrue(e.getMessage().contains(segment().toString()), e.getMessage());
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(segment())), "recovery modified nothing");
        assertThrows(LogCorruptedException.class, () -> AppendLog.open(engine, dir));
        assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(segment())), "open modified nothing");
        // read stops at the bad frame, loudly, instead of reporting an empty log.
        List<Long> seen = new ArrayList<>();
        assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0, end, (p, b) -> seen.add(p)));
        assertEquals(List.of(), seen);
    }

    @Test
    void readToTheEndOfTheLogStopsLoudlyAtCorruptionInTheLastSegment() throws Exception {
        // The same damage as above, read without a known end (the log not open, not recovered). Before the fix the
        // read ended quietly at the bad frame: an empty log, nine acknowledged records after it unreported.
        flipBit(segment(), positions.get(0) + RecordFrame.HEADER_BYTES + 3);
        List<Long> seen = new ArrayList<>();
        LogCorruptedException e = assertThrows(LogCorruptedException.class,
                () -> LogRecovery.read(dir, 0, (p, b) -> seen.add(p)));
        assertEquals(positions.get(0), e.position());
        assertEquals(List.of(), seen);
        // A torn tail (a bad last frame, nothing after it) still just ends the data.
        Path torn = dir.resolve("torn");
        List<Long> written = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, torn)) {
            for (int i = 0; i < 3; i++) {
                written.add(await(log.append(record(7, i, 500))));
            }
        }
        flipBit(torn.resolve(LogSegment.fileName(0)), written.get(2) + RecordFrame.HEADER_BYTES);
        List<Long> fromTorn = new ArrayList<>();
        LogRecovery.read(torn, 0, (p, b) -> fromTorn.add(p));
        assertEquals(written.subList(0, 2), fromTorn);
    }

    @Test
    void aZeroedHeaderFollowedByAcknowledgedGroupsIsCorruption() throws Exception {
        overwrite(positions.get(4), new byte[RecordFrame.HEADER_BYTES]);
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(positions.get(4), e.position());
    }

    @Test
    void aTornGroupWithOneLaterGroupLandedIsATornTail() throws Exception {
        // Two groups in flight at the crash: the earlier one's first page never landed, the later one did. Neither
        // was acknowledged; the cut at the earlier one loses nothing that was.
        overwrite(positions.get(8), new byte[RecordFrame.HEADER_BYTES]);
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(positions.get(8), r.tail());
        assertEquals(null, r.repaired());
        assertEquals(positions.subList(0, 8), recovered());
    }

    @Test
    void twoLaterGroupsAfterABadFrameAreMoreThanACrashLeaves() throws Exception {
        flipBit(segment(), positions.get(7) + RecordFrame.HEADER_BYTES);
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(positions.get(7), e.position());
        assertTrue(e.getMessage().contains("2 valid commit groups"), e.getMessage());
    }

    @Test
    void repairByTruncationCutsFromTheBadFrameAndReportsIt() throws Exception {
        flipBit(segment(), positions.get(3) + RecordFrame.HEADER_BYTES + 1);
        try (AppendLog log = AppendLog.open(engine, dir,
                new AppendLogConfig().segmentBytes(64 << 10).repairByTruncation(true))) {
            LogCorruptedException cut = log.recovery().repaired();
            assertEquals(positions.get(3), cut.position());
            assertEquals(segment(), cut.segment());
            assertTrue(cut.getMessage().contains("repaired"), cut.getMessage());
            assertEquals(positions.get(3), log.recovery().tail());
            assertEquals(positions.get(3), await(log.append(record(7, 3, 500))));
        }
        assertEquals(positions.subList(0, 4), recovered());
    }

    @Test
    void aCorruptMiddleSegmentFailsOpenAndReadNeverSkipsIt() throws Exception {
        Path multi = dir.resolve("multi");
        List<Long> written = new ArrayList<>();
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(400);
        long durable;
        List<Long> bases;
        try (AppendLog log = AppendLog.open(engine, multi, config)) {
            for (int i = 0; i < 60; i++) {
                written.add(await(log.append(record(9, i, 400))));
            }
            bases = LogSegment.list(multi);
            assertTrue(bases.size() >= 4, "segments " + bases);
            durable = log.durablePosition();
            // Damage the second segment's second record under the open log: read throws, never skips.
            long victim = written.stream().filter(p -> p > bases.get(1)).findFirst().orElseThrow();
            Path middle = multi.resolve(LogSegment.fileName(bases.get(1)));
            flipBit(middle, victim - bases.get(1) + RecordFrame.HEADER_BYTES);
            List<Long> seen = new ArrayList<>();
            LogCorruptedException e = assertThrows(LogCorruptedException.class,
                    () -> log.read(0, (p, b) -> seen.add(p)));
            assertEquals(middle, e.segment());
            assertEquals(victim, e.position());
            assertEquals(written.subList(0, written.indexOf(victim)), seen, "every record before it, none after");
            List<Long> standalone = new ArrayList<>();
            assertThrows(LogCorruptedException.class, () -> LogRecovery.read(multi, 0, (p, b) -> standalone.add(p)));
            assertEquals(seen, standalone);
        }
        // Before the fix: open succeeded and read returned the records around a silent gap.
        LogCorruptedException e = assertThrows(LogCorruptedException.class,
                () -> AppendLog.open(engine, multi, config));
        assertEquals(multi.resolve(LogSegment.fileName(bases.get(1))), e.segment());
        assertEquals(bases.size(), LogSegment.list(multi).size(), "nothing deleted");
        assertEquals(4096, Files.size(multi.resolve(LogSegment.fileName(bases.getLast()))), "tail not truncated");
        try (AppendLog log = AppendLog.open(engine, multi, config.repairByTruncation(true))) {
            assertEquals(bases.get(1), log.recovery().tailBase());
            assertEquals(bases.size() - 2, log.recovery().deletedSegments());
            assertTrue(log.recovery().repaired() != null);
        }
    }
}
