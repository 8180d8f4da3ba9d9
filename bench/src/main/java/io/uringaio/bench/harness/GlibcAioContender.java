package io.uringaio.bench.harness;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * glibc's POSIX AIO, called through FFM exactly as a C program would: one thread, one {@code struct aiocb} per lane,
 * {@code aio_suspend} over the list, {@code aio_error}/{@code aio_return}, resubmit. glibc's defaults
 * ({@code aio_threads} 20, {@code aio_num} 64) are left as they are.
 */
public final class GlibcAioContender extends InProcessContender {
    @Override
    public String name() {
        return "glibc-aio";
    }

    @Override
    public String description() {
        return "glibc " + GlibcAio.glibcVersion() + " POSIX AIO through FFM, one thread: aio_read/aio_write/aio_fsync"
                + " + aio_suspend + aio_error/aio_return (glibc's default aio_init: 20 threads)";
    }

    @Override
    public String unavailableReason() {
        return GlibcAio.unavailableReason();
    }

    @Override
    protected String note(Workload workload) {
        return workload.queueDepth() > 1 ? "glibc serves one request per file descriptor at a time" : null;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        int fd = Libc.open(context.file().toString(), Libc.O_RDWR | (w.direct() ? Libc.O_DIRECT : 0), 0);
        if (fd < 0) {
            throw new IllegalStateException("open " + context.file() + ": " + io.uringaio.engine.uapi.ErrnoTable.describe(-fd));
        }
        Arena arena = Arena.ofShared();
        Loop loop = new Loop(trial, arena, fd);
        for (int i = 0; i < trial.depth(); i++) {
            trial.laneStarted();
        }
        Thread thread = Thread.ofPlatform().name("bench-glibc-aio").daemon().start(loop);
        return () -> {
            thread.join(TimeUnit.SECONDS.toMillis(60));
            if (!thread.isAlive()) {
                arena.close(); // only when no request can still point into it
            }
            Libc.close(fd);
        };
    }

    private static final class Loop extends SuspendLoop {
        final GlibcAio aio;
        final MemorySegment[] cbs;
        final MemorySegment list;
        final MemorySegment timeout;

        Loop(Trial trial, Arena arena, int fd) {
            super(trial);
            this.aio = new GlibcAio(arena);
            this.cbs = new MemorySegment[trial.depth()];
            this.list = arena.allocate(ADDRESS, trial.depth());
            this.timeout = arena.allocate(16, 8);
            timeout.set(JAVA_LONG, 0, 0);
            timeout.set(JAVA_LONG, 8, 100_000_000L);
            for (int i = 0; i < cbs.length; i++) {
                MemorySegment cb = GlibcAio.newAiocb(arena);
                MemorySegment buffer = arena.allocate(workload.blockBytes(), 4096);
                GlibcAio.prepare(cb, fd, buffer, workload.blockBytes(), 0);
                cbs[i] = cb;
                list.setAtIndex(ADDRESS, i, cb);
            }
        }

        @Override
        protected int submitTransfer(int lane, boolean write, long offset) {
            MemorySegment cb = cbs[lane];
            cb.set(JAVA_LONG, GlibcAiocbLayout.AIO_OFFSET, offset);
            return write ? aio.aio_write(cb) : aio.aio_read(cb);
        }

        @Override
        protected int submitFdatasync(int lane) {
            return aio.aio_fsync(GlibcAiocbLayout.O_DSYNC, cbs[lane]);
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
            aio.aio_suspend(list, cbs.length, timeout);
        }

        @Override
        protected void deactivate(int lane) {
            list.setAtIndex(ADDRESS, lane, MemorySegment.NULL);
        }
    }
}
