package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** {@link BouncePool}: aligned direct buffers, pooled by size class. No kernel. */
class BouncePoolTest {

    @Test
    void everyBufferIsPageAlignedAndBigEnough() {
        BouncePool pool = new BouncePool();
        int[] sizes = {0, 1, 100, 4095, 4096, 4097, 65_535, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 123, 5_000_001};
        for (int size : sizes) {
            BouncePool.Bounce b = pool.acquire(size);
            assertEquals(0, b.address % BouncePool.ALIGNMENT, "address of a bounce for " + size);
            assertEquals(b.address, MemorySegment.ofBuffer(b.buffer).address());
            assertTrue(b.buffer.isDirect());
            assertTrue(b.buffer.limit() >= size, "room for " + size + ": " + b.buffer.limit());
            assertEquals(0, b.buffer.position());
            // The whole usable range is writable.
            b.buffer.put(b.buffer.limit() - 1, (byte) 1);
            pool.release(b);
        }
    }

    /**
     * An allocation that starts aligned already (ByteBuffer.allocateDirect's sometimes does) still gives a buffer of
     * exactly its class: before, alignedSlice kept the extra page and pooledBySizeClass saw 12288 for 8 KiB, at times.
     */
    @Test
    void anAllocationThatStartsAlignedGivesExactlyItsClass() {
        BouncePool pool = new BouncePool();
        pool.allocator = size -> java.lang.foreign.Arena.ofAuto().allocate(size, BouncePool.ALIGNMENT).asByteBuffer();
        BouncePool.Bounce b = pool.acquire(5000);
        assertEquals(8192, b.capacity());
        assertEquals(8192, b.buffer.limit());
        assertEquals(0, b.address % BouncePool.ALIGNMENT);
        pool.release(b);
        assertEquals(8192, pool.acquire(8000).buffer.limit(), "cleared to its class, not to the extra page");
    }

    @Test
    void pooledBySizeClass() {
        BouncePool pool = new BouncePool();
        BouncePool.Bounce a = pool.acquire(5000); // 8 KiB class
        assertEquals(8192, a.capacity());
        a.buffer.position(100).limit(200);
        pool.release(a);
        BouncePool.Bounce again = pool.acquire(8000);
        assertSame(a, again, "reused from its class");
        assertEquals(0, again.buffer.position(), "cleared");
        assertEquals(8192, again.buffer.limit());
        BouncePool.Bounce other = pool.acquire(8000);
        assertNotSame(a, other, "one buffer per user");
        BouncePool.Bounce big = pool.acquire((1 << 20) + 1);
        pool.release(big);
        assertNotSame(big, pool.acquire((1 << 20) + 1), "beyond the largest class: not pooled");
        pool.release(null); // harmless
    }

    @Test
    void theLargestBounceBufferIsAllocatableArithmeticallyAndBeyondItIsRefused() {
        // The allocation for MAX_CAPACITY (whole pages plus one) fits an int; one byte more would not.
        long pages = ((long) BouncePool.MAX_CAPACITY + BouncePool.ALIGNMENT - 1) / BouncePool.ALIGNMENT;
        assertTrue((pages + 1) * BouncePool.ALIGNMENT <= Integer.MAX_VALUE);
        long over = ((long) BouncePool.MAX_CAPACITY + 1 + BouncePool.ALIGNMENT - 1) / BouncePool.ALIGNMENT;
        assertTrue((over + 1) * BouncePool.ALIGNMENT > Integer.MAX_VALUE);
        BouncePool pool = new BouncePool();
        pool.allocator = size -> {
            throw new AssertionError("nothing may be allocated for a refused size, asked " + size);
        };
        assertThrows(IllegalArgumentException.class, () -> pool.acquire(BouncePool.MAX_CAPACITY + 1));
        assertThrows(IllegalArgumentException.class, () -> pool.acquire(Integer.MAX_VALUE));
        assertThrows(IllegalArgumentException.class, () -> pool.acquire(-1));
    }
}
