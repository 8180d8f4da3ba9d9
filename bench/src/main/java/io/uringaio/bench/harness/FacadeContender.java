package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.posix.Aio;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Timespec;
import io.uringaio.posix.Unistd;

import java.util.concurrent.TimeUnit;

/**
 * The POSIX facade on io_uring, driven the way C code drives POSIX AIO: one thread, one {@link Aiocb} per lane,
 * {@code aio_suspend} over the list, {@code aio_error}/{@code aio_return}, resubmit. In {@link Mode#LIO} the blocks
 * found finished in one pass are resubmitted together with one {@code lio_listio(LIO_NOWAIT)}.
 */
public final class FacadeContender extends InProcessContender {
    /** How finished blocks are resubmitted. */
    public enum Mode {
        /** One {@code aio_read}/{@code aio_write} per block. */
        SUSPEND,
        /** One {@code lio_listio(LIO_NOWAIT)} per pass. */
        LIO
    }

    private static final Timespec SUSPEND_TIMEOUT = new Timespec(0, 100_000_000);

    private final String name;
    private final Mode mode;
    private final int rings;

    public FacadeContender(String name, Mode mode, int rings) {
        this.name = name;
        this.mode = mode;
        this.rings = rings;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String description() {
        return "POSIX facade on io_uring (" + rings + (rings == 1 ? " ring" : " rings") + "), one thread: "
                + (mode == Mode.LIO ? "lio_listio(LIO_NOWAIT) batches" : "aio_read/aio_write")
                + " + aio_suspend + aio_error/aio_return";
    }

    @Override
    public String unavailableReason() {
        return IoUringCheck.unavailableReason();
    }

    @Override
    protected String note(Workload workload) {
        return workload.op().syncs() ? "aio_write, then aio_fsync(O_DSYNC) once it finished"
                : null;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        int fd = Fcntl.open(context.file().toString(), Fcntl.O_RDWR | (w.direct() ? Fcntl.O_DIRECT : 0), 0);
        if (fd < 0) {
            throw new IllegalStateException("open " + context.file() + ": "
                    + io.uringaio.engine.uapi.ErrnoTable.describe(Aio.errno()));
        }
        // As the no-argument context: caller rings on (the facade's one submitting thread gets one), so aio_suspend
        // reaps its own completions; -Duringaio.callerRings=0 measures without them.
        AioContext aio = new AioContext(new RingEngineConfig().rings(rings).threadNamePrefix("bench-" + name)
                .callerRings(EngineBlockingContender.callerRings(1)).callerRingDepth(1));
        Loop loop = new Loop(trial, aio, fd, mode);
        for (int i = 0; i < trial.depth(); i++) {
            trial.laneStarted();
        }
        Thread thread = Thread.ofPlatform().name("bench-" + name).daemon().start(loop);
        return new Load() {
            @Override
            public long enterCalls() {
                return aio.engineStats().enterCalls();
            }

            @Override
            public void close() throws Exception {
                try {
                    thread.join(TimeUnit.SECONDS.toMillis(60));
                } finally {
                    aio.close();
                    Unistd.close(fd);
                }
            }
        };
    }

    private static final class Loop extends SuspendLoop {
        final AioContext aio;
        final Mode mode;
        final Aiocb[] cbs;
        final Aiocb[] list;
        final Aiocb[] batch;
        int batched;

        Loop(Trial trial, AioContext aio, int fd, Mode mode) {
            super(trial);
            this.aio = aio;
            this.mode = mode;
            this.cbs = new Aiocb[trial.depth()];
            this.list = new Aiocb[trial.depth()];
            this.batch = new Aiocb[trial.depth()];
            for (int i = 0; i < cbs.length; i++) {
                Aiocb cb = new Aiocb();
                cb.aio_fildes = fd;
                cb.aio_buf = BenchFiles.alignedDirect(workload.blockBytes());
                cb.aio_nbytes = workload.blockBytes();
                cbs[i] = cb;
                list[i] = cb;
            }
        }

        @Override
        protected int submitTransfer(int lane, boolean write, long offset) {
            Aiocb cb = cbs[lane];
            cb.aio_offset = offset;
            if (mode == Mode.LIO) {
                cb.aio_lio_opcode = write ? Aio.LIO_WRITE : Aio.LIO_READ;
                batch[batched++] = cb;
                return 0;
            }
            int r = write ? aio.aio_write(cb) : aio.aio_read(cb);
            return r == 0 ? 0 : aio.errno();
        }

        @Override
        protected void flush() {
            if (batched > 0) {
                int n = batched;
                batched = 0;
                if (aio.lio_listio(Aio.LIO_NOWAIT, batch, n, null) != 0) {
                    throw new IllegalStateException("lio_listio of " + n + " failed: "
                            + io.uringaio.engine.uapi.ErrnoTable.describe(aio.errno()));
                }
            }
        }

        @Override
        protected int submitFdatasync(int lane) {
            return aio.aio_fsync(Fcntl.O_DSYNC, cbs[lane]) == 0 ? 0 : aio.errno();
        }

        @Override
        protected int error(int lane) {
            return aio.aio_error(cbs[lane]);
        }

        @Override
        protected long collect(int lane) {
            return aio.aio_return(cbs[lane]);
        }

        @Override
        protected void suspend() {
            aio.aio_suspend(list, list.length, SUSPEND_TIMEOUT);
        }

        @Override
        protected void deactivate(int lane) {
            list[lane] = null;
        }
    }
}
