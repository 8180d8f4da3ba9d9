package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/**
 * The CI smoke run: every contender, four workloads (cached random read QD32, O_DIRECT 128 KiB sequential QD8,
 * random write + fdatasync QD32, durable appends from 8 appenders), a 16 MiB file, 0.5 s per trial. The report must be
 * complete: each contender either ran every workload it applies to (with numbers) or is skipped with a reason; nothing
 * failed.
 */
class BenchSmokeTest {
    private static final String WORKLOADS = "randread-cached-qd32,seqread-direct-128k-qd8,randwrite-fdatasync-qd32,append-8";

    @Test
    void quickRunOfEveryContenderWritesACompleteReport() throws Exception {
        // target/ of this module: a real file system (O_DIRECT), unlike a tmpfs /tmp
        Path base = Path.of("target", "bench-smoke").toAbsolutePath();
        Path out = base.resolve("report");
        BenchOptions o = BenchOptions.parse(new String[] {"--quick", "--size", "16", "--seconds", "0.5", "--warmup",
                "0.2", "--workloads", WORKLOADS, "--file", base.resolve("smoke.dat").toString(), "--out",
                out.toString()}, base);
        ByteArrayOutputStream progressBytes = new ByteArrayOutputStream();
        ByteArrayOutputStream stdoutBytes = new ByteArrayOutputStream();
        PrintStream progressOut = new PrintStream(progressBytes, true, StandardCharsets.UTF_8);
        long start = System.nanoTime();
        BenchMain.run(o, new Progress(progressOut, false, false), new PrintStream(stdoutBytes, true,
                StandardCharsets.UTF_8));
        double seconds = (System.nanoTime() - start) / 1e9;
        String progress = progressBytes.toString(StandardCharsets.UTF_8);
        System.out.println(progress);
        System.out.printf("smoke run: %.1f s%n", seconds);

        assertTrue(Files.size(out.resolve("chart.svg")) > 0);
        String md = Files.readString(out.resolve("report.md"));
        Object json = Json.parse(Files.readString(out.resolve("report.json")));

        List<?> contenders = (List<?>) Json.at(json, "contenders");
        Set<String> names = contenders.stream().map(c -> (String) Json.at(c, "name")).collect(Collectors.toSet());
        assertEquals(BenchMain.contenders().stream().map(Contender::name).collect(Collectors.toSet()), names,
                "every contender listed");
        List<?> workloads = (List<?>) Json.at(json, "workloads");
        assertEquals(4, workloads.size());
        for (Object w : workloads) {
            List<?> results = (List<?>) Json.at(w, "results");
            Workload workload = Workload.select((String) Json.at(w, "name")).getFirst();
            long applying = BenchMain.contenders().stream().filter(c -> c.appliesTo(workload)).count();
            assertEquals(applying, results.size(), "a row per contender that applies to " + workload.name());
            for (Object r : results) {
                String where = Json.at(w, "name") + " / " + Json.at(r, "contender");
                Object skipped = Json.at(r, "skipped");
                if (skipped != null) {
                    assertFalse(((String) skipped).startsWith("failed"), where + ": " + skipped);
                    assertFalse(((String) skipped).isBlank(), where);
                    continue;
                }
                assertTrue(Json.number(r, "iops") > 0, where);
                assertTrue(Json.number(r, "megabytesPerSecond") > 0, where);
                assertTrue(Json.number(r, "latencyMicros", "p50") > 0, where);
                assertTrue(Json.number(r, "latencyMicros", "p99") >= Json.number(r, "latencyMicros", "p50"), where);
                assertTrue(Json.number(r, "cpuMicrosPerOp") > 0, where);
                assertTrue(md.contains("| " + Json.at(r, "contender") + " | "), where + " in the Markdown");
            }
        }
        for (Object c : contenders) {
            Object why = Json.at(c, "skipped");
            if (why != null) {
                System.out.println("skipped " + Json.at(c, "name") + ": " + why);
            }
        }
        // the engine always runs: on io_uring where available, and its thread pool everywhere
        Object pool = ((List<?>) Json.at(workloads.getFirst(), "results")).stream()
                .filter(r -> "engine-threadpool".equals(Json.at(r, "contender"))).findFirst().orElseThrow();
        assertTrue(Json.number(pool, "iops") > 0);
        // the append log runs the append workload only, and says how many records each fdatasync carried
        List<?> appendResults = (List<?>) Json.at(workloads.getLast(), "results");
        assertTrue(appendResults.stream().anyMatch(r -> AppendLogContender.NAME.equals(Json.at(r, "contender"))));
        for (int i = 0; i < 3; i++) {
            assertTrue(((List<?>) Json.at(workloads.get(i), "results")).stream()
                    .noneMatch(r -> AppendLogContender.NAME.equals(Json.at(r, "contender"))));
        }
        Object log = appendResults.stream().filter(r -> AppendLogContender.NAME.equals(Json.at(r, "contender")))
                .findFirst().orElseThrow();
        if (Json.at(log, "skipped") == null) {
            assertTrue(((String) Json.at(log, "note")).contains("records per fdatasync"), String.valueOf(log));
        }
        Map<?, ?> machine = (Map<?, ?>) Json.at(json, "machine");
        assertNotNull(machine.get("kernel"));
        assertNotNull(machine.get("fileSystem"));
        assertTrue(((List<?>) Json.at(json, "goals")).size() >= 6);
        assertTrue(progress.lines().count() < 200, "CI log stays short");
    }
}
