package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user may type that the bench must not misread, and what a failed or interrupted run must not leave behind:
 * found by a hostile pass over {@code ./uring-aio bench}.
 */
class HostileCommandLineTest {
    @TempDir
    Path tmp;

    /** A tiny run (one fast contender, one workload) with the given extra arguments. */
    private static String[] tiny(String... extra) {
        List<String> args = new ArrayList<>(List.of("--quiet", "--size", "1", "--seconds", "0.05", "--warmup", "0",
                "--only", "engine-threadpool", "--workloads", "randread-cached-qd1"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    /**
     * Java's own double syntax takes a type suffix and hexadecimal: "--seconds 1d" (a day?) ran 1 s trials, "2f"
     * 2 s, "0x1p3" 8 s. A number of seconds is written in decimal; anything else is a mistake.
     */
    @Test
    void secondsAreDecimalNotJavaLiterals() {
        for (String v : List.of("1d", "1D", "2f", "2F", "0x1p3", "0X1P-1", "1.5d", "1e1f")) {
            assertEquals("Invalid value for option '--seconds': '" + v + "' is not a decimal number",
                    usageError("--seconds", v), v);
            assertEquals("Invalid value for option '--warmup': '" + v + "' is not a decimal number",
                    usageError("--warmup", v), v);
        }
    }

    /** The decimal forms a user may write still parse, and NaN/Infinity still meet the range check's message. */
    @Test
    void decimalFormsStillParse() {
        for (String v : List.of("2", "2.", "2.0", ".5", "+2", "5e-1", "0.5E+0", "02.50")) {
            double seconds = BenchOptions.parse(new String[] {"--seconds", v, "--list"}, tmp).seconds();
            assertEquals(Double.parseDouble(v), seconds, v);
        }
        assertEquals("--seconds wants a number in 0.05..3600, got NaN", usageError("--seconds", "NaN"));
        assertEquals("--warmup wants a number in 0..3600, got -Infinity", usageError("--warmup", "-Infinity"));
    }

    /**
     * An empty --file or --out (a variable that was not set: {@code --file "$F"}) is a mistake: --file '' ended in
     * "rewrite : EISDIR" (the working directory), and --out '' wrote the report into the working directory.
     */
    @Test
    void anEmptyPathIsAUsageError() {
        assertEquals("--file wants a path, got ''", usageError("--file", ""));
        assertEquals("--out wants a path, got ''", usageError("--out", ""));
        assertEquals("--file wants a path, got ''", usageError("--file="));
    }

    /**
     * A run that fails on its test file (a directory here) removes the report directory it had created for nothing:
     * both a given {@code --out} and the default {@code bench-results/<date-time>/} (each was left empty before).
     */
    @Test
    void aFailedRunRemovesTheReportDirectoryItCreated() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        Path out = tmp.resolve("out");
        assertEquals(1, execute(tiny("--file", dir.toString(), "--out", out.toString())));
        assertFalse(Files.exists(out), "the --out directory this run created");

        Path root = Files.createDirectory(tmp.resolve("root"));
        assertEquals(1, execute(tiny("--file", dir.toString())), "default --out");
        try (var left = Files.list(root.resolve("bench-results"))) {
            assertEquals(List.of(), left.toList(), "no empty dated report directory");
        }
        assertTrue(Files.isDirectory(dir), "the directory in the way is untouched");
    }

    /** A report directory that was there before the run is the user's: a failed run leaves it and its contents. */
    @Test
    void aFailedRunKeepsAReportDirectoryThatWasThere() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        Path emptyOut = Files.createDirectory(tmp.resolve("empty-out"));
        assertEquals(1, execute(tiny("--file", dir.toString(), "--out", emptyOut.toString())));
        assertTrue(Files.isDirectory(emptyOut), "an empty directory the user made stays");

        Path fullOut = Files.createDirectory(tmp.resolve("full-out"));
        Files.writeString(fullOut.resolve("keep"), "keep");
        assertEquals(1, execute(tiny("--file", dir.toString(), "--out", fullOut.toString())));
        assertEquals("keep", Files.readString(fullOut.resolve("keep")));
    }

    /**
     * Ctrl-C removes the empty report directory the run created, a given {@code --out} too (only the default one
     * went before); one that existed before the run stays.
     */
    @Test
    void anInterruptRemovesTheGivenReportDirectoryItCreated() throws Exception {
        BenchOptions created = BenchOptions.parse(tiny("--out", tmp.resolve("out").toString()), tmp);
        BenchMain.prepareOutput(created);
        assertTrue(Files.isDirectory(created.out()));
        BenchMain.interrupted(quietProgress());
        assertFalse(Files.exists(created.out()), "created by this run, empty");

        Path existing = Files.createDirectory(tmp.resolve("existing"));
        BenchOptions given = BenchOptions.parse(tiny("--out", existing.toString()), tmp);
        BenchMain.prepareOutput(given);
        BenchMain.interrupted(quietProgress());
        assertTrue(Files.isDirectory(existing), "there before the run");
    }

    /** The opening line says the seconds as given: 0.05 s trials were announced as "0.1 s each". */
    @Test
    void theOpeningLineSaysTheSecondsAsGiven() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BenchOptions o = BenchOptions.parse(new String[] {"--quiet", "--size", "1", "--seconds", "0.05", "--warmup",
                "0.25", "--only", "engine-threadpool", "--workloads", "randread-cached-qd1", "--file",
                tmp.resolve("f.dat").toString(), "--out", tmp.resolve("out").toString()}, tmp);
        BenchMain.run(o, quietProgress(), print(out));
        String first = out.toString(StandardCharsets.UTF_8).lines().findFirst().orElseThrow();
        assertTrue(first.contains("1 workload x 1 contender, 0.25 s warm-up + 0.05 s each, 1 round; report in "),
                first);
    }

