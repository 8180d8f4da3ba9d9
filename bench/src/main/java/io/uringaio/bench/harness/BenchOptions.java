package io.uringaio.bench.harness;

import io.uringaio.bench.DecimalNumber;

import picocli.CommandLine;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The command line of {@code ./uring-aio bench}.
 *
 * @param fileGiven whether {@code --file} named the file (then its directory must exist; the default one is created)
 * @param outGiven  whether {@code --out} named the report directory (then its parent must exist)
 */
public record BenchOptions(Path root, Path file, boolean fileGiven, long sizeMiB, double seconds,
                           double warmupSeconds, boolean quick, Path out, boolean outGiven, String only,
                           String workloads, boolean quiet, boolean list, int rounds) {

    static final long DEFAULT_SIZE_MIB = 1024;
    static final long QUICK_SIZE_MIB = 64;
    static final double DEFAULT_SECONDS = 5;
    static final double QUICK_SECONDS = 2;
    static final double DEFAULT_WARMUP_SECONDS = 1;
    static final double QUICK_WARMUP_SECONDS = 0.5;

    /** The generated help: {@code ./uring-aio bench --help}. */
    static String usage() {
        return new CommandLine(new Command()).getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    /** A command-line mistake: printed as one line, exit status 2. A null message asks for the help. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    /** The options as picocli reads them; {@link #parse} checks the ranges and fills in the defaults. */
    @CommandLine.Command(name = "./uring-aio bench", usageHelpWidth = 118, sortOptions = false,
            description = {
                "Runs every workload through every contender (io_uring engine, POSIX facade, thread pools, glibc "
                        + "POSIX AIO, the JDK's AsynchronousFileChannel and FileChannel, the same channels from the "
                        + "uring provider, fio, RocksDB's WAL) on one file, side by side, and writes report.json, "
                        + "report.md (the tables) and chart.svg. Contenders that cannot run here are listed as skipped with the reason.", ""})
    static final class Command {
        @CommandLine.Option(names = "--quick", description = "64 MiB file, 2 s per trial after 0.5 s of warm-up (CI)")
        boolean quick;
        @CommandLine.Option(names = "--out", paramLabel = "DIR", description = "where the report goes (default "
                + "bench-results/<date-time>/ in the repository); created if missing, its parent must exist")
        Path out;
        @CommandLine.Option(names = "--file", paramLabel = "PATH", description = "the test file, e.g. on another "
                + "file system (default bench-results/bench-<size>MiB.dat); created once (or when its size differs) "
                + "and reused; it is written by the write workloads; its directory must exist")
        Path file;
        @CommandLine.Option(names = "--size", paramLabel = "MiB", description = "test file size (default 1024; 64 "
                + "with --quick)")
        Long sizeMiB;
        @CommandLine.Option(names = "--seconds", paramLabel = "N", converter = DecimalNumber.class,
                description = "measured seconds per trial (default 5; 2 with --quick)")
        Double seconds;
        @CommandLine.Option(names = "--warmup", paramLabel = "N", converter = DecimalNumber.class,
                description = "warm-up seconds per trial, not measured (default 1; 0.5 with --quick)")
        Double warmup;
        @CommandLine.Option(names = "--rounds", paramLabel = "N", description = "run the whole matrix N times, "
                + "contenders interleaved, and report each cell's median-IOPS round (default 1): steadier numbers "
                + "on a shared machine")
        int rounds = 1;
        @CommandLine.Option(names = "--only", paramLabel = "NAMES", description = "comma-separated contenders "
                + "(see --list)")
        String only;
        @CommandLine.Option(names = "--workloads", paramLabel = "NAMES", description = "comma-separated workloads "
                + "or families (see --list), e.g. append or randread")
        String workloads;
        @CommandLine.Option(names = "--list", description = "list contenders and workloads, then exit")
        boolean list;
        @CommandLine.Option(names = "--quiet", description = "no progress line")
        boolean quiet;
        @CommandLine.Option(names = {"-h", "--help"}, usageHelp = true, description = "this message")
        boolean help;
    }

    /**
     * Reads the command line; the default file and report directory are under {@code root}/bench-results.
     *
     * @throws UsageException on a mistake (its message says which), or with a null message for {@code --help}
     */
    static BenchOptions parse(String[] args, Path root) {
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
        checkNotEmpty("--file", c.file);
        checkNotEmpty("--out", c.out);
        if (c.sizeMiB != null) {
            check("--size", c.sizeMiB, 1, 1 << 20, true);
        }
        if (c.seconds != null) {
            check("--seconds", c.seconds, 0.05, 3600, false);
        }
        if (c.warmup != null) {
            check("--warmup", c.warmup, 0, 3600, false);
        }
        check("--rounds", c.rounds, 1, 100, true);
        long sizeMiB = c.sizeMiB != null ? c.sizeMiB : c.quick ? QUICK_SIZE_MIB : DEFAULT_SIZE_MIB;
        Path file = c.file != null ? c.file : root.resolve("bench-results").resolve("bench-" + sizeMiB + "MiB.dat");
        Path out = c.out != null ? c.out : root.resolve("bench-results")
                .resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        List<Workload> workloads;
        try {
            workloads = Workload.select(c.workloads);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        // a misspelt name fails here, with the others
        checkSomethingRuns(selectContenders(BenchMain.contenders(), c.only), workloads);
        return new BenchOptions(root, file, c.file != null, sizeMiB,
                c.seconds != null ? c.seconds : c.quick ? QUICK_SECONDS : DEFAULT_SECONDS,
                c.warmup != null ? c.warmup : c.quick ? QUICK_WARMUP_SECONDS : DEFAULT_WARMUP_SECONDS, c.quick, out,
                c.out != null, c.only, c.workloads, c.quiet, c.list, c.rounds);
    }

    /** The contenders named by {@code --only} (all when absent), in {@code all}'s order. */
    static List<Contender> selectContenders(List<Contender> all, String only) {
        if (only == null) {
            return all;
        }
        List<String> names = java.util.Arrays.stream(only.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).toList();
        String known = String.join(",", all.stream().map(Contender::name).toList());
        for (String n : names) {
            if (all.stream().noneMatch(c -> c.name().equals(n))) {
                throw new UsageException("unknown contender '" + n + "'; known: " + known);
            }
        }
        if (names.isEmpty()) {
            throw new UsageException("--only names no contender; known: " + known);
        }
        return all.stream().filter(c -> names.contains(c.name())).toList();
    }

    /** At least one selected contender must run one selected workload: else the run would report nothing. */
    static void checkSomethingRuns(List<Contender> contenders, List<Workload> workloads) {
        if (contenders.stream().anyMatch(c -> workloads.stream().anyMatch(c::appliesTo))) {
            return;
        }
        List<String> what = contenders.stream().map(c -> c.name() + " runs " + Workload.names(
                Workload.ALL.stream().filter(c::appliesTo).toList())).toList();
        throw new UsageException("no selected contender runs a selected workload: " + String.join("; ", what));
    }

    /** An empty path is the working directory to Java: from a shell it is an unset variable ({@code --file "$F"}). */
    private static void checkNotEmpty(String option, Path path) {
        if (path != null && path.toString().isEmpty()) {
            throw new UsageException(option + " wants a path, got ''");
        }
    }

    private static void check(String option, double v, double min, double max, boolean whole) {
        if (!(v >= min && v <= max)) {
            throw new UsageException(option + " wants " + (whole ? "a whole number" : "a number") + " in "
                    + plain(min) + ".." + plain(max) + ", got " + plain(v));
        }
    }

    /** 1.0 as "1", 0.05 as "0.05"; NaN and the infinities (which BigDecimal refuses) as Java spells them. */
    static String plain(double v) {
        if (!Double.isFinite(v)) {
            return Double.toString(v);
        }
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
