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
    /**
     * Closes the files of channels that became unreachable without being closed, as the JDK's channels do; one
     * daemon thread, named like the engine's so thread-leak checkers that accept those accept it too.
     */
    static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create(
            r -> {
                Thread t = new Thread(r, "uring-aio-nio-cleaner");
                t.setDaemon(true);
                return t;
            });
    private static volatile RingEngine engine;

    private SharedEngine() {
    }

    /** Whether the provider should use the engine at all (read on every open: a test may flip it). */
    static boolean enabled() {
        return !"false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY));
    }

    /**
     * The shared engine, started if need be; null (the caller then uses the JDK's channel) when it cannot be started
     * from here: while this thread is starting it, or from inside a class initializer or Netty's code. Netty reads
     * files through {@code java.nio.file.Files} in its static initializers ({@code /etc/os-release}); starting the
     * engine there would re-enter a class initialization that is still running and fail it.
     */
    static RingEngine get() {
        RingEngine e = engine;
        if (e != null) {
            return e;
        }
        if (LOCK.isHeldByCurrentThread() || insideInitializer()) {
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

    /** The engine if it was started, else null (does not start it). */
    static RingEngine started() {
        return engine;
    }

    /** Whether a static initializer or Netty's code is on this thread's stack (only asked before the start). */
    private static boolean insideInitializer() {
        return StackWalker.getInstance().walk(frames -> frames.anyMatch(
                f -> f.getMethodName().equals("<clinit>") || f.getClassName().startsWith("io.netty.")));
    }
}
