package io.uringaio.storage.bench;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.storage.AppendLog;
import io.uringaio.storage.AppendLogConfig;
import io.uringaio.storage.AppendLogStats;
import io.uringaio.storage.RecordFrame;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.HdrHistogram.Histogram;

/**
 * Durable appends per second and their latency: {@link AppendLog}'s group commit against one {@code fdatasync} per
 * record, with 1, 8 and 64 appender threads in a closed loop (each appends, waits until durable, appends again).
 *
 * <pre>
 *   group commit        AppendLog.append(record).join()
 *   engine per-record   AsyncFile.writeDurable(frame, position).join()   (write + fdatasync linked, per record)
 *   FileChannel         FileChannel.write(frame, position); force(false)  (per record)
 * </pre>
 *
 * All write the same frames (record + 8-byte header) into files preallocated the same way, on the same file system.
 * glibc POSIX AIO ({@code aio_write} + {@code aio_fsync(O_DSYNC)}) is not here yet: it needs FFM bindings of glibc's
 * {@code struct aiocb}, which the benchmark harness will bring.
 *
 * <p>Usage: {@code AppendBench [--dir D] [--seconds S] [--warmup S] [--record-bytes N] [--appenders 1,8,64]
 * [--runs R]}; each case runs R times and the median run (by records/s) is reported.
 */
public final class AppendBench {
    private static final long PREALLOCATED_BYTES = 256L << 20;

    private record Result(String contender, int appenders, double recordsPerSecond, Histogram latency,
                          double recordsPerSync, double appendCallNanos) {
    }

    private interface Appender {
        /** Appends one record and waits until it is durable. */
        void appendDurably(ByteBuffer record) throws Exception;
    }

    private interface Contender extends AutoCloseable {
        Appender appender();

        default double recordsPerSync() {
            return 1;
        }

        default double appendCallNanos() {
            return Double.NaN;
        }

        @Override
        void close() throws Exception;
    }

