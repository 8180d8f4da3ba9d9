package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import javax.xml.parsers.DocumentBuilderFactory;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

class ReportTest {
    static final Machine MACHINE = new Machine("Linux 6.18", 2, "cpu", "yes (KVM)", 1024, "ext4", "/dev/vda", "/",
            "JDK 25", "2.36", "fio-3.33", "available", "0.1 0.2 0.3");

    private static Result ran(String contender, String workload, long ops, double seconds) {
        return new Result(contender, workload, null, ops, seconds, 4096, new Latency(10, 20, 30, 40), 2500, 0.25,
                null);
    }

    static Report sample() {
        List<Workload> workloads = Workload.select("randread-cached-qd32,randread-direct-qd32");
        List<Report.Entry> entries = List.of(
                new Report.Entry(Report.ENGINE, "engine", null),
                new Report.Entry("facade", "facade", null),
                new Report.Entry(Report.GLIBC, "glibc", null),
                new Report.Entry("jdk-afc", "afc <&>", null),
                new Report.Entry("fio-io_uring", "fio", "fio is not installed (apt-get install fio)"));
        List<Result> results = new ArrayList<>();
        results.add(ran(Report.ENGINE, "randread-cached-qd32", 400_000, 2.0)); // 200k IOPS
        results.add(ran("facade", "randread-cached-qd32", 360_000, 2.0)); // 180k
        results.add(ran(Report.GLIBC, "randread-cached-qd32", 100_000, 2.0)); // 50k
        results.add(ran("jdk-afc", "randread-cached-qd32", 200_000, 2.0)); // 100k
        results.add(ran(Report.ENGINE, "randread-direct-qd32", 100_000, 1.0));
        results.add(Result.skipped("facade", "randread-direct-qd32", "failed: read at offset 0: EIO"));
        results.add(ran(Report.GLIBC, "randread-direct-qd32", 20_000, 1.0));
        results.add(ran("jdk-afc", "randread-direct-qd32", 40_000, 1.0));
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("fileMiB", 16);
        return new Report("2025-01-01T00:00:00Z", settings, MACHINE, entries, workloads, results,
                List.of("a caveat"));
    }

    @Test
    void ratiosAreIopsOverTheReferenceOnTheSameWorkload() {
        Report r = sample();
        Result facade = r.result("randread-cached-qd32", "facade");
        assertEquals(180_000, facade.iops(), 1e-6);
        assertEquals(3.6, r.ratio(facade, Report.GLIBC), 1e-9);
        assertEquals(0.9, r.ratio(facade, Report.ENGINE), 1e-9);
        assertEquals(1.0, r.ratio(r.result("randread-cached-qd32", Report.GLIBC), Report.GLIBC), 1e-9);
        // a failed side or a missing reference gives NaN, never a number
        assertTrue(Double.isNaN(r.ratio(r.result("randread-direct-qd32", "facade"), Report.ENGINE)));
        assertTrue(Double.isNaN(r.ratio(r.result("randread-direct-qd32", Report.ENGINE), "fio-io_uring")));
        assertTrue(Double.isNaN(Report.ratio(1, 0)));
        assertEquals(8.192, ran("x", "w", 1000, 0.5).megabytesPerSecond(), 1e-9);
    }

    @Test
    void goalsCarryTheMeasuredRatios() {
        List<Report.Goal> goals = sample().goals();
        Report.Goal glibc = goals.stream().filter(g -> g.workload().equals("randread-direct-qd32")
                && g.reference().equals(Report.GLIBC)).findFirst().orElseThrow();
        assertEquals(5.0, glibc.measured(), 1e-9);
        assertTrue(glibc.met());
        Report.Goal afc = goals.stream().filter(g -> g.workload().equals("randread-cached-qd32")
                && g.reference().equals("jdk-afc")).findFirst().orElseThrow();
        assertEquals(2.0, afc.measured(), 1e-9);
        Report.Goal fio = goals.stream().filter(g -> g.reference().equals("fio-io_uring")).findFirst().orElseThrow();
        assertFalse(fio.known());
        Report.Goal facade = goals.stream().filter(g -> g.contender().equals("facade")
                && g.workload().equals("randread-cached-qd32")).findFirst().orElseThrow();
        assertEquals(0.9, facade.measured(), 1e-9);
        assertTrue(facade.met());
    }

    private static Result ranWithP50(String contender, String workload, long ops, double p50) {
        return new Result(contender, workload, null, ops, 1.0, 4096, new Latency(p50, 2 * p50, 3 * p50, 4 * p50),
                2500, 0.25, null);
    }

