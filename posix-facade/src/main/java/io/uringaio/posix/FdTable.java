package io.uringaio.posix;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The {@link FdState}s of one context by descriptor number, sized by how many descriptors are in use, never by how
 * large a number a caller passes. Descriptors below {@link #DENSE_LIMIT} (every descriptor of an ordinary process: the
 * kernel hands out the lowest free number) index an array that grows on demand, at most {@code DENSE_LIMIT} slots
 * (256 KiB), so the hot path is one volatile read and an index. Any larger number, valid or not (a caller may pass
 * {@code Integer.MAX_VALUE}), lives in a map only while it has requests outstanding: its state is dropped when its last
 * one leaves, so a stream of bad numbers retains nothing. This is how the kernel's own descriptor table and glibc's
 * request list behave: memory follows the descriptors in use, not their values.
 */
final class FdTable {
    /** Descriptors below this index the dense array; the rest the map. */
    static final int DENSE_LIMIT = 1 << 16;

    /** The dense range of this table: {@link #DENSE_LIMIT}, or less for a test of the map. */
    private final int denseLimit;
    private volatile FdState[] dense = new FdState[16];
    private final Object growLock = new Object();
    /** States of descriptors at or above the dense range, present only while they have outstanding requests. */
    private final ConcurrentHashMap<Integer, FdState> sparse = new ConcurrentHashMap<>();

    FdTable() {
        this(DENSE_LIMIT);
    }

    /** A table whose dense range ends at {@code denseLimit} (tests use a small one to reach the map). */
    FdTable(int denseLimit) {
        this.denseLimit = denseLimit;
    }

    /** The state of {@code fd} ({@code fd >= 0}), or null when it has none. */
    FdState get(int fd) {
        if (fd < denseLimit) {
            FdState[] table = dense;
            return fd < table.length ? table[fd] : null;
        }
        return sparse.get(fd);
    }

    /**
     * Puts a snapshot request in its descriptor's order (setting WAITING or IN_KERNEL under the descriptor's monitor);
     * true when it may go to the kernel now. A negative fildes has no order: it goes at once, and
     * {@link RequestPrep#prepare} fails it with EBADF.
     */
    boolean enqueue(Aiocb cb) {
        if (cb.fd < 0) {
            cb.state = Aiocb.IN_KERNEL;
            return true;
        }
        return add(cb.fd, cb);
    }

    /**
     * Adds {@code cb} to the state of its descriptor {@code fd >= 0} ({@link FdState#add}); true when it may go to the
     * kernel now.
     */
    boolean add(int fd, Aiocb cb) {
        if (fd < denseLimit) {
            return denseState(fd).add(cb);
        }
        // Under the map's lock for this key, so a concurrent dropIfIdle cannot drop the state between lookup and add.
        boolean[] goesNow = new boolean[1];
        sparse.compute(fd, (key, state) -> {
            FdState s = state != null ? state : new FdState(true);
            goesNow[0] = s.add(cb);
            return s;
        });
        return goesNow[0];
    }

    /**
     * Forgets the flags kept for {@code fd} ({@link FdState#forgetFlags}), if it has a state. A map state is made and
     * keeps its first request's flags inside the map's compute, before a lookup can find it: under the key's lock here,
     * the forget waits for a compute under way and reaches the state it made (a lookup found none, and the state was
     * published with flags from before the forget).
     */
    void forgetFlags(int fd) {
        if (fd < denseLimit) {
            FdState state = get(fd);
            if (state != null) {
                state.forgetFlags();
            }
            return;
        }
        sparse.computeIfPresent(fd, (key, state) -> {
            state.forgetFlags();
            return state;
        });
    }

    /** After a request left {@code state} (of descriptor {@code fd}): a sparse state with nothing left is dropped. */
    void dropIfIdle(int fd, FdState state) {
        if (state.sparse) {
            sparse.computeIfPresent(fd, (key, current) -> current == state && current.isEmpty() ? null : current);
        }
    }

    /** Calls {@code action} for every state now in the table. */
    void forEach(Consumer<FdState> action) {
        for (FdState s : dense) {
            if (s != null) {
                action.accept(s);
            }
        }
        sparse.values().forEach(action);
    }

    /** The dense array's length now (for tests: it never exceeds the dense range). */
    int denseSlots() {
        return dense.length;
    }

    /** How many states the map holds now (for tests: zero once nothing above the dense range is outstanding). */
    int sparseStates() {
        return sparse.size();
    }

    private FdState denseState(int fd) {
        FdState[] table = dense;
        if (fd < table.length) {
            FdState s = table[fd];
            if (s != null) {
                return s;
            }
        }
        synchronized (growLock) {
            table = dense;
            if (fd >= table.length) {
                table = Arrays.copyOf(table, Math.min(denseLimit, Math.max(fd + 1, table.length * 2)));
            }
            if (table[fd] == null) {
                table[fd] = new FdState(false);
            }
            // A new array, or a new slot in the old one: the volatile write publishes the state to readers.
            dense = table;
            return table[fd];
        }
    }
}
