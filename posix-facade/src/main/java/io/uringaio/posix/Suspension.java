package io.uringaio.posix;

import io.uringaio.engine.RingEngine;

import java.util.Arrays;

/**
 * {@code aio_suspend}: waits until one of a list's requests is no longer in progress, a timeout passes or the thread is
 * interrupted, parked among its context's {@link Waiters} (woken by each completion, or once per completion batch).
 */
final class Suspension {
    private Suspension() {
    }

    /**
     * See {@link Aio#aio_suspend}. The list is looked at before the timeout: a call that need not wait (one entry
     * complete, {@code nent == 0}, only null entries) returns 0 whatever the timeout holds, as POSIX has it ("shall
     * return without suspending the calling thread") and glibc does; the timeout's EINVAL and EAGAIN are for a call
     * that would wait.
     */
    static int suspend(AioContext self, Waiters waiters, RingEngine engine, Aiocb[] list, int nent,
            Timespec timeout) {
        if (nent < 0 || (list == null ? nent > 0 : nent > list.length)) {
            return Errno.fail(Errno.EINVAL);
        }
        boolean any = false;
        for (int i = 0; i < nent; i++) {
            Aiocb cb = list[i]; // read once: another thread may null the entry meanwhile (the list is the caller's)
            if (cb != null) {
                any = true;
                if (!cb.inProgress()) {
                    return 0;
                }
            }
        }
        if (!any) {
            return 0;
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
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        try {
            return awaitAny(self, waiters, engine, list, nent, timeoutNanos, deadline) ? 0
                    : Errno.fail(Errno.EAGAIN);
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
     * {@link #LANE_WAIT_NANOS}, and reaps the completion itself: no ring thread to wake, no unpark back. An entry
     * that another context runs ({@link Aiocb#context}: aio_error and aio_return read any block, so a program may
     * wait for one here) is completed by that context, which wakes only its own waiters: this thread then registers
     * among those too ({@link ForeignWaits}) before it looks again, or it would park until a completion of its own
     * context that may never come.
     */
    private static boolean awaitAny(AioContext self, Waiters waiters, RingEngine engine, Aiocb[] list, int nent,
            long timeoutNanos, long deadline) throws InterruptedException {
        int slot = waiters.register();
        ForeignWaits foreign = null;
        long laneUntil = System.nanoTime() + LANE_WAIT_NANOS;
        try {
            while (true) {
                Aiocb only = null;
                int pending = 0;
                boolean newlyRegistered = false;
                boolean submitting = false;
                for (int i = 0; i < nent; i++) {
                    Aiocb cb = list[i];
                    if (cb != null) {
                        int state = cb.state; // read once: the checks below must be of the same state
                        if (!Aiocb.inProgress(state)) {
                            return true;
                        }
                        // Claimed by a submitting call on another thread: it may yet be refused, which publishes
                        // its status without waking anyone (a refusal is no completion). The state is transient
                        // (a few checks), so this waiter polls until it settled.
                        submitting |= state == Aiocb.SUBMITTING;
                        AioContext owner = cb.context; // after the state: the running submission's context or newer
                        if (owner != self && owner != null) {
                            if (foreign == null) {
                                foreign = new ForeignWaits();
                            }
                            newlyRegistered |= foreign.register(owner);
                        }
                        only = cb;
                        pending++;
                    }
                }
                if (newlyRegistered) {
                    continue; // registered first, then look again: a completion in between left a permit or is seen
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
                boolean poll = submitting || foreign != null && foreign.overflowed;
                Waiters.park(poll ? -1 : slot, timeoutNanos < 0 ? 0 : deadline);
            }
        } finally {
            waiters.unregister(slot);
            if (foreign != null) {
                foreign.unregisterAll();
            }
        }
    }

    /**
     * The other contexts whose waiters one {@code aio_suspend} joined, with its slot in each (a handful at most: one
     * per context its list names). Made only when the list names a request of another context.
     */
    private static final class ForeignWaits {
        private AioContext[] contexts = new AioContext[2];
        private int[] slots = new int[2];
        private int count;
        /** A context had no free slot: the waiter polls ({@link Waiters#park} with no slot) rather than miss a wake. */
        boolean overflowed;

        /** Registers this thread among {@code owner}'s waiters unless it already is; true when it registered now. */
        boolean register(AioContext owner) {
            for (int i = 0; i < count; i++) {
                if (contexts[i] == owner) {
                    return false;
                }
            }
            if (count == contexts.length) {
                contexts = Arrays.copyOf(contexts, count * 2);
                slots = Arrays.copyOf(slots, count * 2);
            }
            int slot = owner.waiters().register();
            overflowed |= slot < 0;
            contexts[count] = owner;
            slots[count++] = slot;
            return true;
        }

        void unregisterAll() {
            for (int i = 0; i < count; i++) {
                contexts[i].waiters().unregister(slots[i]);
            }
        }
    }
}