    private AppendBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path root = Path.of(options.getOrDefault("--dir", System.getProperty("java.io.tmpdir")))
                .resolve("uring-aio-append-bench-" + ProcessHandle.current().pid());
        double seconds = Double.parseDouble(options.getOrDefault("--seconds", "3"));
        double warmup = Double.parseDouble(options.getOrDefault("--warmup", "1"));
        int recordBytes = Integer.parseInt(options.getOrDefault("--record-bytes", "100"));
        int runs = Integer.parseInt(options.getOrDefault("--runs", "2"));
        int[] appenderCounts = Stream.of(options.getOrDefault("--appenders", "1,8,64").split(","))
                .mapToInt(Integer::parseInt).toArray();
        Files.createDirectories(root);
        System.out.printf("AppendBench: %d-byte records (%d-byte frames), %.1f s per case after %.1f s warm-up, median"
                        + " of %d runs, in %s (%d cores)%n", recordBytes, RecordFrame.frameBytes(recordBytes), seconds,
                warmup, runs, root, Runtime.getRuntime().availableProcessors());
        List<Result> results = new ArrayList<>();
        try (RingEngine engine = RingEngine.open()) {
            System.out.println("engine backend " + engine.backend() + ", " + engine.ringCount() + " rings");
            for (int appenders : appenderCounts) {
                results.add(median(runs, () -> runCase("group commit (AppendLog)", appenders, recordBytes, seconds,
                        warmup, groupCommit(engine, root.resolve("log-" + appenders + "-" + System.nanoTime())))));
                results.add(median(runs, () -> runCase("engine write+fdatasync per record", appenders, recordBytes,
                        seconds, warmup, enginePerRecord(engine, root.resolve("engine-" + System.nanoTime())))));
                results.add(median(runs, () -> runCase("FileChannel write+force(false)", appenders, recordBytes,
                        seconds, warmup, fileChannel(root.resolve("channel-" + System.nanoTime())))));
            }
        } finally {
            deleteTree(root);
        }
        report(results);
    }

    // ---------------------------------------------------------------- contenders

    private static Contender groupCommit(RingEngine engine, Path dir) throws IOException {
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(PREALLOCATED_BYTES));
        AtomicLong callNanos = new AtomicLong();
        AtomicLong calls = new AtomicLong();
        return new Contender() {
            @Override
            public Appender appender() {
                return record -> {
                    long start = System.nanoTime();
                    var future = log.append(record);
                    callNanos.addAndGet(System.nanoTime() - start);
                    calls.incrementAndGet();
                    future.join();
                };
            }

            @Override
            public double recordsPerSync() {
                AppendLogStats stats = log.stats();
                return stats.recordsPerGroup();
            }

            @Override
            public double appendCallNanos() {
                return (double) callNanos.get() / Math.max(1, calls.get());
            }

            @Override
            public void close() throws Exception {
                log.close();
            }
        };
    }

    private static Contender enginePerRecord(RingEngine engine, Path path) throws Exception {
        AsyncFile file = engine.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.CREATE).get();
        file.fallocate(0, 0, PREALLOCATED_BYTES).get();
        file.fsync().get();
        AtomicLong tail = new AtomicLong();
        return new Contender() {
            @Override
            public Appender appender() {
                ByteBuffer frame = ByteBuffer.allocateDirect(64 << 10);
                return record -> {
                    ByteBuffer f = frame(frame, record);
                    file.writeDurable(f, reserve(tail, f.remaining())).join();
                };
            }

            @Override
            public void close() throws Exception {
                file.close();
            }
        };
    }

    private static Contender fileChannel(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.CREATE);
        try (var raf = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(0);
        }
        preallocate(path);
        AtomicLong tail = new AtomicLong();
        return new Contender() {
            @Override
            public Appender appender() {
                ByteBuffer frame = ByteBuffer.allocateDirect(64 << 10);
                return record -> {
                    ByteBuffer f = frame(frame, record);
                    long position = reserve(tail, f.remaining());
                    while (f.hasRemaining()) {
                        position += channel.write(f, position);
                    }
                    channel.force(false);
                };
            }

            @Override
            public void close() throws IOException {
                channel.close();
            }
        };
    }

    /** The same preallocation as the log's: fallocate mode 0, then fsync. */
    private static void preallocate(Path path) throws IOException {
        int fd = io.uringaio.engine.sys.Libc.open(path.toString(), io.uringaio.engine.sys.Libc.O_RDWR, 0);
        if (fd < 0) {
            throw new IOException("open " + path + ": errno " + -fd);
        }
        try {
            int res = io.uringaio.engine.sys.Libc.fallocate(fd, 0, 0, PREALLOCATED_BYTES);
            if (res < 0) {
                throw new IOException("fallocate " + path + ": errno " + -res);
            }
            io.uringaio.engine.sys.Libc.fsync(fd);
        } finally {
            io.uringaio.engine.sys.Libc.close(fd);
        }
    }

    /** A frame like the log's (length, a checksum, the record), in the appender's own direct buffer. */
    private static ByteBuffer frame(ByteBuffer frame, ByteBuffer record) {
        frame.clear();
        frame.putInt(record.remaining()).putInt(RecordFrame.checksum(record, 0)).put(record.duplicate());
        return frame.flip();
    }

    /** The next position, wrapping inside the preallocated region. */
    private static long reserve(AtomicLong tail, int bytes) {
        long p = tail.getAndAdd(bytes);
        return p % (PREALLOCATED_BYTES - (64 << 10));
    }

    // ---------------------------------------------------------------- running

    private interface CaseRun {
        Result run() throws Exception;
    }

    private static Result median(int runs, CaseRun run) throws Exception {
        List<Result> all = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            Result r = run.run();
            System.out.printf("  run %d: %-36s %3d appenders  %9.0f records/s  p99 %8.0f us%n", i + 1, r.contender(),
                    r.appenders(), r.recordsPerSecond(), r.latency().getValueAtPercentile(99) / 1e3);
            all.add(r);
        }
        all.sort(Comparator.comparingDouble(Result::recordsPerSecond));
        return all.get((all.size() - 1) / 2);
    }

    private static Result runCase(String name, int appenders, int recordBytes, double seconds, double warmup,
                                  Contender contender) throws Exception {
        try (contender) {
            long warmupEnd = System.nanoTime() + (long) (warmup * 1e9);
            long end = warmupEnd + (long) (seconds * 1e9);
            List<Histogram> histograms = new ArrayList<>();
            long[] counts = new long[appenders];
            CountDownLatch done = new CountDownLatch(appenders);
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < appenders; t++) {
                Histogram h = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
                histograms.add(h);
                int id = t;
                Appender appender = contender.appender();
                ByteBuffer record = ByteBuffer.allocateDirect(recordBytes);
                for (int i = 0; i < recordBytes; i++) {
                    record.put(i, (byte) (id + i));
                }
                Thread.ofPlatform().name("appender-" + t).start(() -> {
                    try {
                        long n = 0;
                        while (true) {
                            long start = System.nanoTime();
                            if (start >= end) {
                                break;
                            }
                            appender.appendDurably(record);
                            long now = System.nanoTime();
                            if (start >= warmupEnd) {
                                h.recordValue(Math.min(now - start, h.getHighestTrackableValue()));
                                n++;
                            }
                        }
                        counts[id] = n;
                    } catch (Throwable e) {
                        errors.add(e);
                    } finally {
                        done.countDown();
                    }
                });
            }
            if (!done.await((long) (warmup + seconds) + 60, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + ": appenders did not finish within a minute of the end");
            }
            if (!errors.isEmpty()) {
                throw new IllegalStateException(name + " failed: " + errors.getFirst(), errors.getFirst());
            }
            Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            histograms.forEach(all::add);
            long total = 0;
            for (long c : counts) {
                total += c;
            }
            return new Result(name, appenders, total / seconds, all, contender.recordsPerSync(),
                    contender.appendCallNanos());
        }
    }

    private static void report(List<Result> results) {
        System.out.println();
        System.out.printf("%-36s %9s %12s %9s %9s %9s %9s %12s %10s%n", "contender", "appenders", "records/s",
                "p50 us", "p99 us", "p99.9 us", "max us", "recs/fsync", "call ns");
        for (Result r : results) {
            Histogram h = r.latency();
            System.out.printf("%-36s %9d %12.0f %9.0f %9.0f %9.0f %9.0f %12.1f %10s%n", r.contender(), r.appenders(),
                    r.recordsPerSecond(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                    h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3, r.recordsPerSync(),
                    Double.isNaN(r.appendCallNanos()) ? "-" : String.format("%.0f", r.appendCallNanos()));
        }
        System.out.println();
        for (Result group : results) {
            if (!group.contender().startsWith("group commit")) {
                continue;
            }
            for (Result other : results) {
                if (other.appenders() == group.appenders() && other != group) {
                    System.out.printf("group commit / %-34s at %2d appenders: %5.1fx records/s%n", other.contender(),
                            group.appenders(), group.recordsPerSecond() / other.recordsPerSecond());
                }
            }
        }
        System.out.println("glibc POSIX AIO (aio_write + aio_fsync(O_DSYNC)): not measured here; needs the harness's"
                + " FFM bindings of struct aiocb");
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: AppendBench [--dir D] [--seconds S] [--warmup S]"
                        + " [--record-bytes N] [--appenders 1,8,64] [--runs R]; bad argument " + args[i]);
            }
            options.put(args[i], args[++i]);
        }
        return options;
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
