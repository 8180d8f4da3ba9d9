package io.uringaio.bench.jmh;

import io.uringaio.bench.BenchFiles;
import io.uringaio.engine.Backend;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.posix.Aio;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.SigEvent;
import io.uringaio.posix.Signals;
import io.uringaio.posix.Unistd;

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

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The POSIX facade against the engine's own raw API (issue 4): the same 4 KiB page-cached random reads of the same
 * file at the same offsets ({@link BenchmarkFile}), into the same kind of buffers (4096-aligned direct), on an engine
 * with the same config. Each pair differs only in the API on top; ops/s counts reads, so
 * {@code xxxFacade / xxxEngine} is the facade's share of the engine's throughput (goal: at least 0.85).
 * <ul>
 *   <li>{@code qd1Engine} / {@code qd1Facade}: one read at a time. Engine: prepare a reused {@link Request},
 *       {@link RingEngine#submit}, park until its completion unparks. Facade: {@code aio_read} of one {@link Aiocb},
 *       {@code aio_suspend} on it, {@code aio_error}, {@code aio_return}.</li>
 *   <li>{@code qd32Engine} / {@code qd32Facade}: 32 reads submitted one by one, then wait for all. Engine: 32
 *       {@code submit}s, park until the last completion. Facade: 32 {@code aio_read}s, then the classic loop:
 *       {@code aio_suspend} on the still-pending list, reap every finished entry with {@code aio_error}/
 *       {@code aio_return}, null it out, repeat.</li>
 *   <li>{@code lio32Engine} / {@code lio32Facade}: 32 reads handed over as one list. Engine:
 *       {@link RingEngine#submitBatch} of 32, park until the last completion. Facade: {@code lio_listio(LIO_WAIT)} of
 *       32, then {@code aio_return} on each.</li>
 *   <li>{@code lio32FacadeNowait}: a diagnostic, not a POSIX idiom to compare: {@code lio_listio(LIO_NOWAIT)} of 32
 *       with a {@code SIGEV_THREAD} notification run inline on the completing thread, which unparks the caller
 *       once, as the engine variants do. Against {@code lio32Facade} it isolates what the facade's waiting
 *       ({@code LIO_WAIT}, {@code aio_suspend}) costs, against {@code lio32Engine} what the rest of the facade
 *       costs.</li>
 * </ul>
 * The benchmark code allocates nothing per read (control blocks, requests, buffers and lists are reused), so
 * {@code -prof gc}'s {@code gc.alloc.rate.norm} (bytes per invocation; divide by 32 for the batched variants, or read
 * it per op since JMH normalises by {@code @OperationsPerInvocation}) is the library's own allocation.
 * At the end of each trial a line starting with {@code # engine} gives the SQEs per {@code io_uring_enter}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class FacadeRandomReadBenchmark {
    static final int QD = 32;

    @Param({"1", "2"})
    public int rings;

    @Param({"256"})
    public int fileMiB;

    /** The engine's backend, for both sides: {@code -p backend=THREAD_POOL} compares the facade on the pool. */
    @Param({"IO_URING"})
    public String backend;

    Path path;
    long[] offsets;
    int offsetMask;
    int cursor;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        path = BenchmarkFile.prepare(fileMiB);
        offsets = BenchmarkFile.offsets(fileMiB);
        offsetMask = offsets.length - 1;
    }

    /**
     * The config of both sides. The page-cache fast path is off: on, the facade's {@code aio_read} would read on the
     * calling thread while the engine side's unmarked requests go through the ring, and the pair would no longer
     * differ only in the API on top.
     */
    RingEngineConfig config() {
        return new RingEngineConfig().rings(rings).backend(Backend.valueOf(backend)).pageCacheFastPath(false);
    }

    long nextOffset() {
        return offsets[cursor++ & offsetMask];
    }

    static int openReadOnly(Path path) {
        int fd = Fcntl.open(path.toString(), Fcntl.O_RDONLY | Fcntl.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new IllegalStateException("open " + path + ": " + Errno.strerror(Aio.errno()));
        }
        return fd;
    }

    static void printStats(BenchmarkParams params, int rings, EngineStats stats, Backend backend) {
        System.out.printf(Locale.ROOT, "%n# engine %s rings=%d: %.2f SQEs/enter over the trial (%d SQEs, %d enters, "
                        + "%d completions); backend %s%n", params.getBenchmark(), rings, stats.sqesPerEnter(),
                stats.sqesSubmitted(), stats.enterCalls(), stats.completed(), backend);
    }

    /** The engine side: 32 reused raw requests, each with its own direct buffer, completing into a countdown. */
    @State(Scope.Benchmark)
    public static class EngineSide {
        RingEngine engine;
        int fd;
        Request[] requests;
        long[] addresses;
        final AtomicInteger remaining = new AtomicInteger();
        final AtomicReference<String> failure = new AtomicReference<>();
        volatile Thread waiter;

        @Setup(Level.Trial)
        public void setUp(FacadeRandomReadBenchmark b) {
            engine = RingEngine.open(b.config());
            fd = openReadOnly(b.path);
            requests = new Request[QD];
            addresses = new long[QD];
            io.uringaio.engine.Completion onDone = (r, res) -> {
                if (res != BenchmarkFile.BLOCK_BYTES) {
                    failure.compareAndSet(null, "read at " + r.offset() + " returned " + res);
                }
                if (remaining.decrementAndGet() == 0) {
                    LockSupport.unpark(waiter);
                }
            };
            for (int i = 0; i < QD; i++) {
                ByteBuffer buffer = BenchFiles.alignedDirect(BenchmarkFile.BLOCK_BYTES);
                addresses[i] = MemorySegment.ofBuffer(buffer).address();
                requests[i] = new Request(onDone).attach(buffer);
            }
        }

        void await() {
            while (remaining.get() != 0) {
                LockSupport.park(this);
            }
            String f = failure.get();
            if (f != null) {
                throw new IllegalStateException(f);
            }
        }

        @TearDown(Level.Trial)
        public void tearDown(FacadeRandomReadBenchmark b, BenchmarkParams params) {
            printStats(params, b.rings, engine.stats(), engine.backend());
            engine.close();
            Unistd.close(fd);
        }
    }

    /** The facade side: its own context (engine with the same config), 32 reused control blocks. */
    @State(Scope.Benchmark)
    public static class FacadeSide {
        AioContext aio;
        int fd;
        Aiocb[] cbs;
        Aiocb[] pending;
        Aiocb[] first;
        /** lio32FacadeNowait's notification: unparks {@link #waiter} once the whole list completed. */
        SigEvent listDone;
        volatile boolean listFinished;
        volatile Thread waiter;

        @Setup(Level.Trial)
        public void setUp(FacadeRandomReadBenchmark b) {
            aio = new AioContext(b.config());
            aio.backend(); // starts the engine now, not in the first measured call
            fd = openReadOnly(b.path);
            cbs = new Aiocb[QD];
            pending = new Aiocb[QD];
            for (int i = 0; i < QD; i++) {
                Aiocb cb = new Aiocb();
                cb.aio_fildes = fd;
                cb.aio_buf = BenchFiles.alignedDirect(BenchmarkFile.BLOCK_BYTES);
                cb.aio_nbytes = BenchmarkFile.BLOCK_BYTES;
                cb.aio_lio_opcode = Aio.LIO_READ;
                cbs[i] = cb;
            }
            first = new Aiocb[] {cbs[0]};
            listDone = new SigEvent();
            listDone.sigev_notify = Signals.SIGEV_THREAD;
            listDone.sigev_notify_function = value -> {
                listFinished = true;
                LockSupport.unpark(waiter);
            };
            listDone.sigev_notify_attributes = Runnable::run;
        }

        /** aio_error then aio_return of a finished control block; the byte count, checked. */
        long reap(Aiocb cb) {
            int err = aio.aio_error(cb);
            if (err != 0) {
                throw new IllegalStateException("read at " + cb.aio_offset + ": " + Errno.strerror(err));
            }
            long n = aio.aio_return(cb);
            if (n != BenchmarkFile.BLOCK_BYTES) {
                throw new IllegalStateException("read at " + cb.aio_offset + " returned " + n);
            }
            return n;
        }

        void submitFailed(String call) {
            throw new IllegalStateException(call + ": " + Errno.strerror(aio.errno()));
        }

        @TearDown(Level.Trial)
        public void tearDown(FacadeRandomReadBenchmark b, BenchmarkParams params) {
            printStats(params, b.rings, aio.engineStats(), aio.backend());
            aio.close();
            Unistd.close(fd);
        }
    }

    // ---------------------------------------------------------------- queue depth 1

    @Benchmark
    public void qd1Engine(EngineSide e) {
        e.waiter = Thread.currentThread();
        e.remaining.set(1);
        e.requests[0].prepRead(e.fd, e.addresses[0], BenchmarkFile.BLOCK_BYTES, nextOffset());
        e.engine.submit(e.requests[0]);
        e.await();
    }

    @Benchmark
    public long qd1Facade(FacadeSide f) {
        Aiocb cb = f.cbs[0];
        cb.aio_offset = nextOffset();
        if (f.aio.aio_read(cb) != 0) {
            f.submitFailed("aio_read");
        }
        while (f.aio.aio_error(cb) == Errno.EINPROGRESS) {
            f.aio.aio_suspend(f.first, 1, null);
        }
        return f.reap(cb);
    }

    // ---------------------------------------------------------------- 32 single submissions, wait for all

    @Benchmark
    @OperationsPerInvocation(QD)
    public void qd32Engine(EngineSide e) {
        e.waiter = Thread.currentThread();
        e.remaining.set(QD);
        for (int i = 0; i < QD; i++) {
            e.requests[i].prepRead(e.fd, e.addresses[i], BenchmarkFile.BLOCK_BYTES, nextOffset());
            e.engine.submit(e.requests[i]);
        }
        e.await();
    }

    @Benchmark
    @OperationsPerInvocation(QD)
    public long qd32Facade(FacadeSide f) {
        Aiocb[] cbs = f.cbs;
        for (int i = 0; i < QD; i++) {
            cbs[i].aio_offset = nextOffset();
            if (f.aio.aio_read(cbs[i]) != 0) {
                f.submitFailed("aio_read");
            }
        }
        Aiocb[] pending = f.pending;
        System.arraycopy(cbs, 0, pending, 0, QD);
        long total = 0;
        int left = QD;
        while (left > 0) {
            f.aio.aio_suspend(pending, QD, null);
            for (int i = 0; i < QD; i++) {
                Aiocb cb = pending[i];
                if (cb != null && f.aio.aio_error(cb) != Errno.EINPROGRESS) {
                    total += f.reap(cb);
                    pending[i] = null;
                    left--;
                }
            }
        }
        return total;
    }

    // ---------------------------------------------------------------- one list of 32

    @Benchmark
    @OperationsPerInvocation(QD)
    public void lio32Engine(EngineSide e) {
        e.waiter = Thread.currentThread();
        e.remaining.set(QD);
        for (int i = 0; i < QD; i++) {
            e.requests[i].prepRead(e.fd, e.addresses[i], BenchmarkFile.BLOCK_BYTES, nextOffset());
        }
        e.engine.submitBatch(e.requests, QD);
        e.await();
    }

    @Benchmark
    @OperationsPerInvocation(QD)
    public long lio32Facade(FacadeSide f) {
        Aiocb[] cbs = f.cbs;
        for (int i = 0; i < QD; i++) {
            cbs[i].aio_offset = nextOffset();
        }
        if (f.aio.lio_listio(Aio.LIO_WAIT, cbs, QD, null) != 0) {
            f.submitFailed("lio_listio");
        }
        long total = 0;
        for (int i = 0; i < QD; i++) {
            total += f.reap(cbs[i]);
        }
        return total;
    }

    /** Diagnostic: lio_listio(LIO_NOWAIT) of 32, notified once through SIGEV_THREAD run inline; see the class doc. */
    @Benchmark
    @OperationsPerInvocation(QD)
    public long lio32FacadeNowait(FacadeSide f) {
        Aiocb[] cbs = f.cbs;
        for (int i = 0; i < QD; i++) {
            cbs[i].aio_offset = nextOffset();
        }
        f.waiter = Thread.currentThread();
        f.listFinished = false;
        if (f.aio.lio_listio(Aio.LIO_NOWAIT, cbs, QD, f.listDone) != 0) {
            f.submitFailed("lio_listio");
        }
        while (!f.listFinished) {
            LockSupport.park(this);
        }
        long total = 0;
        for (int i = 0; i < QD; i++) {
            total += f.reap(cbs[i]);
        }
        return total;
    }
}
