package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;
import io.uringaio.bench.FileErrors;

import com.sun.nio.file.ExtendedOpenOption;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code ./uring-aio bench}: every workload through every contender on one file, then the report. Workloads run
 * one after the other (reads first), and within a workload every contender in turn, so that they all see the same
 * file and cache state. A contender that cannot run here is listed as skipped with the reason; one that fails
 * during a trial is listed as failed with the error; either way the run goes on and succeeds.
 */
public final class BenchMain {
    private static final long SEED = 42;
    private static final PrintStream OUT = System.out;
    /** Held so the level sticks: the engine logs its backend choice at INFO on every open, once per trial here. */
    private static final Logger ENGINE_LOG = Logger.getLogger("io.uringaio.engine");
    /**
     * The report directory this run created, until the report is in it: removed (when empty) by a failure or an
     * interrupt. Static as {@link Scratch}: the shutdown hook that cleans up after a Ctrl-C reads it.
     */
    private static final AtomicReference<Path> CREATED_OUT = new AtomicReference<>();

    private BenchMain() {
    }

    /** Every contender, in report order. */
    static List<Contender> contenders() {
        int cores = Runtime.getRuntime().availableProcessors();
        return List.of(
                EngineContender.ioUring("engine-1ring", 1),
                EngineContender.ioUring(Report.ENGINE, cores),
                new EngineBlockingContender(cores),
                new FacadeContender("facade", FacadeContender.Mode.SUSPEND, cores),
                new FacadeContender("facade-lio", FacadeContender.Mode.LIO, cores),
                EngineContender.threadPool("engine-threadpool"),
                new GlibcAioContender(),
                new AsyncFileChannelContender(),
                new AsyncFileChannelContender(ChannelSource.URING),
                new FileChannelContender(false),
                new FileChannelContender(true),
                new FileChannelContender(ChannelSource.URING, false),
                new FileChannelContender(ChannelSource.URING, true),
                new FioContender("io_uring"),
                new FioContender("posixaio"),
                new AppendLogContender(AppendLogContender.Mode.ASYNC),
                new AppendLogContender(AppendLogContender.Mode.THREADS),
                new RocksDbWalContender());
    }

    public static void main(String[] args) {
        Path root = Path.of(System.getProperty("uringaio.root", ".")).toAbsolutePath().normalize();
        System.exit(execute(args, root, OUT, System.err));
    }

    /**
     * The command: parses {@code args}, runs, and returns the exit status: 0 done (or {@code --help}, on
     * {@code out}), 2 a command-line mistake, 1 a file that cannot be used.
     */
    static int execute(String[] args, Path root, PrintStream out, PrintStream err) {
        BenchOptions options;
        try {
            options = BenchOptions.parse(args, root);
        } catch (BenchOptions.UsageException e) {
            if (e.getMessage() == null) {
                out.print(BenchOptions.usage());
                return 0;
            }
            // One line: the help after it would push the mistake off the screen.
            err.println("uring-aio bench: " + e.getMessage() + " (see --help)");
            return 2;
        }
        Progress progress = Progress.stderr(options.quiet());
        Thread onInterrupt = new Thread(() -> err.println(interrupted(progress)), "bench-interrupted");
        Runtime.getRuntime().addShutdownHook(onInterrupt); // runs only if the JVM ends before run() returns
        try {
            run(options, progress, out);
            return 0;
        } catch (IOException e) {
            err.println("uring-aio bench: " + e.getMessage());
            return 1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(onInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C as the run ended: the hook is running and says so; no stack trace on top of it
            }
        }
    }

    /**
     * The run was cut short (Ctrl-C, SIGTERM): stops fio, removes the trials' temporary files and directories and the
     * report directory if this run created it and it is still empty, and returns the line that says so.
     */
    static String interrupted(Progress progress) {
        progress.stop(); // first: the main thread must not go on to a report while the files go
        List<String> left = Scratch.cleanUp();
        removeCreatedOutputIfEmpty();
        String where = progress.begun() == 0 ? "before the first trial"
                : "in trial " + progress.begun() + " of " + progress.planned();
        return "uring-aio bench: interrupted " + where + ": no report written; " + (left.isEmpty()
                ? "temporary files removed" : "could not remove " + String.join(", ", left));
    }