    /** The hand-off goals: QD1 at device latency and page-cache speed, the log against RocksDB's WAL. */
    static Report handOffSample() {
        List<Workload> workloads = Workload.select("randread-cached-qd1,randread-direct-qd1,append-8");
        List<Report.Entry> entries = new ArrayList<>();
        for (String name : List.of(Report.ENGINE, EngineBlockingContender.NAME, "facade", "facade-lio", Report.GLIBC,
                "filechannel-platform", "fio-io_uring", AppendLogContender.NAME + "-threads",
                RocksDbWalContender.NAME)) {
            entries.add(new Report.Entry(name, name, null));
        }
        List<Result> results = new ArrayList<>();
        String direct = "randread-direct-qd1";
        results.add(ranWithP50(Report.ENGINE, direct, 20_000, 45));
        results.add(ranWithP50(EngineBlockingContender.NAME, direct, 19_000, 50)); // 0.95x, p50 1.19x fio
        results.add(ranWithP50("facade", direct, 7_000, 127)); // 0.35x
        results.add(ranWithP50(Report.GLIBC, direct, 11_000, 68));
        results.add(ranWithP50("fio-io_uring", direct, 21_000, 42));
        String cached = "randread-cached-qd1";
        results.add(ranWithP50("facade-lio", cached, 240_000, 3)); // 5.0x glibc
        results.add(ranWithP50(Report.GLIBC, cached, 48_000, 20));
        results.add(ranWithP50(EngineBlockingContender.NAME, cached, 300_000, 2)); // 0.75x FileChannel
        results.add(ranWithP50("filechannel-platform", cached, 400_000, 2));
        results.add(ranWithP50(AppendLogContender.NAME + "-threads", "append-8", 25_000, 300)); // 2.5x
        results.add(ranWithP50(RocksDbWalContender.NAME, "append-8", 10_000, 800));
        return new Report("2025-01-01T00:00:00Z", new LinkedHashMap<>(), MACHINE, entries, workloads, results,
                List.of());
    }

    private static Report.Goal goal(List<Report.Goal> goals, String text) {
        return goals.stream().filter(g -> g.text().equals(text)).findFirst()
                .orElseThrow(() -> new AssertionError("no goal '" + text + "' in " + goals));
    }

    /** The uring provider's channels against the JDK's, on the same lanes. */
    static Report nioSample() {
        List<Workload> workloads = Workload.select("randread-cached-qd1,randread-cached-qd32,randread-direct-qd32");
        List<Report.Entry> entries = new ArrayList<>();
        for (String name : List.of(AsyncFileChannelContender.JDK, AsyncFileChannelContender.URING,
                "filechannel-platform", "filechannel-virtual", FileChannelContender.URING_PLATFORM,
                FileChannelContender.URING_VIRTUAL)) {
            entries.add(new Report.Entry(name, name, null));
        }
        List<Result> results = new ArrayList<>();
        String direct = "randread-direct-qd32";
        results.add(ranWithP50(AsyncFileChannelContender.JDK, direct, 10_000, 3000));
        results.add(ranWithP50(AsyncFileChannelContender.URING, direct, 25_000, 1200)); // 2.5x: met
        results.add(ranWithP50("filechannel-platform", direct, 20_000, 1500));
        results.add(ranWithP50(FileChannelContender.URING_PLATFORM, direct, 24_000, 1300)); // 1.2x: missed
        String cached = "randread-cached-qd32";
        results.add(ranWithP50("filechannel-platform", cached, 100_000, 300));
        results.add(ranWithP50(FileChannelContender.URING_PLATFORM, cached, 150_000, 200)); // 1.5x: met
        results.add(ranWithP50("filechannel-virtual", cached, 100_000, 300));
        results.add(Result.skipped(FileChannelContender.URING_VIRTUAL, cached, "failed: EIO"));
        String qd1 = "randread-cached-qd1";
        results.add(ranWithP50("filechannel-platform", qd1, 400_000, 2));
        results.add(ranWithP50(FileChannelContender.URING_PLATFORM, qd1, 380_000, 2)); // 0.95x: met
        results.add(ranWithP50(AsyncFileChannelContender.JDK, qd1, 50_000, 20));
        results.add(ranWithP50(AsyncFileChannelContender.URING, qd1, 40_000, 25)); // 0.8x: missed
        return new Report("2025-01-01T00:00:00Z", new LinkedHashMap<>(), MACHINE, entries, workloads, results,
                List.of());
    }

