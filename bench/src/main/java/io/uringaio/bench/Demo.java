package io.uringaio.bench;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.UringIOException;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code ./uring-aio java io.uringaio.bench.Demo}: a short tour of the engine's rings on one file. Creates (or
 * reuses) a test file, copies it through {@link AsyncFile} at queue depth 32 with 128 KiB direct buffers, fdatasyncs
 * and verifies the copy by CRC32C, then runs 4 KiB page-cached random reads at queue depth 32 (raw requests, closed
 * loop) on one ring and on one ring per core, and prints MB/s, ops/s, SQEs per {@code io_uring_enter} and the backend.
 * The page-cache fast path is off here, so that every read goes through a ring (the tour is about the rings; the
 * benchmark harness measures the fast path).
 */
public final class Demo {
    static final int QUEUE_DEPTH = 32;
    static final int COPY_BUFFER_BYTES = 128 * 1024;
    static final int READ_BLOCK_BYTES = 4096;
    private static final int OFFSET_COUNT = 1 << 16;
    private static final long OFFSET_SEED = 42;

    private static final PrintStream OUT = System.out;

    /** The command as the launcher runs it: the prefix of error messages and the help's first line. */
    static final String COMMAND = "./uring-aio java io.uringaio.bench.Demo";

    /** Command-line options. */
    record Options(Path file, boolean fileGiven, long sizeMiB, double seconds, boolean quick) {
        /**
         * Reads the command line.
         *
         * @throws UsageException on a mistake (its message says which), or with a null message for {@code --help}
         */
        static Options parse(String[] args) {
            Command c = new Command();
            CommandLine line = new CommandLine(c);
            try {
                line.parseArgs(args);
            } catch (CommandLine.ParameterException e) {
                throw new UsageException(e.getMessage());
            }
            if (line.isUsageHelpRequested()) {
                throw new UsageException(null);
            }
            if (c.file != null && c.file.toString().isEmpty()) { // an unset variable: --file "$F"
                throw new UsageException("--file wants a path, got ''");
            }
            if (c.sizeMiB != null && (c.sizeMiB < 1 || c.sizeMiB > 1 << 20)) {
                throw new UsageException("--size wants a whole number in 1..1048576, got " + c.sizeMiB);
            }
            if (c.seconds != null && !(c.seconds > 0 && c.seconds <= 3600)) {
                throw new UsageException("--seconds wants a number of seconds in (0, 3600], got " + c.seconds);
            }
            long sizeMiB = c.sizeMiB != null ? c.sizeMiB : c.quick ? 32 : 256;
            double secs = c.seconds != null ? c.seconds : c.quick ? 1 : 5;
            Path file = c.file != null ? c.file : Path.of("bench-results", "bench-" + sizeMiB + "MiB.dat");
            return new Options(file, c.file != null, sizeMiB, secs, c.quick);
        }

        /** The generated help. */
        static String usage() {
            return new CommandLine(new Command()).getUsageMessage(CommandLine.Help.Ansi.OFF);
        }
    }

