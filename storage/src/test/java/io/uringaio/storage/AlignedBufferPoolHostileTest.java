package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * AlignedBufferPool against a hostile caller: a pool larger than the direct memory the JVM can give is refused with
 * an IllegalArgumentException (before, the JDK's OutOfMemoryError came out of the constructor), and a pool made
 * before it is untouched; many threads fighting over two buffers never hold one buffer twice, and every buffer comes
 * back.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AlignedBufferPoolHostileTest {
    @Test
    void aPoolLargerThanTheDirectMemoryIsRefusedAndAnotherPoolIsUntouched() throws Exception {
        AlignedBufferPool bystander = new AlignedBufferPool(4096, 2, 4096);
        ByteBuffer held = bystander.acquire();
        held.put(0, (byte) 42);
        for (int[] shape : new int[][] {{1 << 30, Integer.MAX_VALUE}, {4096, Integer.MAX_VALUE}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AlignedBufferPool(shape[0], shape[1], 4096));
            assertTrue(e.getMessage().contains("direct memory"), e.getMessage());
        }
        assertEquals(42, held.get(0), "the other pool's buffer keeps its bytes");
        assertEquals(1, bystander.available());
        bystander.release(held);
        assertEquals(2, bystander.available());
    }

    @Test
    void threadsFightingOverTwoBuffersNeverShareOneAndAllComeBack() throws Exception {
        AlignedBufferPool pool = new AlignedBufferPool(4096, 2, 4096);
        int threads = 8;
        int rounds = 2000;
        AtomicReference<Throwable> error = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            byte mark = (byte) (t + 1);
            all.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < rounds && error.get() == null; i++) {
                        ByteBuffer b = i % 2 == 0 ? pool.acquire() : pool.acquire(10, TimeUnit.SECONDS);
                        if (b == null) {
                            throw new AssertionError("no buffer within 10 s");
                        }
                        assertEquals(0, b.position());
                        assertEquals(4096, b.remaining());
                        b.put(0, mark).put(4095, mark);
                        Thread.yield(); // another thread holding this buffer now would overwrite the marks
                        assertEquals(mark, b.get(0), "a buffer held twice");
                        assertEquals(mark, b.get(4095), "a buffer held twice");
                        b.put(0, (byte) 0).put(4095, (byte) 0);
                        pool.release(b);
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                }
            }));
        }
        start.countDown();
        for (Thread t : all) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertTrue(!t.isAlive(), "a thread hung");
        }
        assertNull(error.get(), () -> String.valueOf(error.get()));
        assertEquals(2, pool.available(), "every buffer back");
        Set<Long> addresses = new HashSet<>();
        ByteBuffer a = pool.tryAcquire();
        ByteBuffer b = pool.tryAcquire();
        assertNull(pool.tryAcquire(), "exhausted: null at once");
        addresses.add(MemorySegment.ofBuffer(a).address());
        addresses.add(MemorySegment.ofBuffer(b).address());
        assertEquals(2, addresses.size(), "two distinct buffers");
        pool.release(a);
        pool.release(b);
    }
}