    /**
     * Once the run is cut short, the main thread waits here for the JVM to halt (which it does when the shutdown hook
     * is done): a trial that failed because its fio was killed must not be reported, nor a half report written.
     */
    private static void haltIfStopped(Progress progress) {
        while (progress.stopped()) {
            try {
                Thread.sleep(Long.MAX_VALUE);
            } catch (InterruptedException e) {
                // the JVM is exiting anyway
            }
        }
    }

    /** Runs the benchmark and writes the report; returns it. */
    static Report run(BenchOptions o, Progress progress, PrintStream out) throws IOException {
        return run(o, progress, out, BenchMain::directRefusal);
    }

    /**
     * Why {@code file} cannot be opened O_DIRECT (its file system refuses it: ramfs, tmpfs before Linux 6.6, some
     * FUSE), as {@code "open(O_DIRECT) <file>: <ERRNO (message)>"}; null when it can.
     */
    static String directRefusal(Path file) {
        try (FileChannel ignored = FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
            return null;
        } catch (IOException e) {
            return FileErrors.failed("open(O_DIRECT)", file, e).getMessage();
        }
    }

    static Report run(BenchOptions o, Progress progress, PrintStream out, Function<Path, String> directProbe)
            throws IOException {
        try {
            Report report = runAndReport(o, progress, out, directProbe);
            CREATED_OUT.set(null); // written: the report's now
            return report;
        } catch (IOException | RuntimeException | Error e) {
            removeCreatedOutputIfEmpty(); // a failed run leaves no empty directory behind it
            throw e;
        }
    }

    private static Report runAndReport(BenchOptions o, Progress progress, PrintStream out,
                                       Function<Path, String> directProbe) throws IOException {
        ENGINE_LOG.setLevel(Level.WARNING);
        List<Contender> selected = BenchOptions.selectContenders(contenders(), o.only());
        List<Workload> workloads = Workload.select(o.workloads());
        if (o.list()) {
            for (Contender c : contenders()) {
                out.printf(Locale.ROOT, "%-22s %s%n", c.name(), c.description());
            }
            out.println();
            for (Workload w : Workload.ALL) {
                out.printf(Locale.ROOT, "%-26s %s%n", w.name(), w.description());
            }
            return null;
        }
        String started = ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME);
        long fileBytes = o.sizeMiB() * BenchFiles.MIB;
        prepareOutput(o); // before the run: an unwritable report directory must not cost the whole run
        long t0 = System.nanoTime();
        // A file cut short by a Ctrl-C while it is written is removed (not a directory in the way: that stays).
        boolean writing = !BenchFiles.reusable(o.file(), fileBytes)
                && (Files.isRegularFile(o.file()) || !Files.exists(o.file(), LinkOption.NOFOLLOW_LINKS));
        if (writing) {
            Scratch.track(o.file());
        }
        boolean created;
        try {
            // said once the file is open for writing, not above a refusal (a missing directory, ENOSPC)
            created = prepareFile(o, fileBytes, () -> progress.line("writing the test file " + o.file() + " ("
                    + o.sizeMiB() + " MiB)")); // a GiB takes a while
        } finally {
            if (writing) {
                Scratch.untrack(o.file());
            }
        }
        // the seconds as given: "%.1f" announced 0.05 s trials as 0.1 s
        out.printf(Locale.ROOT, "uring-aio bench: %s %s (%d MiB) in %.1f s; %s x %s, %s s warm-up + %s s each, %s; "
                        + "report in %s%n",
                created ? "created" : "reusing", o.file(), o.sizeMiB(), (System.nanoTime() - t0) / 1e9,
                count(workloads.size(), "workload"), count(selected.size(), "contender"),
                BenchOptions.plain(o.warmupSeconds()), BenchOptions.plain(o.seconds()), count(o.rounds(), "round"),
                o.out());
        Scratch.removeStale(o.file()).forEach(progress::line); // what a killed run left beside the file
        Machine machine = Machine.describe(o.file());

