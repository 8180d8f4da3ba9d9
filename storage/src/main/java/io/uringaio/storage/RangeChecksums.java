package io.uringaio.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * The CRC32C of any byte range of a file region in near-constant time, for {@link SegmentScanner#groupsAfter}: its
 * search tries a frame at every byte offset after a bad one, and a header read from garbage (a torn group's payload,
 * stale or flipped bytes) claims a length of up to 128 MiB that mostly fits in a preallocated segment. Checksummed
 * byte by byte, each such candidate costs its whole length, and the search costs the square of the garbage: a torn
 * 1 MiB group in a 64 MiB segment took hours to recover. Here the region is checksummed once, keeping the running
 * CRC every {@link #STRIDE} bytes, and a range's CRC comes from the two running values around it:
 *
 * <pre>
 *   crc(A ‖ B) = crc(A) · x^(8·|B|)  mod P  ⊕  crc(B)
 * </pre>
 *
 * (CRC32C's initial value and final xor are equal, so they cancel), that is {@code crc(B) = run(end) ⊕
 * shift(run(start), |B|)}, where {@code run} at a point between two kept values costs at most one read and CRC of
 * {@link #STRIDE} bytes, and {@link #shift} a few dozen carry-less multiplications.
 */
final class RangeChecksums {
    /** Bytes between two kept running values: the most a range's end (or start) costs to read and checksum. */
    static final int STRIDE = 4096;
    /** CRC32C's polynomial, bit-reversed (bit 31 is x^0, bit 0 is x^31; x^32 is implied). */
    private static final int POLY = 0x82F63B78;
    /** x^(2^k) mod P, for k = 0..63. */
    private static final int[] X_POW_2K = new int[64];

    static {
        int p = 1 << 30; // x^1
        for (int k = 0; k < X_POW_2K.length; k++) {
            X_POW_2K[k] = p;
            p = multiply(p, p);
        }
    }

    private final FileChannel channel;
    private final long from;
    private final long end;
    /** {@code running[k]}: the CRC32C of the region's bytes {@code [from, from + k * STRIDE)}. */
    private final int[] running;
    private final ByteBuffer block = ByteBuffer.allocate(STRIDE);
    private final CRC32C crc = new CRC32C();

    private RangeChecksums(FileChannel channel, long from, long end, int[] running) {
        this.channel = channel;
        this.from = from;
        this.end = end;
        this.running = running;
    }

    /** Reads the region {@code [from, end)} of {@code channel} once (1 MiB reads) and keeps its running CRCs. */
    static RangeChecksums of(FileChannel channel, long from, long end) throws IOException {
        int[] running = new int[(int) ((end - from) / STRIDE) + 1];
        CRC32C crc = new CRC32C();
        ByteBuffer chunk = ByteBuffer.allocate(256 * STRIDE);
        long at = from;
        int k = 1;
        while (at < end) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), end - at));
            int read = channel.read(chunk, at);
            if (read <= 0) {
                throw new IOException("segment shrank under recovery: no byte at offset " + at);
            }
            chunk.flip();
            // Feed it stride by stride, to keep the running value at each stride boundary.
            while (chunk.hasRemaining()) {
                long nextKept = from + (long) k * STRIDE;
                int n = (int) Math.min(chunk.remaining(), nextKept - at);
                crc.update(chunk.slice(chunk.position(), n));
                chunk.position(chunk.position() + n);
                at += n;
                if (at == nextKept) {
                    running[k++] = (int) crc.getValue();
                }
            }
        }
        return new RangeChecksums(channel, from, end, running);
    }

    /** The CRC32C of the bytes {@code [start, stop)}, {@code from <= start <= stop <= end} of the region. */
    int crcOf(long start, long stop) throws IOException {
        assert from <= start && start <= stop && stop <= end : start + ".." + stop + " outside " + from + ".." + end;
        return runningAt(stop) ^ shift(runningAt(start), stop - start);
    }

    /** The CRC32C of {@code [from, at)}: the kept value before {@code at}, continued over the bytes up to it. */
    private int runningAt(long at) throws IOException {
        int k = (int) ((at - from) / STRIDE);
        long kept = from + (long) k * STRIDE;
        if (at == kept) {
            return running[k];
        }
        block.clear().limit((int) (at - kept));
        while (block.hasRemaining()) {
            if (channel.read(block, kept + block.position()) <= 0) {
                throw new IOException("segment shrank under recovery: no byte at offset " + (kept + block.position()));
            }
        }
        crc.reset();
        crc.update(block.flip());
        return shift(running[k], at - kept) ^ (int) crc.getValue();
    }

    /** {@code crc · x^(8·bytes) mod P}: the CRC32C of a message followed by {@code bytes} more, minus theirs. */
    static int shift(int crc, long bytes) {
        long exponent = bytes << 3;
        int result = crc;
        for (int k = 0; exponent != 0; k++, exponent >>>= 1) {
            if ((exponent & 1) != 0) {
                result = multiply(result, X_POW_2K[k]);
            }
        }
        return result;
    }

    /** {@code a · b mod P}, both bit-reversed. */
    private static int multiply(int a, int b) {
        int product = 0;
        for (int bit = 31; bit >= 0 && a != 0; bit--) { // a's term x^(31 - bit) ...
            if ((a >>> bit & 1) != 0) {
                product ^= b;
                a &= ~(1 << bit);
            }
            b = (b >>> 1) ^ ((b & 1) != 0 ? POLY : 0); // ... and b times x, for the next term
        }
        return product;
    }
}
