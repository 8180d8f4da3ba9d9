package io.uringaio.posix;

import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;

/**
 * The outstanding requests of one file descriptor, in call order: what {@code aio_cancel(fd, NULL)} cancels, what an
 * {@code aio_fsync} waits for, and what orders O_APPEND and overlapping writes. A request is held back (WAITING) while
 * an older one it must follow is outstanding:
 * <ul>
 * <li>an fsync, behind every older read and write (not behind an older fsync);</li>
 * <li>an O_APPEND write, behind every older write; so is any write to a pipe or socket, which has one stream and
 * ignores the offset (so its writes land in call order whatever offsets they name, as glibc's do);</li>
 * <li>a read of a pipe or socket, while another read of it is outstanding: one read of a stream is in flight at a
 * time, and the waiting ones go in ({@code aio_reqprio}, call order), so a stream's bytes go to its reads in that order
 * (at one priority, the first read gets the first bytes). In flight together, two reads race for the bytes: on the
 * thread pool each polls in its own worker, and on io_uring the facade's first read goes to the thread's caller ring
 * and the next to its Netty ring. glibc's POSIX AIO runs one descriptor's requests one at a time, so its reads keep
 * their order too;</li>
 * <li>a write, behind every older O_APPEND write and every older write whose range overlaps its own.</li>
 * </ul>
 *
 * <p>Every step is constant time except the blocker search of a plain (non-append) write, which walks the older
 * outstanding writes from the youngest back to the first that blocks it: one step when it overwrites the write just
 * before it, as many as there are outstanding writes when nothing blocks it. The structure, per descriptor:
 * <ul>
 * <li>{@code all}: every outstanding request in call order ({@code fdPrev/fdNext}), for cancel and close;</li>
 * <li>{@code rw}: the outstanding reads and writes in call order ({@code rwPrev/rwNext}): an fsync may go when none
 * older is left, i.e. when the oldest of them is younger than it (or there is none);</li>
 * <li>{@code writes}: the outstanding writes in call order ({@code wPrev/wNext}): an append may go when it is the
 * oldest of them;</li>
 * <li>two waiting queues in call order ({@code qPrev/qNext}): fsyncs and appends leave theirs from the front only
 * (each waits for everything older of its kind), so a completion looks at the front and stops at the first that must
 * still wait;</li>
 * <li>a waiting plain write waits on its youngest blocker, in that write's {@code dependents} (same links): when the
 * blocker leaves, its dependents become orphans and each looks again from where it stands for an older blocker, or
 * goes. A run of writes to one range is then a chain, each waiting on the one before it: constant work per request
 * however long the run (re-checking every waiting write on every completion made it quadratic).</li>
 * </ul>
 * Order numbers are given under the monitor, so they follow the lists even when threads race to submit.
 *
 * <p>Guarded by its own monitor. {@link #scanSteps()} counts the requests looked at, to test that the cost stays
 * linear.
 */