        // Once for all contenders: otherwise each fails every O_DIRECT trial with its own spelling of EINVAL.
        String directRefused = workloads.stream().anyMatch(Workload::direct) ? directProbe.apply(o.file()) : null;
        if (directRefused != null) {
            progress.line("skipping the O_DIRECT workloads: " + directRefused);
        }
        List<Report.Entry> entries = new ArrayList<>();
        List<Contender> runnable = new ArrayList<>();
        for (Contender c : selected) {
            String why = c.unavailableReason();
            entries.add(new Report.Entry(c.name(), c.description(), why));
            if (why == null) {
                runnable.add(c);
            } else {
                progress.line("skipping " + c.name() + ": " + why);
            }
        }
        TrialContext context = new TrialContext(o.file(), fileBytes, o.warmupSeconds(), o.seconds(), SEED, progress);
        int pairs = 0;
        for (Workload w : workloads) {
            for (Contender c : runnable) {
                pairs += c.appliesTo(w) ? 1 : 0;
            }
        }
        progress.plan(o.rounds() * pairs);
        Map<String, List<Result>> trials = new LinkedHashMap<>();
        for (int round = 0; round < o.rounds(); round++) {
            for (Workload w : workloads) {
                for (Contender c : runnable) {
                    if (!c.appliesTo(w)) {
                        continue;
                    }
                    List<Result> cell = trials.computeIfAbsent(w.name() + "/" + c.name(), k -> new ArrayList<>());
                    String unsupported = w.direct() && directRefused != null ? directRefused
                            : c.unsupportedReason(w);
                    if (unsupported != null) {
                        cell.add(Result.skipped(c.name(), w.name(), unsupported));
                        continue;
                    }
                    prepareTrial(w, o.file());
                    haltIfStopped(progress);
                    cell.add(runOne(c, w, context, progress));
                }
            }
        }
        haltIfStopped(progress);
        List<Result> results = new ArrayList<>();
        for (List<Result> cell : trials.values()) {
            results.add(Result.median(cell));
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("file", o.file().toAbsolutePath().toString());
        settings.put("fileMiB", o.sizeMiB());
        settings.put("measureSeconds", o.seconds());
        settings.put("warmupSeconds", o.warmupSeconds());
        settings.put("quick", o.quick());
        settings.put("rounds", o.rounds());
        settings.put("seed", SEED);
        settings.put("loadAverageAtEnd", Machine.currentLoadAverage());
        Report report = new Report(started, settings, machine, entries, workloads, results, caveats(o, machine));
        report.write(o.out());
        out.println();
        out.print(report.markdown());
        out.printf(Locale.ROOT, "%nwrote %s, %s, %s%n", o.out().resolve("report.json"), o.out().resolve("report.md"),
                o.out().resolve("chart.svg"));
        return report;
    }

