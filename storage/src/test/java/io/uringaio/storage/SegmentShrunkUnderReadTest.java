package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A segment file that shrinks while it is read (another process truncates it, the file system loses its tail): the
 * reader had its size from before, read past the new end into an empty window, and failed with an
 * IndexOutOfBoundsException from the scanner's buffer. It is a segment that stops short of where its records must
 * run: a {@link LogCorruptedException} naming it, after the records before the cut were visited.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SegmentShrunkUnderReadTest extends WithEngine {
    private static final int SEGMENT = 2 << 20;
    /** Frames of 4 KiB: one ends exactly where the reader's 1 MiB window does. */
    private static final int RECORD = 4096 - RecordFrame.HEADER_BYTES;

    /** Fills the first segment past its first 1 MiB read window and puts a few records into a second one. */
    private long writeTwoSegments() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(SEGMENT);
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            java.util.concurrent.CompletableFuture<Long> last = null;
            for (int i = 0; log.tailPosition() < SEGMENT + 5L * RecordFrame.frameBytes(RECORD); i++) {
                byte[] payload = new byte[RECORD];
                java.util.Arrays.fill(payload, (byte) (i + 1));
                last = log.append(ByteBuffer.wrap(payload));
            }
            return await(last);
        }
    }

    @Test
    void aSegmentTruncatedDuringAReadIsReportedAsCorruptionNotAnIndexError() throws Exception {
        writeTwoSegments();
        List<Long> bases = LogSegment.list(dir);
        assertEquals(2, bases.size(), "two segments");
        Path first = dir.resolve(LogSegment.fileName(0));
        long cut = 64 << 10;
        AtomicLong visited = new AtomicLong();
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0,
                (position, payload) -> {
                    if (visited.getAndIncrement() == 0) {
                        try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
                            ch.truncate(cut); // the disk lies from here on: the file ends at 64 KiB
                        } catch (java.io.IOException io) {
                            throw new java.io.UncheckedIOException(io);
                        }
                    }
                    return true;
                }));
        assertEquals(first, e.segment());
        assertTrue(e.offset() >= cut && e.offset() < SEGMENT, "offset " + e.offset());
        assertTrue(visited.get() > 0 && visited.get() * RecordFrame.frameBytes(RECORD) <= e.offset() + RECORD,
                "records before the cut were visited, none after it: " + visited.get());
        // Recovery, from the file as it is now, reports the same segment.
        LogCorruptedException recovered = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(first, recovered.segment());
    }
}
