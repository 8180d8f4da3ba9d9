package io.uringaio.engine;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.function.IntFunction;

/**
 * Pooled direct buffers for heap-buffer I/O, 4096-aligned (so they also serve O_DIRECT). Power-of-two size classes
 * from 4 KiB to 1 MiB, each a bounded lock-free pool; larger buffers are allocated per use. Thread-safe.
 */
final class BouncePool {
    static final int ALIGNMENT = 4096;
    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 20;
    private static final int PER_CLASS = 256;
    /**
     * The largest bounce buffer: its allocation (whole pages plus one page to align the start) must fit an int. A heap
     * buffer larger than this cannot go through one bounce buffer.
     */
    static final int MAX_CAPACITY = (Integer.MAX_VALUE / ALIGNMENT - 1) * ALIGNMENT;

    /** A direct, aligned buffer and its native address. */
    static final class Bounce {
        final ByteBuffer buffer;
        final long address;
        final int sizeClass;

        Bounce(int capacity, int sizeClass, IntFunction<ByteBuffer> allocator) {
            // alignedSlice rounds the end down to the alignment too: allocate whole pages plus one to align the start.
            long pages = ((long) capacity + ALIGNMENT - 1) / ALIGNMENT;
            // Sliced to exactly its pages: when the allocation happens to start aligned, alignedSlice keeps one page
            // more, and a clear() at reuse would hand out that page too (BouncePoolTest saw 12288 for an 8 KiB class).
            this.buffer = allocator.apply(Math.toIntExact((pages + 1) * ALIGNMENT)).alignedSlice(ALIGNMENT)
                    .slice(0, Math.toIntExact(pages * ALIGNMENT))
                    .limit(capacity)
                    .order(java.nio.ByteOrder.nativeOrder());
            this.address = MemorySegment.ofBuffer(buffer).address();
            this.sizeClass = sizeClass;
        }

        int capacity() {
            return buffer.capacity();
        }
    }

    /** Where direct memory comes from; a test may replace it (to run out of memory on purpose). */
    IntFunction<ByteBuffer> allocator = ByteBuffer::allocateDirect;

    @SuppressWarnings("unchecked")
    private final ObjectPool<Bounce>[] classes = new ObjectPool[MAX_SHIFT - MIN_SHIFT + 1];

    BouncePool() {
        for (int i = 0; i < classes.length; i++) {
            classes[i] = new ObjectPool<>(PER_CLASS);
        }
    }

    /**
     * A buffer of at least {@code size} bytes, cleared.
     *
     * @throws IllegalArgumentException if {@code size} is negative or above {@link #MAX_CAPACITY}
     * @throws OutOfMemoryError         if direct memory ran out ({@code -XX:MaxDirectMemorySize}); callers turn it
     *                                  into a failed operation (ENOMEM)
     */
    Bounce acquire(int size) {
        if (size < 0 || size > MAX_CAPACITY) {
            throw new IllegalArgumentException("bounce buffer of " + size + " bytes; 0.." + MAX_CAPACITY);
        }
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(size, 1) - 1));
        if (shift > MAX_SHIFT) {
            return new Bounce(size, -1, allocator);
        }
        int sizeClass = shift - MIN_SHIFT;
        Bounce bounce = classes[sizeClass].poll();
        if (bounce == null) {
            bounce = new Bounce(1 << shift, sizeClass, allocator);
        }
        bounce.buffer.clear();
        return bounce;
    }

    void release(Bounce bounce) {
        if (bounce != null && bounce.sizeClass >= 0) {
            classes[bounce.sizeClass].offer(bounce);
        }
    }

    void clear() {
        for (ObjectPool<Bounce> c : classes) {
            c.clear();
        }
    }
}
