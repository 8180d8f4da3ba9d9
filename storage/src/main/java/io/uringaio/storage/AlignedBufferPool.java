package io.uringaio.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * A fixed set of equal, aligned, direct buffers for {@code O_DIRECT} I/O, carved from one native slab.
 *
 * <p>Every buffer starts at a multiple of the alignment and is a multiple of it long, so a whole buffer may go to the
 * kernel with {@code O_DIRECT}. The slab belongs to an automatic arena: it is freed by the garbage collector once the
 * pool and every buffer from it are unreachable, so a buffer still in the kernel's hands (the engine holds it until
 * the CQE) is never freed under it.
 *
 * <p>Thread-safe. {@link #acquire()} waits for a free buffer (backpressure, bounded by the pool's size);
 * {@link #tryAcquire()} does not. {@link #release} takes back a buffer of this pool exactly once, cleared; a foreign
 * buffer or a second release throws {@code IllegalArgumentException} / {@code IllegalStateException}.
 */
public final class AlignedBufferPool {
    private final int bufferBytes;
    private final int alignment;
    private final MemorySegment slab;
    private final ByteBuffer[] buffers;
    private final AtomicIntegerArray out;
    private final ArrayBlockingQueue<Integer> free;

    /**
     * A pool of {@code count} direct buffers of {@code bufferBytes} each, allocated now.
     *
     * @param bufferBytes bytes per buffer, a positive multiple of {@code alignment}
     * @param count       number of buffers
     * @param alignment   a power of two; at least 4096 is used for the addresses (a page), whatever is asked
     * @throws IllegalArgumentException for a shape broken as above, or a pool larger than the direct memory the JVM
     *                                  can give now ({@code -XX:MaxDirectMemorySize}, or the machine's): nothing is
     *                                  allocated
     */
    public AlignedBufferPool(int bufferBytes, int count, int alignment) {
        if (alignment < 1 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, was " + alignment);
        }
        if (bufferBytes < 1 || bufferBytes % alignment != 0) {
            throw new IllegalArgumentException("bufferBytes must be a positive multiple of the alignment "
                    + alignment + ", was " + bufferBytes);
        }
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive, was " + count);
        }
        this.bufferBytes = bufferBytes;
        this.alignment = alignment;
        this.slab = allocate(bufferBytes, count, Math.max(alignment, 4096));
        this.buffers = new ByteBuffer[count];
        this.out = new AtomicIntegerArray(count);
        this.free = new ArrayBlockingQueue<>(count);
        for (int i = 0; i < count; i++) {
            buffers[i] = slab.asSlice((long) i * bufferBytes, bufferBytes).asByteBuffer();
            free.add(i);
        }
    }

    /**
     * The slab, or an {@code IllegalArgumentException} for a size the JVM cannot reserve: the limit on direct memory
     * (or {@code malloc}) refuses it with an {@code OutOfMemoryError} before anything is allocated, which says nothing
     * about the heap and is the caller's size to fix, not an Error for our API to throw.
     */
    private static MemorySegment allocate(int bufferBytes, int count, int alignment) {
        long bytes = (long) bufferBytes * count;
        try {
            return Arena.ofAuto().allocate(bytes, alignment);
        } catch (OutOfMemoryError e) {
            throw new IllegalArgumentException("a pool of " + count + " buffers of " + bufferBytes + " bytes ("
                    + bytes + " bytes) is more than the direct memory available: " + e.getMessage(), e);
        }
    }

    /** A pool for {@code O_DIRECT} files on the file system of {@code path}, aligned by {@link BlockSize#of}. */
    public static AlignedBufferPool forPath(java.nio.file.Path path, int bufferBytes, int count)
            throws java.io.IOException {
        return new AlignedBufferPool(bufferBytes, count, BlockSize.of(path).both());
    }

    /** A free buffer (position 0, limit and capacity {@link #bufferBytes()}), waiting for one if none is free. */
    public ByteBuffer acquire() throws InterruptedException {
        return take(free.take());
    }

    /** A free buffer, waiting at most {@code timeout}; null if none became free. */
    public ByteBuffer acquire(long timeout, TimeUnit unit) throws InterruptedException {
        Integer i = free.poll(timeout, unit);
        return i == null ? null : take(i);
    }

    /** A free buffer, or null at once if none is free. */
    public ByteBuffer tryAcquire() {
        Integer i = free.poll();
        return i == null ? null : take(i);
    }

    private ByteBuffer take(int i) {
        boolean wasFree = out.compareAndSet(i, 0, 1);
        assert wasFree : "buffer " + i + " was free and out";
        return buffers[i].clear();
    }

    /**
     * Gives a buffer back. It must not be in use by an operation in flight.
     *
     * @throws IllegalArgumentException if {@code buffer} is not one of this pool's (or a view not starting at one)
     * @throws IllegalStateException    if it was already released
     */
    public void release(ByteBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        int i = indexOf(buffer);
        if (!out.compareAndSet(i, 1, 0)) {
            throw new IllegalStateException("buffer " + i + " of the pool released twice");
        }
        buffers[i].clear();
        free.add(i);
    }

    private int indexOf(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("a heap buffer is not from this pool");
        }
        long offset = MemorySegment.ofBuffer(buffer.duplicate().clear()).address() - slab.address();
        if (offset < 0 || offset >= slab.byteSize() || offset % bufferBytes != 0
                || buffer.capacity() != bufferBytes) {
            throw new IllegalArgumentException("buffer is not from this pool: " + buffer);
        }
        return (int) (offset / bufferBytes);
    }

    /** Bytes per buffer. */
    public int bufferBytes() {
        return bufferBytes;
    }

    /** The alignment of every buffer's start and length. */
    public int alignment() {
        return alignment;
    }

    /** Buffers in the pool. */
    public int capacity() {
        return buffers.length;
    }

    /** Buffers free right now. */
    public int available() {
        return free.size();
    }
}