final class FdState {
    /** Kept in {@link FdTable}'s map (dropped when idle) rather than its dense array. */
    final boolean sparse;
    private final Chain all = new Chain(Chain.ALL);
    /** Requests {@link #remove}d here whose final status is not published yet ({@link #published}). */
    private int publishing;
    private final Chain rw = new Chain(Chain.RW);
    private final Chain writes = new Chain(Chain.WRITES);
    /** Reads of a stream sent to the engine and not yet removed: 0 or 1 (see the class comment). */
    private int streamReadsInFlight;
    /** Reads of a stream held back, in (priority, call order). */
    private final Chain waitingStreamReads = new Chain(Chain.QUEUE);
    private final Chain waitingSyncs = new Chain(Chain.QUEUE);
    private final Chain waitingAppends = new Chain(Chain.QUEUE);
    /** Waiting plain writes whose blocker left: each looks for an older one at the next release, or goes. */
    private final Chain orphans = new Chain(Chain.QUEUE);
    private long nextOrder;
    private long scanSteps;
    /**
     * The descriptor's file status flags ({@code fcntl(F_GETFL)}), asked of the kernel once and kept for this number
     * ({@link #flags}) until the facade sees the number change hands: {@link Unistd#close} (after settling the
     * requests), {@link Fcntl#open}, {@link Unistd#pipe} and {@link Fcntl#fcntl}'s {@code F_SETFL} forget them
     * ({@link #forgetFlags}), in every live context. They say where a read runs (O_DIRECT: in a ring; else the page
     * cache first) and whether a write is an append (O_APPEND orders it behind every older write). A system call per
     * request cost more than the rest of the submission (a buffered write at queue depth 32 went from 126k to 217k
     * IOPS without it), and one per busy run still cost one per request at queue depth 1. Written under the monitor
     * by {@link #add} (for a read or a write), or by a submitting thread whose own read was added here (after the monitor, so it
     * sees every forget made before its add; {@link #keep} drops its answer if a forget came while it asked);
     * forgotten under the monitor.
     */
    private int flags = FLAGS_UNKNOWN;
    private static final int FLAGS_UNKNOWN = -1;
    /**
     * How many times {@link #flags} was forgotten; written under the monitor, read by {@link #flags} before it asks
     * the kernel (volatile: the question may not move ahead of it; only a miss reads it). A reader that sees an old
     * count only keeps less ({@link #keep} compares under the monitor), never an answer older than a forget.
     */
    private volatile int forgets;
    /** For tests: the kernel was asked for the flags this many times (racy increments: tests submit from one thread). */
    private long flagQueries;
    /** Where the flags come from: {@code fcntl(F_GETFL)}; tests put a step in between to order a race. */
    IntUnaryOperator flagSource = newStatesAsk;
    /** {@link #flagSource} of states made from now on (read once per state); for tests, which restore it. */
    static volatile IntUnaryOperator newStatesAsk = RequestPrep::flagsNow;

    FdState(boolean sparse) {
        this.sparse = sparse;
    }

    /**
     * Appends {@code cb} and sets its state under this monitor (WAITING or IN_KERNEL), so a concurrent {@link #remove}
     * never sees a request that may go now as one it should release; true when it may go to the kernel now.
     */
    synchronized boolean add(Aiocb cb) {
        cb.fdOrder = nextOrder++;
        cb.fdState = this;
        if (cb.op == Aiocb.OP_WRITE) {
            int f = flags(cb.fd);
            cb.append = f >= 0 && (f & (Fcntl.O_APPEND | RequestPrep.STREAM)) != 0;
            // A blocking pipe or socket: its write is whole or failed, as write(2) is; O_NONBLOCK may end it short.
            cb.stream = f >= 0 && (f & RequestPrep.STREAM) != 0 && (f & Fcntl.O_NONBLOCK) == 0;
        } else if (cb.op == Aiocb.OP_READ) {
            int f = flags(cb.fd); // kept per descriptor: a field read for every request but the first
            cb.streamRead = f >= 0 && (f & RequestPrep.STREAM) != 0;
        }
        Chain queue = switch (cb.op) {
            case Aiocb.OP_READ -> cb.streamRead && streamReadsInFlight > 0 ? waitingStreamReads : null;
            case Aiocb.OP_WRITE -> cb.append ? (writes.isEmpty() ? null : waitingAppends)
                    : dependentsOf(youngestBlocker(cb, writes.tail));
            default -> rw.isEmpty() ? null : waitingSyncs;
        };
        all.addLast(cb);
        if (isTransfer(cb)) {
            rw.addLast(cb);
        }
        if (cb.op == Aiocb.OP_WRITE) {
            writes.addLast(cb);
        }
        if (queue == waitingStreamReads) {
            scanSteps += waitingStreamReads.addByPriority(cb);
            cb.waitQueue = queue;
            cb.state = Aiocb.WAITING;
            return false;
        }
        if (cb.streamRead) {
            streamReadsInFlight++;
        }
        if (queue != null) {
            queue.addLast(cb);
            cb.waitQueue = queue;
            cb.state = Aiocb.WAITING;
            return false;
        }
        cb.state = Aiocb.IN_KERNEL;
        return true;
    }

    /**
     * Removes the completed {@code cb}; returns the waiting requests it released, marked IN_KERNEL, chained through
     * {@code releasedNext} in (priority, call order), or null.
     */
    synchronized Aiocb remove(Aiocb cb) {
        if (cb.fdState != this) {
            return null;
        }
        publishing++; // until published(): its status is not final yet, though it is no longer listed here
        boolean transfer = isTransfer(cb);
        boolean write = cb.op == Aiocb.OP_WRITE;
        unlink(cb);
        return transfer ? release(write) : null;
    }

