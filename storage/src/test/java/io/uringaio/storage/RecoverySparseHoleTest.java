package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Recovery over a last segment that a tool (or an attacker) extended with {@code ftruncate} to 1 TiB: a sparse file
 * whose hole reads as zeros. Recovery reads the rest of the last segment after its records to look for commit groups
 * past them; read byte by byte, the hole took about an hour (and a garbage header before it made the range checksums
 * allocate an int per 4 KiB of it, 1 GiB). It must skip the hole (it holds nothing but zeros) and still judge every
 * byte of data, before and after it, as before. The timeouts are hang detectors: the recoveries here take well under
 * a second.
 */
class RecoverySparseHoleTest extends WithEngine {
    private static final long TIB = 1L << 40;
    private static final Duration BOUND = Duration.ofSeconds(30);

    private Path segment() {
        return dir.resolve(LogSegment.fileName(0));
    }

    /** Appends {@code n} records, each its own group, under {@code config}; returns them. */
    private List<ByteBuffer> appendAndClose(AppendLogConfig config, int n, int maxBytes) throws Exception {
        List<ByteBuffer> records = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < n; i++) {
                ByteBuffer r = record(31, i, maxBytes);
                records.add(r);
                await(log.append(r));
            }
        }
        return records;
    }

    /** Extends the last segment to 1 TiB, sparse; skips the test where the file system refuses. */
    private void extendToOneTiB() throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(segment().toFile(), "rw")) {
            f.setLength(TIB);
        } catch (IOException e) {
            Assumptions.abort("the file system refuses a 1 TiB sparse file: " + e);
        }
    }

    private List<ByteBuffer> recordsRead() throws IOException {
        List<ByteBuffer> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> found.add(ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip()));
        return found;
    }

    /** Writes a valid frame opening a group of a writer with window {@code groupsInFlight}, at file {@code offset}. */
    private void writeGroupStart(long offset, int groupsInFlight) throws IOException {
        byte[] payload = "a frame past the hole".getBytes();
        int word = RecordFrame.word(payload.length, true, groupsInFlight);
        CRC32C crc = new CRC32C();
        crc.update(payload);
        int checksum = RecordFrame.finish(crc, offset, word, new byte[12]); // segment 0: position == offset
        ByteBuffer frame = ByteBuffer.allocate(RecordFrame.HEADER_BYTES + payload.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(word).putInt(checksum).put(payload).flip();
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            ch.write(frame, offset);
        }
    }

    @Test
    void openOverALastSegmentExtendedToOneTiBEndsInBoundedTimeWithTheRecordsIntact() throws Exception {
        List<ByteBuffer> records = appendAndClose(new AppendLogConfig(), 20, 500);
        long end = recordsEnd(records);
        extendToOneTiB();
        assertTimeoutPreemptively(BOUND, () -> {
            try (AppendLog log = AppendLog.open(engine, dir)) {
                assertEquals(end, log.durablePosition(), "the records end where they did: " + log.recovery());
                assertEquals(false, log.recovery().tornTail(), "zeros (a hole) after the records: a clean end");
                List<ByteBuffer> read = new ArrayList<>();
                log.read(0, (p, b) -> read.add(ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip()));
                assertEquals(records.stream().map(ByteBuffer::rewind).toList(), read);
                assertEquals(end, await(log.append(ByteBuffer.wrap(new byte[] {7}))), "appends go on at the end");
            }
        });
        assertTrue(Files.size(segment()) < TIB, "the hole was cut with the tail: " + Files.size(segment()));
    }

    @Test
    void aValidGroupPastALargeHoleIsStillJudged() throws Exception {
        // G = 1: a group that opens past the end of the records can only have been written after a durable group
        // that the hole replaced: corruption, reported, nothing modified.
        List<ByteBuffer> records = appendAndClose(new AppendLogConfig().maxGroupsInFlight(1), 5, 300);
        long end = recordsEnd(records);
        extendToOneTiB();
        long past = TIB / 2 + 12_345;
        writeGroupStart(past, 1);
        LogCorruptedException e = assertTimeoutPreemptively(BOUND,
                () -> assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir)));
        assertEquals(end, e.position(), e.getMessage());
        assertTrue(e.getMessage().contains("followed by 1 valid commit groups (from offset " + past + ")"),
                e.getMessage());
        assertEquals(TIB, Files.size(segment()), "nothing modified");
        assertTimeoutPreemptively(BOUND,
                () -> assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0, (p, b) -> true)));
        // The same frame from a writer with G = 2 is one group a crash can leave in flight: a torn tail, cut.
        writeGroupStart(past, 2);
        LogRecovery.Result r = assertTimeoutPreemptively(BOUND, () -> LogRecovery.recover(dir));
        assertEquals(end, r.tail(), r.toString());
        assertEquals(end, Files.size(segment()));
        assertEquals(records.stream().map(ByteBuffer::rewind).toList(), recordsRead());
    }

    @Test
    void garbageBeforeALargeHoleIsATornTailCutInBoundedTime() throws Exception {
        // A torn group: a header claiming 100 MB (more than the search checksums directly: the range checksums
        // cover the rest of the file) with a wrong checksum, then a few garbage bytes, then the hole.
        List<ByteBuffer> records = appendAndClose(new AppendLogConfig(), 5, 300);
        long end = recordsEnd(records);
        extendToOneTiB();
        ByteBuffer garbage = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(RecordFrame.word(100_000_000, true, 4)).putInt(0x1234_5678);
        for (int i = 0; garbage.hasRemaining(); i++) {
            garbage.put((byte) (i * 37 + 11));
        }
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            ch.write(garbage.flip(), end);
        }
        LogRecovery.Result r = assertTimeoutPreemptively(BOUND, () -> LogRecovery.recover(dir));
        assertEquals(end, r.tail(), r.toString());
        assertTrue(r.tornTail(), r.toString());
        assertEquals(records.stream().map(ByteBuffer::rewind).toList(), recordsRead());
    }

    @Test
    void aHolePunchedUnderAcknowledgedRecordsIsStillCorruption() throws Exception {
        // 40 groups of about 1 KB: a 4 KiB block of them punched out (as a sparsifying copy of a damaged file
        // would leave), with more groups after it than a crash leaves in flight.
        List<ByteBuffer> records = appendAndClose(new AppendLogConfig(), 40, 1000);
        long end = recordsEnd(records);
        assertTrue(end > 5 * 4096, "records past the punched block: " + end);
        int fd = Libc.open(segment().toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "open: " + fd);
        try {
            int punched = Libc.fallocate(fd, 0x02 | 0x01, 2 * 4096, 4096); // FALLOC_FL_PUNCH_HOLE | KEEP_SIZE
            Assumptions.assumeTrue(punched == 0, "the file system cannot punch a hole: " + punched);
        } finally {
            Libc.close(fd);
        }
        extendToOneTiB();
        long firstHit = 0;
        for (ByteBuffer r : records) {
            long next = firstHit + RecordFrame.frameBytes(r.limit());
            if (next > 2 * 4096) {
                break;
            }
            firstHit = next;
        }
        long expected = firstHit;
        LogCorruptedException e = assertTimeoutPreemptively(BOUND,
                () -> assertThrows(LogCorruptedException.class, () -> LogRecovery.recover(dir)));
        assertEquals(expected, e.position(), e.getMessage());
        assertEquals(TIB, Files.size(segment()), "nothing modified");
    }

    @Test
    void scatteredBytesInALargeHoleCostAReadOfTheirBlocksNotOfAWindowEach() throws Exception {
        // One stray byte every GiB of the hole (about a thousand): the search for groups past the records must read
        // the blocks that hold them, not a whole 1 MiB window at each (1 GiB of the hole's zeros, as it did). The
        // bytes are not frames: a clean end, cut.
        List<ByteBuffer> records = appendAndClose(new AppendLogConfig(), 5, 300);
        long end = recordsEnd(records);
        extendToOneTiB();
        long spacing = 1L << 30;
        int strays = 0;
        try (FileChannel ch = FileChannel.open(segment(), StandardOpenOption.WRITE)) {
            for (long at = 2 * spacing + 4095; at < TIB; at += spacing) {
                ch.write(ByteBuffer.wrap(new byte[] {0x01}), at);
                strays++;
            }
        }
        // What a read of the data costs: the zero-filled 64 MiB (the scan, then the search), and per stray byte its
        // block and the check of the frames its header words claim (up to 64 KiB each, checksummed directly): about
        // 70 KiB. A 1 MiB window per stray byte was 1 GiB more.
        long bound = 2 * (64L << 20) + strays * (128L << 10);
        int stray = strays;
        assertTimeoutPreemptively(BOUND, () -> {
            try (SegmentFile file = SegmentFile.open(segment(), false)) {
                SegmentScanner scanner = new SegmentScanner(file, 0);
                SegmentScanner.Result scan = scanner.scan(0, Long.MAX_VALUE, null);
                assertEquals(end, scan.validEnd());
                SegmentScanner.Groups after = scanner.groupsAfter(scan.validEnd());
                assertEquals(0, after.groups(), after.toString());
                assertTrue(scanner.bytesRead() < bound, "read " + scanner.bytesRead() + " bytes, more than "
                        + bound + " for " + stray + " stray bytes");
            }
        });
        LogRecovery.Result r = assertTimeoutPreemptively(BOUND, () -> LogRecovery.recover(dir));
        assertEquals(end, r.tail(), r.toString());
        assertEquals(records.stream().map(ByteBuffer::rewind).toList(), recordsRead());
    }

    private static long recordsEnd(List<ByteBuffer> records) {
        long end = 0;
        for (ByteBuffer r : records) {
            end += RecordFrame.frameBytes(r.limit());
        }
        return end;
    }
}
