package io.uringaio.bench.harness;

import org.HdrHistogram.Histogram;

/** Latency percentiles of one trial, in microseconds; NaN where unknown. */
public record Latency(double p50Micros, double p99Micros, double p999Micros, double maxMicros) {
    static final Latency UNKNOWN = new Latency(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    static Latency of(Histogram h) {
        if (h.getTotalCount() == 0) {
            return UNKNOWN;
        }
        return new Latency(micros(h.getValueAtPercentile(50)), micros(h.getValueAtPercentile(99)),
                micros(h.getValueAtPercentile(99.9)), micros(h.getMaxValue()));
    }

    private static double micros(long nanos) {
        return nanos / 1000.0;
    }
}
