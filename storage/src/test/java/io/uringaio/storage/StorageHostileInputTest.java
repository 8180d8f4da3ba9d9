package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static io.uringaio.storage.StorageTesting.record;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.UringIOException;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile input to the storage module's public entry points: every bad argument gets a typed exception at once (or a
 * failed future of a typed exception) and changes nothing: the log's tail, its records, the file's pages, and what
 * reached the ring stay as they were.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StorageHostileInputTest extends WithEngine {
    private List<ByteBuffer> records(Path log) throws Exception {
        List<ByteBuffer> found = new ArrayList<>();
        LogRecovery.read(log, 0, (p, b) -> found.add(ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip()));
        return found;
    }

    // ------------------------------------------------------------------ AppendLog

    @Test
    void aHostileVisitorChangesNothingInTheLog() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir)) {
            List<Long> acknowledged = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                acknowledged.add(await(log.append(record(6, i, 200))));
            }
            long durable = log.durablePosition();
            // Throws: the exception comes out as it is, after the records before it.
            IllegalStateException boom = new IllegalStateException("visitor");
            List<Long> seen = new ArrayList<>();
            assertEquals(boom, assertThrows(IllegalStateException.class, () -> log.read(0, (p, b) -> {
                seen.add(p);
                if (seen.size() == 3) {
                    throw boom;
                }
                return true;
            })));
            assertEquals(acknowledged.subList(0, 3), seen);
            // Returns false: stops there.
            List<Long> one = new ArrayList<>();
            log.read(acknowledged.get(1), (p, b) -> one.add(p) && false);
            assertEquals(List.of(acknowledged.get(1)), one);
            // Appends to the same log and waits for it, from inside: the read stays within the durable position it
            // started with (no endless read), and the records appended are durable afterwards.
            List<Long> visited = new ArrayList<>();
            List<Long> appendedInside = new ArrayList<>();
            log.read(0, (p, b) -> {
                visited.add(p);
                appendedInside.add(log.append(record(6, 100 + visited.size(), 200)).join());
                return true;
            });
            assertEquals(acknowledged, visited);
            assertEquals(durable, appendedInside.getFirst());
            acknowledged.addAll(appendedInside);
            // Keeps the payload past the call and scribbles on a copy: the log's bytes are unchanged.
            List<ByteBuffer> kept = new ArrayList<>();
            log.read(0, (p, b) -> kept.add(b));
            assertTrue(kept.stream().allMatch(ByteBuffer::isReadOnly), "payloads are read-only views");
            List<Long> after = new ArrayList<>();
            log.read(0, (p, b) -> after.add(p));
            assertEquals(acknowledged, after);
        }
    }

    @Test
    void theRecordSizeCapIsTheFramesLengthField() {
        assertEquals((1 << 27) - 1, RecordFrame.MAX_PAYLOAD_BYTES);
        assertEquals(RecordFrame.MAX_PAYLOAD_BYTES, new AppendLogConfig().maxRecordBytes(RecordFrame.MAX_PAYLOAD_BYTES)
                .maxRecordBytes());
        assertThrows(IllegalArgumentException.class, () -> new AppendLogConfig().maxRecordBytes(1 << 27));
        assertThrows(IllegalArgumentException.class, () -> new AppendLogConfig().maxRecordBytes(0));
        // The largest length with the widest window keeps its length, its mark and its window apart.
        int word = RecordFrame.word(RecordFrame.MAX_PAYLOAD_BYTES, true, 16);
        assertEquals(RecordFrame.MAX_PAYLOAD_BYTES, RecordFrame.length(word));
        assertTrue(RecordFrame.isGroupStart(word));
        assertEquals(16, RecordFrame.groupsInFlight(word));
        assertEquals(RecordFrame.MAX_PAYLOAD_BYTES, RecordFrame.length(RecordFrame.word(RecordFrame.MAX_PAYLOAD_BYTES,
                false, 16)));
    }

    @Test
    void appendRefusesNullEmptyAndOversizedRecordsAndNothingChanges() throws Exception {
        AppendLogConfig config = new AppendLogConfig().maxRecordBytes(1000);
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            ByteBuffer first = record(1, 0, 100);
            long p0 = await(log.append(first));
            long tail = log.tailPosition();
            AppendLogStats stats = log.stats();
            assertThrows(NullPointerException.class, () -> log.append(null));
            assertThrows(IllegalArgumentException.class, () -> log.append(ByteBuffer.allocate(0)));
            assertThrows(IllegalArgumentException.class, () -> log.append(ByteBuffer.allocate(10).position(10)));
            assertThrows(IllegalArgumentException.class, () -> log.append(ByteBuffer.allocate(1001)));
            assertThrows(IllegalArgumentException.class, () -> log.append(ByteBuffer.allocateDirect(2000)));
            assertThrows(NullPointerException.class, () -> log.read(0, null));
            assertThrows(IllegalArgumentException.class, () -> log.read(-1, (p, b) -> true));
            assertThrows(IllegalArgumentException.class, () -> log.read(p0 + 1, (p, b) -> true));
            assertEquals(tail, log.tailPosition(), "nothing accepted");
            assertEquals(stats.records(), log.stats().records());
            // The largest record is accepted, right after the refused ones, at the tail.
            ByteBuffer max = ByteBuffer.allocate(1000);
            assertEquals(tail, await(log.append(max)));
            assertEquals(List.of(first.rewind(), max.rewind()), records(dir));
        }
    }

    @Test
    void configRefusesRecordsItsFrameCannotCarry() {
        assertThrows(IllegalArgumentException.class,
                () -> new AppendLogConfig().maxRecordBytes(RecordFrame.MAX_PAYLOAD_BYTES + 1));
        assertThrows(IllegalArgumentException.class, () -> new AppendLogConfig().maxRecordBytes(Integer.MAX_VALUE));
        assertThrows(NullPointerException.class, () -> AppendLog.open(engine, dir, null));
        assertThrows(NullPointerException.class, () -> AppendLog.open(null, dir));
        assertThrows(NullPointerException.class, () -> AppendLog.open(engine, null));
    }

    @Test
    void appendAfterCloseFailsTypedAndTheLogIsUnchanged() throws Exception {
        AppendLog log = AppendLog.open(engine, dir);
        long p = await(log.append(record(2, 0, 50)));
        log.close();
        assertInstanceOf(LogClosedException.class, failure(log.append(record(2, 1, 50))));
        assertThrows(NullPointerException.class, () -> log.append(null), "bad input is still bad input");
        assertEquals(p + RecordFrame.frameBytes(record(2, 0, 50).remaining()), log.tailPosition());
        log.close(); // idempotent
        assertEquals(List.of(record(2, 0, 50)), records(dir));
    }

    @Test
    void concurrentCloseAndAppendsLoseNothingAcceptedAndHangNothing() throws Exception {
        AppendLog log = AppendLog.open(engine, dir);
        int threads = 4;
        CountDownLatch started = new CountDownLatch(threads);
        List<List<CompletableFuture<Long>>> futures = new ArrayList<>();
        List<List<ByteBuffer>> payloads = new ArrayList<>();
        List<Thread> appenders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            List<CompletableFuture<Long>> mine = new ArrayList<>();
            List<ByteBuffer> sent = new ArrayList<>();
            futures.add(mine);
            payloads.add(sent);
            int id = t;
            appenders.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 2000; i++) {
                    ByteBuffer r = record(100 + id, i, 64);
                    sent.add(r);
                    mine.add(log.append(r));
                    if (i == 10) {
                        started.countDown();
                    }
                    if (mine.getLast().isCompletedExceptionally()) {
                        return; // closed: every later append is refused too
                    }
                }
            }));
        }
        started.await();
        CompletableFuture<Void> closing = log.closeAsync();
        for (Thread t : appenders) {
            t.join(TimeUnit.SECONDS.toMillis(StorageTesting.DEADLINE_SECONDS));
        }
        await(closing);
        Map<Long, ByteBuffer> acknowledged = new HashMap<>();
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < futures.get(t).size(); i++) {
                CompletableFuture<Long> f = futures.get(t).get(i);
                assertTrue(f.isDone(), "an append never completed");
                if (f.isCompletedExceptionally()) {
                    assertInstanceOf(LogClosedException.class, failure(f));
                } else {
                    assertEquals(null, acknowledged.put(f.join(), payloads.get(t).get(i)), "position twice");
                }
            }
        }
        Map<Long, ByteBuffer> found = new HashMap<>();
        LogRecovery.read(dir, 0, (p, b) -> found.put(p, ByteBuffer.allocate(b.remaining()).put(b.duplicate()).flip())
                == null);
        assertEquals(acknowledged, found, "exactly the accepted records, each once");
    }

    // ------------------------------------------------------------------ PageFile

    @Test
    void pageFileRefusesBadPagesAndBuffersAndTouchesNothing() throws Exception {
        PageFile file = openPageFile();
        int page = file.pageBytes();
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, page, 4);
        ByteBuffer good = pool.acquire();
        for (int i = 0; i < page; i++) {
            good.put(i, (byte) (i * 7));
        }
        await(file.writePageDurable(0, good));
        good.clear();
        byte[] before = Files.readAllBytes(dir.resolve("pages"));
        long submitted = engine.stats().submitted();
        ByteBuffer direct = ByteBuffer.allocateDirect(page);
        ByteBuffer aligned = pool.acquire();
        List<Executable> bad = List.of(
                () -> file.readPage(-1, aligned), () -> file.writePage(-1, aligned),
                () -> file.writePageDurable(Long.MIN_VALUE, aligned),
                () -> file.readPage(Long.MAX_VALUE, aligned), () -> file.writePage(file.maxPage() + 1, aligned),
                () -> file.writePage(0, aligned.duplicate().limit(page - 1)),
                () -> file.writePage(0, ByteBuffer.allocateDirect(2 * page)),
                () -> file.readPage(0, ByteBuffer.allocate(page)), () -> file.writePage(0, ByteBuffer.allocate(page)),
                () -> file.writePage(0, direct.duplicate().position(1)),
                () -> file.read(aligned, -page), () -> file.write(aligned, 1),
                () -> file.write(aligned, Long.MAX_VALUE / page * page),
                () -> file.write(aligned.duplicate().limit(0), 0),
                () -> file.allocate(0), () -> file.allocate(-1));
        for (Executable e : bad) {
            assertThrows(IllegalArgumentException.class, e::execute);
        }
        assertThrows(NullPointerException.class, () -> file.readPage(0, null));
        assertThrows(NullPointerException.class, () -> file.write(null, 0));
        assertThrows(IllegalArgumentException.class, () -> file.allocate(Long.MAX_VALUE), "exact, never wrapped");
        assertThrows(IllegalArgumentException.class, () -> file.allocate(file.maxPage() + 2));
        assertEquals(submitted, engine.stats().submitted(), "nothing reached the ring");
        assertEquals(0, aligned.position());
        assertEquals(page, aligned.limit());
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("pages")));

        file.close();
        ByteBuffer into = pool.acquire();
        assertInstanceOf(ClosedChannelException.class, failure(file.readPage(0, into)));
        assertInstanceOf(ClosedChannelException.class, failure(file.writePage(0, good)));
        assertThrows(IllegalArgumentException.class, () -> file.readPage(-1, into), "checked before the state");
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("pages")));
    }

    private PageFile openPageFile() throws Exception {
        try {
            return PageFile.open(engine, dir.resolve("pages"), 4096, READ, WRITE, CREATE);
        } catch (UringIOException e) {
            assumeTrue(e.errno() != 22, "no O_DIRECT on " + dir + ": " + e.getMessage());
            throw e;
        }
    }
}
