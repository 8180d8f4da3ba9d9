package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.AsyncFile;

import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Six threads append records of every buffer shape (heap at an offset, direct, read-only of both) into 16 KiB
 * segments, so that records straddle roll-overs all the time. The first group of one new segment is held in flight,
 * and the directory is copied then: the image a crash in the middle of a roll leaves (the new segment named and
 * zero-filled, maybe a later group in it, maybe the next spare half prepared). Recovering that image keeps every
 * record acknowledged before it was taken, byte for byte, at its position; the live log, released, acknowledges every
 * record once, densely, and reads them all back across the segments.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RollMidCrashImageTest extends WithEngine {
    private static final int THREADS = 6;
    private static final int PER_THREAD = 300;
    private static final int MAX_RECORD = 900;

    private record Sent(byte[] payload, CompletableFuture<Long> future) {
    }

    /** Record {@code i}'s payload as one of five buffer shapes; the bytes it holds are {@code payload}. */
    private static ByteBuffer shaped(byte[] payload, int i) {
        return switch (i % 5) {
            case 0 -> ByteBuffer.wrap(payload);
            case 1 -> {
                byte[] wider = new byte[payload.length + 7];
                System.arraycopy(payload, 0, wider, 3, payload.length);
                yield ByteBuffer.wrap(wider, 3, payload.length); // position 3, limit before the capacity
            }
            case 2 -> ByteBuffer.allocateDirect(payload.length).put(payload).flip();
            case 3 -> ByteBuffer.wrap(payload).asReadOnlyBuffer();
            default -> ByteBuffer.allocateDirect(payload.length + 16).position(16).put(payload).position(16)
                    .asReadOnlyBuffer();
        };
    }

    @Test
    void aCrashImageTakenMidRollKeepsEveryAcknowledgedRecordAndTheLiveLogStaysDense() throws Exception {
        CompletableFuture<Void> release = new CompletableFuture<>();
        CountDownLatch held = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean(true);
        AtomicInteger newSegments = new AtomicInteger(); // first writes into a segment after the first
        UnaryOperator<SegmentIo> holdFirstGroupOfTheThirdSegment = real -> new SegmentIo() {
            @Override
            public CompletableFuture<Integer> writeDurable(ByteBuffer src, long position) {
                if (position == 0 && LogSegment.baseOf(real.file().path()) > 0 && newSegments.getAndIncrement() >= 1
                        && armed.compareAndSet(true, false)) {
                    held.countDown();
                    return release.thenCompose(v -> real.writeDurable(src, position));
                }
                return real.writeDurable(src, position);
            }

            @Override
            public AsyncFile file() {
                return real.file();
            }
        };
        AppendLogConfig config = new AppendLogConfig().segmentBytes(16 << 10).maxRecordBytes(MAX_RECORD)
                .segmentIoWrapper(holdFirstGroupOfTheThirdSegment);
        Path image = Files.createTempDirectory("uringaio-roll-image");
        List<List<Sent>> all = new ArrayList<>();
        try {
            AppendLog log = AppendLog.open(engine, dir, config);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                List<Sent> mine = Collections.synchronizedList(new ArrayList<>());
                all.add(mine);
                int id = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    Random random = new Random(77 + id);
                    for (int i = 0; i < PER_THREAD; i++) {
                        byte[] payload = new byte[1 + random.nextInt(MAX_RECORD)];
                        random.nextBytes(payload);
                        mine.add(new Sent(payload, log.append(shaped(payload, i))));
                        if (i % 16 == 15) {
                            mine.getLast().future.join(); // some appenders wait, as most applications do
                        }
                    }
                }));
            }
            assertTrue(held.await(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS), "no roll reached: "
                    + log.pipelineState());

            // The crash image: what was acknowledged before the copy must be in it.
            Map<Long, byte[]> acknowledgedBefore = new TreeMap<>();
            for (List<Sent> mine : all) {
                synchronized (mine) {
                    for (Sent s : mine) {
                        if (s.future.isDone() && !s.future.isCompletedExceptionally()) {
                            acknowledgedBefore.put(s.future.join(), s.payload);
                        }
                    }
                }
            }
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
                for (Path f : files) {
                    if (Files.isRegularFile(f) && !f.getFileName().toString().equals(DirectoryLock.FILE_NAME)) {
                        Files.copy(f, image.resolve(f.getFileName()));
                    }
                }
            }
            release.complete(null);
            for (Thread t : threads) {
                t.join();
            }
            log.close();

            LogRecovery.Result imageRecovery = LogRecovery.recover(image);
            assertEquals(1, imageRecovery.deletedSegments(), "the segment named mid-roll, without a complete "
                    + "record, is deleted: " + imageRecovery);
            Map<Long, byte[]> inImage = readAll(image);
            Map.Entry<Long, byte[]> lastInImage = ((TreeMap<Long, byte[]>) inImage).lastEntry();
            assertEquals(lastInImage.getKey() + RecordFrame.frameBytes(lastInImage.getValue().length),
                    imageRecovery.tail(), "the image's log ends after its last record");
            assertTrue(acknowledgedBefore.size() > 0);
            for (Map.Entry<Long, byte[]> e : acknowledgedBefore.entrySet()) {
                assertArrayEquals(e.getValue(), inImage.get(e.getKey()), "acknowledged record at " + e.getKey()
                        + " in the crash image (" + imageRecovery + ")");
            }

            Map<Long, byte[]> acknowledged = new TreeMap<>();
            for (List<Sent> mine : all) {
                for (Sent s : mine) {
                    Long p = await(s.future);
                    assertEquals(null, acknowledged.put(p, s.payload), "position " + p + " acknowledged twice");
                }
            }
            assertEquals(THREADS * PER_THREAD, acknowledged.size());
            Map<Long, byte[]> inLog = readAll(dir);
            assertEquals(acknowledged.keySet(), inLog.keySet(), "the log holds exactly the acknowledged records");
            long expected = 0;
            for (Map.Entry<Long, byte[]> e : inLog.entrySet()) {
                assertEquals(expected, e.getKey(), "dense positions");
                assertArrayEquals(acknowledged.get(e.getKey()), e.getValue(), "record at " + e.getKey());
                expected += RecordFrame.frameBytes(e.getValue().length);
            }
            List<Long> bases = LogSegment.list(dir);
            assertTrue(bases.size() > 10, "rolled over: " + bases.size() + " segments");
            for (long base : bases) {
                assertTrue(base == 0 || inLog.containsKey(base) || base == expected, "segment " + base
                        + " begins on a record");
            }
        } finally {
            try (DirectoryStream<Path> files = Files.newDirectoryStream(image)) {
                for (Path f : files) {
                    Files.delete(f);
                }
            }
            Files.delete(image);
        }
    }

    private static Map<Long, byte[]> readAll(Path directory) throws Exception {
        Map<Long, byte[]> found = new TreeMap<>();
        LogRecovery.read(directory, 0, (position, payload) -> {
            byte[] a = new byte[payload.remaining()];
            payload.get(a);
            assertNotNull(a);
            return found.put(position, a) == null;
        });
        return found;
    }
}
