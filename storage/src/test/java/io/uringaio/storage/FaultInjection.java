package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.UringIOException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Wraps an {@link AppendLog}'s segment I/O (the {@link SegmentIo} seam) and makes chosen group writes, counted from 0
 * across segments, stall or fail; every other write goes to the engine unchanged.
 */
final class FaultInjection {
    /** What one group write does instead of (or around) the real one. */
    interface Fault {
        CompletableFuture<Integer> write(SegmentIo real, ByteBuffer src, long position);
    }

    private final AtomicInteger writes = new AtomicInteger();
    private final AtomicInteger blockingWrites = new AtomicInteger();
    private final Map<Integer, Fault> faults = new ConcurrentHashMap<>();
    private final Map<Integer, Integer> sizes = new ConcurrentHashMap<>();

    FaultInjection at(int write, Fault fault) {
        faults.put(write, fault);
        return this;
    }

    int writes() {
        return writes.get();
    }

    /** The bytes group write {@code write} (counted from 0) carried, or -1 if it has not been submitted. */
    int bytesOf(int write) {
        return sizes.getOrDefault(write, -1);
    }

    UnaryOperator<SegmentIo> wrapper() {
        return wrapper(false);
    }

    /**
     * With {@code blocking}, the wrapper also takes the writes an appender does on its own thread
     * ({@link SegmentIo#writeDurableBlocking}, counted with the others; {@link #blockingWrites()} counts them alone):
     * a fault's future is joined there, its failure thrown as the blocking call would.
     */
    UnaryOperator<SegmentIo> wrapper(boolean blocking) {
        return real -> new SegmentIo() {
            @Override
            public CompletableFuture<Integer> writeDurable(ByteBuffer src, long position) {
                int write = writes.getAndIncrement();
                sizes.put(write, src.remaining());
                Fault fault = faults.get(write);
                return fault == null ? real.writeDurable(src, position) : fault.write(real, src, position);
            }

            @Override
            public boolean writesBlocking() {
                return blocking;
            }

            @Override
            public int writeDurableBlocking(ByteBuffer src, long position) throws IOException {
                blockingWrites.incrementAndGet();
                int write = writes.getAndIncrement();
                sizes.put(write, src.remaining());
                Fault fault = faults.get(write);
                if (fault == null) {
                    return real.writeDurableBlocking(src, position);
                }
                try {
                    return fault.write(real, src, position).join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof IOException io) {
                        throw io;
                    }
                    throw e;
                }
            }

            @Override
            public AsyncFile file() {
                return real.file();
            }
        };
    }

    /** How many group writes were done on an appender's thread ({@link #wrapper(boolean)} with blocking). */
    int blockingWrites() {
        return blockingWrites.get();
    }

    /** The real write, once {@code gate} completes. */
    static Fault stallUntil(CompletableFuture<?> gate) {
        return (real, src, position) -> gate.thenCompose(v -> real.writeDurable(src, position));
    }

    /**
     * A failed {@code fdatasync} with {@code errno}: the real write happens first when {@code writeFirst} (the data
     * sits in the page cache, its durability unknown), else nothing is written.
     */
    static Fault fsyncFails(int errno, boolean writeFirst) {
        return (real, src, position) -> {
            CompletableFuture<Integer> done = writeFirst ? real.file().write(src, position)
                    : CompletableFuture.completedFuture(0);
            return done.thenApply(n -> {
                throw new java.util.concurrent.CompletionException(
                        new UringIOException(errno, "write+fdatasync", real.file().path().toString()));
            });
        };
    }

    /** The kernel writes (and syncs) only the first half of the group. */
    static Fault shortWrite() {
        return (real, src, position) -> real.writeDurable(src.slice(src.position(), src.remaining() / 2), position);
    }
}