    @Test
    void nioGoalsCompareTheProvidersChannelsWithTheJdksLaneForLane() {
        Report report = nioSample();
        List<Report.Goal> goals = report.goals();
        Report.Goal afc = goal(goals, "randread-direct-qd32: afc-uring ≥ 2.00× jdk-afc");
        assertEquals(2.5, afc.measured(), 1e-9);
        assertTrue(afc.met());
        Report.Goal fc = goal(goals, "randread-direct-qd32: filechannel-uring ≥ 1.30× filechannel-platform");
        assertEquals(1.2, fc.measured(), 1e-9);
        assertFalse(fc.met());
        assertEquals("24,000 vs 20,000 IOPS", fc.detail());
        assertTrue(goal(goals, "randread-cached-qd32: filechannel-uring ≥ 1.00× filechannel-platform").met());
        assertFalse(goal(goals, "randread-cached-qd32: filechannel-uring-virtual ≥ 1.00× filechannel-virtual")
                .known(), "a failed side is not measured, neither met nor missed");
        assertTrue(goal(goals, "randread-cached-qd1: filechannel-uring ≥ 0.90× filechannel-platform").met());
        Report.Goal afcQd1 = goal(goals, "randread-cached-qd1: afc-uring ≥ 0.90× jdk-afc");
        assertEquals(0.8, afcQd1.measured(), 1e-9);
        assertFalse(afcQd1.met());
        assertFalse(goal(goals, "randread-direct-qd1: afc-uring ≥ 0.90× jdk-afc").known());
        String md = report.markdown();
        assertTrue(md.contains("| randread-direct-qd32: filechannel-uring ≥ 1.30× filechannel-platform | 1.20× | "
                + "**missed**: 24,000 vs 20,000 IOPS |"), md);
        assertTrue(md.contains("| randread-direct-qd32: afc-uring ≥ 2.00× jdk-afc | 2.50× | met |"), md);
    }

    @Test
    void handOffGoalsAreMetOrMissedByTheirOwnDirection() {
        List<Report.Goal> goals = handOffSample().goals();
        Report.Goal blockingIops = goal(goals, "randread-direct-qd1: engine-blocking ≥ 0.90× engine-percore");
        assertEquals(0.95, blockingIops.measured(), 1e-9);
        assertTrue(blockingIops.met());
        Report.Goal blockingP50 = goal(goals, "randread-direct-qd1: engine-blocking p50 ≤ 1.15× fio-io_uring p50");
        assertEquals(50 / 42.0, blockingP50.measured(), 1e-9);
        assertFalse(blockingP50.met(), "a p50 above 1.15x fio's misses");
        assertEquals("50.0 vs 42.0 µs", blockingP50.detail());
        Report.Goal facadeIops = goal(goals, "randread-direct-qd1: facade ≥ 0.90× engine-percore");
        assertEquals(0.35, facadeIops.measured(), 1e-9);
        assertFalse(facadeIops.met());
        assertEquals("7,000 vs 20,000 IOPS", facadeIops.detail());
        Report.Goal facadeGlibc = goal(goals, "randread-direct-qd1: facade ≥ 1.30× glibc-aio");
        assertFalse(facadeGlibc.met());
        Report.Goal lio = goal(goals, "randread-cached-qd1: facade-lio ≥ 5.00× glibc-aio");
        assertEquals(5.0, lio.measured(), 1e-9);
        assertTrue(lio.met(), "exactly at the target is met");
        Report.Goal cached = goal(goals, "randread-cached-qd1: engine-blocking ≥ 0.90× filechannel-platform");
        assertEquals(0.75, cached.measured(), 1e-9);
        assertFalse(cached.met());
        Report.Goal log8 = goal(goals, "append-8: appendlog-threads ≥ 2.00× rocksdb-wal");
        assertEquals(2.5, log8.measured(), 1e-9);
        assertTrue(log8.met());
        Report.Goal log64 = goal(goals, "append-64: appendlog-threads ≥ 2.00× rocksdb-wal");
        assertFalse(log64.known(), "append-64 did not run");
        // the facade against glibc on every workload of the run
        for (String w : List.of("randread-cached-qd1", "randread-direct-qd1", "append-8")) {
            goal(goals, w + ": facade ≥ 1.30× glibc-aio");
        }
    }

