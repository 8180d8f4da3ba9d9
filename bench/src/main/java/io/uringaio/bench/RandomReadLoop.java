package io.uringaio.bench;

import io.uringaio.engine.Completion;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * A closed loop of random reads at a fixed queue depth through the engine's raw {@link Request} API: one request and
 * one direct buffer per slot, and each completion resubmits its own request from the callback (so it stays on the
 * ring that completed it). Nothing is allocated per read.
 *
 * <p>Completions are counted per slot and published to a shared counter every {@link #PUBLISH_EVERY} completions of
 * that slot, so that the ring threads do not contend on one cache line per read. {@link #awaitCompleted(long)} parks
 * until the shared counter reaches a target.
 */
public final class RandomReadLoop implements Completion {
    /** Completions of one slot between two updates of the shared counter. */
    public static final int PUBLISH_EVERY = 8;

    private static final class Slot {
        final int index;
        final long address;
        int cursor;
        long completed;
        int unpublished;

        Slot(int index, long address, int cursor) {
            this.index = index;
            this.address = address;
            this.cursor = cursor;
        }
    }

    private final RingEngine engine;
    private final int fd;
    private final int blockBytes;
    private final long[] offsets;
    private final int offsetMask;
    private final Request[] requests;
    private final Slot[] slots;
    @SuppressWarnings("unused") // keeps the slots' memory reachable
    private final ByteBuffer[] buffers;

    private volatile boolean running;
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong published = new AtomicLong();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile long waitTarget = Long.MAX_VALUE;
    private volatile Thread waiter;

    /**
     * @param offsets block offsets to read, a power-of-two count; slot {@code i} starts at index
     *                {@code i * offsets.length / depth} and walks forward
     */
    public RandomReadLoop(RingEngine engine, int fd, int blockBytes, long[] offsets, int depth) {
        this(engine, fd, blockBytes, offsets, depth, false);
    }

    /**
     * As the five-argument constructor; {@code pageCacheFirst} marks the reads for the engine's page-cache fast path
     * (cached data is then read on the thread that resubmits, the ring's, without an SQE).
     */
    public RandomReadLoop(RingEngine engine, int fd, int blockBytes, long[] offsets, int depth,
                          boolean pageCacheFirst) {
        if (Integer.bitCount(offsets.length) != 1) {
            throw new IllegalArgumentException("offset count must be a power of two, was " + offsets.length);
        }
        this.engine = engine;
        this.fd = fd;
        this.blockBytes = blockBytes;
        this.offsets = offsets;
        this.offsetMask = offsets.length - 1;
        this.requests = new Request[depth];
        this.slots = new Slot[depth];
        this.buffers = new ByteBuffer[depth];
        for (int i = 0; i < depth; i++) {
            buffers[i] = BenchFiles.alignedDirect(blockBytes);
            slots[i] = new Slot(i, MemorySegment.ofBuffer(buffers[i]).address(),
                    (int) ((long) i * offsets.length / depth));
            requests[i] = new Request(this).attach(slots[i]).pageCacheFirst(pageCacheFirst);
        }
    }

    /** Submits every slot once; from then on each completion resubmits until {@link #stop()}. */
    public void start() {
        if (running || active.get() != 0) {
            throw new IllegalStateException("loop already running");
        }
        running = true;
        for (int i = 0; i < requests.length; i++) {
            active.incrementAndGet();
            submit(requests[i], slots[i]);
        }
    }

    private void submit(Request request, Slot slot) {
        long offset = offsets[slot.cursor++ & offsetMask];
        request.prepRead(fd, slot.address, blockBytes, offset);
        engine.submit(request);
    }

    @Override
    public void complete(Request request, int res) {
        Slot slot = (Slot) request.attachment();
        if (res != blockBytes) {
            failure.compareAndSet(null, res < 0 ? "read failed with errno " + -res + " at offset " + request.offset()
                    : "short read of " + res + " bytes at offset " + request.offset());
            running = false;
        }
        slot.completed++;
        if (++slot.unpublished == PUBLISH_EVERY) {
            slot.unpublished = 0;
            if (published.addAndGet(PUBLISH_EVERY) >= waitTarget) {
                Thread w = waiter;
                if (w != null) {
                    LockSupport.unpark(w);
                }
            }
        }
        if (running) {
            try {
                submit(request, slot);
                return;
            } catch (EngineRejectedException closed) {
                failure.compareAndSet(null, "engine closed under the loop: " + closed.getMessage());
                running = false;
            }
        }
        if (active.decrementAndGet() == 0) {
            Thread w = waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }

    /**
     * Parks the calling thread until the published completion count reaches {@code target} (or the loop stopped).
     * One waiting thread at a time.
     */
    public void awaitCompleted(long target) {
        waiter = Thread.currentThread();
        waitTarget = target;
        while (published.get() < target && active.get() > 0) {
            LockSupport.park(this);
        }
        waitTarget = Long.MAX_VALUE;
    }

    /** Completions published so far: a lower bound of {@link #completedExact()}, trailing by at most depth * 8. */
    public long completedPublished() {
        return published.get();
    }

    /** Stops resubmitting and waits for every slot to complete; returns the exact completion count. */
    public long stop() {
        running = false;
        waiter = Thread.currentThread();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (active.get() > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(active.get() + " reads still in flight 30 s after stop");
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(1));
        }
        waiter = null;
        return completedExact();
    }

    /** The exact completion count; only meaningful once stopped (the active counter orders the slots' writes). */
    public long completedExact() {
        long total = 0;
        for (Slot s : slots) {
            total += s.completed;
        }
        return total;
    }

    /** The first error seen (errno or short read), or null. */
    public String failure() {
        return failure.get();
    }
}
