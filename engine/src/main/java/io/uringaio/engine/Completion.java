package io.uringaio.engine;

/**
 * Receives the result of a {@link Request}: the kernel's {@code res}, that is a byte count or another non-negative
 * value on success, {@code -errno} on failure.
 *
 * <p>Called exactly once per submission, on the thread of the ring that ran the request, after the CQE drain (never
 * inside it), and after the request has become idle again: the callback may prepare and resubmit the same request.
 * It must not block; hand long work to an executor of your own.
 */
@FunctionalInterface
public interface Completion {
    /**
     * Called once per completed request, on the thread that completed it.
     *
     * @param request the request that completed, idle again
     * @param res     the kernel result: {@code >= 0} on success, {@code -errno} on failure ({@code -ECANCELED} when
     *                canceled, also when the engine closed before it ran; see {@link Request#canceledByClose()})
     */
    void complete(Request request, int res);
}
