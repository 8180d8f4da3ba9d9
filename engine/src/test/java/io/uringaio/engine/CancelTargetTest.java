package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cancel reaches only its own target (issue 11, item 1). On io_uring, a request's slot is freed when its CQE is
 * reaped, before its completion is delivered; a cancel built from that slot then hit whichever newer request took the
 * slot, and reported CANCELED although its own target had succeeded.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CancelTargetTest extends KernelTest {
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(3);
    private static final int LEN = 512;

    @TempDir
    Path dir;

    @Test
    void cancelsHitOnlyTheirOwnTargetAndReportWhatTheTargetEndedWith() throws Exception {
        cancelStorm(config().rings(1));
    }

    /** The same storm with caller rings: every thread submits (and cancels) in its own caller ring, two threads per ring. */
    @Test
    void onCallerRingsToo() throws Exception {
        assumeRings("caller rings are io_uring instances");
        cancelStorm(config().rings(1).callerRings(2).pageCacheFastPath(false));
    }

    private void cancelStorm(RingEngineConfig config) throws Exception {
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicLong canceledOutcomes = new AtomicLong();
        AtomicLong bystanderWrites = new AtomicLong();
        int fdA = Libc.open(dir.resolve("a").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        int fdB = Libc.open(dir.resolve("b").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertTrue(fdA >= 0 && fdB >= 0);
        try (Arena arena = Arena.ofShared(); RingEngine engine = RingEngine.open(config)) {
            long deadline = System.nanoTime() + RUN_NANOS;
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                MemorySegment buf = arena.allocate(LEN);
                long offset = (long) t * LEN;
                threads.add(Thread.ofPlatform().name("canceler-" + t).start(() -> {
                    awaitStart(start);
                    Semaphore done = new Semaphore(0);
                    Request w = new Request((r, res) -> done.release()).prepWrite(fdA, buf.address(), LEN, offset);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        engine.submit(w);
                        CancelOutcome outcome = engine.cancel(w).join();
                        acquire(done, problems, "completion of canceled write");
                        int res = w.result();
                        if (outcome == CancelOutcome.CANCELED) {
                            canceledOutcomes.incrementAndGet();
                            if (res != -ErrnoTable.ECANCELED) {
                                problems.add("cancel reported CANCELED but its target ended with " + res);
                            }
                        } else if (res == -ErrnoTable.ECANCELED) {
                            problems.add("target ended ECANCELED but its cancel reported " + outcome);
                        }
                    }
                }));
            }
            for (int t = 0; t < 3; t++) {
                MemorySegment buf = arena.allocate(LEN);
                long offset = (long) t * LEN;
                threads.add(Thread.ofPlatform().name("bystander-" + t).start(() -> {
                    awaitStart(start);
                    Semaphore done = new Semaphore(0);
                    Request w = new Request((r, res) -> done.release()).prepWrite(fdB, buf.address(), LEN, offset);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        engine.submit(w);
                        acquire(done, problems, "completion of bystander write");
                        bystanderWrites.incrementAndGet();
                        if (w.result() != LEN) {
                            problems.add("a write nobody canceled ended with " + w.result());
                        }
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS + 10));
            }
            closeWithin(engine);
        } finally {
            Libc.close(fdA);
            Libc.close(fdB);
        }
        assertEquals(List.of(), List.copyOf(problems), () -> "after " + bystanderWrites + " bystander writes and "
                + canceledOutcomes + " CANCELED outcomes");
        assertTrue(bystanderWrites.get() > 0, "the bystanders ran");
    }

    private static void awaitStart(CountDownLatch start) {
        try {
            start.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void acquire(Semaphore done, ConcurrentLinkedQueue<String> problems, String what) {
        try {
            if (!done.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                problems.add("no " + what + " within " + WAIT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            problems.add("interrupted");
        }
    }
}
