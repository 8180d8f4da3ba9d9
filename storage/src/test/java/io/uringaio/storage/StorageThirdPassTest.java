package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Eight appenders against a close and against a failing disk (ENOSPC on a group's fdatasync, mid-stream): every
 * future completes; an acknowledged record is in the log, byte for byte, after a reopen; a failed one fails with the
 * typed cause (closed, or the poison with its errno); nothing is acknowledged twice; the reopened log appends on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StorageThirdPassTest extends WithEngine {
    private static final int THREADS = 8;

    private record Sent(ByteBuffer payload, CompletableFuture<Long> future) {
    }

    /** Starts THREADS appenders, each appending until a refusal or {@code perThread} records; returns what they sent. */
    private List<List<Sent>> appendFrom8Threads(AppendLog log, int perThread, CountDownLatch started,
                                                List<Thread> threads) {
        List<List<Sent>> all = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            List<Sent> mine = java.util.Collections.synchronizedList(new ArrayList<>());
            all.add(mine);
            int id = t;
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    ByteBuffer r = record(500 + id, i, 120);
                    CompletableFuture<Long> f = log.append(r);
                    mine.add(new Sent(r, f));
                    if (i == 5) {
                        started.countDown();
                    }
                    if (f.isCompletedExceptionally()) {
                        break;
                    }
                }
                if (mine.size() <= 5) {
                    started.countDown();
                }
            }));
        }
        return all;
    }

    private Map<Long, ByteBuffer> recovered() throws Exception {
        Map<Long, ByteBuffer> found = new HashMap<>();
        LogRecovery.read(dir, 0, (p, b) -> found.put(p, ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip())
                == null);
        return found;
    }

    /** The acknowledged records, each position once; every other outcome checked by {@code failed}. */
    private static Map<Long, ByteBuffer> outcomes(List<List<Sent>> all, java.util.function.Consumer<Throwable> failed)
            throws Exception {
        Map<Long, ByteBuffer> acknowledged = new HashMap<>();
        for (List<Sent> mine : all) {
            for (Sent s : mine) {
                try {
                    Long p = s.future.get(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
                    assertNull(acknowledged.put(p, s.payload.rewind()), "position " + p + " acknowledged twice");
                } catch (java.util.concurrent.ExecutionException e) {
                    failed.accept(e.getCause());
                }
            }
        }
        return acknowledged;
    }

    @Test
    void closeWhileEightThreadsAppendLosesNothingAcknowledged() throws Exception {
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10));
        CountDownLatch started = new CountDownLatch(THREADS);
        List<Thread> threads = new ArrayList<>();
        List<List<Sent>> all = appendFrom8Threads(log, 3000, started, threads);
        started.await();
        CompletableFuture<Void> closing = log.closeAsync();
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
        }
        await(closing);
        Map<Long, ByteBuffer> acknowledged = outcomes(all, t -> assertInstanceOf(LogClosedException.class, t));
        assertTrue(acknowledged.size() >= THREADS * 5, "" + acknowledged.size());
        assertEquals(acknowledged, recovered(), "exactly the acknowledged records, byte for byte");
        try (AppendLog again = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            assertEquals(acknowledged.size(), recovered().size());
            long p = await(again.append(record(1, 1, 10)));
            assertEquals(again.recovery().tail(), p);
        }
    }

    @Test
    void enospcMidStreamPoisonsTypedAndKeepsEveryAcknowledgedRecordAcrossAReopen() throws Exception {
        FaultInjection faults = new FaultInjection().at(12, FaultInjection.fsyncFails(ErrnoTable.ENOSPC, true));
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10).maxGroupRecords(4)
                .segmentIoWrapper(faults.wrapper());
        AppendLog log = AppendLog.open(engine, dir, config);
        CountDownLatch started = new CountDownLatch(THREADS);
        List<Thread> threads = new ArrayList<>();
        List<List<Sent>> all = appendFrom8Threads(log, 400, started, threads);
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
        }
        List<Throwable> failures = new ArrayList<>();
        Map<Long, ByteBuffer> acknowledged = outcomes(all, failures::add); // waits for every future
        LogPoisonedException poison = log.poisonCause();
        assertTrue(poison != null, "write 12 of " + faults.writes() + " failed: poisoned");
        assertEquals(ErrnoTable.ENOSPC, poison.errno());
        assertTrue(!failures.isEmpty());
        failures.forEach(t -> assertSame(poison, t, "the one poison for all"));
        assertTrue(acknowledged.keySet().stream().allMatch(p -> p < poison.failedPosition()),
                "nothing acknowledged at or after the failure");
        int writes = faults.writes();
        assertSame(poison, failure(log.append(record(2, 2, 10))), "later appends fail typed");
        assertEquals(writes, faults.writes(), "and write nothing");
        log.close();
        try (AppendLog again = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            Map<Long, ByteBuffer> found = recovered();
            for (Map.Entry<Long, ByteBuffer> a : acknowledged.entrySet()) {
                assertEquals(a.getValue(), found.get(a.getKey()), "acknowledged record at " + a.getKey());
            }
            long p = await(again.append(record(3, 3, 10)));
            assertEquals(again.recovery().tail(), p, "the reopened log appends at its recovered tail");
        }
    }
}
