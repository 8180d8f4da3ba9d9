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
