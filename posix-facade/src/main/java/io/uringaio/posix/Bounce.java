package io.uringaio.posix;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The native memory of a transfer: the block's reused bounce buffer for a heap buffer (or no buffer), the cached
 * address of a direct one, and the copies between a heap buffer and its bounce buffer. The bounce buffer is reserved
 * at submission ({@link #reserve}), so running out of direct memory is a synchronous EAGAIN, never a failure inside a
 * completion.
 */
final class Bounce {
    private Bounce() {
    }

    /**
     * Makes sure a transfer from or to a heap buffer (or of no buffer) has its bounce buffer before anything is
     * queued: running out of direct memory is then a synchronous EAGAIN (POSIX: "not queued due to system resource
     * limitations") instead of a failure inside a completion. 0 or EAGAIN.
     */
    static int reserve(Aiocb cb, byte op) {
        if (op != Aiocb.OP_READ && op != Aiocb.OP_WRITE) {
            return 0;
        }
        ByteBuffer buf = cb.buffer; // captured and checked: the count fits the buffer
        if (buf != null && buf.isDirect()) {
            return 0;
        }
        try {
            ensure(cb, buf == null ? 1 : (int) cb.requested);
            return 0;
        } catch (OutOfMemoryError noDirectMemory) {
            return Errno.EAGAIN;
        }
    }

    /**
     * The native address of index 0 of the transfer: the direct buffer's own, or the bounce buffer's (reserved at
     * submission), filled from a heap buffer for a write.
     */
    static long address(Aiocb cb) {
        ByteBuffer buf = cb.buffer;
        if (buf == null) {
            return cb.bounceAddress;
        }
        if (buf.isDirect()) {
            cacheDirect(cb, buf);
            return cb.cachedAddress;
        }
        if (cb.op == Aiocb.OP_WRITE) {
            copyIn(cb.bounce, buf, cb.nbytes);
        }
        return cb.bounceAddress;
    }

    /**
     * Whether a direct buffer's memory is still there: false once the arena it came from closed, when its address
     * names freed memory that the kernel would read or write (the JVM's own buffers never close). Cached per block
     * with the address, so a block reused with the same buffer allocates nothing.
     */
    static boolean alive(Aiocb cb, ByteBuffer direct) {
        cacheDirect(cb, direct);
        return cb.cachedScope.isAlive();
    }

    /** Remembers a direct buffer's address and scope in its block, once per buffer. */
    private static void cacheDirect(Aiocb cb, ByteBuffer direct) {
        if (cb.addressOf != direct) {
            cb.cachedScope = MemorySegment.ofBuffer(direct).scope();
            cb.cachedAddress = indexZero(direct);
            cb.addressOf = direct;
        }
    }

    /**
     * The native address of index 0 of a direct buffer, whatever its position and limit and whoever moves them
     * meanwhile: taken from an empty view at absolute index 0, which reads neither. "The segment at the position,
     * minus the position" read the position twice (once inside {@code ofBuffer}), and another thread moving it in
     * between (the spec lets a program use position and limit as it likes) shifted the kernel's transfer by that much,
     * outside the buffer.
     */
    static long indexZero(ByteBuffer direct) {
        return MemorySegment.ofBuffer(direct.slice(0, 0)).address();
    }

    /** How many times {@link #wholeView} tries before it gives up on a window that never stands still. */
    static final int VIEW_ATTEMPTS = 1 << 16;

    /**
     * Copies {@code src[0, n)} to the bounce buffer by absolute index, whatever src's position and limit (the spec:
     * they are never read). A heap buffer's array directly; a read-only one (no array) through a view whose window is
     * the whole buffer ({@link #wholeView}).
     *
     * @throws IllegalArgumentException only when another thread moved src's window through {@link #VIEW_ATTEMPTS}
     *         tries in a row
     */
    static void copyIn(ByteBuffer bounce, ByteBuffer src, int n) {
        if (src.hasArray()) {
            bounce.put(0, src.array(), src.arrayOffset(), n);
        } else {
            bounce.put(0, wholeView(src), 0, n);
        }
    }

    /**
     * A view of all of {@code src}, index 0 where src's is, whatever src's mark, position and limit. The JDK has no
     * view that ignores them: {@code duplicate()} reads the three one after the other and checks them together, and
     * another thread that moves them in between (the spec lets a program use them as it likes while its request runs)
     * makes it throw IllegalArgumentException ("mark > position", "newPosition > limit"), which took a write from a
     * read-only heap buffer out of {@code Unistd.pwrite} as an exception and ended an {@code aio_write} EIO. Any
     * values read while they stand still give the same view once cleared, so a view that threw is simply taken again.
     */
    static ByteBuffer wholeView(ByteBuffer src) {
        for (int attempt = 1;; attempt++) {
            try {
                return src.duplicate().clear();
            } catch (IllegalArgumentException windowMoved) {
                if (attempt == VIEW_ATTEMPTS) {
                    throw windowMoved;
                }
                Thread.onSpinWait();
            }
        }
    }

    /** Copies {@code n} bytes read into the bounce buffer to {@code dst[0, n)}: a writable heap buffer has an array. */
    static void copyOut(ByteBuffer bounce, ByteBuffer dst, int n) {
        bounce.get(0, dst.array(), dst.arrayOffset(), n);
    }

    /**
     * The bounce buffer of at least {@code size} bytes, 4 KiB aligned ({@link #capacity}).
     *
     * @throws OutOfMemoryError when direct memory is exhausted, or {@code size} is too large to bounce at all
     */
    private static long ensure(Aiocb cb, int size) {
        if (cb.bounce == null || cb.bounce.capacity() < size) {
            int capacity = capacity(size);
            if (capacity < 0) {
                throw new OutOfMemoryError("a bounce buffer of " + size + " bytes does not fit a direct ByteBuffer");
            }
            ByteBuffer b = ByteBuffer.allocateDirect(capacity + 4096).alignedSlice(4096);
            cb.bounce = b;
            cb.bounceAddress = MemorySegment.ofBuffer(b).address();
        }
        return cb.bounceAddress;
    }

    /**
     * The capacity of a bounce buffer for {@code size} bytes: the next power of two, at least 4 KiB (so a reused block
     * rarely reallocates), or exactly {@code size} where the power of two plus the 4 KiB alignment slack would not fit
     * an int; -1 when not even that fits. Computed in long: the old int arithmetic wrapped for sizes above 2^30 and
     * asked {@code allocateDirect} for a negative capacity near 2 GiB.
     */
    static int capacity(int size) {
        long capacity = Math.max(4096, Long.highestOneBit(Math.max(1, size - 1)) << 1);
        if (capacity + 4096 > Integer.MAX_VALUE) {
            capacity = Math.max(size, 4096);
        }
        return capacity + 4096 > Integer.MAX_VALUE ? -1 : (int) capacity;
    }
}