    /** The options as picocli reads them; {@link Options#parse} checks the ranges and fills in the defaults. */
    @CommandLine.Command(name = COMMAND, usageHelpWidth = 118, sortOptions = false, description = {
        "Copies a test file through the io_uring engine (queue depth 32, 128 KiB direct buffers, then fdatasync), "
                + "verifies the copy by CRC32C, then measures 4 KiB page-cached random reads at queue depth 32 with "
                + "one ring and with one ring per core. The benchmark that compares every API is ./uring-aio bench.",
        ""})
    static final class Command {
        @CommandLine.Option(names = "--file", paramLabel = "PATH", description = "the test file (default "
                + "bench-results/bench-<size>MiB.dat); reused if it has the size; its directory must exist; the copy "
                + "goes to PATH.copy and is deleted after verification")
        Path file;
        @CommandLine.Option(names = "--size", paramLabel = "MiB", description = "test file size in MiB (default 256)")
        Long sizeMiB;
        @CommandLine.Option(names = "--seconds", paramLabel = "N", converter = DecimalNumber.class,
                description = "duration of each random-read phase (default 5)")
        Double seconds;
        @CommandLine.Option(names = "--quick", description = "32 MiB file, 1 s phases: a smoke test for CI")
        boolean quick;
        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "this message")
        boolean help;
    }

    /** A command-line mistake: printed with the usage, exit status 2. A null message asks for the help. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** One random-read phase's outcome. */
    record ReadResult(int rings, long ops, double seconds, EngineStats stats, double cpuSeconds) {
        double opsPerSecond() {
            return ops / seconds;
        }

        /** Process CPU time per read: unlike ops/s, it does not depend on how much CPU other processes leave us. */
        double cpuNanosPerOp() {
            return cpuSeconds * 1e9 / ops;
        }

        /** Cores this process kept busy. */
        double coresUsed() {
            return cpuSeconds / seconds;
        }
    }

    /** This process's CPU time (user + system, all threads) in nanoseconds, or -1 where the JVM cannot tell. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    private Demo() {
    }

    public static void main(String[] args) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (UsageException e) {
            System.exit(explain(e, OUT, System.err));
            return;
        }
        try {
            run(options);
            System.exit(0);
        } catch (UnsupportedOperationException e) {
            System.err.println(COMMAND + ": " + e.getMessage());
            System.exit(1);
        } catch (Exception e) {
            Throwable t = unwrap(e);
            String detail;
            if (t instanceof UringIOException u) {
                detail = u.getMessage() + " [errno " + u.errno() + " " + u.errnoName() + "]";
            } else if (t instanceof FileSystemException fs) {
                String reason = fs.getReason() != null ? fs.getReason()
                        : t instanceof NoSuchFileException ? "no such file or directory (ENOENT)"
                        : t instanceof AccessDeniedException ? "permission denied (EACCES)"
                        : t instanceof FileAlreadyExistsException ? "file exists (EEXIST)"
                        : t.getClass().getSimpleName();
                detail = fs.getFile() + ": " + reason;
            } else if (t instanceof IOException) {
                detail = t.getMessage();
            } else {
                detail = t.toString();
            }
            System.err.println(COMMAND + ": " + detail);
            System.exit(1);
        }
    }

    /**
     * Says what {@link Options#parse} refused and returns the exit status: the usage on {@code out} and 0 for
     * {@code --help}; one line on {@code err} and 2 for a mistake (the usage after it would push it off the screen).
     */
    static int explain(UsageException e, PrintStream out, PrintStream err) {
        if (e.getMessage() == null) {
            out.print(Options.usage());
            return 0;
        }
        err.println(COMMAND + ": " + e.getMessage() + " (see --help)");
        return 2;
    }

    static void run(Options o) throws Exception {
        long sizeBytes = o.sizeMiB() * BenchFiles.MIB;
        Path source = o.file();
        Path copy = source.resolveSibling(source.getFileName() + ".copy");
        int cores = Runtime.getRuntime().availableProcessors();

        long t0 = System.nanoTime();
        // a given file's directory must exist; the default one is created
        boolean written = o.fileGiven() ? BenchFiles.prepare(source, sizeBytes)
                : BenchFiles.prepareWithDirectories(source, sizeBytes);
        OUT.printf(Locale.ROOT, "test file  %s (%d MiB) %s in %.1f s%n", source, o.sizeMiB(),
                written ? "written" : "reused", seconds(System.nanoTime() - t0));
        long sourceCrc = BenchFiles.crc32c(source); // also pulls the file into the page cache

        double copyMBps;
        String backend;
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(cores).pageCacheFastPath(false))) {
            backend = String.valueOf(engine.backend());
            OUT.println("engine     " + backend + ", " + engine.ringCount() + " rings: " + engine.backendReason());
            EngineStats before = engine.stats();
            long start = System.nanoTime();
            copy(engine, source, copy, sizeBytes);
            double copySeconds = seconds(System.nanoTime() - start);
            copyMBps = sizeBytes / 1e6 / copySeconds;
            EngineStats copyStats = engine.stats().since(before);
            OUT.printf(Locale.ROOT, "copy       %d MiB in %.2f s = %.0f MB/s (QD%d, %d KiB direct buffers, "
                            + "fdatasync included), %.1f SQEs/enter%n", o.sizeMiB(), copySeconds, copyMBps,
                    QUEUE_DEPTH, COPY_BUFFER_BYTES / 1024, copyStats.sqesPerEnter());
        }
        long copyCrc;
        try {
            copyCrc = BenchFiles.crc32c(copy);
        } finally {
            Files.deleteIfExists(copy); // checked or not, it goes: the message below says what differed
        }
        if (copyCrc != sourceCrc) {
            throw new IOException(String.format(Locale.ROOT, "verify %s: CRC32C %08x differs from the source's %08x",
                    copy, copyCrc, sourceCrc));
        }
        OUT.printf(Locale.ROOT, "verify     CRC32C %08x matches%n", sourceCrc);

        long[] offsets = BenchFiles.randomOffsets(sizeBytes, READ_BLOCK_BYTES, OFFSET_COUNT, OFFSET_SEED);
        List<ReadResult> results = new ArrayList<>();
        results.add(randomReads(source, offsets, 1, o));
        if (cores > 1) {
            results.add(randomReads(source, offsets, cores, o));
        }

        OUT.println();
        OUT.println("summary (backend " + backend + ", " + cores + " cores)");
        OUT.printf(Locale.ROOT, "  copy through AsyncFile, QD%d x %d KiB       %,12.0f MB/s%n", QUEUE_DEPTH,
                COPY_BUFFER_BYTES / 1024, copyMBps);
        for (ReadResult r : results) {
            OUT.printf(Locale.ROOT, "  4 KiB random reads, QD%d, %d ring%s       %,12.0f ops/s  %5.1f SQEs/enter"
                            + "  %5.0f ns CPU/op  %4.2f cores busy%n", QUEUE_DEPTH, r.rings(), r.rings() == 1 ? " " : "s",
                    r.opsPerSecond(), r.stats().sqesPerEnter(), r.cpuNanosPerOp(), r.coresUsed());
        }
        if (results.size() == 2) {
            OUT.printf(Locale.ROOT, "  %d rings / 1 ring                             %12.2fx%n", cores,
                    results.get(1).opsPerSecond() / results.get(0).opsPerSecond());
        }
    }

    /** Copies {@code source} to {@code target} with QUEUE_DEPTH lanes, each reading then writing one chunk at a time. */
    static void copy(RingEngine engine, Path source, Path target, long sizeBytes) throws Exception {
        AsyncFile in = engine.open(source, StandardOpenOption.READ).get(10, TimeUnit.SECONDS);
        AsyncFile out;
        try {
            out = engine.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                    StandardOpenOption.TRUNCATE_EXISTING).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            in.close();
            throw e; // nothing of ours to remove: the target could not be opened (a directory stays a directory)
        }
        target.toFile().deleteOnExit(); // a Ctrl-C during the copy
        try {
            copyLanes(in, out, sizeBytes);
        } catch (Exception | Error e) {
            // a part-written copy (a full disk, a source that shrank) is of no use and may hold the last free space
            try {
                Files.deleteIfExists(target);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static void copyLanes(AsyncFile in, AsyncFile out, long sizeBytes) throws Exception {
        try {
            AtomicLong nextChunk = new AtomicLong();
            CompletableFuture<?>[] lanes = new CompletableFuture<?>[QUEUE_DEPTH];
            for (int i = 0; i < QUEUE_DEPTH; i++) {
                CopyLane lane = new CopyLane(in, out, nextChunk, sizeBytes);
                lanes[i] = lane.done;
                lane.next();
            }
            CompletableFuture.allOf(lanes).get(10, TimeUnit.MINUTES);
            out.fdatasync().get(10, TimeUnit.MINUTES);
        } finally {
            in.close();
            out.close();
        }
    }

    /** One lane of the copy: take the next chunk, read it (all of it), write it (all of it), repeat. */
    private static final class CopyLane {
        final AsyncFile in;
        final AsyncFile out;
        final AtomicLong nextChunk;
        final long sizeBytes;
        final ByteBuffer buffer = BenchFiles.alignedDirect(COPY_BUFFER_BYTES);
        final CompletableFuture<Void> done = new CompletableFuture<>();
        long position;

        CopyLane(AsyncFile in, AsyncFile out, AtomicLong nextChunk, long sizeBytes) {
            this.in = in;
            this.out = out;
            this.nextChunk = nextChunk;
            this.sizeBytes = sizeBytes;
        }

        void next() {
            position = nextChunk.getAndIncrement() * COPY_BUFFER_BYTES;
            if (position >= sizeBytes) {
                done.complete(null);
                return;
            }
            buffer.clear().limit((int) Math.min(COPY_BUFFER_BYTES, sizeBytes - position));
            read();
        }

        void read() {
            in.read(buffer, position + buffer.position()).whenComplete((n, e) -> {
                if (e != null) {
                    done.completeExceptionally(unwrap(e));
                } else if (n < 0) {
                    done.completeExceptionally(new IOException("read " + in.path() + ": unexpected end of file at "
                            + (position + buffer.position()) + " (did the file shrink?)"));
                } else if (buffer.hasRemaining()) {
                    read();
                } else {
                    buffer.flip();
                    write();
                }
            });
        }

        void write() {
            out.write(buffer, position + buffer.position()).whenComplete((n, e) -> {
                if (e != null) {
                    done.completeExceptionally(unwrap(e));
                } else if (buffer.hasRemaining()) {
                    write();
                } else {
                    next();
                }
            });
        }
    }

    /** Random 4 KiB reads at QD32 on an engine of {@code rings} rings: a warm-up, then the measured phase. */
    static ReadResult randomReads(Path file, long[] offsets, int rings, Options o) throws Exception {
        String label = rings + (rings == 1 ? " ring " : " rings");
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(rings).pageCacheFastPath(false));
             AsyncFile f = engine.open(file, StandardOpenOption.READ).get(10, TimeUnit.SECONDS)) {
            RandomReadLoop loop = new RandomReadLoop(engine, f.fd(), READ_BLOCK_BYTES, offsets, QUEUE_DEPTH);
            loop.start();
            sleepSeconds(o.quick() ? 0.2 : Math.min(1.0, o.seconds() / 3));
            checkLoop(loop, file);

            EngineStats statsStart = engine.stats();
            long opsStart = loop.completedPublished();
            long cpuStart = processCpuNanos();
            long start = System.nanoTime();
            long lastOps = opsStart;
            long lastTick = start;
            long end = start + (long) (o.seconds() * 1e9);
            long tickNanos = TimeUnit.MILLISECONDS.toNanos(o.seconds() <= 2 ? 250 : 1000);
            while (true) {
                long now = System.nanoTime();
                if (now >= end) {
                    break;
                }
                sleepSeconds(seconds(Math.min(tickNanos, end - now)));
                checkLoop(loop, file);
                now = System.nanoTime();
                long ops = loop.completedPublished();
                OUT.printf(Locale.ROOT, "  random reads, %s  %5.2f s  %,12.0f ops/s%n", label, seconds(now - start),
                        (ops - lastOps) / seconds(now - lastTick));
                lastOps = ops;
                lastTick = now;
            }
            long ops = loop.completedPublished() - opsStart;
            double elapsed = seconds(System.nanoTime() - start);
            double cpu = seconds(processCpuNanos() - cpuStart);
            EngineStats stats = engine.stats().since(statsStart);
            loop.stop();
            checkLoop(loop, file);
            ReadResult result = new ReadResult(rings, ops, elapsed, stats, cpu);
            OUT.printf(Locale.ROOT, "random reads, %s: %,.0f ops/s over %.2f s, %.1f SQEs/enter (%d SQEs, %d enters), "
                            + "%.0f ns CPU/op, %.2f cores busy%n", label, result.opsPerSecond(), elapsed,
                    stats.sqesPerEnter(), stats.sqesSubmitted(), stats.enterCalls(), result.cpuNanosPerOp(),
                    result.coresUsed());
            return result;
        }
    }

    private static void checkLoop(RandomReadLoop loop, Path file) throws IOException {
        String failure = loop.failure();
        if (failure != null) {
            throw new IOException("random reads of " + file + ": " + failure);
        }
    }

    private static void sleepSeconds(double s) throws InterruptedException {
        TimeUnit.NANOSECONDS.sleep((long) (s * 1e9));
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
