package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.uringaio.bench.FileErrors;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mistakes on the bench command line end the run before any trial, with a message that names the file, the
 * operation and the errno; the bench creates no directory the user did not ask for.
 */
class BenchInputErrorsTest {
    @TempDir
    Path tmp;

    /** Options for a tiny run (one fast contender, one workload) with the given extra arguments. */
    private BenchOptions options(String... extra) {
        List<String> args = new ArrayList<>(List.of("--quiet", "--size", "1", "--seconds", "0.05", "--warmup", "0",
                "--only", "engine-threadpool", "--workloads", "randread-cached-qd1"));
        args.addAll(List.of(extra));
        return BenchOptions.parse(args.toArray(String[]::new), tmp.resolve("root"));
    }

    private static IOException runFails(BenchOptions o) {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        return assertThrows(IOException.class, () -> BenchMain.run(o, new Progress(sink, false, true), sink));
    }

    @Test
    void aFileInAMissingDirectoryIsAnErrorAndNoDirectoryIsCreated() throws Exception {
        Path file = tmp.resolve("missing").resolve("dir").resolve("f");
        IOException e = runFails(options("--file", file.toString(), "--out", tmp.resolve("out").toString()));
        assertEquals("create " + file + ": ENOENT (No such file or directory): directory " + tmp.resolve("missing")
                + " does not exist", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("missing")), "no directory created for a given --file");
        assertFalse(Files.exists(tmp.resolve("root")), "nor the default results directory");
    }

    @Test
    void aFileUnderARegularFileIsNotADirectoryError() throws Exception {
        Path plain = Files.writeString(tmp.resolve("plain"), "keep");
        Path file = plain.resolve("f");
        IOException e = runFails(options("--file", file.toString(), "--out", tmp.resolve("out").toString()));
        assertEquals("create " + file + ": ENOTDIR (Not a directory): " + plain + " is not a directory",
                e.getMessage());
        assertEquals("keep", Files.readString(plain), "the file in the way is untouched");
    }

    @Test
    void aDirectoryAsTheFileIsAnError() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("dir"));
        Files.writeString(dir.resolve("inside"), "keep");
        IOException e = runFails(options("--file", dir.toString(), "--out", tmp.resolve("out").toString()));
        assertEquals("rewrite " + dir + ": EISDIR (Is a directory)", e.getMessage());
        assertEquals("keep", Files.readString(dir.resolve("inside")));
    }

    /** A device or a fifo as --file is refused before anything is opened for writing (a disk would be overwritten). */
    @Test
    void aDeviceAsTheFileIsRefused() throws Exception {
        Path device = Path.of("/dev/null");
        Assumptions.assumeTrue(Files.exists(device), "no /dev/null here");
        IOException e = runFails(options("--file", device.toString(), "--out", tmp.resolve("out").toString()));
        assertEquals("use " + device + " as the test file: not a regular file (the bench truncates and writes it)",
                e.getMessage());
        assertTrue(Files.exists(device), "untouched");
    }

    /** The JDK reports some errnos as a bare IOException with strerror's text (ENOSPC from write, EINVAL). */
    @Test
    void aPlainIOExceptionStillNamesTheErrno() {
        Path file = tmp.resolve("f");
        assertEquals("write " + file + ": ENOSPC (No space left on device)",
                FileErrors.failed("write", file, new IOException("No space left on device")).getMessage());
        assertEquals("open " + file + ": EINVAL (Invalid argument)",
                FileErrors.failed("open", file, new IOException("Invalid argument")).getMessage());
    }

    @Test
    void anOutputDirectoryInAMissingDirectoryIsAnErrorBeforeTheRun() throws Exception {
        Path out = tmp.resolve("nowhere").resolve("out");
        Path file = tmp.resolve("f.dat");
        IOException e = runFails(options("--file", file.toString(), "--out", out.toString()));
        assertEquals("create directory " + out + ": ENOENT (No such file or directory): parent directory "
                + tmp.resolve("nowhere") + " does not exist", e.getMessage());
        assertFalse(Files.exists(tmp.resolve("nowhere")));
        assertFalse(Files.exists(file), "nothing ran: the test file was not even created");
    }

    @Test
    void anOutputPathThatIsAFileIsAnError() throws Exception {
        Path out = Files.writeString(tmp.resolve("out"), "keep");
        IOException e = runFails(options("--file", tmp.resolve("f.dat").toString(), "--out", out.toString()));
        assertEquals("use " + out + " for the report: ENOTDIR (Not a directory): it is a file", e.getMessage());
        assertEquals("keep", Files.readString(out));
    }

    @Test
    void theDefaultDirectoriesAreCreated() throws Exception {
        BenchOptions o = options();
        assertFalse(o.fileGiven());
        BenchMain.prepareOutput(o);
        assertTrue(BenchMain.prepareFile(o, 1 << 20));
        assertEquals(1 << 20, Files.size(o.file()));
        assertTrue(Files.isDirectory(o.out()));
        assertEquals(tmp.resolve("root").resolve("bench-results"), o.file().getParent());
    }

    @Test
    void badOptionValuesSayWhatIsWrong() {
        assertEquals("unknown workload 'nope'; known: " + Workload.names(Workload.ALL), usageError("--workloads",
                "nope"));
        assertEquals("Invalid value for option '--rounds': 'x' is not an int", usageError("--rounds", "x"));
        assertEquals("--rounds wants a whole number in 1..100, got 0", usageError("--rounds", "0"));
        assertEquals("--seconds wants a number in 0.05..3600, got -1", usageError("--seconds", "-1"));
        assertEquals("--size wants a whole number in 1..1048576, got 0", usageError("--size", "0"));
        assertEquals("Missing required parameter for option '--rounds' (N)", usageError("--rounds"));
        assertEquals("Unknown option: '--bogus'", usageError("--bogus"));
    }

    /** NaN and the infinities parse as doubles; they are out of every range, not a crash in the message. */
    @Test
    void nonFiniteNumbersAreUsageErrors() {
        assertEquals("--seconds wants a number in 0.05..3600, got NaN", usageError("--seconds", "NaN"));
        assertEquals("--seconds wants a number in 0.05..3600, got Infinity", usageError("--seconds", "Infinity"));
        assertEquals("--seconds wants a number in 0.05..3600, got Infinity", usageError("--seconds", "1e400"));
        assertEquals("--warmup wants a number in 0..3600, got -Infinity", usageError("--warmup", "-Infinity"));
    }

    /** A mistake is one line on stderr and status 2, with nothing on stdout: not the error buried above the help. */
    @Test
    void aMistakeIsOneLineOnStderrAndStatus2() {
        for (String[] args : List.of(new String[] {"--size", "0"}, new String[] {"--bogus"},
                new String[] {"--seconds", "abc"}, new String[] {"--only", "nope"},
                new String[] {"--workloads", "nope"}, new String[] {"stray"})) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int status = BenchMain.execute(args, tmp, print(out), print(err));
            String text = err.toString(StandardCharsets.UTF_8);
            assertEquals(2, status, String.join(" ", args));
            assertEquals("", out.toString(StandardCharsets.UTF_8), String.join(" ", args));
            assertEquals(1, text.lines().count(), text);
            assertTrue(text.startsWith("uring-aio bench: ") && text.endsWith(" (see --help)" + System.lineSeparator()),
                    text);
        }
        assertFalse(Files.exists(tmp.resolve("bench-results")), "nothing created");
    }

    @Test
    void helpGoesToStdoutWithStatus0() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, BenchMain.execute(new String[] {"--help"}, tmp, print(out), print(err)));
        assertEquals(BenchOptions.usage(), out.toString(StandardCharsets.UTF_8));
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    /** --only is checked with the other options, and a list that names nothing says what could be named. */
    @Test
    void onlyIsCheckedWhenParsedAndListsTheContenders() {
        String known = String.join(",", BenchMain.contenders().stream().map(Contender::name).toList());
        assertEquals("unknown contender 'nope'; known: " + known, usageError("--only", "nope"));
        assertEquals("--only names no contender; known: " + known, usageError("--only", ","));
        assertEquals("no workload named; known: " + Workload.names(Workload.ALL), usageError("--workloads", " , "));
    }

    /** A selection with nothing to run (a log contender on a read workload) is a mistake, not an empty report. */
    @Test
    void aSelectionWithNothingToRunIsAUsageError() {
        assertEquals("no selected contender runs a selected workload: appendlog runs append-1,append-8,append-64",
                usageError("--only", "appendlog", "--workloads", "randread-cached-qd1"));
        assertEquals("no selected contender runs a selected workload: appendlog runs append-1,append-8,append-64; "
                + "rocksdb-wal runs append-1,append-8,append-64",
                usageError("--only", "rocksdb-wal,appendlog", "--workloads", "randwrite"));
        // one pair is enough: the others are listed as not applying, as in a full run
        assertEquals(2, BenchOptions.parse(new String[] {"--only", "appendlog,glibc-aio", "--workloads",
                "randread-cached-qd1"}, tmp).only().split(",").length);
    }

    /** Writing a large test file takes a while: the progress says so before it starts, and not when it is reused. */
    @Test
    void writingTheTestFileIsAnnouncedInTheProgress() throws Exception {
        BenchOptions o = BenchOptions.parse(new String[] {"--size", "1", "--seconds", "0.05", "--warmup", "0",
                "--only", "engine-threadpool", "--workloads", "randread-cached-qd1", "--file",
                tmp.resolve("f.dat").toString(), "--out", tmp.resolve("out").toString()}, tmp);
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        PrintStream sink = print(new ByteArrayOutputStream());
        BenchMain.run(o, new Progress(print(first), false, false), sink);
        assertTrue(first.toString(StandardCharsets.UTF_8).startsWith("writing the test file " + o.file()
                + " (1 MiB)\n"), first.toString(StandardCharsets.UTF_8));
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        BenchMain.run(o, new Progress(print(again), false, false), sink);
        assertFalse(again.toString(StandardCharsets.UTF_8).contains("writing the test file"));
    }

    private static PrintStream print(ByteArrayOutputStream bytes) {
        return new PrintStream(bytes, true, StandardCharsets.UTF_8);
    }

    @Test
    void helpIsGeneratedFromTheOptions() {
        assertEquals(null, usageError("--help"));
        String usage = BenchOptions.usage();
        assertTrue(usage.startsWith("Usage: ./uring-aio bench "), usage);
        for (String option : List.of("--quick", "--out=DIR", "--file=PATH", "--size=MiB", "--seconds=N",
                "--warmup=N", "--rounds=N", "--only=NAMES", "--workloads=NAMES", "--list", "--quiet", "--help")) {
            assertTrue(usage.contains(option), option + " in\n" + usage);
        }
    }

    private String usageError(String... args) {
        return assertThrows(BenchOptions.UsageException.class, () -> BenchOptions.parse(args, tmp)).getMessage();
    }
}