    /**
     * Creates the report directory if missing (with its parents for the default one; only the directory itself for
     * a given {@code --out}, whose parent must exist) and checks that a file can be written into it.
     */
    static void prepareOutput(BenchOptions o) throws IOException {
        Path out = o.out();
        CREATED_OUT.set(null);
        boolean existed = Files.isDirectory(out);
        if (!o.outGiven()) {
            BenchFiles.createDirectories(out);
        } else if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new IOException("use " + out + " for the report: ENOTDIR (Not a directory): it is a file");
        } else if (!Files.exists(out)) {
            try {
                Files.createDirectory(out);
            } catch (IOException e) {
                throw FileErrors.failed("create directory", out, e);
            }
        }
        if (!existed) {
            CREATED_OUT.set(out);
        }
        try {
            Files.delete(Files.createTempFile(out, ".uring-aio-bench-", ".probe"));
        } catch (IOException e) {
            removeCreatedOutputIfEmpty();
            throw FileErrors.failed("write a file in", out, e);
        }
    }

    /**
     * Removes the report directory {@link #prepareOutput} created, if it is still empty: a run that fails or is cut
     * short before its report leaves nothing (a half-written report is kept, and so is a directory that was there).
     */
    static void removeCreatedOutputIfEmpty() {
        Path created = CREATED_OUT.getAndSet(null);
        if (created == null) {
            return;
        }
        try {
            Files.deleteIfExists(created); // only when empty
        } catch (IOException e) {
            // not empty, or not ours to remove any more: keep it
        }
    }

    /**
     * Creates (or reuses) the test file. The default file's directory is created; a {@code --file}'s directory must
     * exist (a mistyped path is an error, not a new directory tree). The file must open read-write.
     *
     * @return whether the file was (re)written
     */
    static boolean prepareFile(BenchOptions o, long fileBytes) throws IOException {
        return prepareFile(o, fileBytes, () -> { });
    }

    /** {@link #prepareFile(BenchOptions, long)}, calling {@code writing} once the file is open for writing. */
    static boolean prepareFile(BenchOptions o, long fileBytes, Runnable writing) throws IOException {
        boolean written = o.fileGiven() ? BenchFiles.prepare(o.file(), fileBytes, writing)
                : BenchFiles.prepareWithDirectories(o.file(), fileBytes, writing);
        // Every contender opens it read-write (the read workloads too): a reused read-only file fails here, once.
        try (FileChannel ignored = FileChannel.open(o.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return written;
        } catch (IOException e) {
            throw FileErrors.failed("open", o.file(), e, "read-write (the bench writes it)");
        }
    }

    /** "1 round", "3 rounds". */
    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    private static Result runOne(Contender c, Workload w, TrialContext context, Progress progress) {
        try {
            Result r = c.run(w, context);
            progress.line(String.format(Locale.ROOT, "%-20s %-25s %,12.0f IOPS  p50 %8.1f µs  p99 %8.1f µs",
                    c.name(), w.name(), r.iops(), r.latency().p50Micros(), r.latency().p99Micros()));
            return r;
        } catch (Exception | Error e) {
            haltIfStopped(progress); // failed because the run is being cut short (fio killed): not a result
            String why = "failed: " + (e.getMessage() != null ? e.getMessage() : e.toString());
            progress.line(c.name() + " " + w.name() + " " + why);
            return Result.skipped(c.name(), w.name(), why);
        }
    }

    /**
     * Puts the test file in the state every trial of {@code w} starts from, before the trial's clock starts: none of
     * its pages dirty (for every workload), and for a page-cached read workload, the whole file in the page cache.
     */
    static void prepareTrial(Workload w, Path file) throws IOException {
        // A trial must not pay for the writeback of the one before it: the buffered writes of randwrite-qd32 leave up
        // to the whole file dirty (far below the dirty ratios, and dirty_expire is 30 s), the first fdatasync of the
        // next trial writes all of it back (1-2 s for 1 GiB here, every lane waiting) and an O_DIRECT read first
        // writes back the dirty pages of its range. That cost fell on whichever contender came first.
        BenchFiles.flush(file);
        if (!w.direct() && !w.op().writes()) {
            BenchFiles.crc32c(file); // into the page cache (again: a write workload may have run)
        }
    }

    static List<String> caveats(BenchOptions o, Machine machine) {
        List<String> c = new ArrayList<>();
        if (!machine.hypervisor().equals("no")) {
            c.add("This is a virtual machine: O_DIRECT bypasses this kernel's page cache, but the host may still cache "
                    + "a " + o.sizeMiB() + " MiB file, so O_DIRECT numbers may be host-cache speed, not device speed.");
        }
        c.add("Page-cached workloads read the whole file once before each trial, so it sits in the page cache. "
                + "Every trial starts with none of the file's pages dirty (an fdatasync before it, not timed): the "
                + "first contender after a buffered write workload does not write back its predecessors' pages.");
        c.add("glibc POSIX AIO runs at most one request per file descriptor at a time (its queue is per fd), "
                + "with its default aio_init (20 threads).");
        c.add("Each trial: " + o.warmupSeconds() + " s warm-up (not recorded), then " + o.seconds()
                + " s measured, closed loop at the workload's queue depth. Latency is submission to completion "
                + "as the caller sees it (HdrHistogram); for fio, its lat_ns."
                + (o.rounds() > 1 ? " The matrix ran " + o.rounds() + " times, contenders interleaved; each cell shows"
                        + " its median-IOPS round (ratios are of those medians)." : ""));
        c.add("Machine load average at start: " + machine.loadAverage()
                + " (other processes share these cores: compare runs, take medians).");
        return c;
    }
}
