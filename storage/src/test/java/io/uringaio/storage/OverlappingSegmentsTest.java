package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two segments claiming the same positions: the first segment's records go on past the base of the next one (a
 * segment file restored from another time, a second writer's file), each side valid by its own checksums. Recovery
 * checked only that the first segment's records reach the next base, so the later file silently replaced the first
 * one's records from there on, acknowledged ones included. It is an overlap: corruption, naming the first segment and
 * the next base's offset in it, nothing modified.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OverlappingSegmentsTest extends WithEngine {
    private static byte[] payload(int i) {
        byte[] p = new byte[40 + i];
        java.util.Arrays.fill(p, (byte) (i + 1));
        return p;
    }

    /** A segment file at {@code base} holding {@code payloads} as valid frames (each its own group's only record). */
    private static byte[] segmentOf(long base, List<byte[]> payloads) {
        ByteBuffer file = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] p : payloads) {
            long position = base + file.position();
            file.putInt(p.length).putInt(RecordFrame.checksum(ByteBuffer.wrap(p), position)).put(p);
        }
        return file.array();
    }

    private static final AppendLogConfig SIXTY_FOUR_KIB_SEGMENTS = new AppendLogConfig().segmentBytes(64 << 10);

    /**
     * Ten acknowledged records in one segment, then a segment file of three foreign records whose name claims it
     * starts where the fifth record ends (over the acknowledged sixth to tenth); returns that position.
     */
    private long tenRecordsThenAForeignSegmentAtTheFifthsEnd() throws Exception {
        long base;
        try (AppendLog log = AppendLog.open(engine, dir, SIXTY_FOUR_KIB_SEGMENTS)) {
            for (int i = 0; i < 5; i++) {
                await(log.append(ByteBuffer.wrap(payload(i))));
            }
            base = log.durablePosition();
            for (int i = 5; i < 10; i++) { // acknowledged records past where the foreign segment will claim to start
                await(log.append(ByteBuffer.wrap(payload(i))));
            }
        }
        List<byte[]> foreign = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            foreign.add(new byte[] {(byte) 0xEE, (byte) i});
        }
        Files.write(dir.resolve(LogSegment.fileName(base)), segmentOf(base, foreign));
        return base;
    }

    @Test
    void aLaterSegmentOverlappingTheRecordsOfTheOneBeforeIsCorruption() throws Exception {
        long base = tenRecordsThenAForeignSegmentAtTheFifthsEnd();
        Path later = dir.resolve(LogSegment.fileName(base));
        Path first = dir.resolve(LogSegment.fileName(0));
        byte[] firstBefore = Files.readAllBytes(first);

        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(first, e.segment());
        assertEquals(base, e.offset());
        assertTrue(e.getMessage().contains(later.getFileName().toString()), e.getMessage());
        assertThrows(LogCorruptedException.class, () -> AppendLog.open(engine, dir, SIXTY_FOUR_KIB_SEGMENTS));
        assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0, (p, b) -> true));
        assertArrayEquals(firstBefore, Files.readAllBytes(first), "nothing modified");
        assertTrue(Files.exists(later));
    }

    /**
     * The same overlap repaired ({@code recover(dir, true)}): the report said "cut from here" at the next segment's
     * base and deleted that segment, but the tail segment was then scanned to its end, so its records past that base
     * stayed in the log, after the position the report gave as the cut: the repair did not do what it reported.
     */
    @Test
    void aRepairOfAnOverlapCutsWhereItReports() throws Exception {
        long base = tenRecordsThenAForeignSegmentAtTheFifthsEnd();
        Path later = dir.resolve(LogSegment.fileName(base));
        Path first = dir.resolve(LogSegment.fileName(0));
        byte[] firstBefore = Files.readAllBytes(first);

        LogRecovery.Result r = LogRecovery.recover(dir, true);
        assertEquals(base, r.repaired().position(), r.toString());
        assertEquals(base, r.tail(), "the log ends where the repair says it cut: " + r);
        assertEquals(5, r.tailRecords());
        assertTrue(r.tornTail(), "the cut part began with a record that should not be there");
        assertFalse(Files.exists(later), "the later segment, deleted");
        List<Long> read = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> read.add(p));
        assertEquals(5, read.size(), "the records before the cut: " + read);
        assertArrayEquals(java.util.Arrays.copyOf(firstBefore, (int) base),
                java.util.Arrays.copyOf(Files.readAllBytes(first), (int) base), "the records kept, unchanged");
        try (AppendLog log = AppendLog.open(engine, dir, SIXTY_FOUR_KIB_SEGMENTS)) {
            assertEquals(base, await(log.append(ByteBuffer.wrap(payload(11)))), "appends go on from the cut");
        }
    }

    @Test
    void segmentsThatMeetExactlyAreNoOverlap() throws Exception {
        // The usual roll-over: the first segment's records end at the next base, zeros after them.
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(1000);
        List<Long> positions = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 30; i++) {
                positions.add(await(log.append(ByteBuffer.wrap(new byte[300 + i]))));
            }
        }
        assertTrue(LogSegment.list(dir).size() > 2);
        assertEquals(positions.getLast() + RecordFrame.frameBytes(329), LogRecovery.recover(dir).tail());
    }
}
