package io.uringaio.bench.harness;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * The POSIX AIO way of keeping {@code queueDepth} operations in flight from one thread: submit one control block per
 * lane, then loop on {@code aio_suspend} over the list, collect each finished block with {@code aio_error} and
 * {@code aio_return}, and resubmit it. A write + fdatasync is {@code aio_write}, then, once it finished,
 * {@code aio_fsync(O_DSYNC)} on the same block. Shared by the facade and glibc contenders, which fill in the calls.
 */
abstract class SuspendLoop implements Runnable {
    static final int EINPROGRESS = ErrnoTable.EINPROGRESS;

    final Trial trial;
    final Workload workload;
    private final boolean[] syncing;
    private final boolean[] active;
    private int activeCount;

    SuspendLoop(Trial trial) {
        this.trial = trial;
        this.workload = trial.workload();
        this.syncing = new boolean[trial.depth()];
        this.active = new boolean[trial.depth()];
    }

    /** Submits lane {@code lane}'s read or write at {@code offset}: 0, or the errno. */
    protected abstract int submitTransfer(int lane, boolean write, long offset);

    /** Submits lane {@code lane}'s {@code aio_fsync(O_DSYNC)}: 0, or the errno. */
    protected abstract int submitFdatasync(int lane);

    /** {@code aio_error} of the lane's block. */
    protected abstract int error(int lane);

    /** {@code aio_return} of the lane's block. */
    protected abstract long collect(int lane);

    /** {@code aio_suspend} over the active lanes, with a short timeout. */
    protected abstract void suspend();

    /** Takes the lane's block out of the suspend list. */
    protected abstract void deactivate(int lane);

    /** Submits what {@link #submitTransfer} queued, for implementations that batch (lio_listio). */
    protected void flush() {
    }

    /** Runs until every lane stopped; called on the loop's own thread. */
    @Override
    public void run() {
        try {
            for (int i = 0; i < active.length; i++) {
                active[i] = true;
                activeCount++;
                startTransfer(i);
            }
            flush();
            while (activeCount > 0) {
                suspend();
                for (int i = 0; i < active.length; i++) {
                    if (active[i] && error(i) != EINPROGRESS) {
                        finished(i);
                    }
                }
                flush();
            }
        } catch (RuntimeException | Error e) {
            trial.fail("submission loop died: " + e);
            for (int i = 0; i < active.length; i++) {
                if (active[i]) {
                    active[i] = false;
                    trial.laneStopped();
                }
            }
            throw e;
        }
    }

    private void finished(int lane) {
        int err = error(lane);
        long res = collect(lane);
        boolean sync = syncing[lane];
        if (err != 0 || (!sync && res != workload.blockBytes())) {
            trial.fail(err != 0 ? (sync ? "aio_fsync" : "aio transfer") + " failed: "
                    + io.uringaio.engine.uapi.ErrnoTable.describe(err)
                    : "short transfer: " + res + " of " + workload.blockBytes() + " bytes");
            stop(lane);
            return;
        }
        if (workload.op().syncs() && !sync) {
            syncing[lane] = true;
            int e = submitFdatasync(lane);
            if (e != 0) {
                trial.fail("aio_fsync submission failed: " + io.uringaio.engine.uapi.ErrnoTable.describe(e));
                stop(lane);
            }
            return;
        }
        syncing[lane] = false;
        trial.lane(lane).done();
        if (trial.running()) {
            startTransfer(lane);
        } else {
            stop(lane);
        }
    }

    private void startTransfer(int lane) {
        trial.lane(lane).started();
        int e = submitTransfer(lane, workload.op().writes(), trial.offsets(lane).next());
        if (e != 0) {
            trial.fail("submission failed: " + io.uringaio.engine.uapi.ErrnoTable.describe(e));
            stop(lane);
        }
    }

    private void stop(int lane) {
        if (active[lane]) {
            active[lane] = false;
            activeCount--;
            deactivate(lane);
            trial.laneStopped();
        }
    }
}