    /**
     * Removes a waiting request that was canceled; true if it was still waiting here. What it held back may go now:
     * {@link #releaseAfterCancel} hands those out.
     */
    synchronized boolean removeWaiting(Aiocb cb, long submission) {
        if (cb.fdState != this || cb.state != Aiocb.WAITING || cb.submission != submission) {
            return false;
        }
        unlink(cb);
        return true;
    }

    /** After a waiting request was canceled: whatever may go now (as {@link #remove}), or null. */
    synchronized Aiocb releaseAfterCancel() {
        return release(true);
    }

    /** Whether nothing is outstanding: a state kept in a map may then be dropped (under its monitor). */
    synchronized boolean isEmpty() {
        return all.isEmpty() && publishing == 0;
    }

    /** A request {@link #remove}d here has its final status published: a close waiting for it may go on. */
    synchronized void published() {
        if (publishing > 0 && --publishing == 0) {
            notifyAll();
        }
    }

    /**
     * Waits (at most until {@code deadlineNanos}, {@link System#nanoTime}) until every request removed from here has
     * its final status published. A completion removes its request from this list before it publishes the status
     * (the owner may reuse the block once it sees the status, and this list links blocks): a close in between found
     * the request in no list, and returned while its status still read EINPROGRESS. Interrupt: stops waiting, the
     * status stays set.
     */
    synchronized void awaitPublished(long deadlineNanos) {
        while (publishing > 0) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return;
            }
            try {
                wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One outstanding request as a cancel sees it: the block and which submission of it. */
    record Outstanding(Aiocb cb, long submission) {
    }

    /** The outstanding requests now, oldest first, each with its submission number (a block may be reused after). */
    synchronized Outstanding[] snapshot() {
        Outstanding[] out = new Outstanding[all.size];
        int i = 0;
        for (Aiocb a = all.head; a != null; a = a.fdNext) {
            out[i++] = new Outstanding(a, a.submission);
        }
        return out;
    }

    /**
     * Whether a read of descriptor {@code fd} (this state's, with the calling read outstanding here) may try the page
     * cache on the submitting thread: not O_DIRECT. Either answer gives the right result: it only chooses where a read
     * runs, as the fast path takes a read only when RWF_NOWAIT returned all of it and hands anything else to a ring.
     */
    boolean readsInline(int fd) {
        int f = flags(fd);
        return f >= 0 && (f & Fcntl.O_DIRECT) == 0;
    }

    /**
     * The descriptor's {@code F_GETFL} flags, or a negative errno: one {@code fcntl} for as long as the number keeps
     * its file, not one per request (see the field). A number closed and reopened, or whose flags change with
     * {@code F_SETFL}, by native code that bypasses the facade keeps the old answer here until the facade next
     * opens, closes or {@code F_SETFL}s that number. Nothing reads or writes wrong data then: a read only runs in a
     * ring instead of the page cache first or the other way round (the fast path takes a read only when RWF_NOWAIT
     * returned all of it), and the kernel appends by the flag it finds; only the facade's call-order guarantee among
     * O_APPEND writes needs the flag it knows to be current. An error is not kept: the next request asks again.
     */
    int flags(int fd) {
        int f = flags;
        if (f == FLAGS_UNKNOWN) {
            int asked = forgets; // before the question: a forget after it makes the answer too old to keep
            f = flagSource.applyAsInt(fd);
            flagQueries++;
            if (f >= 0) {
                keep(f, asked);
            }
        }
        return f;
    }

    /**
     * Keeps {@code f}, asked after {@code asked} forgets, unless a forget came since: a read asks outside the monitor,
     * and an {@code F_SETFL} made and forgotten while it asked must not be undone by its older answer (a write after
     * the {@code F_SETFL} returned would otherwise take the old O_APPEND until the next forget). Reentrant from
     * {@link #add}, where no forget can come in between.
     */
    private synchronized void keep(int f, int asked) {
        if (forgets == asked) {
            flags = f;
        }
    }

    /** Drops the kept flags: the number may now refer to another file, or its flags changed. */
    synchronized void forgetFlags() {
        forgets++;
        flags = FLAGS_UNKNOWN;
    }

    /** How many times this state asked the kernel for its descriptor's flags (for tests). */
    long flagQueries() {
        return flagQueries;
    }

    /** How many requests the ordering checks have looked at, over this state's life. */
    synchronized long scanSteps() {
        return scanSteps;
    }

    private static boolean isTransfer(Aiocb cb) {
        return cb.op == Aiocb.OP_READ || cb.op == Aiocb.OP_WRITE;
    }

    private void unlink(Aiocb cb) {
        if (cb.streamRead && cb.waitQueue != waitingStreamReads) {
            streamReadsInFlight--; // it was sent to the engine (a held-back one leaves its queue below)
        }
        all.remove(cb);
        if (isTransfer(cb)) {
            rw.remove(cb);
        }
        if (cb.op == Aiocb.OP_WRITE) {
            writes.remove(cb);
        }
        if (cb.waitQueue != null) {
            cb.waitQueue.remove(cb);
            cb.waitQueue = null;
        }
        Chain dependents = cb.dependents;
        if (dependents != null) {
            // Those waiting on cb look again at the next release (this one, for a completion or a cancel).
            for (Aiocb d = dependents.head; d != null; d = dependents.head) {
                scanSteps++;
                dependents.remove(d);
                orphans.addLast(d);
                d.waitQueue = orphans;
            }
        }
        cb.fdState = null;
    }

    /**
     * The waiting requests that may go now that a read or write (or a waiting request) left. A waiting request is
     * released here, never elsewhere, so each is handed out once.
     */
    private Aiocb release(boolean aWriteLeft) {
        Aiocb released = null;
        // fsyncs: each waits for every older read and write; the front one goes when the oldest of those is younger.
        for (Aiocb f = waitingSyncs.head; f != null; f = waitingSyncs.head) {
            scanSteps++;
            Aiocb oldest = rw.head;
            if (oldest != null && oldest.fdOrder < f.fdOrder) {
                break;
            }
            released = take(waitingSyncs, f, released);
        }
        // Reads of a stream: the front one (lowest priority value, then oldest) goes when none is in flight.
        Aiocb sr = waitingStreamReads.head;
        if (sr != null && streamReadsInFlight == 0) {
            scanSteps++;
            released = take(waitingStreamReads, sr, released);
            streamReadsInFlight++;
        }
        if (!aWriteLeft) {
            return released;
        }
        // Appends: the front one goes when no older write is left, i.e. it is the oldest write.
        Aiocb a = waitingAppends.head;
        if (a != null) {
            scanSteps++;
            if (writes.head == a) {
                released = take(waitingAppends, a, released);
            }
        }
        // Plain writes whose blocker left: wait on the next older blocker, or go.
        for (Aiocb p = orphans.head; p != null; p = orphans.head) {
            Aiocb blocker = youngestBlocker(p, p.wPrev);
            if (blocker == null) {
                released = take(orphans, p, released);
            } else {
                orphans.remove(p);
                Chain dependents = dependentsOf(blocker);
                dependents.addLast(p);
                p.waitQueue = dependents;
            }
        }
        return released;
    }

    /**
     * The youngest write at or before {@code from} (walking toward older ones) that a plain write {@code cb} must
     * follow: an O_APPEND (or stream) write, or one whose range overlaps cb's; null when none.
     */
    private Aiocb youngestBlocker(Aiocb cb, Aiocb from) {
        long end = end(cb);
        for (Aiocb older = from; older != null; older = older.wPrev) {
            scanSteps++;
            if (older.append || older.offset < end && cb.offset < end(older)) {
                return older;
            }
        }
        return null;
    }

    /**
     * Where a write's range ends, {@code offset + nbytes}, held at Long.MAX_VALUE where the sum would wrap: a pipe
     * takes such an offset (it ignores it), and a wrapped end made the range overlap nothing, so a run of writes to
     * it went unordered.
     */
    private static long end(Aiocb w) {
        long end = w.offset + w.nbytes;
        return end < w.offset ? Long.MAX_VALUE : end;
    }

    /** The list of writes waiting on {@code blocker} (made once per control block, reused), or null for none. */
    private static Chain dependentsOf(Aiocb blocker) {
        if (blocker == null) {
            return null;
        }
        if (blocker.dependents == null) {
            blocker.dependents = new Chain(Chain.QUEUE);
        }
        return blocker.dependents;
    }

    /** Takes {@code cb} off its waiting queue, marks it IN_KERNEL and inserts it in {@code chain} by priority. */
    private static Aiocb take(Chain queue, Aiocb cb, Aiocb chain) {
        queue.remove(cb);
        cb.waitQueue = null;
        cb.state = Aiocb.IN_KERNEL;
        // Releases are few per completion (usually one): an insertion into a short chain.
        if (chain == null || before(cb, chain)) {
            cb.releasedNext = chain;
            return cb;
        }
        Aiocb at = chain;
        while (at.releasedNext != null && !before(cb, at.releasedNext)) {
            at = at.releasedNext;
        }
        cb.releasedNext = at.releasedNext;
        at.releasedNext = cb;
        return chain;
    }

    private static boolean before(Aiocb a, Aiocb b) {
        return a.priority != b.priority ? a.priority < b.priority : a.fdOrder < b.fdOrder;
    }

    /**
     * One intrusive doubly linked list in call order, over one of the {@code Aiocb}'s link pairs. The waiting lists
     * (queues, dependents, orphans) share one pair: a request waits in at most one of them.
     */
    static final class Chain {
        static final int ALL = 0;
        static final int RW = 1;
        static final int WRITES = 2;
        static final int QUEUE = 3;

        private final int links;
        Aiocb head;
        Aiocb tail;
        int size;

        Chain(int links) {
            this.links = links;
        }

        boolean isEmpty() {
            return head == null;
        }

        void addLast(Aiocb cb) {
            setPrev(cb, tail);
            setNext(cb, null);
            if (tail == null) {
                head = cb;
            } else {
                setNext(tail, cb);
            }
            tail = cb;
            size++;
        }

        /**
         * Inserts {@code cb} behind every request whose priority value is not above its own: in (priority, call
         * order) when the chain is and {@code cb} is the youngest. Returns the requests stepped over: none when all
         * share a priority.
         */
        int addByPriority(Aiocb cb) {
            Aiocb after = tail;
            int steps = 0;
            while (after != null && after.priority > cb.priority) {
                after = prev(after);
                steps++;
            }
            if (after == tail) {
                addLast(cb);
                return steps;
            }
            Aiocb next = after == null ? head : next(after);
            setPrev(cb, after);
            setNext(cb, next);
            if (after == null) {
                head = cb;
            } else {
                setNext(after, cb);
            }
            setPrev(next, cb);
            size++;
            return steps;
        }

        void remove(Aiocb cb) {
            Aiocb prev = prev(cb);
            Aiocb next = next(cb);
            if (prev == null) {
                head = next;
            } else {
                setNext(prev, next);
            }
            if (next == null) {
                tail = prev;
            } else {
                setPrev(next, prev);
            }
            setPrev(cb, null);
            setNext(cb, null);
            size--;
        }

        private Aiocb prev(Aiocb cb) {
            return switch (links) {
                case ALL -> cb.fdPrev;
                case RW -> cb.rwPrev;
                case WRITES -> cb.wPrev;
                default -> cb.qPrev;
            };
        }

        private Aiocb next(Aiocb cb) {
            return switch (links) {
                case ALL -> cb.fdNext;
                case RW -> cb.rwNext;
                case WRITES -> cb.wNext;
                default -> cb.qNext;
            };
        }

        private void setPrev(Aiocb cb, Aiocb v) {
            switch (links) {
                case ALL -> cb.fdPrev = v;
                case RW -> cb.rwPrev = v;
                case WRITES -> cb.wPrev = v;
                default -> cb.qPrev = v;
            }
        }

        private void setNext(Aiocb cb, Aiocb v) {
            switch (links) {
                case ALL -> cb.fdNext = v;
                case RW -> cb.rwNext = v;
                case WRITES -> cb.wNext = v;
                default -> cb.qNext = v;
            }
        }
    }
}
