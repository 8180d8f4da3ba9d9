package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;
import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.Completion;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.UringOpenOption;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The engine through its raw {@link Request} API: one reusable request and one aligned direct buffer per lane, the
 * completion callback (on the ring thread) resubmits the lane's next operation, so nothing is allocated per
 * operation. A write + fdatasync is one {@link RingEngine#submitLinked linked pair} (write, then
 * {@code IORING_OP_FSYNC} with {@code IORING_FSYNC_DATASYNC}), as {@code AsyncFile.writeDurable} does it. Reads of
 * the page-cached workloads are marked {@link Request#pageCacheFirst(boolean)}: cached data is read on the thread that
 * submits (the engine's page-cache fast path, on by default), a miss goes to the ring.
 */
public final class EngineContender extends InProcessContender {
    private final String name;
    private final Backend backend;
    private final int rings;

    EngineContender(String name, Backend backend, int rings) {
        this.name = name;
        this.backend = backend;
        this.rings = rings;
    }

    /** The engine on io_uring with {@code rings} rings. */
    public static EngineContender ioUring(String name, int rings) {
        return new EngineContender(name, Backend.IO_URING, rings);
    }

    /** The engine's thread-pool backend (pread/pwrite/fdatasync on its worker threads), default pool size. */
    public static EngineContender threadPool(String name) {
        return new EngineContender(name, Backend.THREAD_POOL, 1);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return backend == Backend.IO_URING
                ? "engine, raw Request API on io_uring, " + rings + (rings == 1 ? " ring" : " rings (one per core)")
                : "engine, raw Request API on the THREAD_POOL backend (" + new RingEngineConfig().poolThreads()
                        + " pread/pwrite workers)";
    }

    @Override
    public String unavailableReason() {
        return backend == Backend.IO_URING ? IoUringCheck.unavailableReason() : null;
    }

    RingEngineConfig config() {
        return new RingEngineConfig().backend(backend).rings(rings).threadNamePrefix("bench-" + name);
    }

    @Override
    protected String note(Workload workload) {
        return workload.op().syncs() ? "write and fdatasync linked (IOSQE_IO_LINK)" : null;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        RingEngine engine = RingEngine.open(config());
        AsyncFile file = null;
        try {
            if (engine.backend() != backend) {
                throw new IllegalStateException("asked for " + backend + ", got " + engine.backend() + ": "
                        + engine.backendReason());
            }
            List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
            if (w.direct()) {
                options.add(UringOpenOption.DIRECT);
            }
            file = engine.open(context.file(), options.toArray(OpenOption[]::new)).get(30, TimeUnit.SECONDS);
            EngineLane[] lanes = new EngineLane[trial.depth()];
            for (int i = 0; i < lanes.length; i++) {
                lanes[i] = new EngineLane(engine, trial, i, file.fd());
            }
            for (EngineLane lane : lanes) {
                trial.laneStarted();
                lane.next();
            }
            AsyncFile opened = file;
            return new Load() {
                @Override
                public long enterCalls() {
                    return backend == Backend.IO_URING ? engine.stats().enterCalls() : -1;
                }

                @Override
                public void close() throws Exception {
                    try {
                        opened.close();
                    } finally {
                        engine.close();
                    }
                }
            };
        } catch (Exception | Error e) {
            if (file != null) {
                file.close();
            }
            engine.close();
            throw e;
        }
    }

    /** One lane: its request(s), buffer and recorder. */
    private static final class EngineLane implements Completion {
        final RingEngine engine;
        final Trial trial;
        final Workload workload;
        final LaneRecorder recorder;
        final Workload.Offsets offsets;
        final int fd;
        final Request io = new Request(this);
        final Request sync = new Request(this);
        @SuppressWarnings("unused") // keeps the buffer's memory reachable
        final ByteBuffer buffer;
        final long address;
        int pending;

        EngineLane(RingEngine engine, Trial trial, int index, int fd) {
            this.engine = engine;
            this.trial = trial;
            this.workload = trial.workload();
            this.recorder = trial.lane(index);
            this.offsets = trial.offsets(index);
            this.fd = fd;
            this.buffer = BenchFiles.alignedDirect(workload.blockBytes());
            this.address = MemorySegment.ofBuffer(buffer).address();
        }

        void next() {
            long offset = offsets.next();
            recorder.started();
            try {
                switch (workload.op()) {
                    case READ -> {
                        pending = 1;
                        // page-cached data is read on the submitting thread (the engine's fast path); O_DIRECT never
                        engine.submit(io.prepRead(fd, address, workload.blockBytes(), offset)
                                .pageCacheFirst(!workload.direct()));
                    }
                    case WRITE -> {
                        pending = 1;
                        engine.submit(io.prepWrite(fd, address, workload.blockBytes(), offset));
                    }
                    case WRITE_FDATASYNC, APPEND -> {
                        pending = 2;
                        engine.submitLinked(io.prepWrite(fd, address, workload.blockBytes(), offset),
                                sync.prepFsync(fd, true));
                    }
                }
            } catch (EngineRejectedException closed) {
                trial.fail("submit failed: " + closed.getMessage());
                trial.laneStopped();
            }
        }

        @Override
        public void complete(Request request, int res) {
            if (request == io ? res != workload.blockBytes() : res < 0) {
                trial.fail(describe(request == io ? (workload.op() == Workload.Op.READ ? "read" : "write")
                        : "fdatasync", res, request == io ? workload.blockBytes() : 0, io.offset()));
            }
            if (--pending > 0) {
                return;
            }
            if (recorder.doneAndGoOn()) {
                next();
            }
        }
    }
}
