package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile appenders on a log whose engine has caller rings: appenders that block (join, get), that leave their
 * group's lane at once (get(1 ns)), that are interrupted in it, that exit right after appending, and a close that
 * races all of them. After a reopen: every acknowledged record is there, none twice, and each at the position its
 * acknowledgement gave.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AppendLogCallerRingHostileTest {
    private static final int THREADS = 6;

    @TempDir
    Path dir;

    private static RingEngine callerEngine() {
        return AppendLogCallerRingTest.callerEngine(THREADS);
    }

    /** Every record read back, by payload, with its position; fails on a payload present twice. */
    private static Map<String, Long> readBack(Path logDir) throws Exception {
        Map<String, Long> records = new HashMap<>();
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1));
             AppendLog log = AppendLog.open(engine, logDir)) {
            log.read(0, (position, payload) -> {
                byte[] bytes = new byte[payload.remaining()];
                payload.get(bytes);
                Long before = records.put(new String(bytes), position);
                assertEquals(null, before, "a record present twice: " + new String(bytes));
                return true;
            });
        }
        return records;
    }

    /** How an appender waits for its record. */
    private static void waitAs(int style, CompletableFuture<Long> f) throws Exception {
        switch (style) {
            case 0 -> f.join();
            case 1 -> f.get();
            case 2 -> {
                try {
                    f.get(1, TimeUnit.NANOSECONDS); // leaves the lane at once
                } catch (TimeoutException e) {
                    // expected mostly
                }
            }
            case 3 -> {
                Thread.currentThread().interrupt();
                try {
                    f.get();
                } catch (InterruptedException e) {
                    // its record goes on
                }
            }
            default -> { } // exits without waiting
        }
    }

    @Test
    void hostileAppendersAndARacingClose() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        int round = 0;
        while (System.nanoTime() < end || round < 3) {
            round++;
            Path logDir = dir.resolve("log-" + round);
            List<Map.Entry<String, CompletableFuture<Long>>> appended =
                    Collections.synchronizedList(new ArrayList<>());
            List<Throwable> unexpected = Collections.synchronizedList(new ArrayList<>());
            RingEngine engine = callerEngine();
            try {
                AppendLog log = AppendLog.open(engine, logDir);
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> threads = new ArrayList<>();
                int r = round;
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    threads.add(Thread.ofPlatform().name("appender-" + t).start(() -> {
                        try {
                            go.await();
                            for (int i = 0; i < 60; i++) {
                                String payload = "r" + r + "-t" + thread + "-" + i;
                                CompletableFuture<Long> f;
                                try {
                                    f = log.append(ByteBuffer.wrap(payload.getBytes()));
                                } catch (RuntimeException closed) {
                                    return; // the log closed under us
                                }
                                appended.add(Map.entry(payload, f));
                                waitAs((thread + i) % 5, f);
                                Thread.interrupted();
                            }
                        } catch (ExecutionException | java.util.concurrent.CompletionException failed) {
                            // the close failed it: not acknowledged, checked below
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }));
                }
                go.countDown();
                if (round % 2 == 0) {
                    Thread.sleep(round % 7); // let some groups be in the lanes when the close comes
                    log.close();
                } else {
                    for (Thread t : threads) {
                        t.join();
                    }
                    log.close();
                }
                for (Thread t : threads) {
                    t.join();
                }
            } finally {
                engine.close();
            }
            assertEquals(List.of(), unexpected, "round " + round);
            Map<String, Long> onDisk = readBack(logDir);
            int acknowledged = 0;
            for (Map.Entry<String, CompletableFuture<Long>> e : appended) {
                CompletableFuture<Long> f = e.getValue();
                assertTrue(f.isDone(), "round " + round + ": every future done after the close");
                if (!f.isCompletedExceptionally()) {
                    acknowledged++;
                    String payload = e.getKey();
                    assertEquals(f.join(), onDisk.get(payload), "round " + round + ": acknowledged " + payload
                            + " is on disk at its position");
                }
            }
            assertTrue(onDisk.size() >= acknowledged, "round " + round);
        }
    }
}