    @Test
    void goalRowsSayMetMissedWithTheFiguresOrNotMeasured() {
        String md = handOffSample().markdown();
        assertTrue(md.contains("| randread-direct-qd1: facade ≥ 0.90× engine-percore | 0.35× | **missed**: 7,000 vs "
                + "20,000 IOPS |"), md);
        assertTrue(md.contains("| randread-direct-qd1: engine-blocking p50 ≤ 1.15× fio-io_uring p50 | 1.19× | "
                + "**missed**: 50.0 vs 42.0 µs |"), md);
        assertTrue(md.contains("| append-8: appendlog-threads ≥ 2.00× rocksdb-wal | 2.50× | met |"), md);
        // both sides selected, one without a result there
        assertTrue(md.contains("| append-8: facade ≥ 1.30× glibc-aio | – | not measured |"), md);
        assertFalse(md.contains("issue"), "no ticket numbers in the report's text");
    }

    /**
     * A run of a few contenders or workloads (--only, --workloads) lists only the goals it could measure: a
     * one-contender run listed all 28 goals as "not measured". A goal stays when its workload ran and both its sides
     * were selected, measured or not (a side that could not run is worth seeing); report.json keeps every goal.
     */
    @Test
    void goalsOutsideTheSelectionAreLeftOutOfTheMarkdown() {
        String md = handOffSample().markdown();
        assertFalse(md.contains("append-64: appendlog-threads"), "append-64 was not selected:\n" + md);
        assertFalse(md.contains("appendlog ≥ 5.00×"), "appendlog was not selected:\n" + md);
        assertFalse(md.contains("afc-uring"), "the nio contenders were not selected:\n" + md);
        assertTrue(md.contains("| append-8: appendlog-threads ≥ 2.00× rocksdb-wal | 2.50× | met |"), md);
        assertTrue(handOffSample().goals().stream().anyMatch(g -> g.workload().equals("append-64")),
                "goals() (and report.json) keep every goal");

        Report one = new Report("2025-01-01T00:00:00Z", new LinkedHashMap<>(), MACHINE,
                List.of(new Report.Entry("engine-1ring", "one ring", null)), Workload.select("randread-cached-qd1"),
                List.of(ran("engine-1ring", "randread-cached-qd1", 1000, 1.0)), List.of());
        String alone = one.markdown();
        assertFalse(alone.contains("| goal |"), alone);
        assertTrue(alone.contains("## Goals\n\nNo goal compares two contenders of this run on a workload it ran "
                + "(--only, --workloads); a full run lists them.\n"), alone);
    }

    @Test
    void aMissedRowWhereFioMissesTheSameBarIsReportedDeviceBound() {
        // fio reaches 1.10x glibc: a 1.30x bar over glibc is above what the device gives the minimal C loop
        List<Workload> workloads = Workload.select("randread-direct-qd1");
        List<Report.Entry> entries = new ArrayList<>();
        for (String name : List.of(Report.ENGINE, "facade", Report.GLIBC, "fio-io_uring")) {
            entries.add(new Report.Entry(name, name, null));
        }
        String direct = "randread-direct-qd1";
        List<Result> results = List.of(ranWithP50(Report.ENGINE, direct, 14_000, 70),
                ranWithP50("facade", direct, 11_500, 72), ranWithP50(Report.GLIBC, direct, 10_000, 80),
                ranWithP50("fio-io_uring", direct, 11_000, 68));
        Report report = new Report("2025-01-01T00:00:00Z", new LinkedHashMap<>(), MACHINE, entries, workloads,
                results, List.of());
        Report.Goal glibc = goal(report.goals(), "randread-direct-qd1: facade ≥ 1.30× glibc-aio");
        assertFalse(glibc.met());
        assertTrue(glibc.deviceBound());
        assertEquals(1.1, glibc.ceiling(), 1e-9);
        String md = report.markdown();
        assertTrue(md.contains("| randread-direct-qd1: facade ≥ 1.30× glibc-aio | 1.15× | **missed**: 11,500 vs 10,000 "
                + "IOPS; device-bound: fio-io_uring, the C reference, reaches 1.10× glibc-aio in the same run |"), md);
        // a row against another reference carries no ceiling, though fio (0.79x) is under its bar too: fio is no
        // ceiling for the facade against the engine's own rings
        Report.Goal vsEngine = goal(report.goals(), "randread-direct-qd1: facade ≥ 0.85× engine-percore");
        assertFalse(vsEngine.met());
        assertFalse(vsEngine.deviceBound());
        assertTrue(md.contains("| randread-direct-qd1: facade ≥ 0.85× engine-percore | 0.82× | **missed**: 11,500 vs "
                + "14,000 IOPS |"), md);
        Report.Goal missedAlone = goal(handOffSample().goals(), "randread-direct-qd1: facade ≥ 1.30× glibc-aio");
        assertFalse(missedAlone.met());
        assertFalse(missedAlone.deviceBound(), "fio reaches 1.91x glibc there: the facade's own miss");
        assertTrue(Double.isNaN(missedAlone.ceiling()));
    }

