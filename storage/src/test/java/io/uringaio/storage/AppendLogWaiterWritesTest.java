package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link AppendLogConfig#waiterWrites}: an appender that waits for each of its records writes and syncs its record's
 * group itself, on its own thread; nobody else does, and nothing about durability, order, failures or recovery
 * changes.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AppendLogWaiterWritesTest extends WithEngine {

    private static ByteBuffer bytes(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length);
        for (int v : values) {
            b.put((byte) v);
        }
        return b.flip();
    }

    /**
     * A config whose appenders wait as long as it takes for an acknowledgement under way to end before they cut their
     * group ({@link AppendLogConfig#maxGroupWaitNanos}): on a loaded machine the acknowledging thread may be off its
     * CPU for longer than the default 150 µs, and the group would go through a ring.
     */
    private static AppendLogConfig patient() {
        return new AppendLogConfig().maxGroupWaitNanos(TimeUnit.SECONDS.toNanos(30));
    }

    /** What a test's appender does: on a fresh thread, which has no record of its own yet (any log's). */
    interface Body {
        void run() throws Exception;
    }

    private static void onFreshThread(Body body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                body.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(100));
        assertFalse(t.isAlive(), "the appender ended");
        if (failure.get() instanceof Exception e) {
            throw e;
        } else if (failure.get() instanceof Error e) {
            throw e;
        }
    }

    /** Fails before waiterWrites: the second record's group went to a ring and was not durable when append returned. */
    @Test
    void aThreadThatJoinedItsLastRecordReturnsFromItsNextAppendWithTheRecordDurable() throws Exception {
        onFreshThread(this::joinThenAppend);
        assertRecords(new byte[][] {{1}, {2, 3}});
    }

    private void joinThenAppend() throws Exception {
        FaultInjection faults = new FaultInjection();
        try (AppendLog log = AppendLog.open(engine, dir, patient().segmentIoWrapper(faults.wrapper(true)))) {
            CompletableFuture<Long> first = log.append(bytes(1));
            assertEquals(0, first.join());
            assertEquals(0, faults.blockingWrites(), "the first append of a thread is not known to wait");
            CompletableFuture<Long> second = log.append(bytes(2, 3));
            assertTrue(second.isDone(), "written and synced on this thread before append returned");
            assertEquals(9L, second.join());
            assertEquals(1, faults.blockingWrites());
            assertEquals(log.tailPosition(), log.durablePosition());
        }
    }

    @Test
    void offWhenConfiguredOff() throws Exception {
        FaultInjection faults = new FaultInjection();
        AppendLogConfig config = new AppendLogConfig().waiterWrites(false).segmentIoWrapper(faults.wrapper(true));
        assertFalse(config.waiterWrites());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 20; i++) {
                log.append(bytes(i)).join();
            }
        }
        assertEquals(0, faults.blockingWrites());
        assertEquals(20, faults.writes());
    }

    /** Threads that do not wait, callbacks, and virtual threads never write a group themselves. */
    @Test
    void nobodyElseWritesOnTheirOwnThread() throws Exception {
        onFreshThread(this::appendWithoutWaiting);
    }

    private void appendWithoutWaiting() throws Exception {
        FaultInjection faults = new FaultInjection();
        try (AppendLog log = AppendLog.open(engine, dir, patient().segmentIoWrapper(faults.wrapper(true)))) {
            // A thread that runs ahead of its acknowledgements.
            List<CompletableFuture<Long>> ahead = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                ahead.add(log.append(bytes(i)));
            }
            CompletableFuture.allOf(ahead.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            // allOf's get is not a wait on a record's future: the next append is still not written here.
            log.append(bytes(50));
            // Appends from completions, chained 20 deep.
            CompletableFuture<Void> chain = new CompletableFuture<>();
            appendChain(log, 20, chain);
            chain.get(60, TimeUnit.SECONDS);
            // A virtual thread that joins each of its records.
            Thread virtual = Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 10; i++) {
                    log.append(bytes(i)).join();
                }
            });
            virtual.join(TimeUnit.SECONDS.toMillis(60));
            assertFalse(virtual.isAlive());
            assertEquals(0, faults.blockingWrites());
        }
    }

    private static void appendChain(AppendLog log, int left, CompletableFuture<Void> done) {
        if (left == 0) {
            done.complete(null);
            return;
        }
        log.append(bytes(left)).whenComplete((p, t) -> {
            if (t != null) {
                done.completeExceptionally(t);
            } else {
                appendChain(log, left - 1, done);
            }
        });
    }

    /**
     * Eight threads that each join every record: every record is acknowledged once, in position order per thread,
     * and a reopen finds each one, with its bytes, exactly once.
     */
    @Test
    void joiningThreadsLoseNothingAndRecoveryFindsEveryRecord() throws Exception {
        int threads = 8;
        int perThread = 150;
        FaultInjection faults = new FaultInjection();
        Map<Long, byte[]> acknowledged = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10)
                .segmentIoWrapper(faults.wrapper(true)))) {
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> appenders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                appenders.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        long last = -1;
                        for (int i = 0; i < perThread; i++) {
                            byte[] payload = StorageTesting.record(id, i, 300).array();
                            long position = log.append(ByteBuffer.wrap(payload)).join();
                            assertTrue(position > last, "a thread's records in order");
                            assertTrue(log.durablePosition() > position, "acknowledged only once durable");
                            last = position;
                            assertEquals(null, acknowledged.put(position, payload), "one position, one record");
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            go.countDown();
            for (Thread t : appenders) {
                t.join(TimeUnit.SECONDS.toMillis(100));
                assertFalse(t.isAlive());
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
            assertTrue(faults.blockingWrites() > 0, "some groups were written by their appenders");
            assertEquals(faults.blockingWrites(), log.stats().appenderWrites());
        }
        Map<Long, byte[]> found = new HashMap<>();
        try (AppendLog reopened = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            reopened.read(0, (position, payload) -> {
                byte[] copy = new byte[payload.remaining()];
                payload.get(copy);
                found.put(position, copy);
                return true;
            });
        }
        assertEquals(threads * perThread, acknowledged.size());
        assertEquals(acknowledged.keySet(), found.keySet());
        for (Map.Entry<Long, byte[]> e : acknowledged.entrySet()) {
            assertArrayEquals(e.getValue(), found.get(e.getKey()), "record at " + e.getKey());
        }
    }

    /**
     * A failed fdatasync on the appender's own thread poisons the log as one through the ring does: that append's
     * record fails with the errno, so does every later one, and the record acknowledged before is still there after
     * a reopen.
     */
    @Test
    void aFailedSyncOnTheAppendersThreadPoisonsTheLog() throws Exception {
        onFreshThread(this::failedSync);
        assertRecords(new byte[][] {{7}}, 1);
    }

    private void failedSync() throws Exception {
        FaultInjection faults = new FaultInjection().at(1, FaultInjection.fsyncFails(ErrnoTable.EIO, false));
        try (AppendLog log = AppendLog.open(engine, dir, patient().segmentIoWrapper(faults.wrapper(true)))) {
            assertEquals(0, log.append(bytes(7)).join());
            CompletableFuture<Long> failed = log.append(bytes(8));
            assertTrue(failed.isDone(), "written (and failed) on this thread");
            assertEquals(1, faults.blockingWrites());
            Throwable cause = StorageTesting.failure(failed);
            LogPoisonedException poisoned = assertInstanceOf(LogPoisonedException.class, cause);
            assertEquals(ErrnoTable.EIO, poisoned.errno());
            assertInstanceOf(LogPoisonedException.class, StorageTesting.failure(log.append(bytes(9))));
            assertEquals(9, log.durablePosition(), "nothing acknowledged past the first record");
        }
    }

    /** A short write on the appender's thread is a failure too, not an acknowledgement of half a group. */
    @Test
    void aShortWriteOnTheAppendersThreadPoisonsTheLog() throws Exception {
        onFreshThread(this::shortWrite);
    }

    private void shortWrite() throws Exception {
        FaultInjection faults = new FaultInjection().at(1, FaultInjection.shortWrite());
        try (AppendLog log = AppendLog.open(engine, dir, patient().segmentIoWrapper(faults.wrapper(true)))) {
            assertEquals(0, log.append(bytes(1)).join());
            CompletableFuture<Long> failed = log.append(bytes(2, 2, 2, 2, 2, 2, 2, 2));
            assertInstanceOf(LogPoisonedException.class, StorageTesting.failure(failed));
            assertEquals(1, faults.blockingWrites());
            assertEquals(9, log.durablePosition());
        }
    }

    /** The records in the log of {@link #dir}, reopened: exactly {@code expected}, in order. */
    private void assertRecords(byte[][] expected) throws Exception {
        assertRecords(expected, expected.length);
    }

    private void assertRecords(byte[][] expected, int count) throws Exception {
        List<byte[]> found = new ArrayList<>();
        try (AppendLog reopened = AppendLog.open(engine, dir)) {
            reopened.read(0, (position, payload) -> {
                byte[] copy = new byte[payload.remaining()];
                payload.get(copy);
                found.add(copy);
                return true;
            });
        }
        assertEquals(count, found.size());
        for (int i = 0; i < count; i++) {
            assertArrayEquals(expected[i], found.get(i));
        }
    }
}
