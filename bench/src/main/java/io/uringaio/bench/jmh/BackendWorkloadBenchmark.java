package io.uringaio.bench.jmh;

import io.uringaio.bench.BenchFiles;
import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.Completion;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.UringOpenOption;

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

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The thread-pool backend against io_uring (issue 5): the same 4 KiB workloads at queue depth 32 on both backends,
 * through the same raw {@link Request} API, in one run. One invocation submits 32 operations and waits until all 32
 * completed (ops/s counts operations: reads, or durable writes):
 * <ul>
 *   <li>{@code cachedRead}: random reads of the page-cached {@link BenchmarkFile} at its offsets.</li>
 *   <li>{@code directRead}: the same reads with {@code O_DIRECT} ({@link UringOpenOption#DIRECT}): 4096-aligned
 *       direct buffers, 4096-aligned offsets, every read goes to the device.</li>
 *   <li>{@code writeFdatasync}: random 4 KiB writes to a second file of the same size, each linked to an
 *       {@code fdatasync} ({@link RingEngine#submitLinked}: {@code IOSQE_IO_LINK} on io_uring, one worker running
 *       the chain in order on the pool); an operation completes when its fdatasync does.</li>
 * </ul>
 * {@code rings} sets the io_uring rings (the engine's default here: one per core); the pool has one queue and
 * {@link RingEngineConfig#poolThreads} workers (default {@code max(4, 2 x cores)}) and ignores it. Ratios:
 * {@code IO_URING / THREAD_POOL} per workload. A line starting with {@code # engine} at the end of each trial gives
 * the engine's counters.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class BackendWorkloadBenchmark {
    static final int QD = 32;

    @Param({"IO_URING", "THREAD_POOL"})
    public String backend;

    @Param({"cachedRead", "directRead", "writeFdatasync"})
    public String workload;

    @Param({"2"})
    public int rings;

    @Param({"256"})
    public int fileMiB;

    RingEngine engine;
    AsyncFile file;
    int fd;
    long[] offsets;
    int offsetMask;
    int cursor;
    boolean durableWrites;

    private Request[] requests;
    /** For writes: {@code chains[i] = {write i, fdatasync i}}, passed to submitLinked as is (no varargs array). */
    private Request[][] chains;
    private long[] addresses;
    private final AtomicInteger remaining = new AtomicInteger();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile Thread waiter;
    private EngineStats trialStart;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path readPath = BenchmarkFile.prepare(fileMiB);
        offsets = BenchmarkFile.offsets(fileMiB);
        offsetMask = offsets.length - 1;
        engine = RingEngine.open(new RingEngineConfig().rings(rings).backend(Backend.valueOf(backend)));
        OpenOption[] options;
        Path path;
        switch (workload) {
            case "cachedRead" -> {
                path = readPath;
                options = new OpenOption[] {StandardOpenOption.READ};
            }
            case "directRead" -> {
                path = readPath;
                options = new OpenOption[] {StandardOpenOption.READ, UringOpenOption.DIRECT};
            }
            case "writeFdatasync" -> {
                path = Path.of("bench-results", "bench-write-" + fileMiB + "MiB.dat");
                BenchFiles.prepareWithDirectories(path, (long) fileMiB * BenchFiles.MIB);
                options = new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE};
                durableWrites = true;
            }
            default -> throw new IllegalArgumentException("unknown workload " + workload
                    + "; one of cachedRead, directRead, writeFdatasync");
        }
        file = engine.open(path, options).get(10, TimeUnit.SECONDS);
        fd = file.fd();

        Completion onRead = (r, res) -> {
            if (res != BenchmarkFile.BLOCK_BYTES) {
                failure.compareAndSet(null, "read at " + r.offset() + " returned " + res);
            }
            countDown();
        };
        Completion onWrite = (r, res) -> {
            if (res != BenchmarkFile.BLOCK_BYTES) {
                failure.compareAndSet(null, "write at " + r.offset() + " returned " + res);
            }
        };
        Completion onSync = (r, res) -> {
            if (res != 0) {
                failure.compareAndSet(null, "fdatasync after a write returned " + res);
            }
            countDown();
        };
        requests = new Request[QD];
        chains = new Request[QD][];
        addresses = new long[QD];
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < QD; i++) {
            ByteBuffer buffer = BenchFiles.alignedDirect(BenchmarkFile.BLOCK_BYTES);
            // Absolute puts: the segment (and so the address) starts at the buffer's position, which must stay 0.
            for (int at = 0; at < BenchmarkFile.BLOCK_BYTES; at += Long.BYTES) {
                buffer.putLong(at, random.nextLong());
            }
            addresses[i] = MemorySegment.ofBuffer(buffer).address();
            if (buffer.position() != 0 || (addresses[i] & 4095) != 0) {
                throw new IllegalStateException("buffer " + i + " not a 4096-aligned block at position 0");
            }
            requests[i] = new Request(durableWrites ? onWrite : onRead).attach(buffer);
            if (durableWrites) {
                chains[i] = new Request[] {requests[i], new Request(onSync)};
            }
        }
        trialStart = engine.stats();
    }

    private void countDown() {
        if (remaining.decrementAndGet() == 0) {
            LockSupport.unpark(waiter);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown(BenchmarkParams params) throws Exception {
        EngineStats s = engine.stats().since(trialStart);
        System.out.printf(Locale.ROOT, "%n# engine %s %s %s rings=%d: %d completions, %d SQEs in %d enters "
                        + "(%.2f SQEs/enter; 0 on the pool)%n", params.getBenchmark(), workload, engine.backend(),
                rings, s.completed(), s.sqesSubmitted(), s.enterCalls(), s.sqesPerEnter());
        file.close();
        engine.close();
    }

    /** 32 operations of the workload submitted one by one (reads) or chain by chain (write + fdatasync); wait all. */
    @Benchmark
    @OperationsPerInvocation(QD)
    public void qd32() {
        waiter = Thread.currentThread();
        remaining.set(QD);
        int c = cursor;
        if (durableWrites) {
            for (int i = 0; i < QD; i++) {
                Request[] chain = chains[i];
                chain[0].prepWrite(fd, addresses[i], BenchmarkFile.BLOCK_BYTES, offsets[c++ & offsetMask]);
                chain[1].prepFsync(fd, true);
                engine.submitLinked(chain);
            }
        } else {
            for (int i = 0; i < QD; i++) {
                requests[i].prepRead(fd, addresses[i], BenchmarkFile.BLOCK_BYTES, offsets[c++ & offsetMask]);
                engine.submit(requests[i]);
            }
        }
        cursor = c;
        while (remaining.get() != 0) {
            LockSupport.park(this);
        }
        String f = failure.get();
        if (f != null) {
            throw new IllegalStateException(f);
        }
    }
}
