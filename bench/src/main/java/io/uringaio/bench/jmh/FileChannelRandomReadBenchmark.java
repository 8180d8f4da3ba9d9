package io.uringaio.bench.jmh;

import io.uringaio.bench.BenchFiles;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The baseline for {@link EngineRandomReadBenchmark}: the same 4 KiB page-cached random reads of the same file at the
 * same offsets, as blocking {@code FileChannel.read(buf, pos)} (pread) from 32 threads, i.e. queue depth 32 the
 * thread-per-request way. One op = one read; ops/s is summed over the threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Threads(32)
public class FileChannelRandomReadBenchmark {
    @Param({"256"})
    public int fileMiB;

    FileChannel channel;
    long[] offsets;
    int offsetMask;
    final AtomicInteger readers = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        channel = FileChannel.open(BenchmarkFile.prepare(fileMiB), StandardOpenOption.READ);
        offsets = BenchmarkFile.offsets(fileMiB);
        offsetMask = offsets.length - 1;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
    }

    /** One reader thread's buffer and place in the offset table. */
    @State(Scope.Thread)
    public static class Reader {
        final ByteBuffer buffer = BenchFiles.alignedDirect(BenchmarkFile.BLOCK_BYTES);
        int cursor;

        @Setup(Level.Trial)
        public void setUp(FileChannelRandomReadBenchmark b) {
            cursor = b.readers.getAndIncrement() * (b.offsets.length / 32);
        }
    }

    @Benchmark
    public int pread(Reader r) throws IOException {
        int n = channel.read(r.buffer.clear(), offsets[r.cursor++ & offsetMask]);
        if (n != BenchmarkFile.BLOCK_BYTES) {
            throw new IOException("short read: " + n);
        }
        return n;
    }
}
