package io.uringaio.nio;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.util.concurrent.locks.ReentrantLock;

/**
 * The one engine behind the provider's channels: started on first use, on the backend the engine picks (AUTO, or the
 * {@code uringaio.backend} property), with daemon ring threads named {@code uring-aio-nio-ring-*}.
 *
 * <p>It is deliberately not closed by a shutdown hook: hooks run concurrently in no order, and applications (H2's
 * DB_CLOSE_ON_EXIT, for one) still write from their own hooks; the daemon threads end with the JVM and the kernel
 * tears the rings down after every request in them has completed.
 */
final class SharedEngine {
    /** {@code -Duringaio.nio.enabled=false}: the provider hands out the JDK's own channels. */
    static final String ENABLED_PROPERTY = "uringaio.nio.enabled";

    private static final ReentrantLock LOCK = new ReentrantLock();
    private static volatile RingEngine engine;

    private SharedEngine() {
    }

    /** Whether the provider should use the engine at all (read on every open: a test may flip it). */
    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY));
    }

    /**
     * The shared engine, started if need be; null while it is being started by this very thread (the engine's
     * start-up may itself open files through the default provider: those get the JDK's channels).
     */
    static RingEngine get() {
        RingEngine e = engine;
        if (e != null) {
            return e;
        }
        if (LOCK.isHeldByCurrentThread()) {
            return null;
        }
        LOCK.lock();
        try {
            if (engine == null) {
                engine = RingEngine.open(new RingEngineConfig()
                        .rings(Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())))
                        .threadNamePrefix("uring-aio-nio-ring"));
            }
            return engine;
        } finally {
            LOCK.unlock();
        }
    }
}
