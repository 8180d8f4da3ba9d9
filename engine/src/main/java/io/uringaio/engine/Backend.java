package io.uringaio.engine;

import java.util.Locale;

/** How a {@link RingEngine} runs its requests. */
public enum Backend {
    /** io_uring when it is available and a probe op on a real ring succeeds; else {@link #THREAD_POOL}. */
    AUTO,
    /** io_uring rings on Netty's transport; opening fails, with the reason, where io_uring is unavailable. */
    IO_URING,
    /** libc calls on a bounded pool of worker threads: the fallback, and the "thread-pool AIO" baseline. */
    THREAD_POOL;

    /** The system property that picks the backend of every engine whose config does not set one. */
    public static final String PROPERTY = "uringaio.backend";

    /** The backend named by {@link #PROPERTY}, {@link #AUTO} when unset. */
    public static Backend fromSystemProperty() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return AUTO;
        }
        try {
            return valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + value + ": expected AUTO, IO_URING or THREAD_POOL");
        }
    }
}
