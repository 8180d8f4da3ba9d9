package io.uringaio.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * {@link #STRIDE} bytes, and {@link #shift} a few dozen carry-less multiplications. A hole of the file (see
 * {@link SegmentFile}) is neither read nor kept: its bytes are zeros, whose CRC32C is {@link #zeros}, so a range over
 * a TiB-long hole costs what a range over data does.
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
    /** The region's pieces in order, data or hole, and their starts (to find a point's piece). */
    private final Piece[] pieces;
    private final long[] starts;
    private final ByteBuffer block = ByteBuffer.allocate(STRIDE);
    private final CRC32C crc = new CRC32C();

    /**
     * A piece {@code [start, stop)} of the region: {@code before} is the CRC32C of the region's bytes before it
     * ({@code [from, start)}); for data, {@code local[k]} is the CRC32C of its own bytes {@code [start, start + k *
     * STRIDE)}; null for a hole, whose bytes are all zeros: their CRC32C needs neither a read nor memory.
     */
    private record Piece(long start, long stop, int before, int[] local) {
    }

    private RangeChecksums(FileChannel channel, long from, long end, List<Piece> pieces) {
        this.channel = channel;
        this.from = from;
        this.end = end;
        this.pieces = pieces.toArray(new Piece[0]);
        this.starts = new long[this.pieces.length];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = this.pieces[i].start;
        }
    }

    /** {@link #of(SegmentFile, long, long)} on a channel whose holes are not known: every byte is read. */
    static RangeChecksums of(FileChannel channel, long from, long end) throws IOException {
        return of(SegmentFile.of(channel), from, end);
    }

    /**
     * Reads the data of the region {@code [from, end)} of {@code file} once (1 MiB reads) and keeps its running CRCs;
     * its holes are neither read nor kept (a segment extended by {@code ftruncate} to a TiB is one hole).
     */
    static RangeChecksums of(SegmentFile file, long from, long end) throws IOException {
        List<Piece> pieces = new ArrayList<>();
        ByteBuffer chunk = ByteBuffer.allocate(256 * STRIDE);
        CRC32C crc = new CRC32C();
        long at = from;
        int before = 0; // the CRC32C of [from, at)
        while (at < end) {
            long data = Math.min(file.nextData(at), end);
            long stop;
            int own;
            if (data > at) {
                stop = data;
                own = zeros(stop - at);
                pieces.add(new Piece(at, stop, before, null));
            } else {
                long hole = file.nextHole(at);
                stop = hole <= at ? end : Math.min(hole, end); // a hole where data was just found: a race, read on
                crc.reset();
                pieces.add(new Piece(at, stop, before, readData(file.channel, chunk, crc, at, stop)));
                own = (int) crc.getValue();
            }
            before = shift(before, stop - at) ^ own;
            at = stop;
        }
        return new RangeChecksums(file.channel, from, end, pieces);
    }

    /**
     * Reads {@code [start, stop)} into {@code crc} (reset) and returns its running values at each stride from
     * {@code start}.
     */
    private static int[] readData(FileChannel channel, ByteBuffer chunk, CRC32C crc, long start, long stop)
            throws IOException {
        int[] local = new int[(int) ((stop - start) / STRIDE) + 1];
        long at = start;
        int k = 1;
        while (at < stop) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), stop - at));
            int read = channel.read(chunk, at);
            if (read <= 0) {
                throw new IOException("segment shrank under recovery: no byte at offset " + at);
            }
            chunk.flip();
            // Feed it stride by stride, to keep the running value at each stride boundary.
            while (chunk.hasRemaining()) {
                long nextKept = start + (long) k * STRIDE;
                int n = (int) Math.min(chunk.remaining(), nextKept - at);
                crc.update(chunk.slice(chunk.position(), n));
                chunk.position(chunk.position() + n);
                at += n;
                if (at == nextKept) {
                    local[k++] = (int) crc.getValue();
                }
            }
        }
        return local;
    }

    /** The CRC32C of {@code bytes} zero bytes: CRC32C's initial value shifted over them, then its final xor. */
    static int zeros(long bytes) {
        return shift(0xFFFFFFFF, bytes) ^ 0xFFFFFFFF;
    }

    /** The CRC32C of the bytes {@code [start, stop)}, {@code from <= start <= stop <= end} of the region. */
    int crcOf(long start, long stop) throws IOException {
        assert from <= start && start <= stop && stop <= end : start + ".." + stop + " outside " + from + ".." + end;
        return runningAt(stop) ^ shift(runningAt(start), stop - start);
    }

    /** The CRC32C of {@code [from, at)}: its piece's {@code before}, continued over the piece's bytes up to it. */
    private int runningAt(long at) throws IOException {
        if (at == from) {
            return 0;
        }
        int i = Arrays.binarySearch(starts, at);
        Piece piece = pieces[i >= 0 ? i - 1 : -i - 2]; // the piece that ends at or runs across at
        long n = at - piece.start;
        return shift(piece.before, n) ^ (piece.local == null ? zeros(n) : localAt(piece, n));
    }

    /** The CRC32C of a data piece's first {@code n} bytes: the kept value before them, continued over the rest. */
    private int localAt(Piece piece, long n) throws IOException {
        int k = (int) (n / STRIDE);
        long kept = piece.start + (long) k * STRIDE;
        int rest = (int) (n - (long) k * STRIDE);
        if (rest == 0) {
            return piece.local[k];
        }
        block.clear().limit(rest);
        while (block.hasRemaining()) {
            if (channel.read(block, kept + block.position()) <= 0) {
                throw new IOException("segment shrank under recovery: no byte at offset " + (kept + block.position()));
            }
        }
        crc.reset();
        crc.update(block.flip());
        return shift(piece.local[k], rest) ^ (int) crc.getValue();
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
