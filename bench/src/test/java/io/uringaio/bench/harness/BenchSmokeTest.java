package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

/**
 * The CI smoke run: every contender (RocksDB's WAL, the engine's blocking lanes and the uring provider's channels
 * included), four workloads (cached random read QD32, O_DIRECT 128 KiB sequential QD8, random write + fdatasync
 * QD32, durable appends from 8 appenders), a 16 MiB file, 0.1 s of warm-up and 0.3 s measured per trial. The report must be complete: each
 * contender either ran every workload it applies to (with numbers) or is skipped with a reason; nothing failed.
 */
class BenchSmokeTest {
    private static final String WORKLOADS = "randread-cached-qd32,seqread-direct-128k-qd8,randwrite-fdatasync-qd32,append-8";

    @Test
    void quickRunOfEveryContenderWritesACompleteReport() throws Exception {
        // target/ of this module: a real file system (O_DIRECT), unlike a tmpfs /tmp
        Path base = Path.of("target", "bench-smoke").toAbsolutePath();
        Path out = base.resolve("report");
        Files.createDirectories(base); // a given --file's directory must exist
        BenchOptions o = BenchOptions.parse(new String[] {"--quick", "--size", "16", "--seconds", "0.3", "--warmup",
                "0.1", "--workloads", WORKLOADS, "--file", base.resolve("smoke.dat").toString(), "--out",
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
        JsonNode json = ReportJson.tree(Files.readString(out.resolve("report.json")));

        JsonNode contenders = json.path("contenders");
        Set<String> names = new HashSet<>();
        contenders.forEach(c -> names.add(c.path("name").asText()));
        assertEquals(BenchMain.contenders().stream().map(Contender::name).collect(Collectors.toSet()), names,
                "every contender listed");
        JsonNode workloads = json.path("workloads");
        assertEquals(4, workloads.size());
        for (JsonNode w : workloads) {
            JsonNode results = w.path("results");
            Workload workload = Workload.select(w.path("name").asText()).getFirst();
            long applying = BenchMain.contenders().stream().filter(c -> c.appliesTo(workload)).count();
            assertEquals(applying, results.size(), "a row per contender that applies to " + workload.name());
            for (JsonNode r : results) {
                String where = w.path("name").asText() + " / " + r.path("contender").asText();
                JsonNode skipped = r.path("skipped");
                if (!skipped.isNull()) {
                    assertFalse(skipped.asText().startsWith("failed"), where + ": " + skipped);
                    assertFalse(skipped.asText().isBlank(), where);
                    continue;
                }
                assertTrue(r.path("iops").asDouble() > 0, where);
                assertTrue(r.path("megabytesPerSecond").asDouble() > 0, where);
                assertTrue(r.path("latencyMicros").path("p50").asDouble() > 0, where);
                assertTrue(r.path("latencyMicros").path("p99").asDouble()
                        >= r.path("latencyMicros").path("p50").asDouble(), where);
                assertTrue(r.path("cpuMicrosPerOp").asDouble() > 0, where);
                assertTrue(md.contains("| " + r.path("contender").asText() + " | "), where + " in the Markdown");
            }
        }
        for (JsonNode c : contenders) {
            if (!c.path("skipped").isNull()) {
                System.out.println("skipped " + c.path("name").asText() + ": " + c.path("skipped").asText());
            }
        }
        // the engine always runs: on io_uring where available, and its thread pool everywhere
        assertTrue(resultOf(workloads.path(0), "engine-threadpool").path("iops").asDouble() > 0);
        // the append log runs the append workload only, and says how many records each fdatasync carried
        JsonNode appendWorkload = workloads.path(workloads.size() - 1);
        JsonNode log = resultOf(appendWorkload, AppendLogContender.NAME);
        for (int i = 0; i < 3; i++) {
            for (JsonNode r : workloads.path(i).path("results")) {
                assertNotEquals(AppendLogContender.NAME, r.path("contender").asText());
                assertNotEquals(RocksDbWalContender.NAME, r.path("contender").asText());
            }
            // the thread blocked on each AsyncFile future runs every read/write workload beside the engine
            resultOf(workloads.path(i), EngineBlockingContender.NAME);
            // so do the uring provider's java.nio channels beside the JDK's, ran wherever io_uring does
            for (String nio : List.of(FileChannelContender.URING_PLATFORM, FileChannelContender.URING_VIRTUAL,
                    AsyncFileChannelContender.URING)) {
                JsonNode r = resultOf(workloads.path(i), nio);
                if (IoUringCheck.unavailableReason() == null) {
                    assertTrue(r.path("skipped").isNull(), nio + ": " + r);
                    assertTrue(r.path("entersPerOp").isNumber(), nio + " counts the provider's ring enters: " + r);
                }
            }
        }
        resultOf(appendWorkload, RocksDbWalContender.NAME);
        resultOf(appendWorkload, EngineBlockingContender.NAME);
        if (log.path("skipped").isNull()) {
            assertTrue(log.path("note").asText().contains("records per fdatasync"), log.toString());
        }
        JsonNode machine = json.path("machine");
        assertTrue(machine.path("kernel").isTextual());
        assertTrue(machine.path("fileSystem").isTextual());
        assertTrue(json.path("goals").size() >= 6);
        assertTrue(progress.lines().count() < 200, "CI log stays short");
    }

    private static JsonNode resultOf(JsonNode workload, String contender) {
        for (JsonNode r : workload.path("results")) {
            if (contender.equals(r.path("contender").asText())) {
                return r;
            }
        }
        throw new AssertionError(contender + " has no row in " + workload.path("name").asText());
    }
}
