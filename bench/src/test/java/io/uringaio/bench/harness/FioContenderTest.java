package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

class FioContenderTest {
    /** Trimmed from fio 3.33's --output-format=json of a --fdatasync=1 random write job. */
    static final String FIO_JSON = """
            fio: a warning line before the JSON
            {
              "fio version" : "fio-3.33",
              "jobs" : [
                {
                  "jobname" : "randwrite-fdatasync-qd32",
                  "read" : {"total_ios" : 0, "runtime" : 0, "iops" : 0.0},
                  "write" : {
                    "io_bytes" : 23965696, "bw_bytes" : 47740430, "iops" : 11655.378486, "runtime" : 502,
                    "total_ios" : 5851,
                    "lat_ns" : {"min" : 1000, "max" : 10584957, "mean" : 1951572.85, "N" : 5851,
                      "percentile" : {"50.000000" : 692224, "99.000000" : 2605056, "99.900000" : 8224768}}
                  },
                  "sync" : {"total_ios" : 0, "lat_ns" : {"min" : 286598, "max" : 10584957, "N" : 5870,
                      "percentile" : {"50.000000" : 1875968, "99.000000" : 5472256, "99.900000" : 9895936}}},
                  "job_runtime" : 501,
                  "usr_cpu" : 3.393214,
                  "sys_cpu" : 8.582834
                }
              ]
            }
            """;

    @Test
    void parsesOpsLatencyAndCpu() {
        Workload w = Workload.select("randwrite-fdatasync-qd32").getFirst();
        Result r = FioContender.parse("fio-io_uring", w, FIO_JSON);
        assertEquals(5851, r.ops());
        assertEquals(0.502, r.seconds(), 1e-9);
        assertEquals(5851 / 0.502, r.iops(), 1e-6);
        assertEquals(692.224, r.latency().p50Micros(), 1e-9);
        assertEquals(2605.056, r.latency().p99Micros(), 1e-9);
        assertEquals(8224.768, r.latency().p999Micros(), 1e-9);
        assertEquals(10584.957, r.latency().maxMicros(), 1e-9);
        double cpuNanos = (3.393214 + 8.582834) / 100 * 501e6;
        assertEquals(cpuNanos / 5851, r.cpuNanosPerOp(), 1e-6);
        assertTrue(Double.isNaN(r.entersPerOp()));
        assertTrue(r.note().contains("fdatasync p50 1876 µs"), r.note());
    }

    @Test
    void rejectsOutputWithoutOperations() {
        Workload w = Workload.select("randread-cached-qd1").getFirst();
        assertThrows(IllegalArgumentException.class, () -> FioContender.parse("fio-x", w, FIO_JSON));
        assertThrows(IllegalArgumentException.class, () -> FioContender.parse("fio-x", w, "no json"));
    }

    @Test
    void commandMatchesTheWorkload() {
        TrialContext c = new TrialContext(Path.of("/data/f"), 1L << 30, 1, 5, 42, null);
        List<String> cmd = new FioContender("io_uring").command(Workload.select("seqread-direct-128k-qd8").getFirst(),
                c, Path.of("/tmp/out.json"));
        assertTrue(cmd.containsAll(List.of("--ioengine=io_uring", "--rw=read", "--bs=131072", "--iodepth=8",
                "--direct=1", "--runtime=5000ms", "--ramp_time=1000ms", "--filename=/data/f", "--invalidate=0",
                "--output=/tmp/out.json", "--size=1073741824")), cmd.toString());
        List<String> sync = new FioContender("posixaio").command(
                Workload.select("randwrite-fdatasync-qd32").getFirst(), c, Path.of("/tmp/o"));
        assertTrue(sync.containsAll(List.of("--ioengine=posixaio", "--rw=randwrite", "--direct=0", "--fdatasync=1")));
    }

    /** fio splits --filename at ':' (several files); a colon in the path is escaped as fio documents, '\:'. */
    @Test
    void aColonInThePathIsEscaped() {
        TrialContext c = new TrialContext(Path.of("/data/a:b/f"), 1L << 20, 1, 5, 42, null);
        List<String> cmd = new FioContender("io_uring").command(Workload.select("randread-cached-qd1").getFirst(), c,
                Path.of("/tmp/out.json"));
        assertTrue(cmd.contains("--filename=/data/a\\:b/f"), cmd.toString());
    }
}
