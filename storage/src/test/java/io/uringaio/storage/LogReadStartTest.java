package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A read from a position that starts no record is the caller's mistake (IllegalArgumentException), never reported as
 * corruption of a healthy log, and never an empty read of a log with records after it; a bad frame at a position
 * that does start a record is corruption. A payload holds zeros as well as any bytes: a read position inside one
 * lands on what looks like unwritten space.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogReadStartTest extends WithEngine {
    private static List<Long> positions(AppendLog log, long from) throws Exception {
        List<Long> seen = new ArrayList<>();
        log.read(from, (p, b) -> seen.add(p));
        return seen;
    }

    private List<Long> positions(long from) throws Exception {
        List<Long> seen = new ArrayList<>();
        LogRecovery.read(dir, from, (p, b) -> seen.add(p));
        return seen;
    }

    @Test
    void aPositionInsideAZeroPayloadIsRefusedNotReportedAsCorruption() throws Exception {
        long inside;
        List<Long> written = new ArrayList<>();
        byte[] segmentBefore;
        try (AppendLog log = AppendLog.open(engine, dir)) {
            written.add(await(log.append(ByteBuffer.allocate(100)))); // 100 zero bytes
            written.add(await(log.append(ByteBuffer.wrap(new byte[] {1, 2, 3}))));
            written.add(await(log.append(ByteBuffer.allocate(40))));
            inside = written.get(0) + RecordFrame.HEADER_BYTES + 10;
            segmentBefore = Files.readAllBytes(dir.resolve(LogSegment.fileName(0)));
            // Before the fix: LogCorruptedException ("no record where the records must continue") on a healthy log.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> positions(log, inside));
            assertTrue(e.getMessage().contains("no record at position " + inside), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> positions(log, written.get(2) + RecordFrame.HEADER_BYTES + 1), "the last record too");
            assertEquals(written, positions(log, 0), "bystander: the log reads whole");
            assertEquals(written.subList(1, 3), positions(log, written.get(1)));
            assertEquals(List.of(), positions(log, log.durablePosition()), "the end is a valid start");
            assertArrayEquals(segmentBefore, Files.readAllBytes(dir.resolve(LogSegment.fileName(0))));
        }
        // Closed, read by LogRecovery: before the fix the read visited nothing and returned, two records after it.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> positions(inside));
        assertTrue(e.getMessage().contains("no record at position " + inside), e.getMessage());
        assertEquals(written, positions(0));
        assertEquals(written.subList(1, 3), positions(written.get(1)));
        long end = written.get(2) + RecordFrame.frameBytes(40);
        assertEquals(List.of(), positions(end));
        assertThrows(IllegalArgumentException.class, () -> positions(end + 100), "past the end of the records");
        try (AppendLog log = AppendLog.open(engine, dir)) {
            assertEquals(3, log.recovery().tailRecords(), "nothing was cut or changed");
            assertEquals(end, log.recovery().tail());
        }
    }

    @Test
    void aZeroedHeaderAtARecordsOwnPositionIsCorruptionForTheReadOfIt() throws Exception {
        List<Long> written = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir)) {
            for (int i = 0; i < 6; i++) {
                written.add(await(log.append(ByteBuffer.wrap(new byte[] {(byte) i, 1, 2, 3, 4, 5, 6, 7, 8}))));
            }
        }
        try (FileChannel ch = FileChannel.open(dir.resolve(LogSegment.fileName(0)), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(RecordFrame.HEADER_BYTES), written.get(2));
        }
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> positions(written.get(2)));
        assertEquals(written.get(2), e.position());
        e = assertThrows(LogCorruptedException.class, () -> positions(0), "from before the hole: loud");
        assertEquals(written.get(2), e.position());
        assertEquals(written.subList(4, 6), positions(written.get(4)), "a read from past the hole does not cover it");
        assertThrows(IllegalArgumentException.class, () -> positions(written.get(1) + 3));
    }
}
