package io.uringaio.bench.harness;

/**
 * One way a Java program can do asynchronous file I/O on Linux (or fio, the C reference), run against each workload.
 */
public interface Contender {
    /** Short name used in tables, JSON and {@code --only}. */
    String name();

    /** One line: what runs, with which API, on how many threads. */
    String description();

    /** Why this contender cannot run on this machine (fio not installed, io_uring unavailable), or null. */
    String unavailableReason();

    /**
     * Whether {@code workload} is one this contender is about at all; when not, the pair is left out of the run and
     * the report (not listed as skipped). Every contender applies to every workload except the append log, which
     * only appends.
     */
    default boolean appliesTo(Workload workload) {
        return true;
    }

    /** Why this contender cannot run {@code workload}, or null. */
    default String unsupportedReason(Workload workload) {
        return null;
    }

    /** Runs one trial: warm-up, then the measured window; throws when the contender failed. */
    Result run(Workload workload, TrialContext context) throws Exception;
}
