package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link WriteBarrier}: a sync's action runs only after every write entered before it exited. No kernel. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WriteBarrierTest {

    @Test
    void runsAtOnceWhenNoWriteIsPending() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> ran = new ArrayList<>();
        barrier.afterWrites(() -> ran.add("a"));
        assertEquals(List.of("a"), ran, "ran on the calling thread, at once");
        WriteBarrier.Epoch w = barrier.enterWrite();
        barrier.exitWrite(w);
        barrier.afterWrites(() -> ran.add("b"));
        assertEquals(List.of("a", "b"), ran, "every earlier write already exited");
    }

    @Test
    void waitsForEveryEarlierWrite() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> ran = new ArrayList<>();
        WriteBarrier.Epoch w1 = barrier.enterWrite();
        WriteBarrier.Epoch w2 = barrier.enterWrite();
        barrier.afterWrites(() -> ran.add("sync"));
        WriteBarrier.Epoch later = barrier.enterWrite(); // after the sync: must not hold it back
        barrier.exitWrite(w2);
        assertEquals(List.of(), ran);
        barrier.exitWrite(w1);
        assertEquals(List.of("sync"), ran);
        barrier.exitWrite(later);
        assertEquals(List.of("sync"), ran);
    }

    @Test
    void severalSealsRunInOrder() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> ran = new ArrayList<>();
        WriteBarrier.Epoch a = barrier.enterWrite();
        barrier.afterWrites(() -> ran.add("s1"));
        barrier.afterWrites(() -> ran.add("s2")); // nothing entered between: still behind a
        WriteBarrier.Epoch b = barrier.enterWrite();
        barrier.afterWrites(() -> ran.add("s3"));
        barrier.exitWrite(b);
        assertEquals(List.of(), ran, "s3 also waits for a, which is older than b");
        barrier.exitWrite(a);
        assertEquals(List.of("s1", "s2", "s3"), ran);
        barrier.afterWrites(() -> ran.add("s4"));
        assertEquals(List.of("s1", "s2", "s3", "s4"), ran, "all drained: immediate again");
    }

    @Test
    void aYoungerEpochDrainingFirstWaitsForTheOlder() {
        WriteBarrier barrier = new WriteBarrier();
        List<String> ran = new ArrayList<>();
        WriteBarrier.Epoch old = barrier.enterWrite();
        barrier.afterWrites(() -> ran.add("s1"));
        WriteBarrier.Epoch young = barrier.enterWrite();
        barrier.afterWrites(() -> ran.add("s2"));
        barrier.exitWrite(young);
        assertEquals(List.of(), ran);
        barrier.exitWrite(old);
        assertEquals(List.of("s1", "s2"), ran);
    }

    /**
     * Threads enter and exit writes and seal syncs at random; each sync records how many writes entered before it
     * and checks, when it runs, that every one of them has exited.
     */
    @Test
    void concurrentWritersAndSyncs() throws Exception {
        WriteBarrier barrier = new WriteBarrier();
        int threads = 4;
        int opsPerThread = 20_000;
        // Write ids in entry order; exited[id] once it exited.
        int total = threads * opsPerThread;
        java.util.concurrent.atomic.AtomicIntegerArray exited = new java.util.concurrent.atomic.AtomicIntegerArray(total);
        AtomicInteger entered = new AtomicInteger();
        List<String> violations = new CopyOnWriteArrayList<>();
        AtomicInteger syncsRun = new AtomicInteger();
        AtomicInteger syncsSealed = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Random random = new Random(t);
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                List<int[]> open = new ArrayList<>();
                List<WriteBarrier.Epoch> epochs = new ArrayList<>();
                for (int i = 0; i < opsPerThread; i++) {
                    int action = random.nextInt(10);
                    if (action < 5) {
                        // enterWrite and the id are taken under one lock so that ids follow entry order
                        synchronized (barrier) {
                            epochs.add(barrier.enterWrite());
                            open.add(new int[] {entered.getAndIncrement()});
                        }
                    } else if (action < 9 && !open.isEmpty()) {
                        int k = random.nextInt(open.size());
                        int id = open.remove(k)[0];
                        WriteBarrier.Epoch e = epochs.remove(k);
                        exited.set(id, 1);
                        barrier.exitWrite(e);
                    } else {
                        int before;
                        Runnable[] action1 = new Runnable[1];
                        synchronized (barrier) {
                            before = entered.get();
                            syncsSealed.incrementAndGet();
                            int seen = before;
                            action1[0] = () -> {
                                for (int id = 0; id < seen; id++) {
                                    if (exited.get(id) == 0) {
                                        violations.add("sync after " + seen + " writes ran before write " + id);
                                        break;
                                    }
                                }
                                syncsRun.incrementAndGet();
                            };
                        }
                        barrier.afterWrites(action1[0]);
                    }
                }
                for (int k = 0; k < open.size(); k++) {
                    exited.set(open.get(k)[0], 1);
                    barrier.exitWrite(epochs.get(k));
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertEquals(List.of(), violations);
        assertEquals(syncsSealed.get(), syncsRun.get(), "every sync ran once all writes exited");
        assertTrue(syncsRun.get() > 100);
    }
}