    @Test
    void writesJsonMarkdownAndSvg(@TempDir Path dir) throws Exception {
        sample().write(dir);
        JsonNode json = ReportJson.tree(Files.readString(dir.resolve("report.json")));
        assertEquals("ext4", json.path("machine").path("fileSystem").asText());
        assertEquals("fio is not installed (apt-get install fio)", json.path("contenders").path(4).path("skipped")
                .asText());
        JsonNode cached = json.path("workloads").path(0);
        assertEquals("randread-cached-qd32", cached.path("name").asText());
        assertEquals(5, cached.path("results").size(), "every contender has a row");
        JsonNode engine = cached.path("results").path(0);
        assertEquals(200_000, engine.path("iops").asDouble(), 1e-6);
        assertEquals(4.0, engine.path("vsGlibcAio").asDouble(), 1e-9);
        assertEquals(2.5, engine.path("cpuMicrosPerOp").asDouble(), 1e-9);
        assertEquals(30, engine.path("latencyMicros").path("p999").asDouble(), 1e-9);
        assertEquals("fio is not installed (apt-get install fio)", cached.path("results").path(4).path("skipped")
                .asText());
        assertTrue(cached.path("results").path(4).path("iops").isMissingNode());
        assertEquals("failed: read at offset 0: EIO", json.path("workloads").path(1).path("results").path(1)
                .path("skipped").asText());

        String md = Files.readString(dir.resolve("report.md"));
        assertTrue(md.contains("## randread-cached-qd32"), md);
        assertTrue(md.contains("| facade | 180,000 | 737.3 | 10.0 | 20.0 | 30.0 | 2.50 | 0.250 | 3.60× | 0.90× |"),
                md);
        assertTrue(md.contains("skipped: fio is not installed"), md);
        assertTrue(md.contains("**failed: read at offset 0: EIO**"), md);
        assertTrue(md.contains("## Goals"), md);

        String svg = Files.readString(dir.resolve("chart.svg"));
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", doc.getDocumentElement().getNodeName());
        // background, 5 legend squares, one bar per result that ran (4 + 3)
        assertEquals(1 + 5 + 7, doc.getElementsByTagName("rect").getLength());
        assertTrue(svg.contains("200.0k IOPS"), svg);
    }

    @Test
    void everyContenderOfTheBenchHasItsOwnColour() throws Exception {
        List<Report.Entry> entries = BenchMain.contenders().stream()
                .map(c -> new Report.Entry(c.name(), c.name(), null)).toList();
        String svg = new Report("2025-01-01T00:00:00Z", new LinkedHashMap<>(), MACHINE, entries,
                Workload.select("append-8"), List.of(), List.of()).svg();
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
        org.w3c.dom.NodeList rects = doc.getElementsByTagName("rect");
        java.util.Set<String> legend = new java.util.HashSet<>();
        for (int i = 1; i < rects.getLength(); i++) { // 0 is the background
            legend.add(((org.w3c.dom.Element) rects.item(i)).getAttribute("fill"));
        }
        assertEquals(entries.size(), rects.getLength() - 1, "one legend square per contender");
        assertEquals(entries.size(), legend.size(), "no two contenders share a colour: " + legend);
    }

    @Test
    void roundsReduceToTheMedianRound() {
        Result a = ran("e", "w", 100, 1);
        Result b = ran("e", "w", 300, 1);
        Result c = ran("e", "w", 200, 1);
        Result failed = Result.skipped("e", "w", "failed: EIO");
        assertEquals(a, Result.median(List.of(a)));
        Result m = Result.median(List.of(a, b, c));
        assertEquals(200, m.iops(), 1e-9);
        assertEquals("IOPS per round 100 / 300 / 200", m.note());
        Result even = Result.median(List.of(b, failed, a));
        assertEquals(100, even.iops(), 1e-9, "the lower middle of the rounds that ran");
        assertTrue(even.note().contains("failed: EIO"), even.note());
        assertEquals(failed, Result.median(List.of(failed, Result.skipped("e", "w", "failed: other"))));
    }

    @Test
    void compactNumbers() {
        assertEquals("1.50M", Report.compact(1_500_000));
        assertEquals("12.3k", Report.compact(12_345));
        assertEquals("999", Report.compact(999));
        assertEquals("–", Report.fmt("%.1f", Double.NaN));
    }
}
