package io.uringaio.bench.jmh;

import io.uringaio.bench.BenchFiles;

import java.io.IOException;
import java.nio.file.Path;

/** The file every random-read benchmark reads, and the offsets they all read, so their figures compare. */
final class BenchmarkFile {
    static final int BLOCK_BYTES = 4096;
    static final int OFFSET_COUNT = 1 << 16;
    static final long OFFSET_SEED = 42;

    private BenchmarkFile() {
    }

    /** Creates (or reuses) bench-results/bench-{@code sizeMiB}MiB.dat, the file {@code ./uring-aio bench} uses too. */
    static Path prepare(int sizeMiB) throws IOException {
        Path path = Path.of("bench-results", "bench-" + sizeMiB + "MiB.dat");
        BenchFiles.prepareWithDirectories(path, (long) sizeMiB * BenchFiles.MIB);
        BenchFiles.crc32c(path); // pull it into the page cache
        return path;
    }

    static long[] offsets(int sizeMiB) {
        return BenchFiles.randomOffsets((long) sizeMiB * BenchFiles.MIB, BLOCK_BYTES, OFFSET_COUNT, OFFSET_SEED);
    }
}
