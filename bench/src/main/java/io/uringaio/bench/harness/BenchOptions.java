package io.uringaio.bench.harness;

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

    static final String USAGE = """
            usage: ./uring-aio bench [--quick] [--out DIR] [--file PATH] [--size MiB] [--seconds N] [--warmup N]
                                     [--rounds N] [--only NAMES] [--workloads NAMES] [--list] [--quiet] [--help]

            Runs every workload through every contender (io_uring engine, POSIX facade, thread pools, glibc POSIX
            AIO, the JDK's AsynchronousFileChannel and FileChannel, fio) on one file, side by side, and writes
            report.json, report.md (the tables) and chart.svg. Contenders that cannot run here are listed as skipped
            with the reason.

              --quick            64 MiB file, 2 s per trial after 0.5 s of warm-up (CI)
              --out DIR          where the report goes (default bench-results/<date-time>/ in the repository);
                                 created if missing, its parent must exist
              --file PATH        the test file, e.g. on another file system (default bench-results/bench-<size>MiB.dat);
                                 created once (or when its size differs) and reused; it is written by the write
                                 workloads; its directory must exist
              --size MiB         test file size (default 1024; 64 with --quick)
              --seconds N        measured seconds per trial (default 5; 2 with --quick)
              --warmup N         warm-up seconds per trial, not measured (default 1; 0.5 with --quick)
              --rounds N         run the whole matrix N times, contenders interleaved, and report each cell's
                                 median-IOPS round (default 1): steadier numbers on a shared machine
              --only NAMES       comma-separated contenders (see --list)
              --workloads NAMES  comma-separated workloads or families (see --list), e.g. append or randread
              --list             list contenders and workloads, then exit
              --quiet            no progress line
              --help             this message
            """;

    /** A command-line mistake: printed with the usage, exit status 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    static BenchOptions parse(String[] args, Path root) {
        Path file = null;
        Path out = null;
        Long size = null;
        Double seconds = null;
        Double warmup = null;
        boolean quick = false;
        boolean quiet = false;
        boolean list = false;
        String only = null;
        String workloads = null;
        int rounds = 1;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--help", "-h" -> throw new UsageException(null);
                case "--quick" -> quick = true;
                case "--quiet" -> quiet = true;
                case "--list" -> list = true;
                case "--file" -> file = Path.of(value(args, ++i, a));
                case "--out" -> out = Path.of(value(args, ++i, a));
                case "--size" -> size = (long) number(value(args, ++i, a), a, 1, 1 << 20, true);
                case "--seconds" -> seconds = number(value(args, ++i, a), a, 0.05, 3600, false);
                case "--warmup" -> warmup = number(value(args, ++i, a), a, 0, 3600, false);
                case "--rounds" -> rounds = (int) number(value(args, ++i, a), a, 1, 100, true);
                case "--only" -> only = value(args, ++i, a);
                case "--workloads" -> workloads = value(args, ++i, a);
                default -> throw new UsageException("unknown option " + a);
            }
        }
        long sizeMiB = size != null ? size : quick ? QUICK_SIZE_MIB : DEFAULT_SIZE_MIB;
        boolean fileGiven = file != null;
        boolean outGiven = out != null;
        if (file == null) {
            file = root.resolve("bench-results").resolve("bench-" + sizeMiB + "MiB.dat");
        }
        if (out == null) {
            out = root.resolve("bench-results")
                    .resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        try {
            Workload.select(workloads);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return new BenchOptions(root, file, fileGiven, sizeMiB,
                seconds != null ? seconds : quick ? QUICK_SECONDS : DEFAULT_SECONDS,
                warmup != null ? warmup : quick ? QUICK_WARMUP_SECONDS : DEFAULT_WARMUP_SECONDS, quick, out, outGiven,
                only, workloads, quiet, list, rounds);
    }

    /** The contenders named by {@code --only} (all when absent), in {@code all}'s order. */
    static List<Contender> selectContenders(List<Contender> all, String only) {
        if (only == null) {
            return all;
        }
        List<String> names = java.util.Arrays.stream(only.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).toList();
        for (String n : names) {
            if (all.stream().noneMatch(c -> c.name().equals(n))) {
                throw new UsageException("unknown contender '" + n + "'; known: "
                        + String.join(",", all.stream().map(Contender::name).toList()));
            }
        }
        if (names.isEmpty()) {
            throw new UsageException("--only names no contender");
        }
        return all.stream().filter(c -> names.contains(c.name())).toList();
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new UsageException(option + " needs a value");
        }
        return args[i];
    }

    private static double number(String s, String option, double min, double max, boolean whole) {
        try {
            double v = whole ? Long.parseLong(s) : Double.parseDouble(s);
            if (v >= min && v <= max) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UsageException(option + " wants " + (whole ? "a whole number" : "a number") + " in " + plain(min)
                + ".." + plain(max) + ", got '" + s + "'");
    }

    /** 1.0 as "1", 0.05 as "0.05". */
    private static String plain(double v) {
        return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
}
