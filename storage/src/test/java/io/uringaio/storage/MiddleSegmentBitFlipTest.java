package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bits of the first and the last record of a segment before the last (every bit of their headers, one bit of every
 * fifth payload byte and of the last), flipped one at a time: a crash never
 * leaves a bad frame in such a segment (a roll-over waits until every group before it is durable), so each flip is
 * {@link LogCorruptedException} at that record, with every file as it was, never a cut; and a flip in the bytes past
 * the segment's records (its preallocated zeros, beyond the next segment's base) changes nothing the log holds.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MiddleSegmentBitFlipTest extends WithEngine {
    @Test
    void everyBitOfAMiddleSegmentsEdgeRecordsIsReportedAndThePaddingAfterThemIsNot() throws Exception {
        List<Long> positions = new ArrayList<>();
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096);
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 120; i++) {
                positions.add(await(log.append(StorageTesting.record(71, i, 150))));
            }
        }
        List<Long> bases = LogSegment.list(dir);
        assertTrue(bases.size() >= 3, "three segments or more: " + bases);
        long next = bases.get(1);
        Path first = dir.resolve(LogSegment.fileName(0));
        Path second = dir.resolve(LogSegment.fileName(next));
        Path last = dir.resolve(LogSegment.fileName(bases.getLast()));
        byte[] pristine = Files.readAllBytes(first);
        byte[] secondBefore = Files.readAllBytes(second);
        byte[] lastBefore = Files.readAllBytes(last);
        List<Long> inFirst = positions.stream().filter(p -> p < next).toList();
        long lastRecord = inFirst.getLast();

        int reported = 0;
        for (long[] range : new long[][] {{0, inFirst.get(1)}, {lastRecord, next}}) {
            for (long offset = range[0]; offset < range[1]; offset++) {
                long damaged = offset < inFirst.get(1) ? 0 : lastRecord;
                boolean header = offset - damaged < RecordFrame.HEADER_BYTES;
                if (!header && (offset - damaged) % 5 != 0 && offset != range[1] - 1) {
                    continue; // every bit of the headers (length, group marks, checksum); the payloads sampled
                }
                for (int bit = header ? 0 : (int) (offset % 8); bit < (header ? 8 : offset % 8 + 1); bit++) {
                    byte[] image = pristine.clone();
                    image[(int) offset] ^= (byte) (1 << bit);
                    Files.write(first, image);
                    try {
                        LogRecovery.Result r = LogRecovery.recover(dir);
                        fail("bit " + bit + " of offset " + offset + " in a segment before the last: not reported, "
                                + r);
                    } catch (LogCorruptedException e) {
                        assertEquals(first, e.segment(), e.getMessage());
                        assertEquals(damaged, e.position(), "bit " + bit + " of offset " + offset + ": "
                                + e.getMessage());
                    }
                    assertArrayEquals(image, Files.readAllBytes(first), "refused, yet modified");
                    reported++;
                }
            }
        }
        assertArrayEquals(secondBefore, Files.readAllBytes(second), "the segments after it, untouched");
        assertArrayEquals(lastBefore, Files.readAllBytes(last));

        for (long offset = next; offset < next + 24; offset++) {
            for (int bit = (int) (offset % 8); bit == offset % 8; bit++) { // one bit of each byte, in turn
                byte[] image = pristine.clone();
                image[(int) offset] ^= (byte) (1 << bit);
                Files.write(first, image);
                LogRecovery.recover(dir);
                List<Long> read = new ArrayList<>();
                LogRecovery.read(dir, 0, (p, b) -> read.add(p));
                assertEquals(positions, read, "bit " + bit + " of offset " + offset + ", past the records");
            }
        }
        assertTrue(reported >= 8 * 2 * RecordFrame.HEADER_BYTES, "" + reported);
    }
}
