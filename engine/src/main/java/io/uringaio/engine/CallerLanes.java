package io.uringaio.engine;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An engine's caller rings ({@link CallerRing}), the eventfd registered on all of them, and the one daemon thread
 * that reaps what no waiter reaps ({@code uring-aio-caller-reaper}).
 *
 * <p>Threads are given rings on their first submission, in turn but for a ring with fewer requests in flight
 * ({@link #pick}): the first {@code count} submitting threads each get a ring of their own, later ones share. A thread keeps its ring, so a thread that submits and then waits finds its
 * request in the ring it waits in.
 *
 * <p>The reaper sleeps in {@code poll} on the eventfd, which the kernel signals for each CQE posted while no thread
 * waits inside that ring. It also wakes every {@link #REAPER_POLL_MILLIS} ms and reaps: a safety net for an eventfd
 * signal the kernel skipped while a leaving waiter was turning it back on (the kernel posts the CQE, then reads the
 * flag, with no barrier between: the waiter's last reap and the kernel's flag check can miss each other).
 */
final class CallerLanes {
    static final int REAPER_POLL_MILLIS = 100;
    private static final long REAPER_JOIN_MILLIS = TimeUnit.SECONDS.toMillis(10);

    private final CallerRing[] rings;
    private final int eventFd;
    private final Thread reaper;
    private volatile boolean stopping;
    private final AtomicInteger nextRing = new AtomicInteger();
    /**
     * Each thread's ring, as an index: a value that referred to the ring (and through it to the engine, whose
     * CallerLanes holds this very ThreadLocal) would keep a closed engine reachable from every thread that used it.
     */
    private final ThreadLocal<Integer> assigned;

    private CallerLanes(CallerRing[] rings, int eventFd, String threadName) {
        this.rings = rings;
        this.eventFd = eventFd;
        this.assigned = ThreadLocal.withInitial(this::pick);
        this.reaper = Thread.ofPlatform().daemon().name(threadName).unstarted(this::reapLoop);
    }

    /**
     * Opens {@code count} caller rings with lane indices from {@code firstIndex}, and starts the reaper; {@code rehome}
     * takes requests the kernel canceled because their submitter exited ({@link CallerRing}). Null, with
     * the reason logged, when the kernel cannot give them (the engine then runs without caller rings).
     */
    static CallerLanes open(int count, int firstIndex, RingEngineConfig config, Consumer<Request> rehome) {
        int eventFd = Libc.eventfd(0, Libc.EFD_CLOEXEC);
        if (eventFd < 0) {
            RingEngine.LOG.log(System.Logger.Level.WARNING, "caller rings off: eventfd: "
                    + ErrnoTable.describe(-eventFd));
            return null;
        }
        CallerRing[] rings = new CallerRing[count];
        try {
            for (int i = 0; i < count; i++) {
                rings[i] = CallerRing.open(firstIndex + i, config.ringSize(), config.maxInFlightPerRing(), eventFd,
                        config.afterCompletionBatch(), rehome);
            }
        } catch (UnsupportedOperationException e) {
            return off(rings, eventFd, e.getMessage());
        }
        CallerLanes lanes = new CallerLanes(rings, eventFd, "uring-aio-caller-reaper");
        try {
            lanes.reaper.start();
        } catch (OutOfMemoryError noThread) {
            // A pids or thread limit: without its reaper a completion nobody waits for would never be reaped.
            return off(rings, eventFd, "cannot start the reaper thread (" + noThread.getMessage() + ")");
        }
        return lanes;
    }

    /** Whether {@code ring} is one of these (another engine's is not). */
    boolean owns(CallerRing ring) {
        for (CallerRing r : rings) {
            if (r == ring) {
                return true;
            }
        }
        return false;
    }

    /** Releases what {@link #open} got so far and logs why the engine runs without caller rings; returns null. */
    private static CallerLanes off(CallerRing[] rings, int eventFd, String reason) {
        for (CallerRing r : rings) {
            if (r != null) {
                r.deregister();
            }
        }
        Libc.close(eventFd);
        RingEngine.LOG.log(System.Logger.Level.WARNING, "caller rings off: " + reason);
        return null;
    }

    /** A new thread's ring: {@link Lane#leastLoaded}, from the next in turn. Once per thread. */
    private Integer pick() {
        return Lane.leastLoaded(rings, (nextRing.getAndIncrement() & Integer.MAX_VALUE) % rings.length);
    }

    /** The calling thread's ring. */
    CallerRing forCurrentThread() {
        return rings[assigned.get()];
    }

    CallerRing[] rings() {
        return rings;
    }

    /**
     * True on the reaper, or on a thread running completions it reaped from one of these rings (inside
     * {@code submit}, or waiting inside one): there a blocking close would wait for itself. Not on a thread busy in
     * another engine's caller rings ({@link CallerRing#deliveringOnThisThread}).
     */
    boolean isOwnThread() {
        return Thread.currentThread() == reaper || CallerRing.deliveringOnThisThread(rings);
    }

    private void reapLoop() {
        try {
            while (!stopping) {
                if (Libc.pollOne(eventFd, Libc.POLLIN, REAPER_POLL_MILLIS) > 0) {
                    Libc.eventfdDrain(eventFd); // resets the counter (readable, so this read does not block)
                }
                if (stopping) {
                    break;
                }
                for (CallerRing ring : rings) {
                    ring.reapForReaper();
                }
            }
        } catch (Throwable t) {
            RingEngine.LOG.log(System.Logger.Level.ERROR, "caller-ring reaper died; waiters still reap", t);
        }
    }

    /** Closes every ring (cancel, reap until empty, wait for waiters to leave), then stops the reaper. */
    void closeRings() {
        for (CallerRing ring : rings) {
            ring.beginClose();
        }
        stopping = true;
        Libc.eventfdSignal(eventFd);
        if (Thread.currentThread() != reaper) {
            try {
                reaper.join(REAPER_JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Releases the rings and the eventfd; after {@link #closeRings()}. */
    void release() {
        for (CallerRing ring : rings) {
            ring.deregister();
        }
        Libc.close(eventFd);
    }
}
