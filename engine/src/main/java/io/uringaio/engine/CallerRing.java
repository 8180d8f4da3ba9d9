package io.uringaio.engine;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A caller-driven io_uring: a ring set up through FFM, with no thread of its own. The thread that submits writes the
 * SQE and enters the kernel itself; a thread that waits for a request of this ring waits inside
 * {@code io_uring_enter} and reaps every CQE it finds, so a thread that waits for its own I/O never hands it to
 * another thread. Completions nobody waits for are reaped by the engine's reaper thread ({@link CallerLanes}), woken
 * through an eventfd registered on this ring.
 *
 * <p><b>Locking.</b> One {@link ReentrantLock} guards the SQ, the CQ head, the slot table and the counts: any thread
 * may submit, cancel or reap. Nothing blocks under it except {@code io_uring_enter(to_submit=1)} (no GETEVENTS).
 * Waiting in the kernel happens outside the lock, so many threads may wait at once. Completions are delivered outside
 * the lock, on the thread that reaped them, each exactly once (its slot is released under the lock by exactly one
 * reaper).
 *
 * <p><b>Eventfd.</b> While at least one thread waits inside, {@code IORING_CQ_EVENTFD_DISABLED} is set: the waiter
 * reaps, the reaper need not wake. The last waiter to leave clears the flag and reaps once more, so a CQE posted while
 * the flag was set is not stranded. The reaper leaves a ring alone only while a waiter is in the kernel; a waiter that
 * is running callbacks (one may block) does not hold back what nobody waits for: the reaper's periodic pass finds it.
 *
 * <p><b>Callbacks that block.</b> Completions reaped together are delivered in order on the reaping thread; a callback
 * that blocks delays the ones behind it in its batch (as on a ring thread), except for what a wait from inside that
 * callback (a {@code join}, {@code awaitInLane}) needs: that wait delivers the rest of the batch first.
 *
 * <p><b>Bounds.</b> At most {@code maxInFlight} requests in the kernel plus {@link #CONTROL_SLOTS} cancels; the CQ has
 * twice the SQ's entries, so it never overflows. A submission that finds the ring full is refused
 * ({@link #tryAccept}), and the engine sends it to a Netty ring instead.
 */
final class CallerRing implements Lane {
    /** Slots kept for cancels, as in {@link Ring}. */
    static final int CONTROL_SLOTS = 32;
    /**
     * Longest single wait in the kernel. An FFM call cannot be interrupted, so a waiter comes back at least this often
     * to look at its interrupt status, the close, and its own deadline.
     */
    static final long SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** User data of a wake-up NOP: outside every tag (tags are 16 bits). */
    private static final long KICK_USER_DATA = 1L << 32;
    /** Unreaped wake-up NOPs at most; more would wake nobody new. */
    private static final int MAX_KICKS = 4;
    private static final int SUBMIT_ATTEMPTS = 64;
    private static final int SQE_SIZE = 64;
    private static final int CQE_SIZE = 16;
    private static final int GETEVENTS_ARG_SIZE = 24;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int index;
    private final int ringFd;
    private final long ringAddress;
    private final long ringLength;
    private final long sqesAddress;
    private final long sqesLength;
    private final MemorySegment ring;
    private final MemorySegment sqes;
    private final Runnable afterBatch;
    private final Consumer<Request> rehome;
    private final int maxInFlight;

    // Offsets into the ring mapping (io_sqring_offsets / io_cqring_offsets).
    private final long sqHeadOffset;
    private final long sqTailOffset;
    private final int sqMask;
    private final long cqHeadOffset;
    private final long cqTailOffset;
    private final int cqMask;
    private final long cqFlagsOffset;
    private final long cqesOffset;

    private final ReentrantLock lock = new ReentrantLock();
    // Guarded by lock.
    private final RequestTable table;
    private final ArrayDeque<LaneCancel> controlWaiting = new ArrayDeque<>();
    private int sqTail;
    private int cqHead;
    private int userInFlight;
    private int controlInFlight;
    /** SQEs the last failed {@link #enterSubmitted} took back. */
    private int withdrawn;
    /**
     * Where the last {@link #enterSubmitted} of a chain found the kernel had taken only part of it: bit i set when
     * member i was the first of a part ({@link #cutChainLocked}). Chains have at most 16 members.
     */
    private int cuts;
    private int kicksInFlight;
    private int waitersInside;
    private boolean closing;
    private boolean closedForWaiters;
    private boolean released;

    /** {@link #waitersInside}, readable without the lock (the kick decision). */
    private volatile int waitersGauge;
    /**
     * Waiters inside {@code io_uring_enter} now (not those delivering what they reaped: a callback there may block).
     * The reaper leaves the ring to them only while one is in the kernel, where a CQE wakes it at once.
     */
    private final AtomicInteger waitersInKernel = new AtomicInteger();
    private volatile int inFlightGauge;
    private final LongAdder submitted = new LongAdder();
    private final LongAdder completed = new LongAdder();
    private final LongAdder enters = new LongAdder();
    /** Kernel waits of {@link #await} (one per slice), for tests: a waiter that polls in slices shows here. */
    final LongAdder waitSlices = new LongAdder();
    private final LongAdder sqeCount = new LongAdder();

    private CallerRing(int index, int ringFd, long ringAddress, long ringLength, long sqesAddress, long sqesLength,
                       MemorySegment params, int maxInFlight, Runnable afterBatch, Consumer<Request> rehome) {
        this.index = index;
        this.ringFd = ringFd;
        this.ringAddress = ringAddress;
        this.ringLength = ringLength;
        this.sqesAddress = sqesAddress;
        this.sqesLength = sqesLength;
        this.ring = MemorySegment.ofAddress(ringAddress).reinterpret(ringLength);
        this.sqes = MemorySegment.ofAddress(sqesAddress).reinterpret(sqesLength);
        this.maxInFlight = maxInFlight;
        this.afterBatch = afterBatch;
        this.rehome = rehome;
        this.sqHeadOffset = params.get(JAVA_INT, 40);
        this.sqTailOffset = params.get(JAVA_INT, 44);
        this.sqMask = ring.get(JAVA_INT, params.get(JAVA_INT, 48));
        this.cqHeadOffset = params.get(JAVA_INT, 80);
        this.cqTailOffset = params.get(JAVA_INT, 84);
        this.cqMask = ring.get(JAVA_INT, params.get(JAVA_INT, 88));
        this.cqesOffset = params.get(JAVA_INT, 100);
        this.cqFlagsOffset = params.get(JAVA_INT, 104);
        this.table = new RequestTable(maxInFlight + CONTROL_SLOTS);
        this.sqTail = (int) INT.getAcquire(ring, sqTailOffset);
        this.cqHead = (int) INT.getAcquire(ring, cqHeadOffset);
        // Slot i of the SQ array always names SQE i: SQEs are written in ring order, so the indirection is identity.
        long arrayOffset = params.get(JAVA_INT, 64);
        int sqEntries = params.get(JAVA_INT, 0);
        for (int i = 0; i < sqEntries; i++) {
            ring.set(JAVA_INT, arrayOffset + 4L * i, i);
        }
    }

    /**
     * Sets up a ring of {@code entries} SQ entries (CQ twice that) and registers {@code eventFd} on it.
     * {@code rehome} takes the requests the kernel canceled because their submitting thread exited (see
     * {@link #finishLocked}).
     *
     * @throws UnsupportedOperationException with the reason, when the kernel refuses or lacks a needed feature
     *                                       (single mmap, no-drop CQ, extended enter arguments); nothing is left open
     */
    static CallerRing open(int index, int entries, int maxInFlight, int eventFd, Runnable afterBatch,
                           Consumer<Request> rehome) {
        if (maxInFlight + CONTROL_SLOTS > entries) {
            maxInFlight = entries - CONTROL_SLOTS;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(Uapi.IO_URING_PARAMS_SIZE, 8);
            int fd = Libc.ioUringSetup(entries, params.address());
            if (fd < 0) {
                throw new UnsupportedOperationException("io_uring_setup: " + ErrnoTable.describe(-fd));
            }
            long ringAddress = 0;
            long ringLength = 0;
            long sqesAddress = 0;
            long sqesLength = 0;
            try {
                int features = params.get(JAVA_INT, 20);
                int needed = Uapi.IORING_FEAT_SINGLE_MMAP | Uapi.IORING_FEAT_NODROP
                        | Uapi.IORING_FEAT_EXT_ARG;
                if ((features & needed) != needed) {
                    throw new UnsupportedOperationException("io_uring lacks SINGLE_MMAP, NODROP or EXT_ARG (features 0x"
                            + Integer.toHexString(features) + ")");
                }
                int sqEntries = params.get(JAVA_INT, 0);
                int cqEntries = params.get(JAVA_INT, 4);
                ringLength = Math.max(params.get(JAVA_INT, 64) + 4L * sqEntries,
                        params.get(JAVA_INT, 100) + (long) CQE_SIZE * cqEntries);
                ringAddress = mapOrThrow(ringLength, fd, Uapi.IORING_OFF_SQ_RING, "rings");
                sqesLength = (long) SQE_SIZE * sqEntries;
                sqesAddress = mapOrThrow(sqesLength, fd, Uapi.IORING_OFF_SQES, "SQEs");
                MemorySegment efd = arena.allocate(JAVA_INT);
                efd.set(JAVA_INT, 0, eventFd);
                int res = Libc.ioUringRegister(fd, Uapi.IORING_REGISTER_EVENTFD, efd.address(), 1);
                if (res < 0) {
                    throw new UnsupportedOperationException("IORING_REGISTER_EVENTFD: " + ErrnoTable.describe(-res));
                }
                return new CallerRing(index, fd, ringAddress, ringLength, sqesAddress, sqesLength, params,
                        Math.min(maxInFlight, sqEntries - CONTROL_SLOTS), afterBatch, rehome);
            } catch (RuntimeException e) {
                if (sqesAddress > 0) {
                    Libc.munmap(sqesAddress, sqesLength);
                }
                if (ringAddress > 0) {
                    Libc.munmap(ringAddress, ringLength);
                }
                Libc.close(fd);
                throw e;
            }
        }
    }

    private static long mapOrThrow(long length, int fd, long offset, String what) {
        long address = Libc.mmapShared(length, fd, offset);
        if (address < 0 && address > -4096) {
            throw new UnsupportedOperationException("mmap of the io_uring " + what + ": "
                    + ErrnoTable.describe((int) -address));
        }
        return address;
    }

    // ---------------------------------------------------------------- submission (any thread)

    /**
     * Submits a QUEUED request, or a chain linked through {@code linkNext} ({@link #chainEligible}), whose
     * {@code ring} is this one: writes its SQEs and enters the kernel once, on this thread. False when the ring has no
     * room for all of it or is closing: nothing happened to the requests and the caller sends them elsewhere. A
     * request the kernel refuses to take (an enter error that persists) completes here with that {@code -errno} (the
     * members of a chain behind it {@code -ECANCELED}, as the kernel ends them when a link fails), before this returns.
     *
     * <p>A request the kernel completes during the enter itself (a buffered read of cached pages, a buffered write)
     * also completes here, on this thread, before this returns: the eventfd is off for the enter and this thread reaps
     * right after, so such a completion wakes neither the reaper nor anyone else. Not when this thread is already
     * delivering completions (a callback that submits again): there the nesting would grow with every resubmission,
     * so those completions take the usual way (a waiter or the reaper).
     */
    boolean tryAccept(Request head) {
        int members = head.linkNext == null ? 1 : head.chainLength();
        Scratch s = SCRATCH.get();
        Batch batch = s.openBatch(this);
        try {
            lock.lock();
            try {
                if (closing || userInFlight + members > maxInFlight) {
                    return false;
                }
                submitted.add(members);
                if (head.chainCancelRequested()) {
                    // A cancel ran between the engine's hand-off and this lock: it answered CANCELED (a chain ends
                    // whole, as on a Netty ring).
                    for (Request r = head; r != null; r = r.linkNext) {
                        endLocked(r, -ErrnoTable.ECANCELED, batch);
                    }
                } else {
                    boolean reapHere = s.depth == 1; // only this call's batch is open: not inside a delivery
                    if (reapHere) {
                        eventfdOff();
                    }
                    submitChainLocked(head, members, batch);
                    if (reapHere) {
                        eventfdOnUnlessWaiters();
                        reapLocked(batch);
                    }
                }
            } finally {
                lock.unlock();
            }
            deliver(batch, s.waiting > 0);
            return true;
        } finally {
            s.closeBatch();
        }
    }

    /**
     * Whether a chain may go to a caller ring: every member before the last is one whose full result the ring can
     * tell ({@link #ranInFull}: a read or write of its length, an {@code fsync}, {@code fallocate} or NOP), so that an
     * {@code -ECANCELED} behind it is known as either a broken link (delivered) or the kernel's cancel of an exited
     * submitter's work (sent to a Netty ring), and no member is a linked timeout (whose {@code -ECANCELED} of the
     * timed request is the chain's own outcome).
     */
    static boolean chainEligible(Request[] chain) {
        for (int i = 0; i < chain.length; i++) {
            byte op = chain[i].opcode;
            if (op == Uapi.IORING_OP_LINK_TIMEOUT) {
                return false;
            }
            if (i + 1 < chain.length && op != Uapi.IORING_OP_READ && op != Uapi.IORING_OP_WRITE
                    && op != Uapi.IORING_OP_FSYNC && op != Uapi.IORING_OP_FALLOCATE && op != Uapi.IORING_OP_NOP) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a chain member of {@link #chainEligible} ran in full, so that the kernel went on to the next member: a
     * read or write that moved all its bytes (a short one breaks the link), any other that did not fail.
     */
    private static boolean ranInFull(Request r, int res) {
        boolean transfer = r.opcode == Uapi.IORING_OP_READ || r.opcode == Uapi.IORING_OP_WRITE;
        return transfer ? res == r.length : res >= 0;
    }

    /**
     * Takes a slot for each member of the chain at {@code head} ({@code members} of them; one for a lone request),
     * writes their SQEs, linked, and submits them together. Members the kernel did not take complete in
     * {@code batch}: the first with the enter's {@code -errno}, those behind it {@code -ECANCELED}.
     */
    private void submitChainLocked(Request head, int members, Batch batch) {
        byte after = Request.AFTER_NOTHING;
        for (Request r = head; r != null; r = r.linkNext) {
            int tag = table.acquire(r);
            inFlightGauge = ++userInFlight;
            r.userData = tag;
            r.afterPrevious = after;
            r.orphanHead = null;
            r.state.set(Request.IN_KERNEL);
            writeSqe(r.opcode, (byte) (r.sqeFlags | (r.linkNext != null ? Uapi.IOSQE_IO_LINK : 0)), r.ioPrio, r.fd,
                    r.offset, r.address, r.length, r.opFlags, tag);
            after = Request.AFTER_PENDING;
        }
        int res = enterSubmitted(members);
        if (res < 0) {
            int taken = members - withdrawn;
            Request r = head;
            for (int i = 0; i < taken; i++) {
                r = r.linkNext;
            }
            for (int failed = 0; r != null; r = r.linkNext, failed++) {
                table.release((int) r.userData);
                inFlightGauge = --userInFlight;
                endLocked(r, failed == 0 ? res : -ErrnoTable.ECANCELED, batch);
            }
        }
        if (cuts != 0) {
            cutChainLocked(head); // after the walk above, which follows the links to the members not taken
        }
    }

    /**
     * The kernel took the chain in parts ({@link #cuts}): each part ran as a chain of its own, so the ring's
     * bookkeeping is cut there too. The member before a cut ends its chain (an exit's cancel of it hands it on alone,
     * never with members the kernel ran or ended apart); the member after a cut heads one (the members not taken at
     * all, after a failed enter, are ended already).
     */
    private void cutChainLocked(Request head) {
        Request prev = null;
        int i = 0;
        for (Request r = head; r != null; prev = r, r = r.linkNext, i++) {
            if ((cuts & (1 << i)) != 0 && prev != null) {
                prev.linkNext = null;
                r.afterPrevious = Request.AFTER_NOTHING;
            }
        }
        cuts = 0;
    }

    /**
     * Takes a slot for the cancel {@code r}, writes its SQE and submits it. 0 once the kernel took it; else
     * {@code -errno} with the slot released and the SQE withdrawn (the kernel never saw it).
     */
    private int submitControlLocked(Request r) {
        int tag = table.acquire(r);
        controlInFlight++;
        r.userData = tag;
        r.state.set(Request.IN_KERNEL);
        writeSqe(r.opcode, r.sqeFlags, r.ioPrio, r.fd, r.offset, r.address, r.length, r.opFlags, tag);
        int res = enterSubmitted(1);
        if (res < 0) {
            table.release(tag);
            controlInFlight--;
        }
        return res;
    }

    /** The one place an SQE is written: at the SQ tail, published with a release store the kernel reads. */
    private void writeSqe(byte opcode, byte flags, short ioPrio, int fd, long offset, long address, int length,
                          int opFlags, long userData) {
        long base = (long) (sqTail & sqMask) * SQE_SIZE;
        sqes.set(JAVA_BYTE, base, opcode);
        sqes.set(JAVA_BYTE, base + 1, flags);
        sqes.set(JAVA_SHORT, base + 2, ioPrio);
        sqes.set(JAVA_INT, base + 4, fd);
        sqes.set(JAVA_LONG, base + 8, offset);
        sqes.set(JAVA_LONG, base + 16, address);
        sqes.set(JAVA_INT, base + 24, length);
        sqes.set(JAVA_INT, base + 28, opFlags);
        sqes.set(JAVA_LONG, base + 32, userData);
        sqes.set(JAVA_LONG, base + 40, 0L); // buf_index, personality, splice_fd_in
        sqes.set(JAVA_LONG, base + 48, 0L); // addr3
        sqes.set(JAVA_LONG, base + 56, 0L);
        sqTail++;
        // Release: the SQE's bytes are visible to the kernel before the tail that hands it over.
        INT.setRelease(ring, sqTailOffset, sqTail);
    }

    /**
     * Hands the last {@code count} SQEs at the tail to the kernel. Retries what is transient (EINTR, EAGAIN, EBUSY); on
     * a persistent error withdraws the SQEs the kernel did not consume (the head did not reach them), counts them in
     * {@link #withdrawn} and returns the error; 0 once all were taken.
     *
     * <p>A kernel short of memory may take the first members of a chain and not the rest: it then runs what it took as
     * a chain of its own, so the rest go in with {@code IOSQE_IO_DRAIN}, which starts them only after everything
     * submitted before has completed (the order the link promised, though a failed member no longer cancels them).
     */
    private int enterSubmitted(int count) {
        int res = 0;
        int left = count;
        for (int attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt++) {
            // The first attempt without errno capture (the linker's capture allocates outside C2-compiled code); a
            // failed one is made again with it, to learn whether the error is worth retrying.
            res = attempt == 0 ? Libc.ioUringEnterNoErrno(ringFd, left, 0, 0, 0, 0)
                    : Libc.ioUringEnter(ringFd, left, 0, 0, 0, 0);
            enters.increment();
            int notTaken = sqTail - (int) INT.getAcquire(ring, sqHeadOffset);
            if (notTaken == 0) {
                sqeCount.add(count);
                return 0;
            }
            if (notTaken < left) {
                left = notTaken;
                cuts |= 1 << (count - left); // the first member not taken heads a chain of its own
                drainNext();
                continue;
            }
            if (attempt == 0) {
                continue; // errno unknown: ask again, capturing it
            }
            if (res < 0 && res != -ErrnoTable.EINTR && res != -ErrnoTable.EAGAIN && res != -ErrnoTable.EBUSY) {
                break;
            }
            Thread.onSpinWait();
        }
        sqeCount.add(count - left);
        sqTail -= left;
        INT.setRelease(ring, sqTailOffset, sqTail);
        withdrawn = left;
        return res < 0 ? res : -ErrnoTable.EAGAIN;
    }

    /** Adds {@code IOSQE_IO_DRAIN} to the first SQE the kernel has not consumed (see {@link #enterSubmitted}). */
    private void drainNext() {
        int head = (int) INT.getAcquire(ring, sqHeadOffset);
        long flags = (long) (head & sqMask) * SQE_SIZE + 1;
        sqes.set(JAVA_BYTE, flags, (byte) (sqes.get(JAVA_BYTE, flags) | Uapi.IOSQE_IO_DRAIN));
    }

    // ---------------------------------------------------------------- completion (any thread, under the lock)

    /** Reaps every CQE present into {@code batch}; returns how many. */
    private int reapLocked(Batch batch) {
        assert lock.isHeldByCurrentThread();
        if (released) {
            return 0;
        }
        int head = cqHead;
        // Acquire: the CQE's bytes written by the kernel are visible once its tail is.
        int tail = (int) INT.getAcquire(ring, cqTailOffset);
        int n = 0;
        while (head != tail) {
            long base = cqesOffset + (long) (head & cqMask) * CQE_SIZE;
            long userData = ring.get(JAVA_LONG, base);
            int res = ring.get(JAVA_INT, base + 8);
            head++;
            n++;
            onCqe(userData, res, batch);
        }
        if (n > 0) {
            cqHead = head;
            // Release: the kernel may reuse these CQE slots only after we read them.
            INT.setRelease(ring, cqHeadOffset, head);
            writeWaitingControls(batch);
        }
        return n;
    }

    private void onCqe(long userData, int res, Batch batch) {
        if (userData == KICK_USER_DATA) {
            kicksInFlight--;
            return;
        }
        Request r = table.release((int) userData);
        if (r == null) {
            return; // not a current tag: cannot happen, every SQE with a tag holds its slot until its CQE
        }
        if (r.control) {
            controlInFlight--;
            ((LaneCancel) r.completion()).cancelAnswered(res, batch);
            return;
        }
        inFlightGauge = --userInFlight;
        finishLocked(r, res < 0 ? Ring.restartAsEintr(res) : res, batch);
    }

    /**
     * Makes {@code r}'s result final and queues its delivery; the cancels watching it learn how it ended.
     *
     * <p>One exception: {@code -ECANCELED} (or {@code -EINTR}: {@link #endedForExit}) that no cancel of ours asked for (none watches the request, the ring is not
     * closing) on a request that could have started (a lone one, a chain's head, a member whose predecessor ran in
     * full). The kernel ties a request to the thread that submitted it, and when that thread exits before the request
     * ends, the kernel cancels what it has not started (its io-wq work, and a poll-driven read whose data arrives
     * later). The request never ran, so it is handed to a Netty ring instead of failing: a request nobody canceled
     * never ends {@code -ECANCELED}. A chain member goes there with the members behind it, still linked, once their
     * own {@code -ECANCELED} (the kernel fails the rest of a chain after its canceled member: its completion comes
     * first) is reaped and dropped; a member behind one that failed or fell short ends {@code -ECANCELED}, the
     * chain's own outcome.
     */
    private void finishLocked(Request r, int res, Batch batch) {
        if (r.orphanHead != null) {
            followOrphanLocked(r, batch);
            return;
        }
        Request next = r.linkNext; // cleared by the delivery
        boolean couldStart = r.afterPrevious == Request.AFTER_NOTHING || r.afterPrevious == Request.AFTER_SUCCESS;
        if (endedForExit(res) && couldStart && r.laneCancels == null && !r.cancelRequested && !closing) {
            submitted.decrement(); // counted again where it goes
            // Queued again now, under the lock, not when the batch hands it on: a cancel in between (a callback of
            // this batch, another thread) finds it queued (CANCELED, honoured where it goes), not "already done" for
            // a request that then runs to its own result.
            r.state.set(Request.QUEUED);
            if (next == null) {
                r.linked = false; // alone from here (a chain's last member): it is a lone request where it goes
                batch.addOrphan(r);
            } else {
                for (Request m = next; m != null; m = m.linkNext) {
                    m.orphanHead = r;
                }
            }
            return;
        }
        if (next != null && inKernelHere(next)) {
            next.afterPrevious = r.afterPrevious != Request.AFTER_PENDING && ranInFull(r, res)
                    ? Request.AFTER_SUCCESS : Request.AFTER_FAILURE;
        }
        endLocked(r, res, batch);
    }

    /**
     * Whether {@code res} is how the kernel ends a request of an exited submitter that nobody canceled: {@code -ECANCELED}
     * for one it had not started, {@code -EINTR} for one blocked in an io-wq worker (a chain member behind one that ran
     * there is issued by that worker, and a pipe read then blocks in it), which the exit interrupts before it moved a
     * byte (a read or write that moved some ends with its count).
     */
    private static boolean endedForExit(int res) {
        return res == -ErrnoTable.ECANCELED || res == -ErrnoTable.EINTR;
    }

    /** Makes {@code r}'s result final as it is and queues its delivery; the cancels watching it learn how it ended. */
    private void endLocked(Request r, int res, Batch batch) {
        // The close's cancel (or another of ours) may have interrupted it in an io-wq worker: canceled then.
        res = Ring.interruptedAsCanceled(res, r.closedByEngine || r.laneCancels != null);
        r.result = res;
        // close() marked what it canceled; a request that still ran to its own result was not canceled by close.
        r.closedByEngine = r.closedByEngine && res == -ErrnoTable.ECANCELED;
        batch.add(r); // before the cancels' outcomes: a canceler that sees CANCELED finds the callback already run
        if (r.laneCancels != null) {
            LaneCancel.targetEnded(r, res, batch);
        }
    }

    /**
     * The reaped completion of a chain member behind an orphan ({@link #finishLocked}): the kernel's
     * {@code -ECANCELED} for the broken link, dropped; the member is queued again with its orphan, which goes to a
     * Netty ring with its chain once the last member is reaped. A cancel that watched this member is answered
     * CANCELED, and the chain it belongs to ends canceled where it goes.
     */
    private void followOrphanLocked(Request r, Batch batch) {
        Request head = r.orphanHead;
        r.orphanHead = null;
        submitted.decrement();
        r.state.set(Request.QUEUED);
        if (r.laneCancels != null) {
            r.cancelRequested = true;
            LaneCancel.targetEnded(r, -ErrnoTable.ECANCELED, batch);
        }
        if (r.linkNext == null) {
            batch.addOrphan(head);
        }
    }

    /**
     * Runs what a reap gathered, outside the lock: each request's completion (once: its slot was released by exactly
     * one reaper), each decided cancel's outcome, then the after-batch hook. When other threads wait inside the kernel
     * for requests this thread just delivered, they may have entered after their CQE was reaped; a NOP wakes them.
     */
    private int deliver(Batch batch, boolean selfInside) {
        int users = 0;
        DeferredWakes.open(); // threads blocked on these completions are woken once, after the batch
        try {
            // Cursors, not loop indices: a callback below may wait in a lane, and that wait delivers the rest of this
            // batch first (drainOuterBatches); this loop then finds it done.
            while (batch.next < batch.count) {
                Request r = batch.items[batch.next];
                batch.items[batch.next++] = null;
                if (r.control) {
                    DeferredWakes wakes = DeferredWakes.current();
                    int outer = wakes.suspendBatch(); // a cancel's outcome future may have dependents of the user
                    try {
                        ((LaneCancel) r.completion()).publish();
                    } finally {
                        wakes.resumeBatch(outer);
                    }
                } else {
                    users++;
                    completed.increment();
                    r.deliver();
                }
            }
        } finally {
            DeferredWakes.close();
        }
        boolean rehomed = batch.nextOrphan < batch.orphanCount;
        while (batch.nextOrphan < batch.orphanCount) {
            Request r = batch.orphans[batch.nextOrphan];
            batch.orphans[batch.nextOrphan++] = null;
            rehome.accept(r); // QUEUED since its reap (finishLocked)
        }
        batch.reset();
        if (users > 0) {
            Request.runAfterBatch(afterBatch);
        }
        // Waiters inside re-check: for what was delivered, or for an operation that left for a Netty ring (its waiter
        // then sleeps until that ring completes it, rather than wait here in slices).
        if ((users > 0 || rehomed) && waitersGauge > (selfInside ? 1 : 0)) {
            kick();
        }
        return users;
    }

    /** Posts a NOP whose CQE wakes every thread waiting in the kernel on this ring. */
    private void kick() {
        lock.lock();
        try {
            if (released || kicksInFlight >= MAX_KICKS) {
                return;
            }
            kicksInFlight++;
            writeSqe(Uapi.IORING_OP_NOP, (byte) 0, (short) 0, -1, 0, 0, 0, 0, KICK_USER_DATA);
            if (enterSubmitted(1) < 0) {
                kicksInFlight--;
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The reaper's step: reaps and delivers, unless a thread waits inside the kernel (it reaps everything itself: its
     * enter returns at once while a CQE is present, and it reaps again when it leaves), so the reaper does not contend
     * for the lock nor take the waiter's completion from it. A waiter that is running callbacks is not in the kernel:
     * one of them may block, and the completions nobody waits for must not wait for it (the eventfd stays off while a
     * waiter is counted in, so those are found by the reaper's periodic pass, within {@link
     * CallerLanes#REAPER_POLL_MILLIS}).
     */
    void reapForReaper() {
        if (waitersInKernel.get() == 0) {
            reapAndDeliver();
        }
    }

    /** Reaps whatever is present and delivers it; returns how many request completions ran. */
    int reapAndDeliver() {
        Scratch s = SCRATCH.get();
        Batch batch = s.openBatch(this);
        try {
            lock.lock();
            try {
                reapLocked(batch);
            } finally {
                lock.unlock();
            }
            return deliver(batch, s.waiting > 0);
        } finally {
            s.closeBatch();
        }
    }

    // ---------------------------------------------------------------- waiting (any platform thread)

    /**
     * Waits inside this ring until {@code what} is done (a {@link java.util.concurrent.Future}, or a {@link Request}
     * no longer in flight here), for at most {@code maxNanos}, reaping and delivering every completion it meets,
     * including other threads' requests. Returns early once it ran at least one completion (the caller re-checks its
     * own condition: one of several requests it waits for may be done), when the thread is interrupted (its status
     * is left set), or when the ring closes. False without waiting on a virtual thread (a wait in the kernel would pin its carrier) or once
     * the ring closed: the caller then waits as it would without the lane.
     */
    boolean await(Object what, long maxNanos) {
        if (Thread.currentThread().isVirtual()) {
            return false;
        }
        Scratch s = SCRATCH.get();
        drainOuterBatches(s);
        Batch batch = s.openBatch(this);
        boolean entered = false;
        try {
            entered = enterWaiters(batch);
        } finally {
            if (!entered) {
                s.closeBatch();
            }
        }
        if (!entered) {
            return false;
        }
        s.waiting++;
        try {
            // What was already there (a completion posted on this thread's way back from a syscall) needs no wait.
            boolean ranAny = deliver(batch, true) > 0;
            s.closeBatch();
            batch = null;
            long deadline = System.nanoTime() + Math.max(0, maxNanos);
            while (!ranAny && !isDone(what) && !closedForWaiters && !Thread.currentThread().isInterrupted()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                waitersInKernel.incrementAndGet();
                waitSlices.increment();
                int res;
                try {
                    res = enterForEvents(s, Math.min(left, SLICE_NANOS));
                } finally {
                    waitersInKernel.decrementAndGet();
                }
                if (reapAndDeliver() > 0) {
                    break; // the caller's condition may hold now (a completion of any of its requests ran)
                }
                if (res < 0 && res != -ErrnoTable.ETIME && res != -ErrnoTable.EINTR && res != -ErrnoTable.EAGAIN
                        && res != -ErrnoTable.EBUSY) {
                    RingEngine.LOG.log(System.Logger.Level.WARNING, "caller ring " + index + ": io_uring_enter: "
                            + ErrnoTable.describe(-res));
                    break;
                }
            }
        } finally {
            if (batch != null) {
                s.closeBatch();
            }
            s.waiting--;
            leaveWaiters(s);
        }
        return true;
    }

    /**
     * A wait from inside a callback that this thread is delivering: first delivers the rest of the batches this thread
     * is delivering (what it waits for may be among them, reaped already, behind the callback that now waits: no
     * other thread and no kernel wait would ever bring it).
     */
    private static void drainOuterBatches(Scratch s) {
        for (int d = 0; d < s.depth; d++) {
            Batch b = s.batches[d];
            if (b.owner != null && b.pending()) {
                b.owner.deliver(b, s.waiting > 0);
            }
        }
    }

    private boolean isDone(Object what) {
        if (what instanceof LaneFuture<?> f) {
            return f.isDone() || !f.stillIn(this); // handed to a Netty ring: nothing to wait for here
        }
        if (what instanceof java.util.concurrent.Future<?> f) {
            return f.isDone();
        }
        Request r = (Request) what;
        return r.ring != this || r.state.get() == Request.IDLE;
    }

    /**
     * {@code io_uring_enter(0, 1, GETEVENTS | EXT_ARG)} with a timeout: returns at the first CQE or the timeout
     * ({@code -ETIME}), or {@code -errno}.
     *
     * <p>The wait itself runs without errno capture: the linker's capture allocates a 40-byte slice per call wherever
     * the code is not compiled by C2 (on a loaded machine, for whole seconds), on the path of every thread that waits
     * for its own request. Only a wait that failed (mostly its timeout, or a signal) is asked again, capturing errno
     * and without waiting: an error that would repeat (a bad descriptor or argument) shows there.
     */
    private int enterForEvents(Scratch s, long nanos) {
        MemorySegment arg = setTimeout(s, nanos);
        enters.increment();
        int res = Libc.ioUringEnterNoErrno(ringFd, 0, 1, Uapi.IORING_ENTER_GETEVENTS | Uapi.IORING_ENTER_EXT_ARG,
                arg.address(), GETEVENTS_ARG_SIZE);
        if (res >= 0) {
            return res;
        }
        setTimeout(s, 0);
        enters.increment();
        return Libc.ioUringEnter(ringFd, 0, 1, Uapi.IORING_ENTER_GETEVENTS | Uapi.IORING_ENTER_EXT_ARG,
                arg.address(), GETEVENTS_ARG_SIZE);
    }

    /** Sets the timeout of this thread's {@code io_uring_getevents_arg}; returns the argument. */
    private static MemorySegment setTimeout(Scratch s, long nanos) {
        MemorySegment arg = s.getEventsArg;
        arg.set(JAVA_LONG, GETEVENTS_ARG_SIZE, nanos / 1_000_000_000L);
        arg.set(JAVA_LONG, GETEVENTS_ARG_SIZE + 8, nanos % 1_000_000_000L);
        return arg;
    }

    /**
     * Counts this thread in, turns the eventfd off and reaps what is already there into {@code batch} (the caller
     * delivers it). False once the ring closed.
     */
    private boolean enterWaiters(Batch batch) {
        lock.lock();
        try {
            if (closedForWaiters) {
                return false;
            }
            waitersInside++;
            eventfdOff();
            waitersGauge = waitersInside;
            reapLocked(batch);
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Counts this thread out; the last waiter turns the eventfd on again and reaps what came while it was off. */
    private void leaveWaiters(Scratch s) {
        Batch batch = s.openBatch(this);
        try {
            lock.lock();
            try {
                waitersInside--;
                waitersGauge = waitersInside;
                eventfdOnUnlessWaiters();
                reapLocked(batch);
            } finally {
                lock.unlock();
            }
            deliver(batch, s.waiting > 0);
        } finally {
            s.closeBatch();
        }
    }

    /** Sets {@code IORING_CQ_EVENTFD_DISABLED}: CQEs posted from now on do not signal the reaper. Under the lock. */
    private void eventfdOff() {
        if (!released) {
            INT.setVolatile(ring, cqFlagsOffset, Uapi.IORING_CQ_EVENTFD_DISABLED);
        }
    }

    /**
     * Clears {@code IORING_CQ_EVENTFD_DISABLED} unless a thread waits inside (it reaps). Under the lock; the caller
     * reaps next: the kernel posts a CQE, then reads the flag, so a CQE posted while the flag was set is found by
     * looking at the tail after the flag is clear.
     */
    private void eventfdOnUnlessWaiters() {
        if (waitersInside == 0 && !released) {
            INT.setVolatile(ring, cqFlagsOffset, 0);
        }
        VarHandle.fullFence();
    }

    /** True while this thread waits inside a caller ring (of any engine). */
    static boolean waitingOnThisThread() {
        return SCRATCH.get().waiting > 0;
    }

    /**
     * True while this thread runs completions it reaped from one of {@code rings} (one engine's), e.g. a callback
     * running inside {@code submit} because the kernel completed the request during the submission: there the
     * engine's submission guard is held by this very thread, so a blocking close would wait for itself. Code of the
     * user runs on a waiting thread only inside such a delivery, so this covers waiters too.
     *
     * <p>Per engine, not for every caller ring of the process: a thread delivering another engine's completions is an
     * application thread to this engine, and this engine's close (or a file's) must block there as anywhere else; it
     * returned at once, with this engine's requests still in the kernel, their memory about to be freed by the caller.
     */
    static boolean deliveringOnThisThread(CallerRing[] rings) {
        Scratch s = SCRATCH.get();
        for (int d = 0; d < s.depth; d++) {
            CallerRing owner = s.batches[d].owner;
            for (CallerRing ring : rings) {
                if (owner == ring) {
                    return true;
                }
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- cancel (any thread)

    @Override
    public void cancel(Request target, CompletableFuture<CancelOutcome> outcome) {
        Scratch s = SCRATCH.get();
        Batch batch = s.openBatch(this);
        CancelOutcome now = null;
        try {
            lock.lock();
            try {
                if (target.ring != this || target.state.get() == Request.IDLE) {
                    now = CancelOutcome.ALREADY_DONE;
                } else if (target.state.get() == Request.QUEUED) {
                    // Its submitter is between the engine's hand-off and tryAccept: it completes canceled there (or,
                    // if this ring is full, in the Netty ring it goes to instead). Or the kernel canceled it for its
                    // exited submitter and a batch is about to hand it to a Netty ring, which honours the flag.
                    target.cancelRequested = true;
                    now = CancelOutcome.CANCELED;
                } else if (!inKernelHere(target)) {
                    // Its CQE was reaped and its completion is being delivered: its slot may already serve another.
                    // A reaped -ECANCELED (another cancel's, the close's) is what its completion runs with: the
                    // outcome says so, as on a Netty ring (the result is final since its reap, under this lock).
                    now = target.result == -ErrnoTable.ECANCELED ? CancelOutcome.CANCELED : CancelOutcome.ALREADY_DONE;
                } else {
                    issueCancelLocked(target, outcome, batch);
                }
            } finally {
                lock.unlock();
            }
            deliver(batch, s.waiting > 0);
        } finally {
            s.closeBatch();
        }
        if (now != null) {
            outcome.complete(now);
        }
    }

    /** True while {@code target}'s SQE is in the kernel on this ring with the tag it went in with. */
    private boolean inKernelHere(Request target) {
        int slot = target.slot;
        return slot >= 0 && slot < table.capacity() && table.get(slot) == target
                && (int) target.userData == table.tagOf(slot);
    }

    /** Sends an {@code IORING_OP_ASYNC_CANCEL} keyed by the user data of {@code target}'s current submission. */
    private void issueCancelLocked(Request target, CompletableFuture<CancelOutcome> outcome, Batch batch) {
        LaneCancel watch = new LaneCancel(target, outcome);
        watch.next = target.laneCancels;
        target.laneCancels = watch;
        if (controlInFlight < CONTROL_SLOTS && controlWaiting.isEmpty()) {
            writeControl(watch, batch);
        } else {
            controlWaiting.add(watch);
        }
    }

    private void writeWaitingControls(Batch batch) {
        while (!controlWaiting.isEmpty() && controlInFlight < CONTROL_SLOTS) {
            writeControl(controlWaiting.poll(), batch);
        }
    }

    /** Submits a cancel, unless its target finished meanwhile (then its key may belong to another request). */
    private void writeControl(LaneCancel watch, Batch batch) {
        if (!inKernelHere(watch.target) || watch.target.userData != watch.targetUserData) {
            watch.cancelAnswered(-ErrnoTable.ENOENT, batch);
            return;
        }
        Request cancel = watch.request;
        cancel.prep(Uapi.IORING_OP_ASYNC_CANCEL, -1, watch.targetUserData, 0, 0, 0);
        cancel.control = true;
        cancel.ring = this;
        int res = submitControlLocked(cancel);
        if (res < 0) {
            watch.cancelAnswered(res, batch);
        }
    }

    /**
     * One kernel cancel of a caller-ring request, decided as {@link Ring.KernelCancel} decides: CANCELED whenever the
     * target ends {@code -ECANCELED}; after 0, {@code -EALREADY}, or {@code -ENOENT} while the target has not ended
     * (the kernel's io-wq race, see {@link Ring.KernelCancel}) by how the target ends; otherwise by the cancel's own
     * result. State changes under the ring's lock; the outcome future completes outside it ({@link #publish()}).
     */
    static final class LaneCancel implements Completion {
        private static final int PENDING = CancelOutcome.PENDING;

        final Request request = new Request(this);
        final Request target;
        final long targetUserData;
        private final CompletableFuture<CancelOutcome> outcome;
        LaneCancel next;
        private int cancelResult = PENDING;
        private int targetResult = PENDING;
        /** The kernel answered -ENOENT before the target's CQE: the target is still to end (and may end canceled). */
        private boolean notFoundButRunning;
        private CancelOutcome decided;

        LaneCancel(Request target, CompletableFuture<CancelOutcome> outcome) {
            this.target = target;
            this.targetUserData = target.userData;
            this.outcome = outcome;
        }

        /** The kernel answered the cancel (or it could not be sent). Under the lock. */
        void cancelAnswered(int res, Batch batch) {
            cancelResult = res;
            // In CQE order (reaped under the lock): a target that ended before this answer has set targetResult. Kept
            // watching, a target that ends -ECANCELED is this cancel's doing, not an exited submitter's to hand on.
            notFoundButRunning = outcome != null && CancelOutcome.notFoundButRunning(res, targetResult);
            if (!CancelOutcome.awaitsTarget(cancelResult, notFoundButRunning)) {
                unwatch();
            }
            decide(batch);
        }

        /** {@code target} ended with {@code res}: every cancel watching it learns it. Under the lock. */
        static void targetEnded(Request target, int res, Batch batch) {
            LaneCancel w = target.laneCancels;
            target.laneCancels = null;
            for (; w != null; w = w.next) {
                w.targetResult = res;
                w.decide(batch);
            }
        }

        private void unwatch() {
            LaneCancel prev = null;
            for (LaneCancel w = target.laneCancels; w != null; prev = w, w = w.next) {
                if (w == this) {
                    if (prev == null) {
                        target.laneCancels = next;
                    } else {
                        prev.next = next;
                    }
                    return;
                }
            }
        }

        private void decide(Batch batch) {
            if (outcome == null || decided != null) {
                return;
            }
            // A target that ended canceled while this cancel watched it is CANCELED even if the kernel had canceled it
            // just before (its submitter exiting) and this cancel then found nothing: answer what its status says.
            decided = CancelOutcome.ofKernelCancel(cancelResult, targetResult, notFoundButRunning);
            if (decided != null) {
                batch.add(request); // published by the delivering thread, outside the lock
            }
        }

        /** Completes the outcome future; outside the lock, once (a decision is queued once). */
        void publish() {
            outcome.complete(decided);
        }

        @Override
        public void complete(Request r, int res) {
            publish();
        }
    }

    // ---------------------------------------------------------------- close

    /**
     * Closes this ring for the engine's close, on the closing thread: every request in the kernel gets an
     * {@code IORING_OP_ASYNC_CANCEL}, then this thread reaps until no CQE is outstanding, then waits until every
     * waiting thread has left. The returned future is complete.
     */
    @Override
    public CompletableFuture<Void> beginClose() {
        Scratch s = SCRATCH.get();
        Batch batch = s.openBatch(this);
        try {
            lock.lock();
            try {
                closing = true;
                cancelAllForCloseLocked(batch);
            } finally {
                lock.unlock();
            }
            deliver(batch, s.waiting > 0);
        } finally {
            s.closeBatch();
        }
        drainForClose(s);
        kick(); // threads waiting in the kernel come out and see the close
        while (waitersGauge > 0) {
            LockSupport.parkNanos(SLICE_NANOS / 10);
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Marks every request in the kernel as canceled by the close and sends it a cancel. Under the lock. */
    private void cancelAllForCloseLocked(Batch batch) {
        for (int slot = 0; slot < table.capacity(); slot++) {
            Request r = table.get(slot);
            if (r != null && !r.control) {
                r.closedByEngine = true;
                issueCancelLocked(r, null, batch);
            }
        }
    }

    /**
     * Reaps until nothing is in the kernel, then refuses new waiters. A request can outlive the close's cancel: a
     * chain member not started yet is not found (-ENOENT) and starts when the member before it (one the kernel
     * could not stop: a running {@code fdatasync}) ends, then maybe waits for good (a pipe read). So once every
     * cancel is answered and a slice passed with nothing reaped, what is still in the kernel is canceled again.
     */
    private void drainForClose(Scratch s) {
        while (true) {
            boolean cancelAgain;
            lock.lock();
            try {
                if (userInFlight == 0 && controlInFlight == 0 && controlWaiting.isEmpty()) {
                    closedForWaiters = true;
                    return;
                }
                cancelAgain = controlInFlight == 0 && controlWaiting.isEmpty();
            } finally {
                lock.unlock();
            }
            enterForEvents(s, SLICE_NANOS);
            if (reapAndDeliver() == 0 && cancelAgain) {
                cancelAgainForClose(s);
            }
        }
    }

    private void cancelAgainForClose(Scratch s) {
        Batch batch = s.openBatch(this);
        try {
            lock.lock();
            try {
                if (controlInFlight == 0 && controlWaiting.isEmpty()) {
                    cancelAllForCloseLocked(batch);
                }
            } finally {
                lock.unlock();
            }
            deliver(batch, s.waiting > 0);
        } finally {
            s.closeBatch();
        }
    }

    /** Unregisters the eventfd, unmaps the rings and closes the ring's descriptor; after {@link #beginClose()}. */
    @Override
    public void deregister() {
        lock.lock();
        try {
            if (released) {
                return;
            }
            released = true;
            Libc.ioUringRegister(ringFd, Uapi.IORING_UNREGISTER_EVENTFD, 0, 0);
            Libc.munmap(sqesAddress, sqesLength);
            Libc.munmap(ringAddress, ringLength);
            Libc.close(ringFd);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- Lane

    /**
     * Submits {@code head}; when the ring is full, waits inside it for room; once the ring is closing, completes it with
     * {@code -ECANCELED} as canceled by the close. (The engine itself uses {@link #tryAccept}, and sends the request to
     * a Netty ring when full.)
     */
    @Override
    public void accept(Request head) {
        while (!tryAccept(head)) {
            if (isClosing()) {
                head.result = -ErrnoTable.ECANCELED;
                head.closedByEngine = true;
                head.deliver();
                return;
            }
            if (!await(head, SLICE_NANOS)) {
                LockSupport.parkNanos(SLICE_NANOS / 10);
            }
        }
    }

    private boolean isClosing() {
        lock.lock();
        try {
            return closing;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void acceptBatch(Request[] requests, int count) {
        for (int i = 0; i < count; i++) {
            accept(requests[i]);
        }
    }

    @Override
    public int index() {
        return index;
    }

    /** True while this thread waits inside this ring or another caller ring (where a blocking close would wait for it). */
    @Override
    public boolean isCurrentThread() {
        return waitingOnThisThread();
    }

    @Override
    public long submittedCount() {
        return submitted.sum();
    }

    @Override
    public long completedTotal() {
        return completed.sum();
    }

    @Override
    public long enters() {
        return enters.sum();
    }

    @Override
    public long sqes() {
        return sqeCount.sum();
    }

    @Override
    public int inFlight() {
        return inFlightGauge;
    }

    @Override
    public boolean full() {
        return inFlightGauge >= maxInFlight;
    }

    /** Threads waiting inside this ring now (for tests). */
    int waiters() {
        return waitersGauge;
    }

    /** CQEs the kernel posted that nobody reaped yet (for tests). */
    int unreaped() {
        lock.lock();
        try {
            return released ? 0 : (int) INT.getAcquire(ring, cqTailOffset) - cqHead;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "caller ring " + index + " (fd " + ringFd + ")";
    }

    // ---------------------------------------------------------------- per-thread scratch

    /** What one reap gathered, delivered after the lock is released. */
    static final class Batch {
        Request[] items = new Request[32];
        int count;
        Request[] orphans = new Request[4];
        int orphanCount;
        /** Delivery cursors: the next item and orphan to deliver. */
        int next;
        int nextOrphan;
        /** The ring that filled this batch (whose {@link #deliver} runs it). */
        CallerRing owner;

        boolean pending() {
            return next < count || nextOrphan < orphanCount;
        }

        void reset() {
            count = 0;
            next = 0;
            orphanCount = 0;
            nextOrphan = 0;
        }

        void addOrphan(Request r) {
            if (orphanCount == orphans.length) {
                orphans = Arrays.copyOf(orphans, orphanCount * 2);
            }
            orphans[orphanCount++] = r;
        }

        void add(Request r) {
            if (count == items.length) {
                items = Arrays.copyOf(items, count * 2);
            }
            items[count++] = r;
        }
    }

    /**
     * One thread's reusable memory: the {@code io_uring_getevents_arg} and its timespec, and a stack of batches (a
     * completion delivered on this thread may itself wait in a lane and reap a nested batch).
     */
    private static final class Scratch {
        /** {@code struct io_uring_getevents_arg} (24 bytes), then the {@code struct __kernel_timespec} it points at. */
        final MemorySegment getEventsArg = Arena.ofAuto().allocate(GETEVENTS_ARG_SIZE + 16, 8);
        private Batch[] batches = new Batch[4];
        private int depth;
        int waiting;

        Scratch() {
            getEventsArg.set(JAVA_LONG, 0, 0L);          // sigmask: none
            getEventsArg.set(JAVA_INT, 8, 0);            // sigmask_sz
            getEventsArg.set(JAVA_INT, 12, 0);           // pad
            getEventsArg.set(JAVA_LONG, 16, getEventsArg.address() + GETEVENTS_ARG_SIZE); // ts
        }

        Batch openBatch(CallerRing owner) {
            if (depth == batches.length) {
                batches = Arrays.copyOf(batches, depth * 2);
            }
            Batch b = batches[depth];
            if (b == null) {
                b = new Batch();
                batches[depth] = b;
            }
            b.owner = owner;
            depth++;
            return b;
        }

        void closeBatch() {
            depth--;
            batches[depth].owner = null; // this thread-local must not keep a (closed) ring and its engine alive
        }
    }
}
