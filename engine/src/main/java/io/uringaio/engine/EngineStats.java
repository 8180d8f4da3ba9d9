package io.uringaio.engine;

/**
 * A snapshot of an engine's counters, summed over its rings. Counters are read without a global lock, so the fields
 * may be from slightly different instants.
 *
 * @param submitted     requests accepted by {@code submit} since the engine opened (internal cancels not counted)
 * @param completed     requests whose completion has been delivered
 * @param inFlight      requests in the kernel now
 * @param queued        requests accepted but not yet in the kernel (in the incoming queue or waiting for room)
 * @param enterCalls    submission batches: each is one {@code io_uring_enter} of the ring thread that carried its SQEs
 *                      (a batch that happens to share an enter with the next one is still counted, so this is an upper
 *                      bound on the enters that submitted SQEs)
 * @param sqesSubmitted SQEs written, including internal cancels
 * @param pageCacheHits reads completed on the submitting thread by the page-cache fast path (also counted in
 *                      {@code submitted} and {@code completed}; they used no SQE)
 */
public record EngineStats(long submitted, long completed, long inFlight, long queued, long enterCalls,
                          long sqesSubmitted, long pageCacheHits) {

    /** Counters without page-cache hits. */
    public EngineStats(long submitted, long completed, long inFlight, long queued, long enterCalls,
                       long sqesSubmitted) {
        this(submitted, completed, inFlight, queued, enterCalls, sqesSubmitted, 0);
    }

    /** SQEs per {@code io_uring_enter}: the batching factor; 0 before the first submission. */
    public double sqesPerEnter() {
        return enterCalls == 0 ? 0 : (double) sqesSubmitted / enterCalls;
    }

    /** The difference {@code this - earlier}, for the counters that only grow; gauges are taken from {@code this}. */
    public EngineStats since(EngineStats earlier) {
        return new EngineStats(submitted - earlier.submitted, completed - earlier.completed, inFlight, queued,
                enterCalls - earlier.enterCalls, sqesSubmitted - earlier.sqesSubmitted,
                pageCacheHits - earlier.pageCacheHits);
    }
}
