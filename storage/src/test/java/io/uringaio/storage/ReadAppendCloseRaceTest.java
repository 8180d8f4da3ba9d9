package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Appenders, readers and a close on one log at once, with small segments so that reads cross roll-overs: every read
 * sees the records dense from 0 to at least the durable position it started from (never a gap, never a bad frame),
 * every append either is acknowledged or fails with {@link LogClosedException}, the close ends every accepted
 * append, and a reopen finds exactly the acknowledged records. Bounded: about 2 s of traffic.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReadAppendCloseRaceTest extends WithEngine {
    @Test
    void readersAppendersAndACloseAtOnceLoseAndInventNothing() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10);
        AppendLog log = AppendLog.open(engine, dir, config);
        Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> error = new AtomicReference<>();
        AtomicLong reads = new AtomicLong();
        CountDownLatch closed = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                for (long i = 0; closed.getCount() > 0 || i < 10; i++) {
                    try {
                        acknowledged.add(log.append(StorageTesting.record(id, i, 3000)).get(20, TimeUnit.SECONDS));
                    } catch (ExecutionException e) {
                        if (!(e.getCause() instanceof LogClosedException)) {
                            error.compareAndSet(null, e.getCause());
                        }
                        return;
                    } catch (Throwable e) {
                        error.compareAndSet(null, e);
                        return;
                    }
                }
            }));
        }
        for (int t = 0; t < 2; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                while (closed.getCount() > 0) {
                    try {
                        long[] next = {0};
                        long durable = log.durablePosition();
                        log.read(0, (p, b) -> {
                            assertEquals(next[0], p, "dense");
                            next[0] = p + RecordFrame.frameBytes(b.remaining());
                            return true;
                        });
                        assertTrue(next[0] >= durable, "read to " + next[0] + ", durable was " + durable);
                        reads.incrementAndGet();
                    } catch (Throwable e) {
                        error.compareAndSet(null, e);
                        return;
                    }
                }
            }));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < deadline && error.get() == null) {
            Thread.sleep(10); // traffic for a bounded time
        }
        log.closeAsync().get(20, TimeUnit.SECONDS);
        closed.countDown();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(20));
            assertTrue(!t.isAlive(), "a thread hung");
        }
        assertNull(error.get(), () -> "" + error.get());
        assertTrue(reads.get() > 0 && log.stats().rolls() > 0, reads + " reads, " + log.stats());

        List<Long> found = new ArrayList<>();
        try (AppendLog again = AppendLog.open(engine, dir, config)) {
            again.read(0, (p, b) -> found.add(p));
        }
        assertEquals(acknowledged.size(), found.size(), "the acknowledged records, each once");
        assertTrue(found.containsAll(acknowledged));
    }
}
