package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The range checksums agree with CRC32C over the same bytes, at and around every kind of boundary. */
class RangeChecksumsTest {
    @TempDir
    Path dir;

    private static int crc32c(byte[] bytes, int start, int stop) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, start, stop - start);
        return (int) crc.getValue();
    }

    @Test
    void shiftAppendsZeroCostConcatenation() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 200; i++) {
            byte[] a = new byte[random.nextInt(100)];
            byte[] b = new byte[random.nextInt(3000)];
            random.nextBytes(a);
            random.nextBytes(b);
            byte[] ab = new byte[a.length + b.length];
            System.arraycopy(a, 0, ab, 0, a.length);
            System.arraycopy(b, 0, ab, a.length, b.length);
            assertEquals(crc32c(ab, 0, ab.length),
                    RangeChecksums.shift(crc32c(a, 0, a.length), b.length) ^ crc32c(b, 0, b.length));
        }
        assertEquals(0, RangeChecksums.shift(0, 1 << 30), "the empty message stays empty");
    }

    @Test
    void anyRangeOfARegionHasItsCrc32c() throws Exception {
        SplittableRandom random = new SplittableRandom(7);
        int size = 5 * RangeChecksums.STRIDE + 123;
        byte[] file = new byte[size];
        random.nextBytes(file);
        java.util.Arrays.fill(file, 3 * RangeChecksums.STRIDE, 4 * RangeChecksums.STRIDE + 5, (byte) 0); // some zeros
        Path path = dir.resolve("region");
        Files.write(path, file);
        int from = 77;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            RangeChecksums ranges = RangeChecksums.of(channel, from, size);
            int[] edges = {from, from + 1, from + RangeChecksums.STRIDE - 1, from + RangeChecksums.STRIDE,
                    from + RangeChecksums.STRIDE + 1, from + 3 * RangeChecksums.STRIDE, size - 1, size};
            for (int start : edges) {
                for (int stop : edges) {
                    if (start <= stop) {
                        assertEquals(crc32c(file, start, stop), ranges.crcOf(start, stop), start + ".." + stop);
                    }
                }
            }
            for (int i = 0; i < 500; i++) {
                int start = from + random.nextInt(size - from + 1);
                int stop = start + random.nextInt(size - start + 1);
                assertEquals(crc32c(file, start, stop), ranges.crcOf(start, stop), start + ".." + stop);
            }
        }
        assertEquals(size, Files.size(path), "read only");
        ByteBuffer check = ByteBuffer.wrap(Files.readAllBytes(path));
        assertEquals(ByteBuffer.wrap(file), check);
    }

    @Test
    void zerosIsTheCrc32cOfZeroBytes() {
        for (int n : new int[] {0, 1, 7, 4095, 4096, 4097, 100_000}) {
            assertEquals(crc32c(new byte[n], 0, n), RangeChecksums.zeros(n), n + " zeros");
        }
    }

    @Test
    void rangesAcrossHolesHaveTheirCrc32cWithoutReadingTheHoles() throws Exception {
        // Data, a hole of a few MiB, data not on a stride, a hole to the end: every range, holes included, has the
        // CRC32C of its bytes (the holes' zeros).
        SplittableRandom random = new SplittableRandom(11);
        int size = 6 << 20;
        byte[] file = new byte[size];
        byte[] first = new byte[3 * RangeChecksums.STRIDE + 17];
        byte[] second = new byte[2 * RangeChecksums.STRIDE + 5];
        random.nextBytes(first);
        random.nextBytes(second);
        int secondAt = (4 << 20) + 3;
        System.arraycopy(first, 0, file, 0, first.length);
        System.arraycopy(second, 0, file, secondAt, second.length);
        Path path = dir.resolve("sparse");
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.wrap(first), 0);
            channel.write(ByteBuffer.wrap(second), secondAt);
            channel.write(ByteBuffer.wrap(new byte[] {0}), size - 1); // the size; the rest stays a hole
        }
        int from = 5;
        try (SegmentFile segment = SegmentFile.open(path, false)) {
            RangeChecksums ranges = RangeChecksums.of(segment, from, size);
            int[] edges = {from, first.length - 1, first.length, first.length + 1, 1 << 20, secondAt - 1, secondAt,
                    secondAt + RangeChecksums.STRIDE, secondAt + second.length, (5 << 20) + 1, size - 1, size};
            for (int start : edges) {
                for (int stop : edges) {
                    if (start <= stop) {
                        assertEquals(crc32c(file, start, stop), ranges.crcOf(start, stop), start + ".." + stop);
                    }
                }
            }
            for (int i = 0; i < 300; i++) {
                int start = from + random.nextInt(size - from + 1);
                int stop = start + random.nextInt(size - start + 1);
                assertEquals(crc32c(file, start, stop), ranges.crcOf(start, stop), start + ".." + stop);
            }
        }
    }
}