    /**
     * "writing the test file" is said once the file is open for writing: it was said first, then the refusal
     * ("writing the test file /nonexistent/dir/x (8 MiB)" above "create ...: ENOENT"; above an ENOSPC for a size the
     * disk cannot hold).
     */
    @Test
    void aRefusedTestFileIsNotAnnouncedAsBeingWritten() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        for (Path file : List.of(tmp.resolve("missing").resolve("f.dat"), dir)) {
            ByteArrayOutputStream progress = new ByteArrayOutputStream();
            PrintStream sink = print(new ByteArrayOutputStream());
            BenchOptions o = BenchOptions.parse(tiny("--file", file.toString(), "--out",
                    tmp.resolve("out").toString()), tmp);
            assertThrows(java.io.IOException.class, () -> BenchMain.run(o, new Progress(print(progress), false,
                    false), sink));
            assertEquals("", progress.toString(StandardCharsets.UTF_8), file.toString());
        }
    }

    /**
     * A run killed outright (SIGKILL, a crash: no shutdown hook) left its log's or RocksDB's directory beside the test
     * file (65 MiB for appendlog) and no later run removed it. The next run on that file removes those whose process
     * is gone, and says so; the directory of a process that still runs (this JVM here), a name that is not one of
     * ours and another file's are left alone.
     */
    @Test
    void scratchLeftByAKilledRunIsRemovedByTheNextRun() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long deadPid = gone.pid();
        org.junit.jupiter.api.Assumptions.assumeFalse(ProcessHandle.of(deadPid).isPresent(), "pid reused at once");
        long livePid = ProcessHandle.current().pid();
        Path file = tmp.resolve("f.dat");
        Path deadLog = Files.createDirectory(tmp.resolve("f.dat.appendlog-" + deadPid));
        Files.writeString(deadLog.resolve("00000000000000000000.log"), "segment");
        Path deadDb = Files.createDirectory(tmp.resolve("f.dat.rocksdb-" + deadPid));
        Files.writeString(deadDb.resolve("LOG"), "log");
        List<Path> kept = List.of(Files.createDirectory(tmp.resolve("f.dat.appendlog-" + livePid)),
                Files.createDirectory(tmp.resolve("f.dat.appendlog-x" + deadPid)),
                Files.createDirectory(tmp.resolve("f.dat.backup-" + deadPid)),
                Files.createDirectory(tmp.resolve("g.dat.rocksdb-" + deadPid)),
                Files.writeString(tmp.resolve("f.dat.rocksdb-" + (deadPid + 1_000_000_000L)), "a file, not ours"));

        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        BenchOptions o = BenchOptions.parse(tiny("--file", file.toString(), "--out", tmp.resolve("out").toString()),
                tmp);
        BenchMain.run(o, new Progress(print(progress), false, false), print(new ByteArrayOutputStream()));

        assertFalse(Files.exists(deadLog), "the killed run's log directory");
        assertFalse(Files.exists(deadDb), "the killed run's RocksDB directory");
        for (Path p : kept) {
            assertTrue(Files.exists(p), p + " kept");
        }
        String said = progress.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("removed " + deadLog + ": left by a run that was killed (pid " + deadPid
                + " is gone)"), said);
        assertTrue(said.contains("removed " + deadDb + ": "), said);
    }

    private int execute(String[] args) {
        PrintStream sink = print(new ByteArrayOutputStream());
        return BenchMain.execute(args, tmp.resolve("root"), sink, sink);
    }

    private static Progress quietProgress() {
        return new Progress(print(new ByteArrayOutputStream()), false, true);
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    private String usageError(String... args) {
        return assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parse(args, tmp)).getMessage();
    }
}
