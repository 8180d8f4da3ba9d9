package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Recovery past a bad frame in a full-size (default, 64 MiB) segment, where the bytes after it are garbage: a torn
 * group's random payloads behind a missing first sector. Recovery looks for commit groups at every byte offset after
 * the bad frame, and garbage headers claim lengths of up to 128 MiB that fit the preallocated segment: each was
 * checksummed over its whole length, so the search cost the square of the garbage (2.4 s for 128 bytes; hours for
 * the 256 KiB here). The timeouts are hang detectors, with a margin of two orders of magnitude.
 */
@Timeout(value = 50, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class RecoveryGarbageTest extends WithEngine {
    private static final int SECTOR = 512;

    private Path segment() {
        return dir.resolve(LogSegment.fileName(0));
    }

    private List<ByteBuffer> recordsRead() throws Exception {
        List<ByteBuffer> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> found.add(ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip()));
        return found;
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aTornGroupOfRandomPayloadsInAFullSizeSegmentRecoversWithoutAHang() throws Exception {
        List<ByteBuffer> acknowledged = new ArrayList<>();
        long end;
        try (AppendLog log = AppendLog.open(engine, dir)) {
            for (int i = 0; i < 5; i++) {
                ByteBuffer r = record(21, i, 300);
                acknowledged.add(r);
                await(log.append(r));
            }
            end = log.durablePosition();
        }
        // The next group's first sector never landed (zeros at the end of the records); 256 KiB of its random
        // payloads after it did.
        byte[] torn = new byte[256 << 10];
        new SplittableRandom(5).nextBytes(torn);
        long landed = (end / SECTOR + 1) * SECTOR;
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(torn), landed);
        }
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(end, r.tail(), "cut at the end of the acknowledged records: " + r);
        assertEquals(null, r.repaired());
        assertEquals(end, Files.size(segment()));
        assertEquals(acknowledged.stream().map(ByteBuffer::rewind).toList(), recordsRead());
    }

    @Test
    void longValidFramesAfterABadOneAreStillFoundAsDurableGroups() throws Exception {
        // Records longer than what the search checksums directly (64 KiB), each its own acknowledged group (G = 2):
        // a flipped bit in the first is followed by two valid groups, which only a durable group can be. The search
        // must find them through the range checksums: a miss would cut four acknowledged records as a torn tail.
        AppendLogConfig config = new AppendLogConfig().maxRecordBytes(1 << 20);
        List<Long> positions = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            positions.add(await(log.append(ByteBuffer.wrap(randomBytes(0, 100)))));
            for (int i = 1; i < 5; i++) {
                positions.add(await(log.append(ByteBuffer.wrap(randomBytes(i, 100_000 + i * 40_000)))));
            }
        }
        flipBit(positions.get(0) + RecordFrame.HEADER_BYTES + 7);
        byte[] before = Files.readAllBytes(segment());
        LogCorruptedException e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(positions.get(0), e.position());
        assertTrue(e.getMessage().contains("2 valid commit groups (from offset " + positions.get(1) + ")"),
                e.getMessage());
        assertTrue(Arrays.equals(before, Files.readAllBytes(segment())), "nothing modified");
        assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0, (p, b) -> true));
        // The same damage in the second long record: one valid group after it (a torn tail could leave that), and the
        // third behind it makes two.
        flipBit(positions.get(0) + RecordFrame.HEADER_BYTES + 7); // undo
        flipBit(positions.get(2) + RecordFrame.HEADER_BYTES + 50_000);
        e = assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir));
        assertEquals(positions.get(2), e.position());
        // In the last one: a torn tail, cut, the four before it intact.
        flipBit(positions.get(2) + RecordFrame.HEADER_BYTES + 50_000);
        flipBit(positions.get(4) + RecordFrame.HEADER_BYTES + 1);
        LogRecovery.Result r = LogRecovery.recover(dir);
        assertEquals(positions.get(4), r.tail());
        assertEquals(4, recordsRead().size());
        assertEquals(ByteBuffer.wrap(randomBytes(0, 100)), recordsRead().getFirst());
        assertEquals(ByteBuffer.wrap(randomBytes(3, 100_000 + 3 * 40_000)), recordsRead().get(3));
    }

    private static byte[] randomBytes(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    private void flipBit(long offset) throws Exception {
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 0x04)}), offset);
        }
    }
}
