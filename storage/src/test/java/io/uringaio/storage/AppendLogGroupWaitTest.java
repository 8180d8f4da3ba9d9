package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Group formation with appenders that block until their record is durable ({@link GroupWait}): the first appender
 * back after an acknowledgement leads and waits for the others, so they go out as one group. The waits here are an
 * hour long (the {@link AppendLog#assumeGroupsAcknowledged} seam and {@link AppendLogConfig#maxGroupWaitNanos}): a
 * group is cut because the rule says so, never because a wait ran out, and a wait that does not end when it must
 * shows as this class's timeout.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogGroupWaitTest extends WithEngine {
    private static final int APPENDERS = 6;
    private static final int RECORD_BYTES = 100;
    private static final int FRAME = (int) RecordFrame.frameBytes(RECORD_BYTES);
    private static final long HOUR = TimeUnit.HOURS.toNanos(1);

    /**
     * Six threads each append and join, then append again at a signal, one after the other as woken threads do: the
     * six second records go out as one group. Before the leader's wait, the first thread back found the pipeline
     * idle and its record went alone (write 2 carried one frame).
     */
    @Test
    void appendersThatWaitForTheirRecordComeBackIntoOneGroup() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLog log = AppendLog.open(engine, dir, config(faults).maxGroupsInFlight(1));
        CompletableFuture<Long> primer = log.append(record(0));         // write 0, held: the appenders queue behind
        StorageTesting.awaitWrites(faults, 1);
        CountDownLatch joined = new CountDownLatch(APPENDERS);
        CountDownLatch again = new CountDownLatch(1);
        AtomicLongArray second = new AtomicLongArray(APPENDERS);
        List<Thread> appenders = new ArrayList<>();
        for (int i = 0; i < APPENDERS; i++) {
            int me = i;
            appenders.add(Thread.ofPlatform().start(() -> {
                log.append(record(1 + me)).join();
                joined.countDown();
                awaitUninterruptibly(again);
                second.set(me, log.append(record(1 + APPENDERS + me)).join());
            }));
        }
        awaitCondition(() -> log.tailPosition() == (long) FRAME * (1 + APPENDERS), log);
        gate.complete(null); // write 0 is acknowledged; write 1 carries the six waiting in the open group
        assertEquals(0, await(primer));
        assertTrue(joined.await(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS), "first appends not durable");
        awaitCondition(() -> log.pipelineState().contains("flying 0,") && log.pipelineState().contains("acking 0,"),
                log);
        assertEquals(FRAME * APPENDERS, faults.bytesOf(1), "write 1: the six first records");
        assertTrue(log.pipelineState().contains("expected " + APPENDERS), "six appenders may come back: "
                + log.pipelineState());
        log.assumeFdatasyncNanos(HOUR); // the leader's bound: an hour, not this disk's fdatasync time

        again.countDown();
        for (Thread t : appenders) {
            t.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
            assertTrue(!t.isAlive(), "an appender is stuck: " + log.pipelineState());
        }
        assertEquals(FRAME * APPENDERS, faults.bytesOf(2), "write 2: the six second records as one group");
        assertEquals(3, faults.writes());
        assertEquals(1, log.leaderWaits(), "the first back waited; the others joined its group");
        for (int i = 0; i < APPENDERS; i++) {
            long p = second.get(i);
            assertTrue(p >= (long) FRAME * (1 + APPENDERS) && p < (long) FRAME * (1 + 2 * APPENDERS), "position " + p);
        }
        log.close();
        assertEquals(1 + 2 * APPENDERS, readBack(log.directory()).size(), "every acknowledged record is in the log");
    }

    @Test
    void aLoneAppenderNeverWaits() throws Exception {
        FaultInjection faults = new FaultInjection();
        try (AppendLog log = AppendLog.open(engine, dir, config(faults))) {
            for (int i = 0; i < 20; i++) {
                assertEquals((long) FRAME * i, await(log.append(record(i))));
            }
            assertEquals(0, log.leaderWaits(), "a group of one is complete: nobody else is expected");
            assertEquals(20, log.stats().groups());
        }
    }

    /** Close ends the leader's wait: its group is written, its record durable, the close completes. */
    @Test
    void closeWhileALeaderWaitsWritesItsGroupAndCompletes() throws Exception {
        FaultInjection faults = new FaultInjection();
        AppendLog log = AppendLog.open(engine, dir, config(faults));
        log.assumeGroupsAcknowledged(APPENDERS, HOUR); // as if six appenders were on their way back
        CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
        Thread leader = Thread.ofPlatform().start(() -> appended.complete(log.append(record(1))));
        awaitLeaderWaiting(log, leader);
        assertEquals(0, faults.writes(), "the leader holds its group open");

        log.close();
        assertEquals(0, await(await(appended)), "accepted before the close: durable");
        assertEquals(FRAME, faults.bytesOf(0));
        assertInstanceOf(LogClosedException.class, failure(log.append(record(2))));
        assertEquals(List.of(0L), readBack(log.directory()));
    }

    /** A failed group in flight poisons the log while a leader waits: the wait ends, its record fails too. */
    @Test
    void aLogPoisonedWhileALeaderWaitsFailsItsRecordAndEndsTheWait() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection.Fault fails = FaultInjection.fsyncFails(ErrnoTable.EIO, true);
        FaultInjection faults = new FaultInjection()
                .at(0, (real, src, position) -> gate.thenCompose(v -> fails.write(real, src, position)));
        AppendLog log = AppendLog.open(engine, dir, config(faults)); // two groups in flight: a slot stays free
        CompletableFuture<Long> doomed = log.append(record(0));         // write 0, held, then its fdatasync fails
        StorageTesting.awaitWrites(faults, 1);
        log.assumeGroupsAcknowledged(APPENDERS, HOUR);
        CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
        Thread leader = Thread.ofPlatform().start(() -> appended.complete(log.append(record(1))));
        awaitLeaderWaiting(log, leader);

        gate.complete(null);
        LogPoisonedException poison = assertInstanceOf(LogPoisonedException.class, failure(doomed));
        assertSame(poison, failure(await(appended)), "the leader's record fails with the same poison");
        leader.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
        assertTrue(!leader.isAlive(), "the leader still waits: " + log.pipelineState());
        assertEquals(1, faults.writes(), "the leader's group was never written");
        assertSame(poison, failure(log.append(record(2))), "and later appends fail as before");
        await(log.closeAsync());
    }

    /** An interrupt ends the leader's wait: the group goes at once, the thread keeps its interrupt status. */
    @Test
    void anInterruptedLeaderCutsItsGroupAtOnceAndStaysInterrupted() throws Exception {
        FaultInjection faults = new FaultInjection();
        AppendLog log = AppendLog.open(engine, dir, config(faults));
        log.assumeGroupsAcknowledged(APPENDERS, HOUR);
        CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
        CompletableFuture<Boolean> stillInterrupted = new CompletableFuture<>();
        Thread leader = Thread.ofPlatform().start(() -> {
            CompletableFuture<Long> f = log.append(record(1));
            stillInterrupted.complete(Thread.currentThread().isInterrupted());
            appended.complete(f);
        });
        awaitLeaderWaiting(log, leader);
        leader.interrupt();
        assertEquals(0, await(await(appended)));
        assertTrue(await(stillInterrupted), "the interrupt status is the caller's: it stays set");
        assertEquals(FRAME, faults.bytesOf(0));
        log.close();
        assertEquals(List.of(0L), readBack(log.directory()));
    }

    /** An appender already interrupted does not lead: it would not wait anyway. */
    @Test
    void anInterruptedThreadDoesNotWaitAsLeader() throws Exception {
        FaultInjection faults = new FaultInjection();
        AppendLog log = AppendLog.open(engine, dir, config(faults));
        log.assumeGroupsAcknowledged(APPENDERS, HOUR);
        CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            appended.complete(log.append(record(1)));
        });
        assertEquals(0, await(await(appended)));
        assertEquals(0, log.leaderWaits());
        log.close();
    }

    /**
     * A thread that appends again before its previous record is durable runs ahead of its acknowledgements: it is not
     * one of those coming back, and does not wait for them (it would only stall itself).
     */
    @Test
    void aThreadWithAnAppendStillPendingDoesNotWaitAsLeader() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLog log = AppendLog.open(engine, dir, config(faults)); // two groups in flight: a slot stays free
        CompletableFuture<Long> first = log.append(record(0));          // write 0, held: not durable
        StorageTesting.awaitWrites(faults, 1);
        log.assumeGroupsAcknowledged(APPENDERS, HOUR);
        CompletableFuture<Long> second = log.append(record(1));         // goes at once, as write 1
        StorageTesting.awaitWrites(faults, 2);
        assertEquals(0, log.leaderWaits());
        gate.complete(null);
        assertEquals(0, await(first));
        assertEquals(FRAME, await(second));
        log.close();
    }

    /**
     * An append from a completion, on a ring thread, never waits: the ring thread completes everybody's I/O. (It
     * would wait here for an hour, with the acknowledgement it runs in unfinished.) Record 0's write is held until the
     * completion is attached: before, a record durable before {@code thenCompose} ran its stage on the test thread,
     * outside any acknowledgement, which then rightly waited as leader for its hour (seen twice under load in CI).
     */
    @Test
    void anAppendOnAnEngineThreadDoesNotWaitAsLeader() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLog log = AppendLog.open(engine, dir, config(faults));
        CompletableFuture<Long> next = log.append(record(0)).thenCompose(p -> {
            log.assumeGroupsAcknowledged(APPENDERS, HOUR);
            return log.append(record(1));
        });
        StorageTesting.awaitWrites(faults, 1);
        gate.complete(null); // the acknowledgement runs on the ring thread or on this one, inside the gate's completion
        assertEquals(FRAME, await(next));
        assertEquals(0, log.leaderWaits());
        log.close();
    }

    private static AppendLogConfig config(FaultInjection faults) {
        return new AppendLogConfig().maxGroupWaitNanos(HOUR).segmentIoWrapper(faults.wrapper());
    }

    private static ByteBuffer record(int i) {
        ByteBuffer b = ByteBuffer.allocate(RECORD_BYTES);
        for (int k = 0; k < RECORD_BYTES; k++) {
            b.put(k, (byte) (i * 31 + k));
        }
        return b;
    }

    /** The positions of the records in the closed log's directory, in order. */
    private List<Long> readBack(Path logDir) throws Exception {
        List<Long> positions = new ArrayList<>();
        try (AppendLog reopened = AppendLog.open(engine, logDir)) {
            reopened.read(0, (position, payload) -> {
                positions.add(position);
                return true;
            });
        }
        return positions;
    }

    /** Waits until {@code leader} waits in the log as a group's leader. */
    private static void awaitLeaderWaiting(AppendLog log, Thread leader) throws InterruptedException {
        awaitCondition(() -> log.leaderWaits() == 1 && leader.getState() == Thread.State.TIMED_WAITING, log);
    }

    private static void awaitCondition(BooleanSupplier condition, AppendLog log) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StorageTesting.DEADLINE_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached: " + log.pipelineState());
            }
            Thread.sleep(1);
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // not interrupted in these tests
            }
        }
    }
}
