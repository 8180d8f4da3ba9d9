package io.uringaio.bench.harness;

import org.HdrHistogram.Histogram;

import java.lang.management.ManagementFactory;
import java.util.concurrent.TimeUnit;

/**
 * A contender that runs inside this JVM as a closed loop: {@link #start} submits one operation per lane, and each
 * completion records its latency and, while the trial runs, starts the lane's next operation. This class does the
 * timing: warm-up (not recorded), the measured window with a progress line, process CPU time and enters around it,
 * then stops the lanes and waits for them to drain.
 */
public abstract class InProcessContender implements Contender {
    private static final long DRAIN_TIMEOUT_SECONDS = 60;
    private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** Starts the trial's lanes; on return every lane has called {@link Trial#laneStarted()}. */
    protected abstract Load start(Trial trial, TrialContext context) throws Exception;

    /** A note for the report on how this contender ran {@code workload}, or null. */
    protected String note(Workload workload) {
        return null;
    }

    @Override
    public final Result run(Workload workload, TrialContext context) throws Exception {
        Trial trial = new Trial(workload, context.fileBytes(), context.seed());
        Progress.Task task = context.progress().begin(name(), workload.name());
        long measuredOps;
        double seconds;
        long cpuNanos;
        long enters = -1;
        try (Load load = start(trial, context)) {
            try {
                long warmupEnd = System.nanoTime() + (long) (context.warmupSeconds() * 1e9);
                while (System.nanoTime() < warmupEnd && trial.running()) {
                    sleep(Math.min(TICK_NANOS, warmupEnd - System.nanoTime()));
                    task.warmingUp(trial.completed());
                }
                check(trial);
                long enters0 = load.enterCalls();
                long cpu0 = processCpuNanos();
                long t0 = System.nanoTime();
                trial.startMeasuring();
                long end = t0 + (long) (context.measureSeconds() * 1e9);
                long ops0 = trial.completed();
                while (System.nanoTime() < end && trial.running()) {
                    sleep(Math.min(TICK_NANOS, end - System.nanoTime()));
                    task.measuring((System.nanoTime() - t0) / 1e9, trial.completed() - ops0);
                }
                trial.stop();
                long t1 = System.nanoTime();
                cpuNanos = processCpuNanos() - cpu0;
                long enters1 = load.enterCalls();
                if (enters0 >= 0 && enters1 >= 0) {
                    enters = enters1 - enters0;
                }
                seconds = (t1 - t0) / 1e9;
            } finally {
                trial.stop();
                if (!trial.awaitDrained(DRAIN_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    trial.fail("operations still in flight " + DRAIN_TIMEOUT_SECONDS + " s after the trial stopped");
                }
            }
        } finally {
            task.end();
        }
        check(trial);
        Histogram h = trial.mergedHistogram();
        measuredOps = h.getTotalCount();
        if (measuredOps == 0) {
            throw new IllegalStateException("no operation completed in " + context.measureSeconds() + " s");
        }
        return new Result(name(), workload.name(), null, measuredOps, seconds, workload.bytesPerOp(), Latency.of(h),
                cpuNanos < 0 ? Double.NaN : (double) cpuNanos / measuredOps,
                enters < 0 ? Double.NaN : (double) enters / measuredOps, note(workload));
    }

    private static void check(Trial trial) {
        String failure = trial.failure();
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    private static void sleep(long nanos) throws InterruptedException {
        if (nanos > 0) {
            TimeUnit.NANOSECONDS.sleep(nanos);
        }
    }

    /** This process's CPU time (user + system, all threads, io_uring's io-wq workers included), or -1. */
    static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** Describes a failed operation: errno name or short transfer. */
    static String describe(String what, int res, long expected, long offset) {
        if (res < 0) {
            return what + " at offset " + offset + " failed: " + io.uringaio.engine.uapi.ErrnoTable.describe(-res);
        }
        return what + " at offset " + offset + " transferred " + res + " of " + expected + " bytes";
    }
}
