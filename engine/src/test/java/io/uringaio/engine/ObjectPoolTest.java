package io.uringaio.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The lock-free object pool: bounds, FIFO, and no object handed to two takers under contention. */
@Timeout(60)
class ObjectPoolTest {
    @Test
    void boundedFifoAndEmpty() {
        ObjectPool<String> pool = new ObjectPool<>(4);
        assertNull(pool.poll());
        for (String s : new String[] {"a", "b", "c", "d"}) {
            assertTrue(pool.offer(s));
        }
        assertFalse(pool.offer("e"), "full pool refuses");
        assertSame("a", pool.poll());
        assertTrue(pool.offer("e"), "a freed cell is reused a lap later");
        assertEquals("b", pool.poll());
        assertEquals("c", pool.poll());
        assertEquals("d", pool.poll());
        assertEquals("e", pool.poll());
        assertNull(pool.poll());
        assertThrows(IllegalArgumentException.class, () -> new ObjectPool<String>(6));
    }

    @Test
    void concurrentTakersAndGiversNeverShareAnObject() throws Exception {
        ObjectPool<Object> pool = new ObjectPool<>(64);
        List<Object> objects = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            objects.add(new Object());
            assertTrue(pool.offer(objects.get(i)));
        }
        ConcurrentHashMap<Object, Boolean> inUse = new ConcurrentHashMap<>();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicInteger dropped = new AtomicInteger();
        AtomicInteger taken = new AtomicInteger();
        int threads = 4;
        CountDownLatch done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 200_000; i++) {
                    Object o = pool.poll();
                    if (o == null) {
                        continue;
                    }
                    taken.incrementAndGet();
                    if (inUse.putIfAbsent(o, Boolean.TRUE) != null) {
                        conflicts.incrementAndGet();
                    }
                    inUse.remove(o);
                    if (!pool.offer(o)) {
                        // A cell whose taker is between its claim and its release reads as full: the pool may
                        // then drop an object (the caller allocates a new one later). It must never duplicate one.
                        dropped.incrementAndGet();
                    }
                }
                done.countDown();
            });
        }
        assertTrue(done.await(50, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, conflicts.get());
        assertTrue(taken.get() > 0);
        int left = 0;
        while (pool.poll() != null) {
            left++;
        }
        assertEquals(48, left + dropped.get(), "every object came back once or was dropped, never twice");
    }
}
