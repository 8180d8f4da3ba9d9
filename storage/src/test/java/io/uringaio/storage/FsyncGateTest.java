package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fsync gate: a failed group write or fdatasync poisons the log. Faults come through the {@link SegmentIo} seam
 * ({@link FaultInjection}); the engine underneath is real.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FsyncGateTest extends WithEngine {
    @Test
    void failedFdatasyncFailsTheWholeGroupTheQueueBehindItAndEveryLaterAppend() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection()
                .at(1, FaultInjection.stallUntil(gate))
                .at(2, FaultInjection.fsyncFails(ErrnoTable.EIO, true));
        AppendLogConfig config = new AppendLogConfig().maxGroupRecords(8).maxGroupsInFlight(1)
                .segmentIoWrapper(faults.wrapper());
        AppendLog log = AppendLog.open(engine, dir, config);
        long good = await(log.append(record(1, 0, 100)));                       // group 0: durable
        CompletableFuture<Long> stalled = log.append(record(1, 1, 100));        // group 1: held in flight
        StorageTesting.awaitWrites(faults, 2);                                  // ... alone
        List<CompletableFuture<Long>> doomed = new ArrayList<>();
        for (int i = 2; i < 22; i++) {
            doomed.add(log.append(record(1, i, 100)));                          // groups 2 (fails), 3, 4 queued
        }
        gate.complete(null);
        long secondGood = await(stalled);
        assertTrue(secondGood > good);

        LogPoisonedException first = null;
        for (CompletableFuture<Long> f : doomed) {
            Throwable t = failure(f);
            LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, t);
            if (first == null) {
                first = p;
            }
            assertSame(first, p, "one failure for all");
        }
        assertEquals(ErrnoTable.EIO, first.errno());
        assertEquals("EIO", first.errnoName());
        assertEquals("write+fdatasync", first.operation());
        assertTrue(first.getMessage().contains("EIO"), first.getMessage());
        assertTrue(first.getMessage().contains("poisoned"), first.getMessage());
        assertEquals(await(stalled) + RecordFrame.frameBytes(record(1, 1, 100).remaining()), first.failedPosition());
        UringIOException original = assertInstanceOf(UringIOException.class, first.getCause());
        assertEquals(ErrnoTable.EIO, original.errno());

        // The gate stays shut: no retry of the fdatasync, no new append.
        int writes = faults.writes();
        Throwable later = failure(log.append(record(1, 99, 100)));
        assertSame(first, later);
        assertSame(first, log.poisonCause());
        assertEquals(writes, faults.writes());
        assertEquals(first.failedPosition(), log.durablePosition());
        log.close();

        // Reopen: the acknowledged records are there. The failed group's bytes reached the page cache, so recovery
        // may find them intact: an append that failed may or may not be in the log afterwards, never half of it.
        try (AppendLog reopened = AppendLog.open(engine, dir, new AppendLogConfig())) {
            List<Long> positions = new ArrayList<>();
            reopened.read(0, (position, payload) -> positions.add(position));
            assertEquals(List.of(good, secondGood), positions.subList(0, 2));
            assertTrue(positions.size() == 2 || positions.size() == 2 + 8, positions.toString());
            assertEquals(reopened.tailPosition(), await(reopened.append(record(1, 100, 100))));
        }
    }

    @Test
    void aGroupDurableBehindOneThatThenFailsDoesNotHangClose() throws Exception {
        // Group 0 is held; group 1, pipelined behind it, is durable at once and waits for group 0 to be acknowledged;
        // then group 0's fdatasync fails. Before the fix group 1 stayed in the pipeline for good and close never
        // completed (found by SimulatedCrashTest).
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection()
                .at(0, (real, src, position) -> gate.thenCompose(v -> FaultInjection.fsyncFails(ErrnoTable.EIO, false)
                        .write(real, src, position)))
                .at(1, (real, src, position) -> CompletableFuture.completedFuture(src.remaining())); // "durable" now
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentIoWrapper(faults.wrapper()));
        CompletableFuture<Long> first = log.append(record(6, 0, 100));
        StorageTesting.awaitWrites(faults, 1);
        CompletableFuture<Long> second = log.append(record(6, 1, 100));
        StorageTesting.awaitWrites(faults, 2);
        assertFalse(second.isDone(), "acknowledged only after the group before it");
        gate.complete(null);
        LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, failure(first));
        assertSame(p, failure(second));
        await(log.closeAsync());
    }

    @Test
    void pipelinedFailureAlsoFailsTheUnacknowledgedGroupInFlightBeforeIt() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection()
                .at(1, FaultInjection.stallUntil(gate))                          // group 1: in flight, slot 0
                .at(2, FaultInjection.fsyncFails(ErrnoTable.EIO, true));         // group 2: pipelined, fails
        AppendLogConfig config = new AppendLogConfig().maxGroupRecords(8).segmentIoWrapper(faults.wrapper());
        AppendLog log = AppendLog.open(engine, dir, config);
        long good = await(log.append(record(5, 0, 100)));
        CompletableFuture<Long> stalled = log.append(record(5, 1, 100));
        StorageTesting.awaitWrites(faults, 2); // group 1 alone, before the doomed ones are appended
        List<CompletableFuture<Long>> doomed = new ArrayList<>();
        for (int i = 2; i < 12; i++) {
            doomed.add(log.append(record(5, i, 100)));
        }
        // Group 2 failed while group 1 was still in flight: group 1's own fdatasync may yet succeed, but the
        // acknowledgements are a prefix and the log has seen a failure, so group 1 fails too, before its I/O is over.
        LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, failure(stalled));
        assertEquals(ErrnoTable.EIO, p.errno());
        assertEquals(good + RecordFrame.frameBytes(record(5, 0, 100).remaining()), p.failedPosition());
        assertEquals(p.failedPosition(), log.durablePosition());
        for (CompletableFuture<Long> f : doomed) {
            assertSame(p, failure(f));
        }
        assertSame(p, failure(log.append(record(5, 99, 100))));
        CompletableFuture<Void> closing = log.closeAsync();
        assertFalse(closing.isDone(), "close waits for the stalled I/O");
        gate.complete(null);
        await(closing);
        LogRecovery.recover(dir);
        List<Long> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (position, payload) -> found.add(position));
        assertEquals(good, found.getFirst(), "the acknowledged record survives");
    }

    @Test
    void failureWithNothingWrittenLeavesTheAcknowledgedPrefix() throws Exception {
        FaultInjection faults = new FaultInjection().at(3, FaultInjection.fsyncFails(ErrnoTable.ENOSPC, false));
        AppendLogConfig config = new AppendLogConfig().segmentIoWrapper(faults.wrapper());
        List<Long> acknowledged = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 3; i++) {
                acknowledged.add(await(log.append(record(2, i, 100))));
            }
            LogPoisonedException p = assertInstanceOf(LogPoisonedException.class,
                    failure(log.append(record(2, 3, 100))));
            assertEquals(ErrnoTable.ENOSPC, p.errno());
        }
        List<Long> found = new ArrayList<>();
        LogRecovery.Result recovery = LogRecovery.recover(dir);
        LogRecovery.read(dir, 0, (position, payload) -> found.add(position));
        assertEquals(acknowledged, found);
        assertEquals(false, recovery.tornTail());
    }

    @Test
    void shortWritePoisonsWithEio() throws Exception {
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.shortWrite());
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentIoWrapper(faults.wrapper()))) {
            LogPoisonedException p = assertInstanceOf(LogPoisonedException.class,
                    failure(log.append(ByteBuffer.wrap(filled(800, (byte) 0x5A)))));
            assertEquals(ErrnoTable.EIO, p.errno());
            assertTrue(p.getCause().getMessage().contains("short write"), p.getCause().getMessage());
        }
        // Half a frame on disk: recovery sees a torn tail and cuts it.
        LogRecovery.Result recovery = LogRecovery.recover(dir);
        assertEquals(0, recovery.tail());
        assertTrue(recovery.tornTail(), recovery.toString());
    }

    private static byte[] filled(int n, byte value) {
        byte[] bytes = new byte[n];
        java.util.Arrays.fill(bytes, value);
        return bytes;
    }

    @Test
    void engineClosedUnderTheLogPoisonsIt() throws Exception {
        AppendLog log = AppendLog.open(engine, dir);
        await(log.append(record(4, 0, 10)));
        engine.close();
        Throwable t = failure(log.append(record(4, 1, 10)));
        LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, t);
        assertEquals(ErrnoTable.ECANCELED, p.errno());
        log.closeAsync();
    }
}
