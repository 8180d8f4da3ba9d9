package io.uringaio.bench.harness;

/**
 * What one contender measured on one workload, or why it did not run.
 *
 * @param skipReason    null when it ran; otherwise why not (then the numbers are zero or NaN)
 * @param ops           operations completed in the measured window
 * @param seconds       the measured window
 * @param bytesPerOp    bytes moved per operation
 * @param cpuNanosPerOp process CPU time (user + system, all threads) per operation; NaN if unknown
 * @param entersPerOp   {@code io_uring_enter} submissions per operation; NaN where not known or not applicable
 * @param note          how this contender ran the workload, when it differs from the obvious (or null)
 */
public record Result(String contender, String workload, String skipReason, long ops, double seconds,
                     long bytesPerOp, Latency latency, double cpuNanosPerOp, double entersPerOp, String note) {

    static Result skipped(String contender, String workload, String reason) {
        return new Result(contender, workload, reason, 0, 0, 0, Latency.UNKNOWN, Double.NaN, Double.NaN, null);
    }

    public boolean ran() {
        return skipReason == null;
    }

    public double iops() {
        return ran() && seconds > 0 ? ops / seconds : Double.NaN;
    }

    /** Decimal megabytes per second (10^6 bytes), as fio reports MB/s. */
    public double megabytesPerSecond() {
        return iops() * bytesPerOp / 1e6;
    }

    Result withNote(String more) {
        return new Result(contender, workload, skipReason, ops, seconds, bytesPerOp, latency, cpuNanosPerOp,
                entersPerOp, note == null ? more : note + "; " + more);
    }

    /**
     * One cell's rounds reduced to one result: the round with the median IOPS among those that ran (the lower
     * middle one for an even count), with every round's IOPS in the note; the first round's skip or failure when
     * none ran.
     */
    static Result median(java.util.List<Result> rounds) {
        if (rounds.size() == 1) {
            return rounds.getFirst();
        }
        java.util.List<Result> ran = rounds.stream().filter(Result::ran)
                .sorted(java.util.Comparator.comparingDouble(Result::iops)).toList();
        if (ran.isEmpty()) {
            return rounds.getFirst();
        }
        Result m = ran.get((ran.size() - 1) / 2);
        StringBuilder all = new StringBuilder("IOPS per round ");
        for (int i = 0; i < rounds.size(); i++) {
            Result r = rounds.get(i);
            all.append(i == 0 ? "" : " / ").append(r.ran() ? String.format(java.util.Locale.ROOT, "%,.0f", r.iops())
                    : r.skipReason());
        }
        return m.withNote(all.toString());
    }
}
