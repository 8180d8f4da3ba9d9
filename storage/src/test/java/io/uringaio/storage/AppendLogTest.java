package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Appends, positions, group commit, segment roll-over, reopen, bad input. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogTest extends WithEngine {
    @Test
    void concurrentAppendsAreDurableDenseAndReadBack() throws Exception {
        int threads = 8;
        int perThread = 200;
        Map<Long, ByteBuffer> written = new ConcurrentHashMap<>();
        try (AppendLog log = AppendLog.open(engine, dir.resolve("wal"))) {
            List<Thread> appenders = new ArrayList<>();
            List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                appenders.add(Thread.ofPlatform().start(() -> {
                    try {
                        List<CompletableFuture<Long>> mine = new ArrayList<>();
                        List<ByteBuffer> records = new ArrayList<>();
                        for (int i = 0; i < perThread; i++) {
                            ByteBuffer r = record(1, id * 100_000L + i, 300);
                            records.add(r);
                            mine.add(log.append(r));
                            if (i % 16 == 15) {
                                await(mine.getLast());
                            }
                        }
                        for (int i = 0; i < perThread; i++) {
                            written.put(await(mine.get(i)), records.get(i));
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread t : appenders) {
                t.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
            }
            assertEquals(List.of(), errors);
            assertEquals(threads * perThread, written.size());

            // Dense: each record starts where the one before it ended.
            TreeMap<Long, ByteBuffer> byPosition = new TreeMap<>(written);
            long expected = 0;
            for (Map.Entry<Long, ByteBuffer> e : byPosition.entrySet()) {
                assertEquals(expected, e.getKey());
                expected += RecordFrame.frameBytes(e.getValue().remaining());
            }
            assertEquals(expected, log.durablePosition());
            assertEquals(expected, log.tailPosition());

            AppendLogStats stats = log.stats();
            assertEquals(threads * perThread, stats.records());
            assertTrue(stats.groups() <= stats.records(), stats.toString());

            Map<Long, ByteBuffer> read = new TreeMap<>();
            log.read(0, (position, payload) -> {
                read.put(position, copy(payload));
                return true;
            });
            assertEquals(byPosition, read);
        }
    }

    @Test
    void appendsWhileBothSlotsAreInFlightShareOneGroup() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate))
                .at(1, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> first = log.append(record(2, 0, 100));   // group 0, slot 0
            CompletableFuture<Long> second = log.append(record(2, 1, 100));  // group 1, slot 1, pipelined
            List<CompletableFuture<Long>> waiting = new ArrayList<>();
            for (int i = 2; i <= 51; i++) {
                waiting.add(log.append(record(2, i, 100)));
            }
            assertEquals(2, faults.writes(), "two groups in flight; the 50 appends wait for a slot");
            gate.complete(null);
            await(first);
            await(second);
            for (CompletableFuture<Long> f : waiting) {
                await(f);
            }
            AppendLogStats stats = log.stats();
            assertEquals(3, stats.groups(), stats.toString());
            assertEquals(52, stats.records());
        }
    }

    @Test
    void oneGroupInFlightWhenConfiguredSo() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> first = log.append(record(2, 0, 100));
            List<CompletableFuture<Long>> waiting = new ArrayList<>();
            for (int i = 1; i <= 50; i++) {
                waiting.add(log.append(record(2, i, 100)));
            }
            assertEquals(1, faults.writes(), "the 50 appends wait for the flush in flight");
            gate.complete(null);
            await(first);
            for (CompletableFuture<Long> f : waiting) {
                await(f);
            }
            AppendLogStats stats = log.stats();
            assertEquals(2, stats.groups(), stats.toString());
            assertEquals(51, stats.records());
        }
    }

    @Test
    void appendsMadeFromAGroupsCompletionsFormOneGroup() throws Exception {
        // 16 closed-loop appenders that append again from the completion of their last append (as an asynchronous
        // caller does): once the start-up settles, every group carries all 16. Were the first append made from a
        // completion flushed alone, groups would alternate 1 and 15 records.
        // The first group's write is held until every appender has appended once, so the start is the same on any
        // machine: group 1 = appender 0, then every group carries all 16 (appender 0 ends one round early): 41 groups.
        int lanes = 16;
        int rounds = 40;
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int lane = 0; lane < lanes; lane++) {
                CompletableFuture<Void> finished = new CompletableFuture<>();
                done.add(finished);
                appendInLoop(log, record(3, lane, 50), rounds, finished);
            }
            gate.complete(null);
            for (CompletableFuture<Void> f : done) {
                await(f);
            }
            AppendLogStats stats = log.stats();
            assertEquals((long) lanes * rounds, stats.records());
            assertTrue(stats.groups() <= rounds + 1, stats.toString());
        }
    }

    private static void appendInLoop(AppendLog log, ByteBuffer record, int left, CompletableFuture<Void> finished) {
        log.append(record).whenComplete((position, failure) -> {
            if (failure != null) {
                finished.completeExceptionally(failure);
            } else if (left == 1) {
                finished.complete(null);
            } else {
                appendInLoop(log, record, left - 1, finished);
            }
        });
    }

    @Test
    void aLaterGroupDurableFirstWaitsForTheEarlierOne() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> first = log.append(record(6, 0, 100));   // stalled
            CompletableFuture<Long> second = log.append(record(6, 1, 100));  // written and synced at once
            StorageTesting.awaitWrites(faults, 2);
            Thread.sleep(200); // the second group's fdatasync is long done
            assertFalse(second.isDone(), "acknowledged before the group in front of it");
            assertEquals(0, log.durablePosition());
            gate.complete(null);
            long p0 = await(first);
            long p1 = await(second);
            assertTrue(p1 > p0);
            assertEquals(log.tailPosition(), log.durablePosition());
        }
    }

    @Test
    void groupsAreBoundedInRecordsAndBytes() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().maxGroupRecords(10).maxGroupBytes(4096).maxRecordBytes(1000)
                .maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            List<CompletableFuture<Long>> all = new ArrayList<>();
            all.add(log.append(ByteBuffer.allocate(10)));
            for (int i = 0; i < 25; i++) {
                all.add(log.append(ByteBuffer.allocate(10))); // 25 small records: groups of 10, 10, 5
            }
            for (int i = 0; i < 5; i++) {
                all.add(log.append(ByteBuffer.allocate(1000))); // 1008-byte frames: 4 fit 4096
            }
            gate.complete(null);
            for (CompletableFuture<Long> f : all) {
                await(f);
            }
            // The stalled group of 1, then [10 small] [10 small] [5 small + 3 big = 3114 bytes] [2 big].
            assertEquals(1 + 4, log.stats().groups(), log.stats().toString());
        }
    }

    @Test
    void segmentsRollOverAndAreReadAcross() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(1000).maxGroupBytes(4096);
        List<ByteBuffer> records = new ArrayList<>();
        List<Long> positions = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 60; i++) {
                ByteBuffer r = record(3, i, 1000);
                records.add(r);
                positions.add(await(log.append(r)));
            }
            assertTrue(log.stats().rolls() >= 5, log.stats().toString());
        }
        List<Long> bases = LogSegment.list(dir);
        assertTrue(bases.size() >= 6, bases.toString());
        assertEquals(0L, bases.getFirst());
        for (Long base : bases) {
            assertTrue(Files.size(dir.resolve(LogSegment.fileName(base))) <= 4096);
        }
        List<ByteBuffer> read = new ArrayList<>();
        List<Long> readPositions = new ArrayList<>();
        LogRecovery.read(dir, 0, (position, payload) -> {
            readPositions.add(position);
            read.add(copy(payload));
            return true;
        });
        assertEquals(positions, readPositions);
        assertEquals(records, read);

        // Reading from the middle, across a segment boundary.
        List<Long> fromMiddle = new ArrayList<>();
        LogRecovery.read(dir, positions.get(30), (position, payload) -> fromMiddle.add(position));
        assertEquals(positions.subList(30, 60), fromMiddle);
    }

    @Test
    void reopenContinuesAtTheTail() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(8192).maxRecordBytes(1000);
        long tail;
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            for (int i = 0; i < 20; i++) {
                await(log.append(record(4, i, 1000)));
            }
            tail = log.durablePosition();
        }
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            assertEquals(tail, log.recovery().tail());
            assertEquals(false, log.recovery().tornTail());
            assertEquals(tail, await(log.append(record(4, 20, 1000))));
        }
        int[] count = {0};
        LogRecovery.read(dir, 0, (position, payload) -> {
            count[0]++;
            return true;
        });
        assertEquals(21, count[0]);
    }

    @Test
    void segmentIsPreallocated() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(2 << 20))) {
            await(log.append(ByteBuffer.allocate(100)));
            assertEquals(2 << 20, Files.size(dir.resolve(LogSegment.fileName(0))));
        }
    }

    @Test
    void nextSegmentIsPreparedAheadAndRemovedAtClose() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(1 << 20);
        Path spareFile = dir.resolve(LogSegment.SPARE_NAME);
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!(Files.exists(spareFile) && Files.size(spareFile) == 1 << 20) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertEquals(1 << 20, Files.size(spareFile), "the spare is prepared in the background");
            byte[] zeros = Files.readAllBytes(spareFile);
            for (byte b : zeros) {
                assertEquals(0, b);
            }
            await(log.append(ByteBuffer.allocate(100)));
        }
        assertFalse(Files.exists(spareFile), "an unused spare is deleted at close");
        Files.write(spareFile, new byte[] {1, 2, 3});
        LogRecovery.recover(dir);
        assertFalse(Files.exists(spareFile), "recovery deletes a leftover spare");
    }

    @Test
    void badInputIsRefusedAtOnce() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().maxRecordBytes(100))) {
            IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                    () -> log.append(ByteBuffer.allocate(0)));
            assertTrue(empty.getMessage().contains("empty record"), empty.getMessage());
            IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                    () -> log.append(ByteBuffer.allocate(101)));
            assertTrue(big.getMessage().contains("101 bytes"), big.getMessage());
            assertThrows(NullPointerException.class, () -> log.append(null));
            assertEquals(0, log.tailPosition(), "nothing was accepted");
            assertEquals(0L, await(log.append(ByteBuffer.allocate(100))));
        }
    }

    @Test
    void closedLogRefusesAppendsAndFlushesWhatItAccepted() throws Exception {
        AppendLog log = AppendLog.open(engine, dir);
        List<CompletableFuture<Long>> accepted = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            accepted.add(log.append(record(5, i, 200)));
        }
        CompletableFuture<Void> closing = log.closeAsync();
        Throwable refused = failure(log.append(ByteBuffer.allocate(1)));
        assertInstanceOf(LogClosedException.class, refused);
        assertTrue(refused.getMessage().contains("log is closed"), refused.getMessage());
        await(closing);
        for (CompletableFuture<Long> f : accepted) {
            assertTrue(f.isDone() && !f.isCompletedExceptionally());
        }
        log.close(); // idempotent
    }

    @Test
    void invalidConfigIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new AppendLogConfig().segmentBytes(100));
        assertThrows(IllegalArgumentException.class, () -> new AppendLogConfig().maxRecordBytes(0));
        assertThrows(IllegalArgumentException.class,
                () -> AppendLog.open(engine, dir, new AppendLogConfig().maxRecordBytes(5000).maxGroupBytes(4096)));
        assertThrows(IllegalArgumentException.class,
                () -> AppendLog.open(engine, dir, new AppendLogConfig().maxRecordBytes(5000).segmentBytes(4096)));
    }

    @Test
    void heapAndDirectRecordsAndBufferPositionUnchanged() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir)) {
            ByteBuffer heap = ByteBuffer.wrap(new byte[] {9, 1, 2, 3}).position(1);
            ByteBuffer direct = ByteBuffer.allocateDirect(3).put(new byte[] {4, 5, 6}).flip();
            long p1 = await(log.append(heap));
            long p2 = await(log.append(direct));
            assertEquals(1, heap.position());
            assertEquals(0, direct.position());
            List<ByteBuffer> read = new ArrayList<>();
            log.read(0, (position, payload) -> read.add(copy(payload)));
            assertEquals(List.of(ByteBuffer.wrap(new byte[] {1, 2, 3}), ByteBuffer.wrap(new byte[] {4, 5, 6})),
                    read);
            assertEquals(p1 + RecordFrame.frameBytes(3), p2);
        }
    }

    static ByteBuffer copy(ByteBuffer payload) {
        ByteBuffer c = ByteBuffer.allocate(payload.remaining());
        c.put(payload.duplicate()).flip();
        return c;
    }
}
