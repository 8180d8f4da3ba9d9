package io.uringaio.bench.jmh;

import io.uringaio.bench.BenchFiles;
import io.uringaio.bench.RandomReadLoop;
import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.runner.IterationType;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * 4 KiB page-cached random reads at queue depth 32 on one file, through the engine with 1 or 2 rings. Every benchmark
 * counts reads (ops/s = reads/s):
 * <ul>
 *   <li>{@code rawBatch}: the benchmark thread prepares 32 reused raw {@link Request}s (direct buffer each), submits
 *       them and parks until the last completion unparks it. Includes the cross-thread hand-off of every batch.</li>
 *   <li>{@code rawSubmitBatch}: the same through {@link RingEngine#submitBatch}, one batch per ring.</li>
 *   <li>{@code rawClosedLoop}: 32 raw requests kept in flight by their own completion callbacks (resubmitted on the
 *       ring thread); an invocation waits for 256 more completions. The engine's steady-state cost per read.</li>
 *   <li>{@code asyncFileDirectBatch}, {@code asyncFileHeapBatch}: 32 {@link AsyncFile#read(ByteBuffer, long)} calls,
 *       then a join on each future; direct buffers go to the kernel, heap buffers through the bounce pool.</li>
 * </ul>
 * The engine's SQEs per {@code io_uring_enter} over the measured iterations is printed at the end of each trial,
 * on a line starting with {@code # engine}. The baseline is {@link FileChannelRandomReadBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class EngineRandomReadBenchmark {
    static final int QD = 32;
    static final int CLOSED_LOOP_BATCH = 256;

    @Param({"1", "2"})
    public int rings;

    @Param({"256"})
    public int fileMiB;

    /** The engine's backend: {@code -p backend=THREAD_POOL} runs the same workload on the thread-pool backend. */
    @Param({"IO_URING"})
    public String backend;

    /**
     * The engine's page-cache fast path ({@link RingEngineConfig#pageCacheFastPath}): on, the raw reads (marked
     * {@code pageCacheFirst}) and AsyncFile reads of this page-cached file complete on the submitting thread (the
     * closed loop's: on the ring thread that resubmits); off, every read goes through a ring.
     */
    @Param({"false", "true"})
    public boolean fastPath;

    RingEngine engine;
    AsyncFile file;
    int fd;
    long[] offsets;
    int offsetMask;
    int cursor;

    private Request[] requests;
    private Request[] batch;
    private long[] addresses;
    private ByteBuffer[] directBuffers;
    private ByteBuffer[] heapBuffers;
    private CompletableFuture<?>[] futures;
    private final AtomicInteger remaining = new AtomicInteger();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile Thread waiter;

    private EngineStats iterationStart;
    private long measuredSqes;
    private long measuredEnters;
    private long measuredCompleted;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path path = BenchmarkFile.prepare(fileMiB);
        offsets = BenchmarkFile.offsets(fileMiB);
        offsetMask = offsets.length - 1;
        engine = RingEngine.open(new RingEngineConfig().rings(rings).backend(Backend.valueOf(backend))
                .pageCacheFastPath(fastPath));
        file = engine.open(path, StandardOpenOption.READ).get(10, TimeUnit.SECONDS);
        fd = file.fd();
        requests = new Request[QD];
        batch = new Request[QD];
        addresses = new long[QD];
        directBuffers = new ByteBuffer[QD];
        heapBuffers = new ByteBuffer[QD];
        futures = new CompletableFuture<?>[QD];
        io.uringaio.engine.Completion onDone = (r, res) -> {
            if (res != BenchmarkFile.BLOCK_BYTES) {
                failure.compareAndSet(null, "read at " + r.offset() + " returned " + res);
            }
            if (remaining.decrementAndGet() == 0) {
                LockSupport.unpark(waiter);
            }
        };
        for (int i = 0; i < QD; i++) {
            directBuffers[i] = BenchFiles.alignedDirect(BenchmarkFile.BLOCK_BYTES);
            addresses[i] = MemorySegment.ofBuffer(directBuffers[i]).address();
            heapBuffers[i] = ByteBuffer.allocate(BenchmarkFile.BLOCK_BYTES);
            requests[i] = new Request(onDone).attach(directBuffers[i]).pageCacheFirst(true);
        }
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        iterationStart = engine.stats();
    }

    @TearDown(Level.Iteration)
    public void endIteration(IterationParams iteration) {
        EngineStats delta = engine.stats().since(iterationStart);
        if (iteration.getType() == IterationType.MEASUREMENT) {
            measuredSqes += delta.sqesSubmitted();
            measuredEnters += delta.enterCalls();
            measuredCompleted += delta.completed();
        }
        String f = failure.get();
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) throws Exception {
        System.out.printf(Locale.ROOT, "%n# engine %s rings=%d: %.2f SQEs/enter over the measured iterations "
                        + "(%d SQEs, %d enters, %d completions); backend %s%n", params.getBenchmark(), rings,
                measuredEnters == 0 ? 0.0 : (double) measuredSqes / measuredEnters, measuredSqes, measuredEnters,
                measuredCompleted, engine.backend());
        file.close();
        engine.close();
    }

    /** Submits 32 raw reads from this thread and parks until all completed. */
    @Benchmark
    @OperationsPerInvocation(QD)
    public void rawBatch() {
        waiter = Thread.currentThread();
        remaining.set(QD);
        int c = cursor;
        for (int i = 0; i < QD; i++) {
            requests[i].prepRead(fd, addresses[i], BenchmarkFile.BLOCK_BYTES, offsets[c++ & offsetMask]);
            engine.submit(requests[i]);
        }
        cursor = c;
        while (remaining.get() != 0) {
            LockSupport.park(this);
        }
    }

    /**
     * As {@link #rawBatch()}, but through {@link RingEngine#submitBatch}: one hand-off per ring (the 32 requests split
     * evenly over the rings) instead of one queue offer per request.
     */
    @Benchmark
    @OperationsPerInvocation(QD)
    public void rawSubmitBatch() {
        waiter = Thread.currentThread();
        remaining.set(QD);
        int c = cursor;
        for (int i = 0; i < QD; i++) {
            requests[i].prepRead(fd, addresses[i], BenchmarkFile.BLOCK_BYTES, offsets[c++ & offsetMask]);
        }
        cursor = c;
        int perRing = QD / rings;
        for (int from = 0; from < QD; from += perRing) {
            System.arraycopy(requests, from, batch, 0, Math.min(perRing, QD - from));
            engine.submitBatch(batch, Math.min(perRing, QD - from));
        }
        while (remaining.get() != 0) {
            LockSupport.park(this);
        }
    }

    /** 32 AsyncFile reads into direct buffers, then a join on each. */
    @Benchmark
    @OperationsPerInvocation(QD)
    public long asyncFileDirectBatch() {
        return asyncFileBatch(directBuffers);
    }

    /** 32 AsyncFile reads into heap buffers (the bounce path), then a join on each. */
    @Benchmark
    @OperationsPerInvocation(QD)
    public long asyncFileHeapBatch() {
        return asyncFileBatch(heapBuffers);
    }

    private long asyncFileBatch(ByteBuffer[] buffers) {
        int c = cursor;
        for (int i = 0; i < QD; i++) {
            futures[i] = file.read(buffers[i].clear(), offsets[c++ & offsetMask]);
        }
        cursor = c;
        long total = 0;
        for (int i = 0; i < QD; i++) {
            total += (Integer) futures[i].join();
            futures[i] = null;
        }
        if (total != (long) QD * BenchmarkFile.BLOCK_BYTES) {
            throw new IllegalStateException("short reads: " + total + " bytes in a batch of " + QD);
        }
        return total;
    }

    /** The closed loop of {@code rawClosedLoop}: runs for the whole trial. */
    @State(Scope.Benchmark)
    public static class ClosedLoop {
        RandomReadLoop loop;
        RingEngine engine;
        long target;

        @Setup(Level.Trial)
        public void start(EngineRandomReadBenchmark b) {
            engine = b.engine;
            loop = new RandomReadLoop(b.engine, b.fd, BenchmarkFile.BLOCK_BYTES, b.offsets, QD, b.fastPath);
            loop.start();
            target = loop.completedPublished();
        }

        @TearDown(Level.Trial)
        public void stop() {
            boolean engineOpen = engine.isOpen(); // if the engine closed first, the loop ended with ECANCELED
            loop.stop();
            if (engineOpen && loop.failure() != null) {
                throw new IllegalStateException(loop.failure());
            }
        }
    }

    /** Waits for 256 more completions of the closed loop (32 reads in flight, resubmitted by their callbacks). */
    @Benchmark
    @OperationsPerInvocation(CLOSED_LOOP_BATCH)
    public void rawClosedLoop(ClosedLoop closed) {
        closed.target += CLOSED_LOOP_BATCH;
        closed.loop.awaitCompleted(closed.target);
    }
}
