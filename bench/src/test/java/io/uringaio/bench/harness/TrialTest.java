package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

class TrialTest {
    private static Trial trial() {
        return new Trial(Workload.select("randread-cached-qd32").getFirst(), 1 << 20, 1);
    }

    @Test
    void mergedHistogramHoldsEveryLanesSamples() {
        Histogram a = LaneRecorder.newHistogram();
        Histogram b = LaneRecorder.newHistogram();
        for (int i = 1; i <= 900; i++) {
            a.recordValue(1000); // 1 µs
        }
        for (int i = 1; i <= 100; i++) {
            b.recordValue(1_000_000); // 1 ms
        }
        Histogram merged = LaneRecorder.newHistogram();
        merged.add(a);
        merged.add(b);
        assertEquals(1000, merged.getTotalCount());
        Latency l = Latency.of(merged);
        assertEquals(1.0, l.p50Micros(), 0.02);
        assertEquals(1000, l.p99Micros(), 10);
        assertEquals(1000, l.p999Micros(), 10);
    }

    @Test
    void onlyTheMeasuredWindowIsRecordedAndLanesMerge() {
        Trial t = trial();
        LaneRecorder r0 = t.lane(0);
        LaneRecorder r1 = t.lane(1);
        r0.started();
        r0.done(); // warm-up: counted for progress, not recorded
        t.startMeasuring();
        for (int i = 0; i < 3; i++) {
            r0.started();
            r0.done();
        }
        r1.started();
        r1.done();
        t.stop();
        r1.started();
        r1.done(); // after the window
        assertEquals(6, t.completed());
        assertEquals(4, t.mergedHistogram().getTotalCount());
        assertFalse(t.running());
    }

    @Test
    void failStopsAndKeepsTheFirstMessage() {
        Trial t = trial();
        assertTrue(t.running());
        t.fail("first");
        t.fail("second");
        assertEquals("first", t.failure());
        assertFalse(t.running());
    }

    @Test
    void drainWaitsForEveryLane() throws Exception {
        Trial t = trial();
        t.laneStarted();
        t.laneStarted();
        t.laneStopped();
        assertFalse(t.awaitDrained(20, TimeUnit.MILLISECONDS));
        Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException ignored) {
                // end early
            }
            t.laneStopped();
        });
        assertTrue(t.awaitDrained(10, TimeUnit.SECONDS));
    }

    @Test
    void emptyHistogramHasUnknownLatency() {
        Latency l = Latency.of(LaneRecorder.newHistogram());
        assertTrue(Double.isNaN(l.p50Micros()) && Double.isNaN(l.p999Micros()));
    }
}
