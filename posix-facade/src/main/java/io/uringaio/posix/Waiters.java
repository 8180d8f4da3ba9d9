package io.uringaio.posix;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The threads of one context that wait for completions ({@code aio_suspend}, a cancel waiting for its ECANCELED).
 * A waiter takes a slot, then checks its condition, then parks; a completion publishes its status, then unparks every
 * registered thread. Unparking a thread that has not parked yet only leaves it a permit, so the many completions of one
 * CQE drain cost one real wake-up, not one each, and the completing thread never blocks on a monitor.
 */
final class Waiters {
    private static final int SLOTS = 64;
    /** Beyond {@link #SLOTS} waiters, a waiter polls at this period instead of being unparked. */
    static final long OVERFLOW_POLL_NANOS = 1_000_000;

    private final AtomicReferenceArray<Thread> slots = new AtomicReferenceArray<>(SLOTS);
    private final AtomicInteger registered = new AtomicInteger();

    /** Registers the calling thread; the slot to {@link #unregister}, or -1 when all are taken (poll instead). */
    int register() {
        Thread me = Thread.currentThread();
        for (int i = 0; i < SLOTS; i++) {
            if (slots.get(i) == null && slots.compareAndSet(i, null, me)) {
                registered.incrementAndGet();
                return i;
            }
        }
        return -1;
    }

    void unregister(int slot) {
        if (slot >= 0) {
            slots.set(slot, null);
            registered.decrementAndGet();
        }
    }

    /** Wakes every registered waiter; cheap when none is registered. */
    void wakeAll() {
        if (registered.get() == 0) {
            return;
        }
        for (int i = 0; i < SLOTS; i++) {
            Thread t = slots.get(i);
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * Parks until woken, interrupted or {@code deadline} ({@code System.nanoTime()} based; {@code 0} = none). A thread
     * without a slot polls.
     */
    static void park(int slot, long deadline) {
        long limit = slot < 0 ? OVERFLOW_POLL_NANOS : Long.MAX_VALUE;
        if (deadline != 0) {
            limit = Math.min(limit, deadline - System.nanoTime());
            if (limit <= 0) {
                return;
            }
        }
        if (limit == Long.MAX_VALUE) {
            LockSupport.park(Waiters.class);
        } else {
            LockSupport.parkNanos(Waiters.class, limit);
        }
    }
}
