package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Another thread moves a record buffer's limit while {@code append} runs (the caller's own race): the append took the
 * record's length once for its checks and the log's tail, and the group took it again when it copied the bytes. A
 * record framed at one length and counted at another put the tail out of step with the bytes: the next record's
 * position was not the one the tail gave, the next group went to a wrong file offset (a hole or an overwrite), and a
 * record could pass the size check at one length and be written at another. Now the record is what the buffer held
 * between its position and limit when {@code append} was called; the log stays dense whatever the caller does after.
 *
 * <p>The window is made deterministic by the backpressure wait: the append blocks after taking the length, until the
 * stalled first group is durable, and the test moves the limit meanwhile.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendBufferMovedTest extends WithEngine {
    /** A pending-bytes budget of 1 KiB, no leader wait, segment writes through {@code faults}. */
    private static AppendLogConfig budgetOfOneKiB(FaultInjection faults) {
        return new AppendLogConfig().segmentBytes(256 << 10).maxPendingBytes(1024).maxGroupWaitNanos(0)
                .segmentIoWrapper(faults.wrapper());
    }

    /** Appends {@code record} on a new platform thread; {@code appended} gets its future, or what it threw. */
    private static Thread appendOnAThread(AppendLog log, ByteBuffer record,
                                          CompletableFuture<CompletableFuture<Long>> appended) {
        return Thread.ofPlatform().daemon().start(() -> {
            try {
                appended.complete(log.append(record));
            } catch (Throwable t) {
                appended.completeExceptionally(t);
            }
        });
    }

    @Test
    void aLimitMovedWhileTheAppendWaitsForBudgetLeavesTheLogDense() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = budgetOfOneKiB(faults);
        List<Integer> lengths = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> first = log.append(ByteBuffer.allocate(100));
            StorageTesting.awaitWrites(faults, 1);

            ByteBuffer moved = ByteBuffer.allocate(2000).limit(1000);
            CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
            Thread appender = appendOnAThread(log, moved, appended);
            awaitParked(appender); // over the budget: waits for the first group with the length taken
            moved.limit(1200);
            gate.complete(null);
            CompletableFuture<Long> second = appended.get(20, TimeUnit.SECONDS);
            CompletableFuture<Long> third = log.append(ByteBuffer.allocate(10));

            assertEquals(0L, await(first));
            assertEquals(RecordFrame.frameBytes(100), await(second), "the moved record's position");
            assertEquals(RecordFrame.frameBytes(100) + RecordFrame.frameBytes(1000), await(third),
                    "the next record follows the moved one as it was framed");
            assertEquals(await(third) + RecordFrame.frameBytes(10), log.tailPosition(), "the tail, in step");
            log.read(0, (p, payload) -> lengths.add(payload.remaining()));
        }
        assertEquals(List.of(100, 1000, 10), lengths, "the records as they were when append was called");
        try (AppendLog log = AppendLog.open(engine, dir, config.segmentIoWrapper(io -> io))) {
            assertEquals(3, log.recovery().tailRecords(), "a reopen finds the three records");
        }
    }

    @Test
    void aLimitCutBelowTheRecordWhileTheAppendWaitsFailsItTypedAndAppendsNothing() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = budgetOfOneKiB(faults);
        List<Integer> lengths = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> first = log.append(ByteBuffer.allocate(100));
            StorageTesting.awaitWrites(faults, 1);

            ByteBuffer cut = ByteBuffer.allocate(2000).limit(1000);
            CompletableFuture<CompletableFuture<Long>> appended = new CompletableFuture<>();
            Thread appender = appendOnAThread(log, cut, appended);
            awaitParked(appender);
            cut.limit(400);
            gate.complete(null);
            java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
                    java.util.concurrent.ExecutionException.class, () -> appended.get(20, TimeUnit.SECONDS));
            assertTrue(refused.getCause() instanceof IndexOutOfBoundsException, refused.getCause().toString());
            CompletableFuture<Long> next = log.append(ByteBuffer.allocate(10));

            assertEquals(0L, await(first));
            assertEquals(RecordFrame.frameBytes(100), await(next), "nothing of the refused record took a position");
            assertEquals(await(next) + RecordFrame.frameBytes(10), log.tailPosition(), "the tail, in step");
            log.read(0, (p, payload) -> lengths.add(payload.remaining()));
        }
        assertEquals(List.of(100, 10), lengths);
    }

    /** Waits (bounded) until {@code thread} is parked: the append blocked on the log's budget. */
    private static void awaitParked(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (thread.getState() != Thread.State.WAITING) {
            assertTrue(thread.isAlive() && System.nanoTime() < deadline, "the append did not block on the budget");
            Thread.sleep(1);
        }
    }
}
