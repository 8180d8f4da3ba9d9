package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.bench.BenchFiles;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run cut short (Ctrl-C) leaves no child process and no temporary file behind, and says so: what the bench's
 * shutdown hook does ({@link BenchMain#interrupted}, {@link Scratch#cleanUp}), called here directly.
 */
class InterruptedRunTest {
    @TempDir
    Path tmp;

    @Test
    void cleanUpStopsTheProcessesAndRemovesTheTrackedFilesOnly() throws Exception {
        Process sleeper = Scratch.track(new ProcessBuilder("sleep", "60").start());
        Path dir = Scratch.track(Files.createDirectories(tmp.resolve("log").resolve("sub")).getParent());
        Files.writeString(dir.resolve("sub").resolve("segment"), "x");
        Path file = Scratch.track(Files.writeString(tmp.resolve("out.json"), "{}"));
        Path bystander = Files.writeString(tmp.resolve("bench.dat"), "keep");

        assertEquals(List.of(), Scratch.cleanUp());

        assertTrue(sleeper.waitFor(10, TimeUnit.SECONDS), "the child process was stopped");
        assertFalse(Files.exists(dir));
        assertFalse(Files.exists(file));
        assertEquals("keep", Files.readString(bystander));
        assertEquals(List.of(), Scratch.cleanUp(), "nothing registered twice");
    }

    /** fio runs as a child process with two temporary files: all three go when the run is cut short mid-trial. */
    @Test
    void anInterruptedFioTrialLeavesNoProcessAndNoFile() throws Exception {
        FioContender fio = new FioContender("io_uring");
        Assumptions.assumeTrue(fio.unavailableReason() == null, "fio cannot run here: " + fio.unavailableReason());
        Path file = tmp.resolve("f.dat");
        BenchFiles.prepare(file, 1 << 20);
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        Progress progress = new Progress(sink, false, true);
        progress.plan(1);
        TrialContext context = new TrialContext(file, 1 << 20, 0, 60, 42, progress);
        Workload w = Workload.select("randread-cached-qd1").getFirst();
        CompletableFuture<Result> trial = CompletableFuture.supplyAsync(() -> {
            try {
                return fio.run(w, context);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        ProcessHandle child = awaitFio();
        List<Path> temporary = tempFilesOf(child);
        assertEquals(2, temporary.size(), "fio's output and log: " + temporary);

        assertEquals(List.of(), Scratch.cleanUp());

        assertTrue(child.onExit().get(10, TimeUnit.SECONDS) != null && !child.isAlive(), "fio stopped");
        for (Path p : temporary) {
            assertFalse(Files.exists(p), p + " removed");
        }
        assertTrue(trial.handle((r, e) -> e != null).get(10, TimeUnit.SECONDS), "the trial failed, not measured");
    }

    @Test
    void theInterruptLineSaysWhereTheRunStoppedAndTheEmptyReportDirectoryGoes() throws Exception {
        BenchOptions o = BenchOptions.parse(new String[] {"--quiet"}, tmp);
        BenchMain.prepareOutput(o);
        assertTrue(Files.isDirectory(o.out()));
        Progress progress = new Progress(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                false, true);
        progress.plan(4);
        progress.begin("a", "w");
        progress.begin("b", "w");

        assertEquals("uring-aio bench: interrupted in trial 2 of 4: no report written; temporary files removed",
                BenchMain.interrupted(progress));
        assertFalse(Files.exists(o.out()), "the empty report directory of this run");
        assertTrue(Files.isDirectory(tmp.resolve("bench-results")), "its parent stays");
        assertTrue(progress.stopped(), "the main thread is told not to go on to a report");
        Progress early = new Progress(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                false, true);
        assertEquals("uring-aio bench: interrupted before the first trial: no report written; temporary files "
                + "removed", BenchMain.interrupted(early));
    }

    /**
     * The test file is removed by a Ctrl-C only while it is being written (a part-written file; checked by hand: SIGINT
     * during a 3000 MiB write left nothing): once written it is the user's, and a later interrupt leaves it.
     */
    @Test
    void theTestFileIsNotTheInterruptsToRemoveOnceWritten() throws Exception {
        Path file = tmp.resolve("f.dat");
        BenchOptions o = BenchOptions.parse(new String[] {"--quiet", "--size", "1", "--seconds", "0.05", "--warmup",
                "0", "--only", "engine-threadpool", "--workloads", "randread-cached-qd1", "--file", file.toString(),
                "--out", tmp.resolve("out").toString()}, tmp);
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        BenchMain.run(o, new Progress(sink, false, true), sink);
        assertEquals(List.of(), Scratch.cleanUp());
        assertEquals(1 << 20, Files.size(file), "still there");
    }

    /** The fio child of this JVM, waited for up to 20 s (it starts in milliseconds; the bound is for a loaded box). */
    private static ProcessHandle awaitFio() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Optional<ProcessHandle> fio = ProcessHandle.current().children()
                    .filter(p -> p.info().command().map(c -> c.endsWith("/fio")).orElse(false)).findFirst();
            if (fio.isPresent()) {
                return fio.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("fio did not start in 20 s");
    }

    /** fio's temporary files: its --output and the log its standard output goes to. */
    private static List<Path> tempFilesOf(ProcessHandle fio) throws Exception {
        String output = fio.info().arguments().stream().flatMap(java.util.Arrays::stream)
                .filter(a -> a.startsWith("--output=")).findFirst().orElseThrow().substring("--output=".length());
        Path log = Files.readSymbolicLink(Path.of("/proc", String.valueOf(fio.pid()), "fd", "1"));
        return List.of(Path.of(output), log).stream().filter(Files::isRegularFile).toList();
    }
}
