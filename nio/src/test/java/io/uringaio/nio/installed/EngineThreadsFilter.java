package io.uringaio.nio.installed;

import com.carrotsearch.randomizedtesting.ThreadFilter;

/**
 * The provider's shared engine starts its ring (or pool) threads on the first open, which in a Lucene suite happens
 * inside a test; they live for the JVM, like the JDK's own I/O threads, and are not a leak.
 */
public final class EngineThreadsFilter implements ThreadFilter {
    @Override
    public boolean reject(Thread t) {
        String name = t.getName();
        return name.startsWith("uring-aio") || name.startsWith("globalEventExecutor")
                || name.startsWith("ObjectCleanerThread");
    }
}
