package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Recovery that finds corruption modifies nothing (LogRecovery's contract): here the first of three segments holds a
 * flipped byte, and the third is a segment named by a roll-over that died before its first group (empty, at the end
 * of the records: one recovery deletes). The empty segment was deleted before the corruption was found, so the
 * directory the exception describes was no longer the one on disk.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecoveryLeavesCorruptLogUntouchedTest extends WithEngine {
    @Test
    void corruptionInAnEarlierSegmentLeavesAnEmptyTrailingSegmentInPlace() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(8192).maxRecordBytes(1000);
        long end;
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 40; i++) {
                await(log.append(record(5, i, 1000)));
            }
            end = log.durablePosition();
        }
        List<Long> bases = LogSegment.list(dir);
        assertTrue(bases.size() >= 2, bases.toString());
        // The roll-over that died after naming the next segment: zeros where the records end.
        Path trailing = dir.resolve(LogSegment.fileName(end));
        Files.write(trailing, new byte[8192]);
        // A byte flipped in the first record of the first segment.
        Path first = dir.resolve(LogSegment.fileName(0));
        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, 20);
            b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
            ch.write(b, 20);
        }
        byte[] firstBefore = Files.readAllBytes(first);

        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(first, e.segment());
        assertEquals(0, e.offset());
        assertTrue(Files.exists(trailing), "nothing deleted: the empty trailing segment is still there");
        assertArrayEquals(firstBefore, Files.readAllBytes(first));
        assertEquals(bases.size() + 1, LogSegment.list(dir).size());
        assertThrows(LogCorruptedException.class, () -> AppendLog.open(engine, dir, config));
        assertTrue(Files.exists(trailing), "nor by a refused open");

        // Repairing cuts from the bad frame: every later segment goes, the empty one included.
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(8192)
                .maxRecordBytes(1000).repairByTruncation(true))) {
            assertEquals(0, log.tailPosition());
            assertEquals(first, log.recovery().repaired().segment());
        }
        assertEquals(List.of(0L), LogSegment.list(dir));
    }
}
