package io.uringaio.storage.bench;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.sys.Libc;
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
 *   group commit, 2 in flight   AppendLog.append(record).join()       (the default: pipelined groups)
 *   group commit, 1 in flight   the same with maxGroupsInFlight(1)    (one flush at a time)
 *   engine per record           AsyncFile.writeDurable(frame, own position).join()  (write + fdatasync linked)
 *   engine per record, serial   the same, one appender at a time (a lock around it): no two syncs overlap
 *   FileChannel per record      FileChannel.write(frame, own position); force(false)
 *   glibc AIO per record        aio_write(frame, own position); aio_fsync(O_DSYNC); aio_suspend until both are done
 * </pre>
 *
 * <p>Every contender writes the same frames (record + 8-byte header) into files laid out the same way: preallocated
 * with {@code fallocate}, then written with zeros over their whole size and {@code fsync}ed, as the log's segments are
 * ({@link AppendLogConfig#zeroFill}); so no {@code fdatasync} in any contender carries an extent conversion. The
 * per-record contenders let every appender write at its own reserved position and sync on its own, concurrently, as
 * appenders would without group commit; the kernel may then merge their syncs (ext4 shares a journal commit, the block
 * layer merges pending cache flushes), which is group commit by the kernel. The serial variant shows one
 * {@code fdatasync} per record with nothing to merge.
 *
 * <p>Per case the report gives records/s, latency percentiles, records per {@code fdatasync} (the log's groups), and
 * the device's cache flushes per second and their mean time from {@code /proc/diskstats} (the whole device: other
 * processes' flushes count too).
 *
 * <p>Usage: {@code AppendBench [--dir D] [--seconds S] [--warmup S] [--record-bytes N] [--appenders 1,8,64]
 * [--runs R] [--only name,name]}; each case runs R times and the median run (by records/s) is reported. Names:
 * group2, group1, engine, serial, channel, glibc.
 */
public final class AppendBench {
    /** The per-record contenders' file, zero-filled; they wrap around inside it. */
    private static final long PREALLOCATED_BYTES = 64L << 20;
    /** The log's segments. */
    private static final long SEGMENT_BYTES = 64L << 20;

    private record Result(String contender, int appenders, double recordsPerSecond, Histogram latency,
                          double recordsPerSync, double appendCallNanos, double flushesPerSecond,
                          double flushMillis) {
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
        List<String> only = List.of(options.getOrDefault("--only", "group2,group1,engine,serial,channel,glibc")
                .split(","));
        System.out.println("device of " + root + ": " + DiskStats.deviceOf(root) + "; load average "
                + Files.readString(Path.of("/proc/loadavg")).trim());
        List<Result> results = new ArrayList<>();
        try (RingEngine engine = RingEngine.open()) {
            System.out.println("engine backend " + engine.backend() + ", " + engine.ringCount() + " rings");
            for (int appenders : appenderCounts) {
                if (only.contains("group2")) {
                    results.add(median(runs, () -> runCase("group commit, 2 in flight", appenders, recordBytes,
                            seconds, warmup, root, groupCommit(engine, fresh(root, "log"), 2))));
                }
                if (only.contains("group1")) {
                    results.add(median(runs, () -> runCase("group commit, 1 in flight", appenders, recordBytes,
                            seconds, warmup, root, groupCommit(engine, fresh(root, "log"), 1))));
                }
                if (only.contains("engine")) {
                    results.add(median(runs, () -> runCase("engine write+fdatasync per record", appenders,
                            recordBytes, seconds, warmup, root, enginePerRecord(engine, fresh(root, "engine"), false))));
                }
                if (only.contains("serial")) {
                    results.add(median(runs, () -> runCase("engine per record, serialized", appenders,
                            recordBytes, seconds, warmup, root, enginePerRecord(engine, fresh(root, "serial"), true))));
                }
                if (only.contains("channel")) {
                    results.add(median(runs, () -> runCase("FileChannel write+force(false)", appenders, recordBytes,
                            seconds, warmup, root, fileChannel(fresh(root, "channel")))));
                }
                if (only.contains("glibc")) {
                    if (GlibcAioSync.UNAVAILABLE != null) {
                        System.out.println("glibc POSIX AIO skipped: " + GlibcAioSync.UNAVAILABLE);
                    } else {
                        results.add(median(runs, () -> runCase("glibc aio_write+aio_fsync(O_DSYNC)", appenders,
                                recordBytes, seconds, warmup, root, glibcAio(fresh(root, "glibc")))));
                    }
                }
            }
        } finally {
            deleteTree(root);
        }
        report(results);
        System.out.println("load average at the end " + Files.readString(Path.of("/proc/loadavg")).trim());
    }

    private static Path fresh(Path root, String prefix) {
        return root.resolve(prefix + "-" + System.nanoTime());
    }

    // ---------------------------------------------------------------- contenders

    private static Contender groupCommit(RingEngine engine, Path dir, int inFlight) throws IOException {
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(SEGMENT_BYTES)
                .maxGroupsInFlight(inFlight));
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

    private static Contender enginePerRecord(RingEngine engine, Path path, boolean serial) throws Exception {
        prepareFile(path);
        AsyncFile file = engine.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE).get();
        AtomicLong tail = new AtomicLong();
        Object oneAtATime = new Object();
        return new Contender() {
            @Override
            public Appender appender() {
                ByteBuffer frame = ByteBuffer.allocateDirect(64 << 10);
                return record -> {
                    ByteBuffer f = frame(frame, record);
                    if (serial) {
                        synchronized (oneAtATime) {
                            writeDurable(file, f, reserve(tail, f.remaining()));
                        }
                    } else {
                        writeDurable(file, f, reserve(tail, f.remaining()));
                    }
                };
            }

            @Override
            public void close() throws Exception {
                file.close();
            }
        };
    }

    private static void writeDurable(AsyncFile file, ByteBuffer frame, long position) {
        int n = frame.remaining();
        int written = file.writeDurable(frame, position).join();
        if (written != n) {
            throw new IllegalStateException("short write: " + written + " of " + n);
        }
    }

    private static Contender fileChannel(Path path) throws IOException {
        prepareFile(path);
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
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

    private static Contender glibcAio(Path path) throws IOException {
        prepareFile(path);
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IOException("open " + path + ": errno " + -fd);
        }
        AtomicLong tail = new AtomicLong();
        List<GlibcAioSync> all = java.util.Collections.synchronizedList(new ArrayList<>());
        return new Contender() {
            @Override
            public Appender appender() {
                ByteBuffer frame = ByteBuffer.allocateDirect(64 << 10);
                long address = java.lang.foreign.MemorySegment.ofBuffer(frame).address();
                GlibcAioSync aio = new GlibcAioSync();
                all.add(aio);
                return record -> {
                    ByteBuffer f = frame(frame, record);
                    try {
                        aio.writeDurable(fd, address, f.remaining(), reserve(tail, f.remaining()));
                    } catch (Exception | Error e) {
                        throw e;
                    } catch (Throwable t) {
                        throw new IllegalStateException(t);
                    }
                };
            }

            @Override
            public void close() {
                Libc.close(fd);
                all.forEach(GlibcAioSync::close);
            }
        };
    }

    /**
     * The log's segment layout, blocking: fallocate mode 0, zeros written over the whole file, fsync (as
     * {@code LogSegment.prepare} with the default config).
     */
    private static void prepareFile(Path path) throws IOException {
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        if (fd < 0) {
            throw new IOException("open " + path + ": errno " + -fd);
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int res = Libc.fallocate(fd, 0, 0, PREALLOCATED_BYTES);
            if (res < 0) {
                throw new IOException("fallocate " + path + ": errno " + -res);
            }
            java.lang.foreign.MemorySegment zeros = arena.allocate(1 << 20, 4096);
            for (long offset = 0; offset < PREALLOCATED_BYTES; ) {
                long n = Libc.pwrite(fd, zeros.address(), Math.min(1 << 20, PREALLOCATED_BYTES - offset), offset);
                if (n < 0) {
                    throw new IOException("pwrite " + path + ": errno " + -n);
                }
                offset += n;
            }
            res = Libc.fsync(fd);
            if (res < 0) {
                throw new IOException("fsync " + path + ": errno " + -res);
            }
        } finally {
            Libc.close(fd);
        }
        int dir = Libc.open(path.getParent().toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (dir >= 0) {
            Libc.fsync(dir);
            Libc.close(dir);
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
            System.out.printf("  run %d: %-36s %3d appenders  %9.0f records/s  p99 %8.0f us  %6.1f recs/sync"
                            + "  %6.0f flushes/s%n", i + 1, r.contender(), r.appenders(), r.recordsPerSecond(),
                    r.latency().getValueAtPercentile(99) / 1e3, r.recordsPerSync(), r.flushesPerSecond());
            all.add(r);
        }
        all.sort(Comparator.comparingDouble(Result::recordsPerSecond));
        return all.get((all.size() - 1) / 2);
    }

    private static Result runCase(String name, int appenders, int recordBytes, double seconds, double warmup,
                                  Path root, Contender contender) throws Exception {
        String device = DiskStats.deviceOf(root);
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
            long[] before = null;
            long[] after = null;
            long sleep = warmupEnd - System.nanoTime();
            if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
            }
            before = DiskStats.flushes(device);
            sleep = end - System.nanoTime();
            if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
            }
            after = DiskStats.flushes(device);
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
            double flushesPerSecond = Double.NaN;
            double flushMillis = Double.NaN;
            if (before != null && after != null) {
                long flushes = after[0] - before[0];
                flushesPerSecond = flushes / seconds;
                flushMillis = flushes == 0 ? Double.NaN : (double) (after[1] - before[1]) / flushes;
            }
            return new Result(name, appenders, total / seconds, all, contender.recordsPerSync(),
                    contender.appendCallNanos(), flushesPerSecond, flushMillis);
        }
    }

    private static void report(List<Result> results) {
        System.out.println();
        System.out.printf("%-36s %9s %11s %8s %8s %9s %9s %10s %9s %9s %8s%n", "contender", "appenders", "records/s",
                "p50 us", "p99 us", "p99.9 us", "max us", "recs/sync", "flushes/s", "flush us", "call ns");
        for (Result r : results) {
            Histogram h = r.latency();
            System.out.printf("%-36s %9d %11.0f %8.0f %8.0f %9.0f %9.0f %10.1f %9.0f %9.0f %8s%n", r.contender(),
                    r.appenders(), r.recordsPerSecond(), h.getValueAtPercentile(50) / 1e3,
                    h.getValueAtPercentile(99) / 1e3, h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3,
                    r.recordsPerSync(), r.flushesPerSecond(), r.flushMillis() * 1e3,
                    Double.isNaN(r.appendCallNanos()) ? "-" : String.format("%.0f", r.appendCallNanos()));
        }
        System.out.println("recs/sync: records per fdatasync (1 by construction for the per-record contenders);"
                + " flushes/s, flush us: the device's cache flushes (/proc/diskstats) during the measured seconds");
        System.out.println();
        for (Result group : results) {
            if (!group.contender().startsWith("group commit")) {
                continue;
            }
            for (Result other : results) {
                if (other.appenders() == group.appenders() && !other.contender().startsWith("group commit")) {
                    System.out.printf("%-26s / %-36s at %2d appenders: %5.1fx records/s%n", group.contender(),
                            other.contender(), group.appenders(), group.recordsPerSecond() / other.recordsPerSecond());
                }
            }
        }
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: AppendBench [--dir D] [--seconds S] [--warmup S]"
                        + " [--record-bytes N] [--appenders 1,8,64] [--runs R] [--only group2,group1,engine,serial,channel,glibc]; bad argument " + args[i]);
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
