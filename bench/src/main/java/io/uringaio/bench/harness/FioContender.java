package io.uringaio.bench.harness;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * fio, the external C reference, with one of its I/O engines ({@code io_uring} or {@code posixaio}): one job on the
 * same file with the same block size, queue depth and {@code O_DIRECT} setting, {@code --ramp_time} for the warm-up,
 * JSON output parsed for IOPS, latency percentiles (submission to completion, {@code lat_ns}) and CPU.
 */
public final class FioContender implements Contender {
    private static final String FIO = "fio";

    private final String engine;

    public FioContender(String engine) {
        this.engine = engine;
    }

    @Override
    public String name() {
        return "fio-" + engine;
    }

    @Override
    public String description() {
        return "fio " + FioVersion.get() + " --ioengine=" + engine + ", one job (the C reference)";
    }

    @Override
    public String unavailableReason() {
        if (FioVersion.get() == null) {
            return "fio is not installed (apt-get install fio)";
        }
        if (engine.equals("io_uring")) {
            return IoUringCheck.unavailableReason();
        }
        return null;
    }

    /** The fio command line for one trial (output to {@code output}). */
    List<String> command(Workload w, TrialContext c, Path output) {
        List<String> cmd = new ArrayList<>(List.of(FIO,
                "--name=" + w.name(),
                // fio reads ':' as a separator of several files; it takes "\:" for a colon in a name
                "--filename=" + c.file().toAbsolutePath().toString().replace(":", "\\:"),
                "--ioengine=" + engine,
                "--rw=" + (w.op() == Workload.Op.READ ? (w.sequential() ? "read" : "randread")
                        : (w.sequential() ? "write" : "randwrite")),
                "--bs=" + w.blockBytes(),
                "--iodepth=" + w.queueDepth(),
                "--direct=" + (w.direct() ? 1 : 0),
                "--size=" + c.fileBytes(),
                "--time_based=1",
                "--runtime=" + millis(c.measureSeconds()) + "ms",
                "--ramp_time=" + millis(c.warmupSeconds()) + "ms",
                "--norandommap=1",
                "--randrepeat=0",
                "--invalidate=0",
                "--lat_percentiles=1",
                "--percentile_list=50:99:99.9",
                "--output-format=json",
                "--output=" + output.toAbsolutePath()));
        if (w.op().syncs()) {
            cmd.add("--fdatasync=1");
        }
        return cmd;
    }

    private static long millis(double seconds) {
        return Math.max(1, Math.round(seconds * 1000));
    }

    @Override
    public Result run(Workload workload, TrialContext context) throws Exception {
        Path output = Scratch.track(Files.createTempFile("uring-aio-fio-", ".json"));
        Path log = Scratch.track(Files.createTempFile("uring-aio-fio-", ".log"));
        Progress.Task task = context.progress().begin(name(), workload.name());
        Process p = null;
        try {
            p = Scratch.track(new ProcessBuilder(command(workload, context, output)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start());
            long start = System.nanoTime();
            double limit = context.warmupSeconds() + context.measureSeconds() + 60;
            while (!p.waitFor(100, TimeUnit.MILLISECONDS)) {
                double elapsed = (System.nanoTime() - start) / 1e9;
                task.running(elapsed);
                if (elapsed > limit) {
                    p.destroyForcibly();
                    throw new IOException("fio did not finish in " + limit + " s");
                }
            }
            if (p.exitValue() != 0) {
                throw new IOException("fio exited with " + p.exitValue() + ": " + tail(log));
            }
            return parse(name(), workload, Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            task.end();
            if (p != null) {
                Scratch.untrack(p);
            }
            Files.deleteIfExists(output);
            Files.deleteIfExists(log);
            Scratch.untrack(output);
            Scratch.untrack(log);
        }
    }

    private static String tail(Path log) throws IOException {
        String s = Files.readString(log, StandardCharsets.UTF_8).strip();
        return s.length() > 400 ? "..." + s.substring(s.length() - 400) : s;
    }

    /** Reads fio's JSON output of one job into a result. */
    static Result parse(String contender, Workload w, String json) {
        int brace = json.indexOf('{');
        if (brace < 0) {
            throw new IllegalArgumentException("no JSON in fio's output");
        }
        JsonNode job = ReportJson.tree(json.substring(brace)).path("jobs").path(0);
        if (job.isMissingNode()) {
            throw new IllegalArgumentException("fio's JSON has no jobs");
        }
        String dir = w.op() == Workload.Op.READ ? "read" : "write";
        JsonNode section = job.path(dir);
        long ops = section.path("total_ios").asLong(0);
        double runtimeMs = ReportJson.number(section.get("runtime"));
        if (!(ops > 0) || !(runtimeMs > 0)) {
            throw new IllegalArgumentException("fio reported no " + dir + " operations");
        }
        JsonNode pct = section.path("lat_ns").path("percentile");
        Latency latency = new Latency(percentile(pct, "50.000000"), percentile(pct, "99.000000"),
                percentile(pct, "99.900000"), ReportJson.number(section.path("lat_ns").get("max")) / 1000);
        double cpuPercent = ReportJson.number(job.get("usr_cpu")) + ReportJson.number(job.get("sys_cpu"));
        double jobRuntimeMs = ReportJson.number(job.get("job_runtime"));
        double cpuNanos = cpuPercent / 100 * (Double.isNaN(jobRuntimeMs) ? runtimeMs : jobRuntimeMs) * 1e6;
        String note = null;
        if (w.op().syncs()) {
            JsonNode syncPct = job.path("sync").path("lat_ns").path("percentile");
            note = String.format(Locale.ROOT, "--fdatasync=1: latency is the write's alone; fdatasync p50 %.0f µs",
                    percentile(syncPct, "50.000000"));
        }
        return new Result(contender, w.name(), null, ops, runtimeMs / 1000, w.bytesPerOp(), latency,
                cpuNanos / ops, Double.NaN, note);
    }

    /** A percentile of fio's lat_ns table in microseconds, NaN when absent. */
    private static double percentile(JsonNode percentiles, String key) {
        return ReportJson.number(percentiles.get(key)) / 1000;
    }

    /** fio's version ("fio-3.33"), asked once; null when fio is not on the PATH. */
    static final class FioVersion {
        private static String version;
        private static boolean asked;

        static synchronized String get() {
            if (!asked) {
                asked = true;
                try {
                    Process p = new ProcessBuilder(FIO, "--version").redirectErrorStream(true).start();
                    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                    if (p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 && !out.isEmpty()) {
                        version = out;
                    }
                } catch (IOException | InterruptedException e) {
                    version = null;
                }
            }
            return version;
        }
    }
}
