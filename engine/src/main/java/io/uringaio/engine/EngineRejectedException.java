package io.uringaio.engine;

import java.util.concurrent.RejectedExecutionException;

/**
 * Thrown synchronously by {@link RingEngine#submit}, {@link RingEngine#submitBatch} and
 * {@link RingEngine#submitLinked} when the engine is closed or closing: nothing was submitted and every request passed
 * is idle again. It is distinct from {@link IllegalStateException}, which those methods throw for caller misuse (a
 * request that is already queued or in flight), so that a double submission is never mistaken for a closed engine.
 * Futures of {@link AsyncFile} operations report the same condition as {@link EngineClosedException}.
 */
public final class EngineRejectedException extends RejectedExecutionException {
    private static final long serialVersionUID = 1L;

    /** A rejection with the message {@code "engine closed"}. */
    public EngineRejectedException() {
        super("engine closed");
    }

    /** A rejection saying why, e.g. that the event loop of the engine's ring was shut down. */
    public EngineRejectedException(String message) {
        super(message);
    }
}
