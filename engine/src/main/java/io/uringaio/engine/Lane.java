package io.uringaio.engine;

import java.util.concurrent.CompletableFuture;

/**
 * Where the engine sends requests: one io_uring {@link Ring}, or the {@link ThreadPoolLane}. Each backend keeps the
 * same contract: every accepted request completes exactly once, through {@link Request#completion()}, with the
 * kernel's {@code res} or {@code -errno}.
 */
interface Lane {
    /** Position in the engine's lane array. */
    int index();

    /** Accepts a request (or the head of a linked chain) already marked QUEUED. */
    void accept(Request head);

    /** Accepts {@code count} QUEUED requests as one batch. */
    void acceptBatch(Request[] requests, int count);

    /** Cancels {@code target}; the outcome future gets the answer. */
    void cancel(Request target, CompletableFuture<CancelOutcome> outcome);

    /** Starts closing: queued requests complete with -ECANCELED, running ones are canceled where possible. */
    CompletableFuture<Void> beginClose();

    /** Releases the lane's resources once {@link #beginClose()} completed. */
    void deregister();

    /**
     * True once the event loop this lane runs on is shutting down (an application's group shut down under the open
     * engine); never for the thread pool.
     */
    default boolean loopShutDown() {
        return false;
    }

    /** True on a thread of this lane (a ring's loop thread, a pool worker). */
    boolean isCurrentThread();

    /**
     * The longest linked chain this lane can ever take: all its members go into the kernel together, so a chain with
     * more members than the lane keeps in flight would wait for room for ever. No bound by default.
     */
    default int maxChainLength() {
        return Integer.MAX_VALUE;
    }

    long submittedCount();

    long completedTotal();

    long enters();

    long sqes();

    int inFlight();

    /**
     * True when every slot for requests in the kernel is taken: a request accepted now waits in the engine until one
     * ends. Read without a lock (a gauge): for choosing a lane, not for correctness.
     */
    boolean full();

    /**
     * The index of the lane for a new thread among {@code lanes}: the one with the fewest requests in flight, looking
     * from {@code turn} onwards (so threads that start together on idle lanes are spread in turn). By turn alone, the
     * turns of threads that died stayed taken: a thread pool that retires and replaces its threads put two busy
     * threads on one lane while another idled. Once per thread, not per request.
     */
    static int leastLoaded(Lane[] lanes, int turn) {
        int best = turn;
        int least = lanes[turn].inFlight();
        for (int i = 1; i < lanes.length && least > 0; i++) {
            int k = (turn + i) % lanes.length;
            int load = lanes[k].inFlight();
            if (load < least) {
                best = k;
                least = load;
            }
        }
        return best;
    }
}
