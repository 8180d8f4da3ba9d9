package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
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

/** Recovery on hand-damaged segments: torn frames of every kind are cut, complete records kept. */
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
    void trailingSegmentsWithoutRecordsAreDeleted() throws Exception {
        Path empty = dir.resolve(LogSegment.fileName(end));
        Files.write(empty, new byte[4096]);
        Path garbage = dir.resolve(LogSegment.fileName(end + 100_000));
        Files.write(garbage, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Files.writeString(dir.resolve("notes.txt"), "not a segment");
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(2, r.deletedSegments());
        assertEquals(end, r.tail());
        assertEquals(0, r.tailBase());
        assertEquals(1, r.segments());
        assertFalse(Files.exists(empty));
        assertTrue(Files.exists(dir.resolve("notes.txt")));
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
}
