package io.uringaio.bench.harness;

import org.HdrHistogram.Histogram;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * One contender running one workload in-process: the lanes' recorders and offset streams, the phase (warm-up,
 * measure, stop) the lanes read on every completion, the first failure, and the count of lanes still running.
 *
 * <p>A lane's life: {@link #laneStarted()} before its first operation; on each completion
 * {@link LaneRecorder#done()}, then, while {@link #running()}, the next operation; once it stops resubmitting,
 * {@link #laneStopped()} exactly once.
 */
public final class Trial {
    private static final int WARMUP = 0;
    private static final int MEASURE = 1;
    private static final int STOP = 2;

    private final Workload workload;
    private final LaneRecorder[] lanes;
    private final Workload.Offsets[] offsets;
    private volatile int phase = WARMUP;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile Thread drainWaiter;

    public Trial(Workload workload, long fileBytes, long seed) {
        this.workload = workload;
        this.lanes = new LaneRecorder[workload.queueDepth()];
        for (int i = 0; i < lanes.length; i++) {
            lanes[i] = new LaneRecorder(this);
        }
        this.offsets = workload.offsets(fileBytes, seed);
    }

    public Workload workload() {
        return workload;
    }

    public int depth() {
        return lanes.length;
    }

    public LaneRecorder lane(int i) {
        return lanes[i];
    }

    public Workload.Offsets offsets(int lane) {
        return offsets[lane];
    }

    boolean measuring() {
        return phase == MEASURE;
    }

    /** False once the trial stopped or failed: lanes then stop resubmitting. */
    public boolean running() {
        return phase != STOP;
    }

    void startMeasuring() {
        phase = MEASURE;
    }

    void stop() {
        phase = STOP;
    }

    /** Records the first failure (an errno, a short transfer) and stops the trial. */
    public void fail(String message) {
        failure.compareAndSet(null, message);
        phase = STOP;
    }

    public String failure() {
        return failure.get();
    }

    public void laneStarted() {
        active.incrementAndGet();
    }

    public void laneStopped() {
        if (active.decrementAndGet() == 0) {
            Thread w = drainWaiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    /** Waits until every lane stopped; false on timeout. */
    public boolean awaitDrained(long timeout, TimeUnit unit) {
        drainWaiter = Thread.currentThread();
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (active.get() > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            LockSupport.parkNanos(this, Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)));
        }
        drainWaiter = null;
        return true;
    }

    long completed() {
        long total = 0;
        for (LaneRecorder lane : lanes) {
            total += lane.completed();
        }
        return total;
    }

    /** The lanes' histograms merged; call after the trial drained. */
    Histogram mergedHistogram() {
        return merge(lanes);
    }

    static Histogram merge(LaneRecorder... recorders) {
        Histogram total = LaneRecorder.newHistogram();
        for (LaneRecorder r : recorders) {
            total.add(r.histogram());
        }
        return total;
    }
}
