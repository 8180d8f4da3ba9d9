package io.uringaio.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of one run, and its three renderings: {@code report.json}, {@code report.md} (the tables) and
 * {@code chart.svg} (IOPS bars per workload, one colour per contender).
 *
 * <p>Ratios are IOPS ratios within one workload: {@code contender / glibc-aio} and
 * {@code contender / engine-percore} (the engine's default configuration, one ring per core).
 */
public final class Report {
    public static final String GLIBC = "glibc-aio";
    public static final String ENGINE = "engine-percore";
    static final String FACADE = "facade";
    static final String FIO_IO_URING = "fio-io_uring";

    /** A contender as the report lists it. */
    public record Entry(String name, String description, String skipReason) {
    }

    /** What a goal compares. */
    public enum Metric {
        /** {@code contender IOPS / reference IOPS >= target}. */
        IOPS,
        /** {@code contender p50 / reference p50 <= target}: latency, lower is better. */
        P50
    }

    /**
     * A goal on {@code workload}: by {@code metric}, the contender's figure over the reference's, against
     * {@code target}.
     *
     * @param measured the ratio, NaN when either side did not run
     * @param detail   the two figures behind the ratio (e.g. {@code "6,887 vs 20,256 IOPS"}), null when not measured
     * @param ceiling  when a goal over glibc's POSIX AIO is missed and the C reference (fio's io_uring engine) itself
     *                 stays under the target against glibc in the same run, that ratio: the device, not the
     *                 contender's path, bounds the row; NaN otherwise
     */
    public record Goal(String workload, String contender, String reference, double target, double measured,
                       Metric metric, String detail, double ceiling) {
        public boolean met() {
            return metric == Metric.IOPS ? measured >= target : measured <= target;
        }

        public boolean known() {
            return !Double.isNaN(measured);
        }

        /** Whether the row is missed where fio itself misses the same target ({@link #ceiling}). */
        public boolean deviceBound() {
            return !Double.isNaN(ceiling);
        }

        /** Why the row is missed, as the report states it: the two figures, and the device's ceiling when known. */
        String missedBecause() {
            if (!deviceBound()) {
                return detail;
            }
            return String.format(Locale.ROOT, "%s; device-bound: %s, the C reference, reaches %.2f× %s in the same run",
                    detail, FIO_IO_URING, ceiling, reference);
        }

        String text() {
            return metric == Metric.IOPS
                    ? String.format(Locale.ROOT, "%s: %s ≥ %.2f× %s", workload, contender, target, reference)
                    : String.format(Locale.ROOT, "%s: %s p50 ≤ %.2f× %s p50", workload, contender, target, reference);
        }
    }

    private final Map<String, Object> settings;
    private final Machine machine;
    private final List<Entry> contenders;
    private final List<Workload> workloads;
    private final List<Result> results;
    private final String started;
    private final List<String> caveats;

    public Report(String started, Map<String, Object> settings, Machine machine, List<Entry> contenders,
                  List<Workload> workloads, List<Result> results, List<String> caveats) {
        this.started = started;
        this.settings = settings;
        this.machine = machine;
        this.contenders = contenders;
        this.workloads = workloads;
        this.results = results;
        this.caveats = caveats;
    }

    public List<Result> results() {
        return results;
    }

    Result result(String workload, String contender) {
        for (Result r : results) {
            if (r.workload().equals(workload) && r.contender().equals(contender)) {
                return r;
            }
        }
        return null;
    }

    /** IOPS of {@code r} over IOPS of {@code reference} on the same workload; NaN when either did not run. */
    public double ratio(Result r, String reference) {
        Result ref = result(r.workload(), reference);
        if (ref == null || !ref.ran() || !r.ran()) {
            return Double.NaN;
        }
        return ratio(r.iops(), ref.iops());
    }

    static double ratio(double value, double reference) {
        if (Double.isNaN(value) || Double.isNaN(reference) || reference <= 0) {
            return Double.NaN;
        }
        return value / reference;
    }

    double ratio(String workload, String contender, String reference) {
        Result r = result(workload, contender);
        return r == null ? Double.NaN : ratio(r, reference);
    }

    /**
     * The goals the engine is held to, with the measured ratios (NaN where a side did not run): against glibc, the JDK
     * and fio; the log's group commit over one fdatasync per record; and no thread hand-off on the critical path
     * (the facade against glibc on every workload, the facade and a thread blocked on each future at device latency
     * and at page-cache speed, the log with a thread per appender against RocksDB's synchronous WAL); and the uring
     * provider's {@code java.nio} channels against the JDK's, lane for lane (see {@link #nioGoals}).
     */
    public List<Goal> goals() {
        List<Goal> goals = new ArrayList<>();
        String direct = "randread-direct-qd32";
        goals.add(goal(direct, ENGINE, "fio-io_uring", 0.9));
        goals.add(goal(direct, ENGINE, GLIBC, 4.0));
        goals.add(goal(direct, ENGINE, AsyncFileChannelContender.JDK, 3.0));
        String cached = "randread-cached-qd32";
        goals.add(goal(cached, ENGINE, GLIBC, 1.0));
        goals.add(goal(cached, ENGINE, AsyncFileChannelContender.JDK, 1.5));
        goals.add(goal("randwrite-fdatasync-qd32", ENGINE, GLIBC, 1.3));
        goals.add(goal("append-64", AppendLogContender.NAME, ENGINE, 5.0));
        for (Workload w : workloads) {
            goals.add(goal(w.name(), FACADE, ENGINE, 0.85));
        }
        for (Workload w : workloads) {
            goals.add(goal(w.name(), FACADE, GLIBC, 1.3));
        }
        String directQd1 = "randread-direct-qd1";
        for (String waiter : List.of(FACADE, EngineBlockingContender.NAME)) {
            goals.add(goal(directQd1, waiter, ENGINE, 0.9));
            goals.add(p50Goal(directQd1, waiter, FIO_IO_URING, 1.15));
        }
        String cachedQd1 = "randread-cached-qd1";
        goals.add(goal(cachedQd1, "facade-lio", GLIBC, 5.0));
        goals.add(goal(cachedQd1, EngineBlockingContender.NAME, "filechannel-platform", 0.9));
        for (String appenders : List.of("append-8", "append-64")) {
            goals.add(goal(appenders, AppendLogContender.NAME + "-threads", RocksDbWalContender.NAME, 2.0));
        }
        goals.addAll(nioGoals());
        return goals;
    }

    /**
     * The uring provider's channels against the JDK's, each on the same lanes: at O_DIRECT QD32 its
     * AsynchronousFileChannel 2× the JDK's and its FileChannel 1.3× the JDK's on 32 threads; on page-cached reads
     * from 32 threads no slower than the JDK's FileChannel; and at QD1 (one caller, nothing to overlap) within 10% of
     * the JDK.
     */
    List<Goal> nioGoals() {
        String fcPlatform = "filechannel-platform";
        String fcVirtual = "filechannel-virtual";
        String ourPlatform = FileChannelContender.URING_PLATFORM;
        String ourVirtual = FileChannelContender.URING_VIRTUAL;
        String afc = AsyncFileChannelContender.JDK;
        String ourAfc = AsyncFileChannelContender.URING;
        List<Goal> goals = new ArrayList<>();
        String direct = "randread-direct-qd32";
        goals.add(goal(direct, ourAfc, afc, 2.0));
        goals.add(goal(direct, ourPlatform, fcPlatform, 1.3));
        goals.add(goal(direct, ourVirtual, fcVirtual, 1.3));
        String cached = "randread-cached-qd32";
        goals.add(goal(cached, ourPlatform, fcPlatform, 1.0));
        goals.add(goal(cached, ourVirtual, fcVirtual, 1.0));
        for (String qd1 : List.of("randread-cached-qd1", "randread-direct-qd1")) {
            goals.add(goal(qd1, ourPlatform, fcPlatform, 0.9));
            goals.add(goal(qd1, ourVirtual, fcVirtual, 0.9));
            goals.add(goal(qd1, ourAfc, afc, 0.9));
        }
        return goals;
    }

    private Goal goal(String workload, String contender, String reference, double target) {
        double measured = ratio(workload, contender, reference);
        String detail = Double.isNaN(measured) ? null : String.format(Locale.ROOT, "%,.0f vs %,.0f IOPS",
                result(workload, contender).iops(), result(workload, reference).iops());
        double ceiling = measured < target ? ceiling(workload, contender, reference, target) : Double.NaN;
        return new Goal(workload, contender, reference, target, measured, Metric.IOPS, detail, ceiling);
    }

    /**
     * fio's ratio to glibc's POSIX AIO on {@code workload} when it is under {@code target} too: fio is the minimal
     * io_uring loop in C, one request per call at the workload's depth as glibc's, so a bar over glibc that fio does
     * not clear is the device's, not the contender's path. NaN for any other reference (fio is no ceiling for a
     * contender against the engine's own two rings, nor against a log that groups commits), when fio did not run, or
     * when it clears the bar.
     */
    private double ceiling(String workload, String contender, String reference, double target) {
        if (!reference.equals(GLIBC) || contender.equals(FIO_IO_URING)) {
            return Double.NaN;
        }
        double fio = ratio(workload, FIO_IO_URING, reference);
        return fio < target ? fio : Double.NaN;
    }

    /** A latency goal: the contender's p50 at most {@code target} times the reference's. */
    private Goal p50Goal(String workload, String contender, String reference, double target) {
        Result r = result(workload, contender);
        Result ref = result(workload, reference);
        double measured = r == null || ref == null || !r.ran() || !ref.ran() ? Double.NaN
                : ratio(r.latency().p50Micros(), ref.latency().p50Micros());
        String detail = Double.isNaN(measured) ? null : String.format(Locale.ROOT, "%,.1f vs %,.1f µs",
                r.latency().p50Micros(), ref.latency().p50Micros());
        return new Goal(workload, contender, reference, target, measured, Metric.P50, detail, Double.NaN);
    }

    // ---------------------------------------------------------------- files

    /** Writes report.json, report.md and chart.svg into {@code dir}. */
    public void write(Path dir) throws IOException {
        io.uringaio.bench.BenchFiles.createDirectories(dir);
        writeFile(dir.resolve("report.json"), ReportJson.write(toJson()));
        writeFile(dir.resolve("report.md"), markdown());
        writeFile(dir.resolve("chart.svg"), svg());
    }

    private static void writeFile(Path file, String text) throws IOException {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw io.uringaio.bench.FileErrors.failed("write", file, e);
        }
    }

    // ---------------------------------------------------------------- JSON

    public Map<String, Object> toJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("tool", "uring-aio bench");
        root.put("started", started);
        root.put("settings", settings);
        root.put("machine", machine.toJson());
        root.put("caveats", caveats);
        List<Object> cs = new ArrayList<>();
        for (Entry e : contenders) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("description", e.description());
            m.put("skipped", e.skipReason());
            cs.add(m);
        }
        root.put("contenders", cs);
        List<Object> ws = new ArrayList<>();
        for (Workload w : workloads) {
            Map<String, Object> wm = new LinkedHashMap<>();
            wm.put("name", w.name());
            wm.put("description", w.description());
            wm.put("op", w.op().name());
            wm.put("blockBytes", w.blockBytes());
            wm.put("queueDepth", w.queueDepth());
            wm.put("direct", w.direct());
            wm.put("sequential", w.sequential());
            List<Object> rs = new ArrayList<>();
            for (Result r : resultsOf(w)) {
                rs.add(resultJson(r));
            }
            wm.put("results", rs);
            ws.add(wm);
        }
        root.put("workloads", ws);
        List<Object> gs = new ArrayList<>();
        for (Goal g : goals()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("goal", g.text());
            m.put("target", g.target());
            m.put("measured", g.measured());
            m.put("met", g.known() ? g.met() : null);
            gs.add(m);
        }
        root.put("goals", gs);
        return root;
    }

    private Map<String, Object> resultJson(Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("contender", r.contender());
        m.put("skipped", r.skipReason());
        if (r.ran()) {
            m.put("ops", r.ops());
            m.put("seconds", r.seconds());
            m.put("iops", r.iops());
            m.put("megabytesPerSecond", r.megabytesPerSecond());
            Map<String, Object> lat = new LinkedHashMap<>();
            lat.put("p50", r.latency().p50Micros());
            lat.put("p99", r.latency().p99Micros());
            lat.put("p999", r.latency().p999Micros());
            lat.put("max", r.latency().maxMicros());
            m.put("latencyMicros", lat);
            m.put("cpuMicrosPerOp", r.cpuNanosPerOp() / 1000);
            m.put("entersPerOp", r.entersPerOp());
            m.put("vsGlibcAio", ratio(r, GLIBC));
            m.put("vsEngine", ratio(r, ENGINE));
            m.put("note", r.note());
        }
        return m;
    }

    List<Result> resultsOf(Workload w) {
        List<Result> out = new ArrayList<>();
        for (Entry e : contenders) {
            Result r = result(w.name(), e.name());
            if (r != null) {
                out.add(r);
            } else if (e.skipReason() != null) {
                out.add(Result.skipped(e.name(), w.name(), e.skipReason()));
            } // else the contender does not apply to this workload (the log runs the append workloads only)
        }
        return out;
    }

    // ---------------------------------------------------------------- Markdown

    public String markdown() {
        StringBuilder sb = new StringBuilder();
        sb.append("# uring-aio bench, ").append(started).append("\n\n");
        sb.append("Machine: ").append(machine.kernel()).append(", ").append(machine.cores()).append(" cores (")
                .append(machine.cpuModel()).append("), VM: ").append(machine.hypervisor()).append(", ")
                .append(machine.memoryMiB()).append(" MiB RAM; file system ").append(machine.fileSystem())
                .append(" on ").append(machine.device()).append(" (").append(machine.mountPoint()).append("); ")
                .append(machine.jdk()).append("; glibc ").append(machine.glibc()).append("; ")
                .append(machine.fio() == null ? "no fio" : machine.fio()).append("; io_uring ")
                .append(machine.ioUring()).append("; load average at start ").append(machine.loadAverage())
                .append(".\n\n");
        sb.append("Settings: ");
        List<String> s = new ArrayList<>();
        settings.forEach((k, v) -> s.add(k + " " + v));
        sb.append(String.join(", ", s)).append(".\n\n");
        for (String c : caveats) {
            sb.append("- ").append(c).append('\n');
        }
        sb.append("\nIOPS ratios: × glibc = contender / `").append(GLIBC).append("`, × engine = contender / `")
                .append(ENGINE).append("`. CPU is process CPU time (user + system, all threads) per operation; ")
                .append("enters/op counts the engine's io_uring_enter submissions.\n\n");
        sb.append("## Contenders\n\n");
        for (Entry e : contenders) {
            sb.append("- `").append(e.name()).append("`: ").append(e.description());
            if (e.skipReason() != null) {
                sb.append(" — **skipped**: ").append(e.skipReason());
            }
            sb.append('\n');
        }
        for (Workload w : workloads) {
            sb.append("\n## ").append(w.name()).append(": ").append(w.description()).append("\n\n");
            sb.append("| contender | IOPS | MB/s | p50 µs | p99 µs | p99.9 µs | CPU µs/op | enters/op | × glibc "
                    + "| × engine |\n");
            sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            List<String> notes = new ArrayList<>();
            for (Result r : resultsOf(w)) {
                if (!r.ran()) {
                    sb.append("| ").append(r.contender()).append(" | ").append(r.skipReason().startsWith("failed")
                            ? "**" + r.skipReason() + "**" : "skipped: " + r.skipReason())
                            .append(" | | | | | | | | |\n");
                    continue;
                }
                sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
                        r.contender(), fmt("%,.0f", r.iops()), fmt("%,.1f", r.megabytesPerSecond()),
                        fmt("%,.1f", r.latency().p50Micros()), fmt("%,.1f", r.latency().p99Micros()),
                        fmt("%,.1f", r.latency().p999Micros()), fmt("%.2f", r.cpuNanosPerOp() / 1000),
                        fmt("%.3f", r.entersPerOp()), fmt("%.2f×", ratio(r, GLIBC)),
                        fmt("%.2f×", ratio(r, ENGINE))));
                if (r.note() != null) {
                    notes.add("`" + r.contender() + "`: " + r.note());
                }
            }
            if (!notes.isEmpty()) {
                sb.append('\n');
                for (String n : notes) {
                    sb.append("- ").append(n).append('\n');
                }
            }
        }
        sb.append("\n## Goals\n\n");
        List<Goal> shown = goals().stream().filter(this::inSelection).toList();
        if (shown.isEmpty()) {
            sb.append("No goal compares two contenders of this run on a workload it ran (--only, --workloads); a full "
                    + "run lists them.\n");
            return sb.toString();
        }
        sb.append("| goal | measured | |\n|---|---:|---|\n");
        for (Goal g : shown) {
            sb.append("| ").append(g.text()).append(" | ").append(fmt("%.2f×", g.measured())).append(" | ")
                    .append(!g.known() ? "not measured" : g.met() ? "met" : "**missed**: " + g.missedBecause())
                    .append(" |\n");
        }
        return sb.toString();
    }

    /**
     * Whether this run could have measured {@code g}: its workload and both its contenders were selected (a side that
     * could not run still counts: its row says "not measured"). A run of a few contenders listed every goal otherwise.
     */
    private boolean inSelection(Goal g) {
        return workloads.stream().anyMatch(w -> w.name().equals(g.workload()))
                && contenders.stream().anyMatch(e -> e.name().equals(g.contender()))
                && contenders.stream().anyMatch(e -> e.name().equals(g.reference()));
    }

    static String fmt(String format, double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, format, v);
    }

    // ---------------------------------------------------------------- SVG

    /** One colour per contender of {@link BenchMain#contenders()} (more would repeat from the start). */
    private static final String[] COLOURS = {
        "#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#843c39", "#637939", "#7b4173",
        "#3182bd", "#e6550d"};

    /** One panel per workload, one horizontal IOPS bar per contender (its colour fixed across panels). */
    public String svg() {
        int width = 960;
        int labelWidth = 190;
        int barArea = width - labelWidth - 150;
        int barHeight = 14;
        int gap = 3;
        int n = contenders.size();
        int legendRows = (n + 3) / 4;
        int top = 40 + legendRows * 18 + 10;
        int height = top + 10;
        for (Workload w : workloads) {
            height += panelHeight(resultsOf(w).size(), barHeight, gap);
        }
        StringBuilder sb = new StringBuilder();
        sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n", width, height, width, height));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append("<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">")
                .append(xml("uring-aio bench: IOPS per workload (" + machine.kernel() + ", " + machine.cores()
                        + " cores, " + machine.fileSystem() + ")"))
                .append("</text>\n");
        for (int i = 0; i < n; i++) {
            int x = 10 + (i % 4) * 235;
            int y = 40 + (i / 4) * 18;
            sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>\n", x, y, colour(i), x + 16, y + 10,
                    xml(contenders.get(i).name())));
        }
        int y = top;
        for (Workload w : workloads) {
            List<Result> rs = resultsOf(w);
            double max = rs.stream().filter(Result::ran).mapToDouble(Result::iops).max().orElse(0);
            sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y + 14,
                    xml(w.name() + ": " + w.description())));
            int by = y + 24;
            for (Result r : rs) {
                int i = indexOf(r.contender()); // a contender keeps its colour in every panel
                sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>",
                        labelWidth - 6, by + barHeight - 3, xml(r.contender())));
                if (r.ran() && max > 0) {
                    double len = Math.max(1, barArea * r.iops() / max);
                    sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                            + "fill=\"%s\"/><text x=\"%.1f\" y=\"%d\">%s</text>\n", labelWidth, by, len, barHeight,
                            colour(i), labelWidth + len + 4, by + barHeight - 3, xml(compact(r.iops()) + " IOPS"
                                    + (Double.isNaN(ratio(r, GLIBC)) ? "" : fmt("  %.2f× glibc", ratio(r, GLIBC))))));
                } else {
                    sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#888\">%s</text>\n",
                            labelWidth + 4, by + barHeight - 3, xml(r.skipReason() == null ? "no data"
                                    : (r.skipReason().startsWith("failed") ? "" : "skipped: ")
                                    + shorten(r.skipReason(), 90))));
                }
                by += barHeight + gap;
            }
            y += panelHeight(rs.size(), barHeight, gap);
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static int panelHeight(int bars, int barHeight, int gap) {
        return 26 + bars * (barHeight + gap) + 12;
    }

    private int indexOf(String contender) {
        for (int i = 0; i < contenders.size(); i++) {
            if (contenders.get(i).name().equals(contender)) {
                return i;
            }
        }
        return contenders.size();
    }

    private static String colour(int i) {
        return COLOURS[i % COLOURS.length];
    }

    static String compact(double v) {
        if (v >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        }
        if (v >= 1e3) {
            return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String shorten(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    static String xml(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
