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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A second writer that ignores the lock and writes into the open log's segment (a stray process, a bad script), and
 * a segment truncated under the open log: the log cannot stop it, but nothing is hidden. The open log's read stops at
 * the damage with a {@link LogCorruptedException} naming the segment and the offset of the first damaged record, after
 * the records before it; appends go on; the reopen refuses with the same segment and offset and modifies nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RogueWriterTest extends WithEngine {
    private static final AppendLogConfig CONFIG = new AppendLogConfig().segmentBytes(1 << 20);

    private List<Long> appendEach(AppendLog log, int from, int n) throws Exception {
        List<Long> positions = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            positions.add(await(log.append(record(13, i, 200)))); // one group each: groups to count after damage
        }
        return positions;
    }

    private static int visitedBefore(AppendLog log, LogCorruptedException[] thrown) throws Exception {
        List<Long> visited = new ArrayList<>();
        thrown[0] = assertThrows(LogCorruptedException.class, () -> log.read(0, (p, b) -> visited.add(p)));
        return visited.size();
    }

    @Test
    void bytesScribbledIntoAnAcknowledgedRecordAreReportedLiveAndAtReopen() throws Exception {
        Path segment = dir.resolve(LogSegment.fileName(0));
        AppendLog log = AppendLog.open(engine, dir, CONFIG);
        List<Long> positions = appendEach(log, 0, 20);
        try (FileChannel rogue = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            rogue.write(ByteBuffer.wrap("rogue".getBytes()), positions.get(7) + RecordFrame.HEADER_BYTES);
        }
        LogCorruptedException[] live = new LogCorruptedException[1];
        assertEquals(7, visitedBefore(log, live), "the records before the damage are visited");
        assertEquals(segment, live[0].segment());
        assertEquals(positions.get(7), live[0].position());
        positions.addAll(appendEach(log, 20, 3)); // the log appends on: it never reads back
        log.close();

        byte[] before = Files.readAllBytes(segment);
        LogCorruptedException atOpen = assertThrows(LogCorruptedException.class,
                () -> AppendLog.open(engine, dir, CONFIG));
        assertEquals(segment, atOpen.segment());
        assertEquals((long) positions.get(7), atOpen.offset());
        assertArrayEquals(before, Files.readAllBytes(segment), "the refused open modified nothing");
    }

    @Test
    void aSegmentTruncatedUnderTheOpenLogIsReportedNotCut() throws Exception {
        Path segment = dir.resolve(LogSegment.fileName(0));
        AppendLog log = AppendLog.open(engine, dir, CONFIG);
        List<Long> positions = appendEach(log, 0, 12);
        try (FileChannel rogue = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            rogue.truncate(positions.get(5)); // records 5.. gone: the later writes leave a hole of zeros
        }
        positions.addAll(appendEach(log, 12, 4));
        LogCorruptedException[] live = new LogCorruptedException[1];
        assertEquals(5, visitedBefore(log, live));
        assertEquals(segment, live[0].segment());
        assertEquals((long) positions.get(5), live[0].offset());
        log.close();

        LogCorruptedException atOpen = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(segment, atOpen.segment());
        assertEquals((long) positions.get(5), atOpen.offset());
        assertTrue(Files.size(segment) > positions.getLast(), "not truncated");
    }
}
