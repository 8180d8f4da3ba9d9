package io.uringaio.engine;

import io.netty.channel.uring.IoUring;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Concurrency on both backends: many threads and files, cancel storms, close while busy. Every request completes
 * exactly once; nothing is left behind after close (threads, direct memory).
 */
@Timeout(120)
class BackendStressTest {
    private static final long SEED = Long.getLong("uringaio.test.seed", 0x5eed_1234L);

    @TempDir
    Path dir;

    private static RingEngine open(Backend backend) {
        if (backend == Backend.IO_URING) {
            Assumptions.assumeTrue(IoUring.isAvailable(), () -> "io_uring unavailable: " + IoUring.unavailabilityCause());
        }
        return RingEngine.open(new RingEngineConfig().backend(backend).rings(2).maxInFlightPerRing(64)
                .poolThreads(8).threadNamePrefix("uring-aio-stress-" + backend.name().toLowerCase() + "-ring"));
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"IO_URING", "THREAD_POOL"})
    void manyThreadsManyFilesEveryByteAndExactlyOnce(Backend backend) throws Exception {
        System.out.println("BackendStressTest seed " + SEED);
        int threads = 8;
        int files = 4;
        int opsPerThread = 3000;
        int regionSize = 64 * 1024;
        try (RingEngine engine = open(backend)) {
            AsyncFile[] f = new AsyncFile[files];
            for (int i = 0; i < files; i++) {
                f[i] = engine.open(dir.resolve("f" + i), StandardOpenOption.CREATE, StandardOpenOption.READ,
                        StandardOpenOption.WRITE).get(10, TimeUnit.SECONDS);
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            AtomicInteger completions = new AtomicInteger();
            AtomicInteger duplicates = new AtomicInteger();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    Random rnd = new Random(SEED + thread);
                    byte[][] model = new byte[files][regionSize];
                    Semaphore window = new Semaphore(16);
                    long base = (long) thread * regionSize;
                    for (int op = 0; op < opsPerThread; op++) {
                        int file = rnd.nextInt(files);
                        int off = rnd.nextInt(regionSize - 4096);
                        int len = 1 + rnd.nextInt(4096);
                        boolean write = rnd.nextBoolean();
                        if (write) {
                            // A write must not change a range under a read still in flight: let the reads finish.
                            window.acquireUninterruptibly(16);
                            window.release(16);
                        }
                        window.acquireUninterruptibly();
                        AtomicBoolean once = new AtomicBoolean();
                        CompletableFuture<?> cf;
                        if (write) {
                            byte[] data = new byte[len];
                            rnd.nextBytes(data);
                            System.arraycopy(data, 0, model[file], off, len);
                            ByteBuffer src = rnd.nextBoolean() ? ByteBuffer.wrap(data)
                                    : ByteBuffer.allocateDirect(len).put(data).flip();
                            // A write must land before the next op on its range: wait for it (ordering is the
                            // caller's business for overlapping ranges).
                            cf = f[file].write(src, base + off);
                            try {
                                assertEquals(len, cf.get(20, TimeUnit.SECONDS));
                            } catch (Exception e) {
                                throw new AssertionError(e);
                            }
                        } else {
                            ByteBuffer dst = rnd.nextBoolean() ? ByteBuffer.allocate(len) : ByteBuffer.allocateDirect(len);
                            byte[] expect = java.util.Arrays.copyOfRange(model[file], off, off + len);
                            cf = f[file].read(dst, base + off).thenAccept(n -> {
                                // the file may be shorter than base+off+len where nothing was written yet: zeros
                                byte[] got = new byte[len];
                                dst.flip().get(got, 0, Math.max(0, n));
                                for (int i = 0; i < Math.max(0, n); i++) {
                                    if (got[i] != expect[i]) {
                                        throw new AssertionError("byte " + (off + i) + " of region " + thread);
                                    }
                                }
                            });
                        }
                        cf.whenComplete((v, e) -> {
                            if (!once.compareAndSet(false, true)) {
                                duplicates.incrementAndGet();
                            }
                            completions.incrementAndGet();
                            window.release();
                            if (e != null) {
                                e.printStackTrace();
                            }
                        });
                        if (cf.isCompletedExceptionally()) {
                            cf.join();
                        }
                    }
                    window.acquireUninterruptibly(16);
                    return null;
                }));
            }
            for (Future<?> d : done) {
                d.get(100, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertEquals(threads * opsPerThread, completions.get());
            assertEquals(0, duplicates.get());
            EngineStats s = engine.stats();
            assertEquals(s.submitted(), s.completed(), "every submitted request completed: " + s);
            for (AsyncFile file : f) {
                file.close();
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"IO_URING", "THREAD_POOL"})
    void cancelStormOnPipeReadsCompletesEachExactlyOnceAndAgreesWithTheOutcome(Backend backend) throws Exception {
        int pipes = 8;
        int readsPerPipe = 20;
        try (RingEngine engine = open(backend); Arena arena = Arena.ofShared()) {
            int[][] fds = new int[pipes][2];
            for (int[] p : fds) {
                assertEquals(0, Libc.pipe(p));
            }
            int n = pipes * readsPerPipe;
            AtomicIntegerArray calls = new AtomicIntegerArray(n);
            int[] results = new int[n];
            CountDownLatch all = new CountDownLatch(n);
            Request[] requests = new Request[n];
            for (int i = 0; i < n; i++) {
                int id = i;
                MemorySegment buf = arena.allocate(16);
                requests[i] = new Request((r, res) -> {
                    results[id] = res;
                    calls.incrementAndGet(id);
                    all.countDown();
                }).prepRead(fds[i % pipes][0], buf.address(), 16, 0);
                engine.submit(requests[i]);
            }
            Random rnd = new Random(SEED);
            List<CompletableFuture<CancelOutcome>> outcomes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                outcomes.add(null);
            }
            ExecutorService cancellers = Executors.newFixedThreadPool(4);
            List<Future<?>> jobs = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int from = c;
                jobs.add(cancellers.submit(() -> {
                    for (int i = from; i < n; i += 4) {
                        outcomes.set(i, engine.cancel(requests[i]));
                    }
                }));
            }
            // Meanwhile feed some bytes so a few reads complete normally while the storm goes on.
            MemorySegment one = arena.allocate(1);
            for (int k = 0; k < pipes * 2; k++) {
                Libc.write(fds[rnd.nextInt(pipes)][1], one.address(), 1);
            }
            for (Future<?> j : jobs) {
                j.get(30, TimeUnit.SECONDS);
            }
            cancellers.shutdown();
            int canceled = 0;
            for (int i = 0; i < n; i++) {
                CancelOutcome o = outcomes.get(i).get(30, TimeUnit.SECONDS);
                if (o == CancelOutcome.CANCELED) {
                    canceled++;
                }
            }
            // Anything still waiting for data (NOT_CANCELED on the pool is impossible for a polling read, but
            // ALREADY_DONE races exist): close the write ends so blocked reads finish with 0.
            for (int[] p : fds) {
                Libc.close(p[1]);
            }
            assertTrue(all.await(30, TimeUnit.SECONDS), "every read completed");
            for (int i = 0; i < n; i++) {
                assertEquals(1, calls.get(i), "request " + i + " completed exactly once");
                CancelOutcome o = outcomes.get(i).get();
                if (o == CancelOutcome.CANCELED) {
                    assertEquals(-ErrnoTable.ECANCELED, results[i], "request " + i + " was canceled");
                } else if (results[i] == -ErrnoTable.ECANCELED) {
                    fail("request " + i + " reads ECANCELED but its cancel said " + o);
                }
            }
            assertTrue(canceled > n / 2, "most blocked reads were canceled: " + canceled + "/" + n);
            for (int[] p : fds) {
                Libc.close(p[0]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"IO_URING", "THREAD_POOL"})
    void closeWhileBusyCompletesEverythingOnceAndLeavesNothingBehind(Backend backend) throws Exception {
        BufferPoolMXBean direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        long directBefore = settledDirect(direct);
        String prefix = "uring-aio-stress-" + backend.name().toLowerCase();
        RingEngine engine = open(backend);
        AsyncFile file = engine.open(dir.resolve("busy"), StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE).get(10, TimeUnit.SECONDS);
        AtomicInteger started = new AtomicInteger();
        AtomicInteger finished = new AtomicInteger();
        AtomicInteger twice = new AtomicInteger();
        AtomicBoolean stop = new AtomicBoolean();
        ExecutorService writers = Executors.newFixedThreadPool(4);
        for (int t = 0; t < 4; t++) {
            int thread = t;
            writers.submit(() -> {
                byte[] data = new byte[8192];
                for (long i = 0; !stop.get(); i++) {
                    AtomicBoolean once = new AtomicBoolean();
                    started.incrementAndGet();
                    file.write(ByteBuffer.wrap(data), (thread * 1000L + (i % 1000)) * 8192).whenComplete((v, e) -> {
                        if (!once.compareAndSet(false, true)) {
                            twice.incrementAndGet();
                        }
                        finished.incrementAndGet();
                    });
                }
            });
        }
        Thread.sleep(300);
        engine.close();
        stop.set(true);
        writers.shutdown();
        assertTrue(writers.awaitTermination(30, TimeUnit.SECONDS));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (finished.get() != started.get() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(started.get(), finished.get(), "every write completed (done, canceled or refused)");
        assertEquals(0, twice.get());
        assertTrue(started.get() > 100, "the writers were busy: " + started.get());
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (BackendSelectionTest.threadsNamed(prefix) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, BackendSelectionTest.threadsNamed(prefix), "the engine's threads ended with close");
        long directAfter = settledDirect(direct);
        assertTrue(directAfter - directBefore < 4 << 20,
                "direct memory returns after close: before " + directBefore + ", after " + directAfter);
    }

    private static long settledDirect(BufferPoolMXBean direct) throws InterruptedException {
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(50);
            long now = direct.getMemoryUsed();
            if (now >= last) {
                return now;
            }
            last = now;
        }
        return last;
    }
}
