package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.File;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A seeded chaos run (issue 11): many threads mix raw reads, writes, fsyncs and cancels on one file, each thread in
 * its own region so the expected content is easy to model, while other threads open, write, read and close
 * {@link AsyncFile}s with operations in flight. Asserts: every submission completes exactly once; a request nobody
 * canceled never ends ECANCELED; a CANCELED outcome matches an ECANCELED completion; every read sees the model's
 * content; the file matches the model at the end; no descriptor or engine thread outlives the engine.
 *
 * <p>Bounded by time in the normal suite ({@value #DEFAULT_SECONDS} s per backend). System properties:
 * {@code uringaio.chaos.seed} (replays a run; the seed is printed), {@code uringaio.chaos.seconds} (0: no time bound),
 * {@code uringaio.chaos.ops} (stop after this many raw operations; 0: no bound). A long run, 10 M operations on each
 * backend:
 * <pre>
 * mvn -B test -pl engine -Dtest=EngineChaosTest -Duringaio.chaos.ops=10000000 -Duringaio.chaos.seconds=0
 * </pre>
 */
// No @Timeout: a long run (-Duringaio.chaos.ops) takes as long as it takes. The normal run is bounded by its own
// waits: the run's seconds, then at most a minute for the threads to finish, and the engine's close deadline.
class EngineChaosTest extends KernelTest {
    static final int DEFAULT_SECONDS = 4;
    private static final int RAW_THREADS = 4;
    private static final int FILE_THREADS = 2;
    private static final int SLOTS = 8;
    private static final int BLOCK = 4096;
    private static final int BLOCKS = 16;
    private static final String PREFIX = "chaos-ring";

    private static final int FREE = 0;
    private static final int READ_OP = 1;
    private static final int WRITE_OP = 2;
    private static final int FSYNC_OP = 3;

    @TempDir
    Path dir;

    @Test
    void chaos() throws Exception {
        chaos(config().rings(2).threadNamePrefix(PREFIX).poolThreads(6), false);
    }

    /**
     * The same run with caller rings (io_uring): four raw threads share two caller rings, and half the time a worker
     * with nothing to do waits inside the ring of one of its requests (reaping the others' completions too).
     */
    @Test
    void chaosOnCallerRings() throws Exception {
        assumeRings("caller rings are io_uring instances");
        chaos(config().rings(2).threadNamePrefix(PREFIX).callerRings(2), true);
    }

    private void chaos(RingEngineConfig config, boolean waitInLane) throws Exception {
        long seed = Long.getLong("uringaio.chaos.seed", System.nanoTime());
        long seconds = Long.getLong("uringaio.chaos.seconds", DEFAULT_SECONDS);
        long maxOps = Long.getLong("uringaio.chaos.ops", 0);
        System.out.println("EngineChaosTest on " + BACKEND + ": -Duringaio.chaos.seed=" + seed + " seconds=" + seconds
                + " ops=" + maxOps);
        long deadline = seconds > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds) : Long.MAX_VALUE;
        int fdsBefore = openDescriptors();
        int threadsBefore = engineThreads();

        Path shared = dir.resolve("shared");
        int fd = Libc.open(shared.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertTrue(fd >= 0, "open: " + fd);
        assertEquals(0, Libc.ftruncate(fd, (long) RAW_THREADS * BLOCKS * BLOCK));
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicLong ops = new AtomicLong();
        AtomicLong canceled = new AtomicLong();
        RawWorker[] raw = new RawWorker[RAW_THREADS];
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config);
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < RAW_THREADS; t++) {
                raw[t] = new RawWorker(t, engine, fd, arena, new SplittableRandom(seed + t), problems, ops, canceled);
                raw[t].waitInLane = waitInLane;
                RawWorker w = raw[t];
                threads.add(Thread.ofPlatform().name("chaos-raw-" + t).start(() -> {
                    await(start);
                    w.run(deadline, maxOps);
                }));
            }
            for (int t = 0; t < FILE_THREADS; t++) {
                Path path = dir.resolve("file-" + t);
                SplittableRandom random = new SplittableRandom(seed + 100 + t);
                threads.add(Thread.ofPlatform().name("chaos-file-" + t).start(() -> {
                    await(start);
                    fileChurn(engine, path, random, problems, deadline, ops, maxOps);
                }));
            }
            start.countDown();
            for (Thread t : threads) {
                if (seconds > 0) {
                    t.join(TimeUnit.SECONDS.toMillis(seconds + 60));
                } else {
                    t.join(); // a long run by operation count: each wait inside it has its own deadline
                }
                assertTrue(!t.isAlive(), t.getName() + " still running");
            }
            closeWithin(engine);
            for (RawWorker w : raw) {
                w.checkExactlyOnce();
            }
        } finally {
            Libc.close(fd);
        }
        System.out.println("EngineChaosTest on " + BACKEND + ": " + ops + " operations, " + canceled
                + " canceled, seed " + seed);
        assertEquals(List.of(), List.copyOf(problems), "seed " + seed);

        byte[] content = Files.readAllBytes(shared);
        for (RawWorker w : raw) {
            for (int b = 0; b < BLOCKS; b++) {
                byte[] expected = new byte[BLOCK];
                java.util.Arrays.fill(expected, pattern(w.index, b, w.version[b]));
                byte[] actual = java.util.Arrays.copyOfRange(content, (int) w.offset(b), (int) w.offset(b) + BLOCK);
                assertArrayEquals(expected, actual, "thread " + w.index + " block " + b + ", seed " + seed);
            }
        }
        waitUntil(() -> engineThreads() <= threadsBefore, () -> "engine threads left: " + engineThreads());
        waitUntil(() -> openDescriptors() <= fdsBefore,
                () -> "descriptors: " + openDescriptors() + " after, " + fdsBefore + " before");
    }

    /** The byte a block holds at a version; version 0 is "never written" (zeros, the file was truncated to size). */
    static byte pattern(int thread, int block, int version) {
        return version == 0 ? 0 : (byte) ((thread * 31 + block * 7 + version) % 255 + 1);
    }

    /**
     * One thread's raw requests on its own region of the shared file: {@value #SLOTS} reusable requests, at most one
     * in flight per block, so every read has one right answer.
     */
    static final class RawWorker {
        final int index;
        private final RingEngine engine;
        private final int fd;
        private final SplittableRandom random;
        private final ConcurrentLinkedQueue<String> problems;
        private final AtomicLong ops;
        private final AtomicLong canceledCount;
        /** The version each block holds once every completed write is counted (the model). */
        final int[] version = new int[BLOCKS];
        private final boolean[] blockBusy = new boolean[BLOCKS];
        private final Request[] requests = new Request[SLOTS];
        private final MemorySegment[] buffers = new MemorySegment[SLOTS];
        private final int[] kind = new int[SLOTS];
        private final int[] block = new int[SLOTS];
        private final int[] writing = new int[SLOTS];
        private final boolean[] cancelIssued = new boolean[SLOTS];
        /** Visits left before this submission is canceled; -1: not to be canceled. */
        private final int[] cancelAfter = new int[SLOTS];
        /** Released by every completion: what a worker with nothing to do parks on. */
        private final java.util.concurrent.Semaphore signal = new java.util.concurrent.Semaphore(0);
        private final List<CompletableFuture<CancelOutcome>>[] cancels;
        private final AtomicInteger[] completions = new AtomicInteger[SLOTS];
        private final long[] submissions = new long[SLOTS];
        private final long[] seen = new long[SLOTS];

        @SuppressWarnings("unchecked")
        RawWorker(int index, RingEngine engine, int fd, Arena arena, SplittableRandom random,
                  ConcurrentLinkedQueue<String> problems, AtomicLong ops, AtomicLong canceledCount) {
            this.index = index;
            this.engine = engine;
            this.fd = fd;
            this.random = random;
            this.problems = problems;
            this.ops = ops;
            this.canceledCount = canceledCount;
            this.cancels = new List[SLOTS];
            for (int i = 0; i < SLOTS; i++) {
                AtomicInteger c = new AtomicInteger();
                completions[i] = c;
                requests[i] = new Request((r, res) -> {
                    c.incrementAndGet();
                    signal.release();
                });
                buffers[i] = arena.allocate(BLOCK, BLOCK);
                cancels[i] = new ArrayList<>();
            }
        }

        long offset(int b) {
            return ((long) index * BLOCKS + b) * BLOCK;
        }

        void run(long deadline, long maxOps) {
            while (problems.isEmpty() && System.nanoTime() < deadline && (maxOps == 0 || ops.get() < maxOps)) {
                boolean progressed = false;
                for (int n = 0; n < SLOTS; n++) {
                    int i = random.nextInt(SLOTS);
                    if (kind[i] == FREE) {
                        progressed |= start(i);
                    } else if (seen[i] < completions[i].get()) {
                        finish(i);
                        progressed = true;
                    } else if (cancelAfter[i] == 0) {
                        // Canceled after a random number of visits: queued, in the kernel, or just completing.
                        cancelAfter[i] = -1;
                        cancelIssued[i] = true;
                        cancels[i].add(engine.cancel(requests[i]));
                        progressed = true;
                    } else if (cancelAfter[i] > 0) {
                        cancelAfter[i]--;
                    }
                }
                if (!progressed) {
                    awaitAnyCompletion(); // park, not spin: the rings' threads share the cores
                }
            }
            // Drain: every submission completes.
            for (int i = 0; i < SLOTS; i++) {
                if (kind[i] != FREE) {
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
                    while (seen[i] >= completions[i].get() && System.nanoTime() < until) {
                        awaitAnyCompletion();
                    }
                    if (seen[i] >= completions[i].get()) {
                        problems.add("thread " + index + " slot " + i + ": no completion within " + WAIT_SECONDS + " s");
                        return;
                    }
                    finish(i);
                }
            }
        }

        /** With caller rings: wait inside the ring of an in-flight request now and then, instead of parking. */
        boolean waitInLane;

        private void awaitAnyCompletion() {
            if (waitInLane && random.nextBoolean()) {
                for (Request r : requests) {
                    if (r.inFlight() && engine.awaitInLane(r, TimeUnit.MILLISECONDS.toNanos(1))) {
                        return;
                    }
                }
            }
            try {
                signal.tryAcquire(1, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private boolean start(int i) {
            int b = random.nextInt(BLOCKS);
            if (blockBusy[b]) {
                return false;
            }
            int op = switch (random.nextInt(10)) {
                case 0 -> FSYNC_OP;
                case 1, 2, 3, 4 -> READ_OP;
                default -> WRITE_OP;
            };
            Request r = requests[i];
            MemorySegment buf = buffers[i];
            switch (op) {
                case READ_OP -> {
                    buf.fill((byte) 0x55);
                    r.prepRead(fd, buf, offset(b));
                    blockBusy[b] = true;
                }
                case WRITE_OP -> {
                    writing[i] = version[b] + 1;
                    buf.fill(pattern(index, b, writing[i]));
                    r.prepWrite(fd, buf, offset(b));
                    blockBusy[b] = true;
                }
                default -> r.prepFsync(fd, random.nextBoolean());
            }
            kind[i] = op;
            block[i] = b;
            cancelIssued[i] = false;
            cancelAfter[i] = random.nextInt(6) == 0 ? random.nextInt(3) : -1;
            cancels[i].clear();
            submissions[i]++;
            engine.submit(r);
            ops.incrementAndGet();
            return true;
        }

        private void finish(int i) {
            seen[i]++;
            Request r = requests[i];
            int res = r.result();
            int b = block[i];
            String what = "thread " + index + " slot " + i + " " + opName(kind[i]) + " of block " + b;
            if (res == -ErrnoTable.ECANCELED) {
                if (!cancelIssued[i]) {
                    problems.add(what + " ended ECANCELED though nobody canceled it");
                }
                canceledCount.incrementAndGet();
            }
            for (CompletableFuture<CancelOutcome> c : cancels[i]) {
                CancelOutcome outcome;
                try {
                    outcome = c.get(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (Exception e) {
                    problems.add(what + ": its cancel's outcome never came (" + e + ")");
                    continue;
                }
                if (outcome == CancelOutcome.CANCELED && res != -ErrnoTable.ECANCELED) {
                    problems.add(what + ": a cancel reported CANCELED but it ended with " + res);
                }
            }
            switch (kind[i]) {
                case READ_OP -> {
                    blockBusy[b] = false;
                    if (res == BLOCK) {
                        byte want = pattern(index, b, version[b]);
                        for (long k = 0; k < BLOCK; k++) {
                            if (buffers[i].get(ValueLayout.JAVA_BYTE, k) != want) {
                                problems.add(what + ": byte " + k + " is " + buffers[i].get(ValueLayout.JAVA_BYTE, k)
                                        + ", model says " + want + " (version " + version[b] + ")");
                                break;
                            }
                        }
                    } else if (res != -ErrnoTable.ECANCELED) {
                        problems.add(what + " ended with " + res);
                    }
                }
                case WRITE_OP -> {
                    blockBusy[b] = false;
                    if (res == BLOCK) {
                        version[b] = writing[i];
                    } else if (res != -ErrnoTable.ECANCELED) {
                        problems.add(what + " ended with " + res);
                    }
                }
                default -> {
                    if (res != 0 && res != -ErrnoTable.ECANCELED) {
                        problems.add(what + " ended with " + res);
                    }
                }
            }
            kind[i] = FREE;
        }

        void checkExactlyOnce() {
            for (int i = 0; i < SLOTS; i++) {
                assertEquals(submissions[i], completions[i].get(),
                        "thread " + index + " slot " + i + ": completions for " + submissions[i] + " submissions");
            }
        }

        private static String opName(int kind) {
            return switch (kind) {
                case READ_OP -> "read";
                case WRITE_OP -> "write";
                default -> "fsync";
            };
        }
    }

    /**
     * Opens a file, writes and reads it (sometimes closing it while a write is in flight: close waits for it), and
     * closes it, over and over; what was written is what is read, and every close completes.
     */
    private static void fileChurn(RingEngine engine, Path path, SplittableRandom random,
                                  ConcurrentLinkedQueue<String> problems, long deadline, AtomicLong ops, long maxOps) {
        int round = 0;
        try {
            while (problems.isEmpty() && System.nanoTime() < deadline && (maxOps == 0 || ops.get() < maxOps)) {
                round++;
                AsyncFile file = engine.open(path, READ, WRITE, CREATE).get(WAIT_SECONDS, TimeUnit.SECONDS);
                int length = 1 + random.nextInt(3 * BLOCK);
                byte fill = (byte) (round % 251 + 1);
                ByteBuffer src = random.nextBoolean() ? ByteBuffer.allocate(length) : ByteBuffer.allocateDirect(length);
                for (int k = 0; k < length; k++) {
                    src.put(k, fill);
                }
                CompletableFuture<Integer> write = file.write(src, 0);
                if (random.nextInt(4) == 0) {
                    // Close with the write in flight: the write completes normally, then the descriptor closes.
                    CompletableFuture<Void> closed = file.closeAsync();
                    int wrote = write.get(WAIT_SECONDS, TimeUnit.SECONDS);
                    closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
                    if (wrote != length) {
                        problems.add(path.getFileName() + ": write before close wrote " + wrote + " of " + length);
                    }
                    ops.addAndGet(2);
                    continue;
                }
                int wrote = write.get(WAIT_SECONDS, TimeUnit.SECONDS);
                ByteBuffer dst = ByteBuffer.allocate(length);
                int read = file.read(dst, 0).get(WAIT_SECONDS, TimeUnit.SECONDS);
                file.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
                ops.addAndGet(3);
                if (wrote != length || read != length) {
                    problems.add(path.getFileName() + ": wrote " + wrote + ", read " + read + " of " + length);
                    continue;
                }
                for (int k = 0; k < length; k++) {
                    if (dst.get(k) != fill) {
                        problems.add(path.getFileName() + ": byte " + k + " read back " + dst.get(k) + ", wrote " + fill);
                        break;
                    }
                }
            }
        } catch (Exception e) {
            problems.add(path.getFileName() + " round " + round + ": " + e);
        }
    }

    private static int openDescriptors() {
        String[] names = new File("/proc/self/fd").list();
        return names == null ? -1 : names.length;
    }

    private static int engineThreads() {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith(PREFIX) || t.getName().startsWith("chaos-pool")) {
                n++;
            }
        }
        return n;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
