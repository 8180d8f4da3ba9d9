package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A read from a position inside a record whose payload holds a whole frame made for that very position (its checksum
 * covers the position, which a hostile appender can predict) is refused, with IllegalArgumentException, as any
 * position inside a record; before, the forged frame was visited as a record, and the real records after it. Reads
 * from true record starts, from near and far, and resumed where earlier reads ended, see exactly the records; the
 * log's bytes and appends are unaffected.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogReadForgedStartTest extends WithEngine {
    /** A payload of {@code pad} bytes, then a whole frame of {@code inner} made for position {@code at}. */
    private static ByteBuffer forging(int pad, byte[] inner, long at) {
        ByteBuffer b = ByteBuffer.allocate(pad + RecordFrame.HEADER_BYTES + inner.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[pad]).putInt(inner.length).putInt(RecordFrame.checksum(ByteBuffer.wrap(inner), at)).put(inner);
        return b.flip();
    }

    private static List<Long> positions(AppendLog log, long from) throws Exception {
        List<Long> visited = new ArrayList<>();
        log.read(from, (p, b) -> visited.add(p));
        return visited;
    }

    @Test
    void aFrameForgedInsideAPayloadIsNoReadStart() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4 << 20);
        List<Long> real = new ArrayList<>();
        long forgedAt;
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            // Over 1 MiB of records first, so that reads pass a sampled position on their way.
            for (int i = 0; i < 3000; i++) {
                real.add(await(log.append(StorageTesting.record(7, i, 700))));
            }
            long at = log.tailPosition(); // this single appender's next position
            forgedAt = at + RecordFrame.HEADER_BYTES + 4;
            assertEquals(at, (long) await(log.append(forging(4, "forged".getBytes(), forgedAt))));
            real.add(at);
            for (int i = 0; i < 5; i++) {
                real.add(await(log.append(StorageTesting.record(8, i, 100))));
            }
            byte[] before = Files.readAllBytes(dir.resolve(LogSegment.fileName(0)));
            long durable = log.durablePosition();

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> positions(log, forgedAt));
            assertTrue(e.getMessage().contains("inside the record"), e.getMessage());
            assertEquals(real, positions(log, 0), "every record, the forged one not among them");
            // Now the log knows boundaries near it: still refused.
            assertThrows(IllegalArgumentException.class, () -> positions(log, forgedAt));
            assertEquals(real.subList(real.size() - 7, real.size()), positions(log, real.get(real.size() - 7)));
            assertEquals(real.subList(1500, real.size()), positions(log, real.get(1500)), "from far before");
            // A reader that stops, then resumes where it stopped.
            List<Long> batch = new ArrayList<>();
            long[] resume = {0};
            log.read(0, (p, b) -> {
                batch.add(p);
                resume[0] = p + RecordFrame.frameBytes(b.remaining());
                return batch.size() < 100;
            });
            assertEquals(real.subList(0, 100), batch);
            assertEquals(real.subList(100, real.size()), positions(log, resume[0]));
            assertEquals(List.of(), positions(log, durable), "the end: nothing");

            assertArrayEquals(before, Files.readAllBytes(dir.resolve(LogSegment.fileName(0))), "the log unchanged");
            assertEquals(durable, (long) await(log.append(ByteBuffer.wrap(new byte[] {1}))), "appends go on");
        }
        List<Long> visited = new ArrayList<>();
        assertThrows(IllegalArgumentException.class, () -> LogRecovery.read(dir, forgedAt, (p, b) -> visited.add(p)));
        assertEquals(List.of(), visited, "the closed log's read refuses it too");
    }

    @Test
    void recordStartsKeepOnePositionPerMiBAndTheRecentEnds() {
        RecordStarts starts = new RecordStarts();
        assertEquals(-1, starts.floor(5000), "none known");
        long miB = 1L << RecordStarts.SPACING_SHIFT;
        starts.sample(miB + 300);
        starts.sample(miB + 200); // the same MiB: not kept
        starts.sample(miB + 900);
        assertEquals(miB + 300, starts.floor(miB + 299 + 600));
        assertEquals(-1, starts.floor(miB + 299), "the one kept is the first sampled");
        starts.sample(3 * miB + 1);
        assertEquals(miB + 300, starts.floor(3 * miB));
        assertEquals(3 * miB + 1, starts.floor(Long.MAX_VALUE));
        starts.ended(miB + 700);
        assertEquals(miB + 700, starts.floor(miB + 700), "a read's end is known exactly");
        assertEquals(miB + 700, starts.floor(2 * miB));
        for (int i = 0; i < 200; i++) {
            starts.ended(10 * miB + i); // many readers: the oldest ends are forgotten
        }
        assertEquals(miB + 300, starts.floor(2 * miB + 5), "a forgotten end falls back to the samples");
        assertEquals(10 * miB + 199, starts.floor(Long.MAX_VALUE));
    }
}
