package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Aligned buffers, bounded, returned once. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AlignedBufferPoolTest {
    @Test
    void buffersAreAlignedDistinctAndFull() {
        AlignedBufferPool pool = new AlignedBufferPool(8192, 4, 4096);
        Set<Long> addresses = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            ByteBuffer b = pool.tryAcquire();
            long address = MemorySegment.ofBuffer(b).address();
            assertEquals(0, address % 4096);
            assertEquals(8192, b.remaining());
            assertTrue(b.isDirect());
            assertTrue(addresses.add(address));
        }
        assertNull(pool.tryAcquire());
        assertEquals(0, pool.available());
    }

    @Test
    void releasedBufferComesBackCleared() {
        AlignedBufferPool pool = new AlignedBufferPool(4096, 1, 512);
        ByteBuffer b = pool.tryAcquire();
        b.position(100).limit(200);
        pool.release(b);
        ByteBuffer again = pool.tryAcquire();
        assertEquals(0, again.position());
        assertEquals(4096, again.limit());
    }

    @Test
    void foreignAndDoubleReleasesAreRefused() {
        AlignedBufferPool pool = new AlignedBufferPool(4096, 2, 4096);
        ByteBuffer b = pool.tryAcquire();
        assertThrows(IllegalArgumentException.class, () -> pool.release(ByteBuffer.allocateDirect(4096)));
        assertThrows(IllegalArgumentException.class, () -> pool.release(ByteBuffer.allocate(4096)));
        assertThrows(IllegalArgumentException.class, () -> pool.release(b.slice(512, 1024)));
        pool.release(b.position(10));
        assertThrows(IllegalStateException.class, () -> pool.release(b));
    }

    @Test
    void acquireWaitsForARelease() throws Exception {
        AlignedBufferPool pool = new AlignedBufferPool(4096, 1, 4096);
        ByteBuffer held = pool.tryAcquire();
        assertNull(pool.acquire(10, TimeUnit.MILLISECONDS));
        CompletableFuture<ByteBuffer> waiter = CompletableFuture.supplyAsync(() -> {
            try {
                return pool.acquire(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        pool.release(held);
        ByteBuffer got = waiter.get(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
        assertEquals(MemorySegment.ofBuffer(held.clear()).address(), MemorySegment.ofBuffer(got).address());
    }

    @Test
    void badShapesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AlignedBufferPool(4096, 1, 3000));
        assertThrows(IllegalArgumentException.class, () -> new AlignedBufferPool(1000, 1, 512));
        assertThrows(IllegalArgumentException.class, () -> new AlignedBufferPool(4096, 0, 4096));
        assertNotSame(null, new AlignedBufferPool(512, 1, 512).tryAcquire());
    }
}
