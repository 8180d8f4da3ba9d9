package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log on an engine with caller rings ({@link RingEngineConfig#callerRings(int)}): a group's linked write and
 * {@code fdatasync} go into the ring of the thread that submits the group, and a thread blocked on one of the group's
 * records waits inside that ring ({@link RecordFuture}). Every record acknowledged is on disk, exactly once, also when
 * the appenders' threads exit before their groups are durable (the kernel cancels their unstarted work) or are
 * interrupted while they wait.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AppendLogCallerRingTest {
    private static final int THREADS = 4;

    @TempDir
    Path dir;

    private static RingEngine callerEngine() {
        return callerEngine(THREADS);
    }

    /**
     * An io_uring engine with {@code callerRings} caller rings and one Netty ring whose thread names start with
     * {@code netty-ring}; skips (with the reason) on the thread-pool backend or a kernel that gives no caller rings.
     */
    static RingEngine callerEngine(int callerRings) {
        RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1).ringSize(256).callerRings(callerRings)
                .threadNamePrefix("netty-ring"));
        if (engine.backend() != Backend.IO_URING || engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "caller rings need the io_uring backend and a kernel that gives them");
        }
        return engine;
    }

    private static ByteBuffer record(int thread, int i) {
        return ByteBuffer.wrap(("t" + thread + "-r" + i).getBytes());
    }

    /** Every record read back from {@code logDir}, as strings, in log order. */
    private static List<String> readBack(Path logDir) throws Exception {
        List<String> records = new ArrayList<>();
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1));
             AppendLog log = AppendLog.open(engine, logDir)) {
            log.read(0, (position, payload) -> {
                byte[] bytes = new byte[payload.remaining()];
                payload.get(bytes);
                records.add(new String(bytes));
                return true;
            });
        }
        return records;
    }

    /**
     * Threads that append and block on each record: their records are acknowledged in order, all on disk after a
     * reopen, and some acknowledgements ran on the appenders themselves (reaped in their rings), none on a Netty ring.
     */
    @Test
    void blockedAppendersReapTheirGroupsThemselves() throws Exception {
        Path logDir = dir.resolve("log");
        int perThread = 200;
        Map<String, Integer> ackThreads = new ConcurrentHashMap<>();
        try (RingEngine engine = callerEngine(); AppendLog log = AppendLog.open(engine, logDir)) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                threads.add(Thread.ofPlatform().name("appender-" + t).start(() -> {
                    try {
                        long last = -1;
                        for (int i = 0; i < perThread; i++) {
                            CompletableFuture<Long> f = log.append(record(thread, i));
                            f.thenRun(() -> ackThreads.merge(Thread.currentThread().getName(), 1, Integer::sum));
                            long position = f.join();
                            assertTrue(position > last, "positions grow");
                            last = position;
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertEquals(List.of(), failures);
        }
        List<String> records = readBack(logDir);
        assertEquals(THREADS * perThread, records.size());
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            List<String> mine = records.stream().filter(r -> r.startsWith("t" + thread + "-")).toList();
            for (int i = 0; i < perThread; i++) {
                assertEquals("t" + thread + "-r" + i, mine.get(i), "thread " + thread + "'s records in order");
            }
        }
        assertTrue(ackThreads.keySet().stream().anyMatch(n -> n.startsWith("appender-")),
                "acknowledged on an appender that reaped its group: " + ackThreads);
        assertTrue(ackThreads.keySet().stream().noneMatch(n -> n.startsWith("netty-ring")),
                "nothing went through a Netty ring: " + ackThreads);
    }

    /**
     * Threads that append and exit at once, before their groups are durable: the kernel cancels what they left
     * unstarted (the linked fdatasync waits in io-wq) and the ring hands it to a Netty ring. Every record is still
     * acknowledged with its position, once, and on disk after a reopen.
     */
    @Test
    void appendersThatExitBeforeTheirGroupsAreDurable() throws Exception {
        Path logDir = dir.resolve("log");
        int rounds = 40;
        List<CompletableFuture<Long>> futures = Collections.synchronizedList(new ArrayList<>());
        try (RingEngine engine = callerEngine(); AppendLog log = AppendLog.open(engine, logDir)) {
            for (int round = 0; round < rounds; round++) {
                CountDownLatch go = new CountDownLatch(1);
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    int i = round;
                    threads.add(Thread.ofPlatform().start(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        futures.add(log.append(record(thread, i))); // and exit
                    }));
                }
                go.countDown();
                for (Thread t : threads) {
                    t.join();
                }
            }
            for (CompletableFuture<Long> f : futures) {
                await(f);
            }
        }
        assertEquals(rounds * THREADS, futures.size());
        List<String> records = readBack(logDir);
        assertEquals(rounds * THREADS, records.size(), "every acknowledged record, once");
        assertEquals(rounds * THREADS, records.stream().distinct().count());
    }

    /**
     * An appender interrupted while it waits in its group's ring gets {@link InterruptedException} from
     * {@code get()}; its record is still acknowledged (by whoever reaps the group next) and on disk.
     */
    @Test
    void interruptedWaiterLeavesItsGroupToOthers() throws Exception {
        Path logDir = dir.resolve("log");
        int rounds = 50;
        List<CompletableFuture<Long>> futures = Collections.synchronizedList(new ArrayList<>());
        int interrupted = 0;
        try (RingEngine engine = callerEngine(); AppendLog log = AppendLog.open(engine, logDir)) {
            for (int i = 0; i < rounds; i++) {
                CompletableFuture<Boolean> sawInterrupt = new CompletableFuture<>();
                int round = i;
                Thread appender = Thread.ofPlatform().start(() -> {
                    CompletableFuture<Long> f = log.append(record(0, round));
                    futures.add(f);
                    Thread.currentThread().interrupt();
                    try {
                        f.get();
                        sawInterrupt.complete(false);
                    } catch (InterruptedException e) {
                        sawInterrupt.complete(true);
                    } catch (Exception e) {
                        sawInterrupt.completeExceptionally(e);
                    }
                });
                appender.join();
                if (await(sawInterrupt)) {
                    interrupted++;
                }
            }
            for (CompletableFuture<Long> f : futures) {
                await(f);
            }
        }
        assertTrue(interrupted > 0, "some get() saw its interrupt");
        assertEquals(rounds, readBack(logDir).size());
    }
}
