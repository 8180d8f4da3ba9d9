package io.uringaio.bench.harness;

import org.HdrHistogram.Histogram;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The latency histogram and op counter of one lane (one slot of the queue depth). A lane has one operation in flight
 * at a time, so its recorder is written by one thread at a time (the one that saw the completion), in the order
 * the submit/complete hand-offs already establish: no locking. The histogram is read after the trial drained.
 */
public final class LaneRecorder {
    /** Latencies from 1 ns to 100 s at 2 significant digits (1% resolution, enough for p99.9). */
    static final long HIGHEST_TRACKABLE_NANOS = 100_000_000_000L;
    static final int SIGNIFICANT_DIGITS = 2;

    private static final VarHandle COMPLETED;

    static {
        try {
            COMPLETED = MethodHandles.lookup().findVarHandle(LaneRecorder.class, "completed", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Trial trial;
    private final Histogram histogram = newHistogram();
    private long startNanos;
    @SuppressWarnings("unused") // through COMPLETED
    private long completed;

    LaneRecorder(Trial trial) {
        this.trial = trial;
    }

    static Histogram newHistogram() {
        return new Histogram(1, HIGHEST_TRACKABLE_NANOS, SIGNIFICANT_DIGITS);
    }

    /** Marks the start of this lane's next operation. */
    public void started() {
        startNanos = System.nanoTime();
    }

    /** Records the operation started by the last {@link #started()} as done now. */
    public void done() {
        long now = System.nanoTime();
        if (trial.measuring()) {
            histogram.recordValue(Math.min(Math.max(1, now - startNanos), HIGHEST_TRACKABLE_NANOS));
        }
        COMPLETED.setOpaque(this, (long) COMPLETED.getOpaque(this) + 1);
    }

    /**
     * Records the operation as done ({@link #done()}) and says whether the lane goes on: true while the trial runs;
     * otherwise the lane has stopped ({@link Trial#laneStopped()} called) and must not start another operation.
     */
    public boolean doneAndGoOn() {
        done();
        if (trial.running()) {
            return true;
        }
        trial.laneStopped();
        return false;
    }

    /** Operations done so far, warm-up included; may lag by a few when read from another thread. */
    long completed() {
        return (long) COMPLETED.getOpaque(this);
    }

    Histogram histogram() {
        return histogram;
    }
}
