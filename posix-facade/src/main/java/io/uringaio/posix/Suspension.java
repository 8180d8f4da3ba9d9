package io.uringaio.posix;

import io.uringaio.engine.RingEngine;

/**
 * {@code aio_suspend}: waits until one of a list's requests is no longer in progress, a timeout passes or the thread is
 * interrupted, parked among its context's {@link Waiters} (woken by each completion, or once per completion batch).
 */
final class Suspension {
    private Suspension() {
    }

    /** See {@link Aio#aio_suspend}. */
    static int suspend(Waiters waiters, RingEngine engine, Aiocb[] list, int nent, Timespec timeout) {
        if (nent < 0 || (list == null ? nent > 0 : nent > list.length)) {
            return Errno.fail(Errno.EINVAL);
        }
        long timeoutNanos = -1;
        if (timeout != null) {
            if (timeout.tv_nsec() < 0 || timeout.tv_nsec() > 999_999_999L) {
                return Errno.fail(Errno.EINVAL);
            }
            if (timeout.tv_sec() < 0) {
                return Errno.fail(Errno.EAGAIN);
            }
            timeoutNanos = timeout.tv_sec() >= Long.MAX_VALUE / 1_000_000_000L ? Long.MAX_VALUE
                    : timeout.tv_sec() * 1_000_000_000L + timeout.tv_nsec();
        }
        boolean any = false;
        for (int i = 0; i < nent; i++) {
            if (list[i] != null) {
                any = true;
                if (!list[i].inProgress()) {
                    return 0;
                }
            }
        }
        if (!any) {
            return 0;
        }
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        try {
            return awaitAny(waiters, engine, list, nent, timeoutNanos, deadline) ? 0 : Errno.fail(Errno.EAGAIN);
        } catch (InterruptedException e) {
            return Errno.fail(Errno.EINTR);
        }
    }

    /**
     * How long a waiter stays inside a caller ring before it parks like any other waiter (then the reaper delivers):
     * long enough for a device's I/O (tens to hundreds of microseconds), short enough that a long wait (a pipe, a slow
     * disk) is an ordinary parked thread, WAITING to tools and to code that watches thread states.
     */
    static final long LANE_WAIT_NANOS = 2_000_000;

    /**
     * Waits on this thread inside the caller ring that holds {@code cb}'s request
     * ({@link io.uringaio.engine.RingEngineConfig#callerRings(int)}) until {@code cb} is no longer in progress, the
     * thread is interrupted (status kept) or {@code untilNanos} ({@link System#nanoTime}) passes. The one in-ring wait
     * of the facade: {@code aio_suspend} with one entry in progress and a one-entry {@code LIO_WAIT}.
     *
     * @return false at once when there is no engine or the request is not on a caller ring (the caller then waits as
     *         usual), true when this thread waited there
     */
    static boolean awaitInLane(RingEngine engine, Aiocb cb, long untilNanos) {
        if (engine == null) {
            return false;
        }
        boolean waited = false;
        long left;
        while (cb.inProgress() && !Thread.currentThread().isInterrupted()
                && (left = untilNanos - System.nanoTime()) > 0 && engine.awaitInLane(cb.request, left)) {
            waited = true; // each return ran at least one completion of that ring, or its time is up: look again
        }
        return waited;
    }

    /**
     * Parks until one of the list is done. When exactly one entry is in progress and its request is in a caller ring
     * (the submitting thread's own io_uring), this thread first waits inside that ring, for at most
     * {@link #LANE_WAIT_NANOS}, and reaps the completion itself: no ring thread to wake, no unpark back.
     */
    private static boolean awaitAny(Waiters waiters, RingEngine engine, Aiocb[] list, int nent, long timeoutNanos,
            long deadline) throws InterruptedException {
        int slot = waiters.register();
        long laneUntil = System.nanoTime() + LANE_WAIT_NANOS;
        try {
            while (true) {
                Aiocb only = null;
                int pending = 0;
                for (int i = 0; i < nent; i++) {
                    Aiocb cb = list[i];
                    if (cb != null) {
                        if (!cb.inProgress()) {
                            return true;
                        }
                        only = cb;
                        pending++;
                    }
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                long left = timeoutNanos < 0 ? Long.MAX_VALUE : deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                long laneEnd = timeoutNanos < 0 || laneUntil - deadline < 0 ? laneUntil : deadline;
                if (pending == 1 && awaitInLane(engine, only, laneEnd)) {
                    continue;
                }
                Waiters.park(slot, timeoutNanos < 0 ? 0 : deadline);
            }
        } finally {
            waiters.unregister(slot);
        }
    }
}
