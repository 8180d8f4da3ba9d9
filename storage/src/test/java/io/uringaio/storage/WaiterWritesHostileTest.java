package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile use of {@link AppendLogConfig#waiterWrites}: joiners, non-joiners and completion chains appending at once,
 * with a failure injected and a close racing them; cross-log waits; timed-out gets; interrupted joiners. Every case
 * asserts exactly-once acknowledgement, order, durability after reopen, and bounded waits.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WaiterWritesHostileTest extends WithEngine {

    private static final long BOUND_SECONDS = 20;

    private static ByteBuffer bytes(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length);
        for (int v : values) {
            b.put((byte) v);
        }
        return b.flip();
    }

    /** What every thread of a mixed run saw. */
    private static final class Outcome {
        final Map<Long, byte[]> acknowledged = new ConcurrentHashMap<>();
        final AtomicInteger completions = new AtomicInteger();
        final AtomicInteger accepted = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<CompletableFuture<Long>> all = java.util.Collections.synchronizedList(new ArrayList<>());

        /** Tracks {@code f}, the record {@code payload}'s future: its completion counted, its position recorded. */
        CompletableFuture<Long> track(CompletableFuture<Long> f, byte[] payload) {
            accepted.incrementAndGet();
            all.add(f);
            f.whenComplete((p, t) -> {
                completions.incrementAndGet();
                if (t == null && acknowledged.put(p, payload) != null) {
                    failure.compareAndSet(null, new AssertionError("two records acknowledged at " + p));
                }
            });
            return f;
        }
    }

    /**
     * Two joiners, two threads running ahead (with an occasional timed get), and two completion chains append at once;
     * the group write {@code failAt} (if not negative) fails its fdatasync, on whichever thread writes it; the log is
     * closed from another thread while they run. No append or close hangs; every future completes exactly once; a
     * thread that saw its record fail with the poison sees every later append fail; every acknowledged record is
     * there after a reopen, with its bytes.
     */
    private void mixedRun(int failAt, long closeAfterRecords) throws Exception {
        FaultInjection faults = new FaultInjection();
        if (failAt >= 0) {
            faults.at(failAt, FaultInjection.fsyncFails(ErrnoTable.EIO, true));
        }
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10).segmentIoWrapper(faults.wrapper(true));
        Outcome out = new Outcome();
        AppendLog log = AppendLog.open(engine, dir, config);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        int perThread = 300;
        for (int t = 0; t < 4; t++) {
            int id = t;
            boolean joins = t < 2;
            threads.add(Thread.ofPlatform().name("appender-" + t).start(() -> {
                try {
                    go.await();
                    long last = -1;
                    boolean poisoned = false;
                    CompletableFuture<Long> previous = null;
                    for (int i = 0; i < perThread; i++) {
                        byte[] payload = StorageTesting.record(id, i, 100 + i % 50).array();
                        CompletableFuture<Long> f = log.append(ByteBuffer.wrap(payload));
                        out.track(f, payload);
                        if (poisoned && !(f.isDone() && f.isCompletedExceptionally())) {
                            throw new AssertionError("an append after the poison was seen did not fail at once");
                        }
                        if (joins) {
                            try {
                                long p = f.get(BOUND_SECONDS, TimeUnit.SECONDS);
                                assertTrue(p > last, "a thread's records in position order");
                                last = p;
                                assertTrue(log.durablePosition() > p, "acknowledged only once durable");
                            } catch (ExecutionException e) {
                                poisoned |= e.getCause() instanceof LogPoisonedException;
                            }
                        } else if (previous != null && i % 7 == 0) {
                            try {
                                previous.get(1, TimeUnit.MILLISECONDS);
                            } catch (TimeoutException | ExecutionException ignored) {
                                // running ahead: a timed get that may time out
                            }
                        }
                        previous = f;
                    }
                } catch (Throwable e) {
                    out.failure.compareAndSet(null, e);
                }
            }));
        }
        List<CompletableFuture<Void>> chains = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            chains.add(done);
            int id = 10 + c;
            Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                    chain(log, out, id, 0, perThread, done);
                } catch (Throwable e) {
                    done.completeExceptionally(e);
                }
            });
        }
        go.countDown();
        while (closeAfterRecords >= 0 && out.accepted.get() < closeAfterRecords && threads.get(0).isAlive()) {
            Thread.onSpinWait();
        }
        CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> {
            try {
                if (closeAfterRecords >= 0) {
                    log.close();
                }
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
            assertFalse(t.isAlive(), "an appender hung: " + t.getName() + " " + List.of(t.getStackTrace()));
        }
        for (CompletableFuture<Void> chain : chains) {
            try {
                chain.get(BOUND_SECONDS, TimeUnit.SECONDS);
            } catch (ExecutionException expected) {
                // a chain ends at its first failed record
            }
        }
        closed.get(BOUND_SECONDS, TimeUnit.SECONDS);
        log.closeAsync().get(BOUND_SECONDS, TimeUnit.SECONDS);
        if (out.failure.get() != null) {
            throw new AssertionError(out.failure.get());
        }
        for (CompletableFuture<Long> f : new ArrayList<>(out.all)) {
            assertTrue(f.isDone(), "every record's future completed once the log is closed");
        }
        assertEquals(out.accepted.get(), out.completions.get(), "each future completed exactly once");
        Map<Long, byte[]> found = new HashMap<>();
        try (AppendLog reopened = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            reopened.read(0, (position, payload) -> {
                byte[] copy = new byte[payload.remaining()];
                payload.get(copy);
                found.put(position, copy);
                return true;
            });
        }
        for (Map.Entry<Long, byte[]> e : out.acknowledged.entrySet()) {
            assertArrayEquals(e.getValue(), found.get(e.getKey()), "acknowledged record at " + e.getKey() + " lost");
        }
        if (failAt < 0 && closeAfterRecords < 0) {
            assertEquals(6 * perThread, out.acknowledged.size());
            assertTrue(faults.blockingWrites() > 0, "some groups were written by their appenders");
        }
    }

    private static void chain(AppendLog log, Outcome out, int id, int i, int n, CompletableFuture<Void> done) {
        if (i == n) {
            done.complete(null);
            return;
        }
        byte[] payload = StorageTesting.record(id, i, 80).array();
        out.track(log.append(ByteBuffer.wrap(payload)), payload).whenComplete((p, t) -> {
            if (t != null) {
                done.completeExceptionally(t);
            } else {
                chain(log, out, id, i + 1, n, done);
            }
        });
    }

    @Test
    void mixedAppendersLoseNothing() throws Exception {
        mixedRun(-1, -1);
    }

    @Test
    void mixedAppendersWithAFailedSync() throws Exception {
        for (int failAt : new int[] {3, 40}) {
            mixedRun(failAt, -1);
            engine.close();
            engine = StorageTesting.engine();
            dir = Files.createTempDirectory(dir, "again");
        }
    }

    @Test
    void mixedAppendersWithACloseRacing() throws Exception {
        mixedRun(-1, 400);
    }

    @Test
    void mixedAppendersWithAFailureAndACloseRacing() throws Exception {
        mixedRun(60, 500);
    }

    /** A thread that joined a record of log A then appends to log B: B's record is durable and in order. */
    @Test
    void joinOnOneLogThenAppendToAnother() throws Exception {
        FaultInjection faultsA = new FaultInjection();
        FaultInjection faultsB = new FaultInjection();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (AppendLog a = AppendLog.open(engine, dir.resolve("a"), new AppendLogConfig()
                    .segmentIoWrapper(faultsA.wrapper(true)));
                 AppendLog b = AppendLog.open(engine, dir.resolve("b"), new AppendLogConfig()
                    .segmentIoWrapper(faultsB.wrapper(true)))) {
                assertEquals(0, a.append(bytes(1)).join());
                CompletableFuture<Long> fb = b.append(bytes(2, 2));
                assertEquals(0, fb.get(BOUND_SECONDS, TimeUnit.SECONDS));
                assertEquals(b.tailPosition(), b.durablePosition());
                CompletableFuture<Long> fa = a.append(bytes(3));
                assertEquals(9, fa.get(BOUND_SECONDS, TimeUnit.SECONDS));
                assertEquals(a.tailPosition(), a.durablePosition());
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
        assertFalse(t.isAlive());
        assertNull(failure.get());
        try (AppendLog a = AppendLog.open(engine, dir.resolve("a"));
             AppendLog b = AppendLog.open(engine, dir.resolve("b"))) {
            assertEquals(a.tailPosition(), 18);
            assertEquals(b.tailPosition(), 10);
        }
    }

    /** A get(timeout) that timed out is no wait for a done record: the next append does not write on the thread. */
    @Test
    void aTimedOutGetDoesNotMakeTheNextAppendWriteOnTheThread() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig()
                    .segmentIoWrapper(faults.wrapper(true)))) {
                CompletableFuture<Long> first = log.append(bytes(1));
                assertThrows(TimeoutException.class, () -> first.get(1, TimeUnit.MILLISECONDS));
                CompletableFuture<Long> second = log.append(bytes(2));
                assertFalse(second.isDone(), "not written on this thread");
                gate.complete(null);
                assertEquals(9, second.get(BOUND_SECONDS, TimeUnit.SECONDS));
                assertEquals(0, faults.blockingWrites());
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                gate.complete(null);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
        assertFalse(t.isAlive());
        assertNull(failure.get());
    }

    /**
     * A thread whose get(timeout) on its record timed out bounds its waits: its next append must not block in a write
     * and sync of its own, even once that record is done. Fails before the fix: the timed-out get counted as a wait,
     * and the record done by then made the next append write its group on the thread.
     */
    @Test
    void aTimedOutGetOfARecordDoneSinceDoesNotMakeTheNextAppendWriteOnTheThread() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig()
                    .segmentIoWrapper(faults.wrapper(true)))) {
                CompletableFuture<Long> first = log.append(bytes(1));
                assertThrows(TimeoutException.class, () -> first.get(1, TimeUnit.MILLISECONDS));
                CountDownLatch firstDone = new CountDownLatch(1);
                first.whenComplete((p, e) -> firstDone.countDown()); // no join/get: not a wait on it
                gate.complete(null);
                assertTrue(firstDone.await(BOUND_SECONDS, TimeUnit.SECONDS));
                assertTrue(first.isDone());
                CompletableFuture<Long> second = log.append(bytes(2));
                assertEquals(0, faults.blockingWrites(), "the append did not write on this thread");
                assertEquals(9, second.get(BOUND_SECONDS, TimeUnit.SECONDS));
            } catch (Throwable e) {
                failure.set(e);
            } finally {
                gate.complete(null);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
        assertFalse(t.isAlive());
        assertNull(failure.get());
    }

    /**
     * A joiner appends while a slow acknowledgement (a user callback that blocks) runs, with a long
     * {@link AppendLogConfig#maxGroupWaitNanos}: it waits for that acknowledgement to end before it cuts its group;
     * a close from another thread ends that wait at once, and the close completes once the callback returns, with
     * the record durable or failed, never lost silently.
     */
    @Test
    void aCloseEndsAJoinersWaitForASlowAcknowledgement() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        CountDownLatch callbackRunning = new CountDownLatch(1);
        CountDownLatch releaseCallback = new CountDownLatch(1);
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig()
                .maxGroupWaitNanos(TimeUnit.SECONDS.toNanos(60)).segmentIoWrapper(faults.wrapper(true)));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<CompletableFuture<Long>> second = new AtomicReference<>();
        CountDownLatch appending = new CountDownLatch(1);
        try {
            Thread w = Thread.ofPlatform().start(() -> {
                try {
                    CompletableFuture<Long> first = log.append(bytes(1));
                    first.thenRun(() -> {
                        callbackRunning.countDown();
                        try {
                            releaseCallback.await(); // a slow user callback: the acknowledgement runs meanwhile
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    gate.complete(null);
                    assertEquals(0, first.join());
                    assertTrue(callbackRunning.await(BOUND_SECONDS, TimeUnit.SECONDS));
                    appending.countDown();
                    second.set(log.append(bytes(2)));
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            assertTrue(appending.await(BOUND_SECONDS, TimeUnit.SECONDS));
            CompletableFuture<Void> closed = log.closeAsync();
            w.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
            assertFalse(w.isAlive(), "the close ended the appender's wait");
            assertNull(failure.get());
            assertFalse(closed.isDone(), "the acknowledgement still runs");
            releaseCallback.countDown();
            closed.get(BOUND_SECONDS, TimeUnit.SECONDS);
            CompletableFuture<Long> f = second.get();
            assertTrue(f.isDone(), "the record completed by the close");
            boolean acknowledged = !f.isCompletedExceptionally();
            try (AppendLog reopened = AppendLog.open(engine, dir)) {
                // An acknowledged record is there; a failed one may be there or not (its durability unknown).
                assertTrue(reopened.tailPosition() >= (acknowledged ? 18 : 9), "tail " + reopened.tailPosition());
                if (acknowledged) {
                    assertEquals(9, f.join());
                }
            }
        } finally {
            gate.complete(null);
            releaseCallback.countDown();
            log.closeAsync().get(BOUND_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** An interrupted joiner appends: its record is written, durable when joined, and it keeps its interrupt. */
    @Test
    void anInterruptedJoinerAppends() throws Exception {
        FaultInjection faults = new FaultInjection();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig()
                    .segmentIoWrapper(faults.wrapper(true)))) {
                assertEquals(0, log.append(bytes(1)).join());
                Thread.currentThread().interrupt();
                CompletableFuture<Long> second = log.append(bytes(2));
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
                assertEquals(9, second.join());
                assertEquals(log.tailPosition(), log.durablePosition());
                // Written on this thread, or through a ring when the acknowledgement of the first record was still
                // under way (an interrupted appender does not wait for it to end): durable either way.
                assertTrue(faults.blockingWrites() <= 1);
                Thread.interrupted();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
        assertFalse(t.isAlive());
        assertNull(failure.get());
        try (AppendLog log = AppendLog.open(engine, dir)) {
            assertEquals(18, log.tailPosition());
        }
    }

    /** After a poison on the appender's own thread, a different thread's later append fails too, at once. */
    @Test
    void aPoisonOnTheAppendersThreadFailsEveryLaterAppendOfAnyThread() throws Exception {
        FaultInjection faults = new FaultInjection().at(1, FaultInjection.fsyncFails(ErrnoTable.EIO, true));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        // Patient: on a loaded machine the first record's acknowledgement may outlast the default 300 µs claim, and
        // the second group would go through a ring (no blocking write to count).
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig()
                .maxGroupWaitNanos(TimeUnit.SECONDS.toNanos(BOUND_SECONDS)).segmentIoWrapper(faults.wrapper(true)));
        try {
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    assertEquals(0, log.append(bytes(1)).join());
                    CompletableFuture<Long> failed = log.append(bytes(2));
                    assertInstanceOf(LogPoisonedException.class, StorageTesting.failure(failed));
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            t.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
            assertFalse(t.isAlive());
            assertNull(failure.get());
            assertEquals(1, faults.blockingWrites());
            for (int i = 0; i < 5; i++) {
                CompletableFuture<Long> later = log.append(bytes(3));
                assertTrue(later.isDone());
                assertInstanceOf(LogPoisonedException.class, StorageTesting.failure(later));
            }
            assertEquals(9, log.durablePosition());
        } finally {
            log.closeAsync().get(BOUND_SECONDS, TimeUnit.SECONDS);
        }
    }
}
