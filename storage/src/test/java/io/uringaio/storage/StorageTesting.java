package io.uringaio.storage;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Shared helpers: a small engine, waits with a deadline, reproducible records. */
final class StorageTesting {
    static final long DEADLINE_SECONDS = 20;

    private StorageTesting() {
    }

    static RingEngine engine() {
        return RingEngine.open(new RingEngineConfig().rings(1).ringSize(256));
    }

    static <T> T await(Future<T> future) throws Exception {
        try {
            return future.get(DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        } catch (TimeoutException e) {
            throw new AssertionError("no completion within " + DEADLINE_SECONDS + " s", e);
        }
    }

    /**
     * Waits until {@code n} group writes have been submitted through {@code faults}: a record appended right after an
     * earlier one was acknowledged may wait for the acknowledging thread to finish before its group goes out, so a
     * test that needs it in a group of its own waits here before appending more.
     */
    static void awaitWrites(FaultInjection faults, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
        while (faults.writes() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(n + " writes not submitted within " + DEADLINE_SECONDS + " s: "
                        + faults.writes());
            }
            Thread.sleep(1);
        }
    }

    /** The failure of a future that must fail within the deadline. */
    static Throwable failure(CompletableFuture<?> future) throws InterruptedException {
        try {
            future.get(DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (TimeoutException e) {
            throw new AssertionError("no completion within " + DEADLINE_SECONDS + " s", e);
        }
        throw new AssertionError("expected a failure, got " + future.join());
    }

    /** Record {@code i} of a test: 1..maxBytes bytes, derived from {@code seed} and {@code i}. */
    static ByteBuffer record(long seed, long i, int maxBytes) {
        Random random = new Random(seed * 1_000_003L + i);
        byte[] bytes = new byte[1 + random.nextInt(maxBytes)];
        random.nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }

    /**
     * Descriptors of this process open on {@code path} (a file), or on anything below it (a directory), as
     * {@code /proc/self/fd} lists them.
     */
    static long openDescriptors(java.nio.file.Path path) throws Exception {
        java.nio.file.Path real = path.toRealPath();
        try (java.util.stream.Stream<java.nio.file.Path> fds =
                     java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return java.nio.file.Files.readSymbolicLink(fd).startsWith(real);
                } catch (Exception gone) {
                    return false; // closed meanwhile, or the listing's own descriptor
                }
            }).count();
        }
    }
}
