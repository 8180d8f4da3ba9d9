package io.uringaio.engine;

import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One reusable I/O request: the fields of one submission queue entry, a priority for the engine's wait queue, and the
 * {@link Completion} to call with the kernel's result.
 *
 * <p>This is the engine's low-level API, for callers that manage raw file descriptors and native memory themselves
 * (the POSIX facade). A request is owned by its caller: prepare it with one of the {@code prep*} methods, submit it
 * with {@link RingEngine#submit(Request)}, and reuse it once its completion ran. Nothing is allocated per submission.
 *
 * <p><b>Memory.</b> Two ways to say where the bytes go. The raw methods ({@link #prepRead(int, long, int, long)} and
 * the other {@code long address} forms) are not checked: the caller guarantees that {@code [address, address +
 * length)} (and, for the vectored forms, the iovec array and every range it names) stays allocated and unused by
 * anything else until the completion ran; {@link #attach(Object)} keeps an object strongly reachable until then. The
 * {@code MemorySegment} forms ({@link #prepRead(int, MemorySegment, long)}, {@link #prepWrite(int, MemorySegment,
 * long)}, {@link #prepReadv(int, MemorySegment, MemorySegment[], long)}, {@link #prepWritev(int, MemorySegment,
 * MemorySegment[], long)}) let safe code never touch an address: they check that each segment is native, alive and
 * of a size the kernel can take, take the length from the segment, and keep the segments reachable until the
 * completion; every submission checks again that their arenas are open (a request submitted again without a new
 * prep is refused once one closed). What no check can do: the segment's arena must stay open until the completion ran. Closing a shared
 * arena while a read is in flight frees memory the kernel then still writes into (Java offers no way for the engine
 * to hold an arena open on the caller's behalf). An automatic arena ({@code Arena.ofAuto()}) is safe: the request
 * keeps the segment reachable, so its memory is not freed before the completion.
 *
 * <p>The engine refuses a negative offset, which the kernel would read as "the current file position".
 *
 * <p><b>Descriptors.</b> The descriptor is a number, resolved to a file only when the request starts: in the kernel
 * when a ring hands it over, by a pool worker's system call on the thread-pool backend. A request may wait in the
 * engine's queue before that, so closing its descriptor before its completion ran is the caller's bug with no error to
 * show for it: the request then starts on whatever file took the number next (reads its data, writes into it). Close a
 * descriptor only after every request naming it has completed (or was canceled). The engine does not track raw
 * requests per descriptor; {@link AsyncFile#closeAsync()} waits only for the file's own operations, not for raw
 * requests submitted on its {@link AsyncFile#fd()}.
 *
 * <p>Not thread-safe while idle; the engine publishes it safely between the submitting thread and the ring thread.
 */
public final class Request {
    static final int IDLE = 0;
    static final int QUEUED = 1;
    static final int IN_KERNEL = 2;
    /** Thread-pool backend: waiting for its descriptor to become ready, cancelable. */
    static final int POLLING = 3;
    /** Thread-pool backend: a cancel claimed it while it was POLLING. */
    static final int CANCEL_CLAIMED = 4;

    // What to submit.
    byte opcode;
    byte sqeFlags;
    short ioPrio;
    int fd;
    long offset;
    long address;
    int length;
    int opFlags;
    int priority;
    private Object attachment;
    private Completion completion;

    // Engine state: written by the submitter before it enqueues, then only by the ring thread.
    final AtomicInteger state = new AtomicInteger(IDLE);
    volatile Request next;          // link in the ring's incoming queue
    Request linkNext;               // the next request of an IOSQE_IO_LINK chain
    volatile Lane ring;
    int slot = -1;
    long userData;
    /** Thread-pool backend: the worker polling this request's descriptor, for a cancel to wake. */
    volatile Object poller;
    /** Thread-pool backend: the result is final (set before the waiting cancels are read; reset on submission). */
    volatile boolean poolDone;
    /** Thread-pool backend: cancels waiting for this running request's result (guarded by this request's lock). */
    ThreadPoolLane.CancelWaiter poolWaiters;
    /** io_uring: the caller cancels waiting for this request's result, newest first (ring thread only). */
    Ring.KernelCancel cancelWatch;
    /** Caller ring: the cancels waiting for this request's result, newest first (under that ring's lock). */
    CallerRing.LaneCancel laneCancels;
    long seq;
    int heapIndex = -1;
    volatile boolean cancelRequested;
    boolean closedByEngine;
    /**
     * A member of an {@code IOSQE_IO_LINK} chain of two or more, its head included: the kernel ends a member
     * {@code -ECANCELED} when a member before it fails, and the head or any member when a linked
     * {@code IORING_OP_LINK_TIMEOUT} expires. That is the chain's own outcome, not one to translate
     * ({@link Ring#notAskedFor}).
     */
    boolean linked;
    /**
     * Caller ring, a chain member after the head: what its predecessor's completion said, which tells a
     * {@code -ECANCELED} of this member apart ({@link CallerRing}): {@link #AFTER_PENDING} until the predecessor is
     * reaped, then {@link #AFTER_SUCCESS} (the predecessor ran in full: an {@code -ECANCELED} nobody asked for is the
     * kernel's cancel of an exited submitter's work) or {@link #AFTER_FAILURE} (the link broke: the chain's own
     * outcome). {@link #AFTER_NOTHING} for a head or a lone request. Under that ring's lock.
     */
    byte afterPrevious;
    static final byte AFTER_NOTHING = 0;
    static final byte AFTER_PENDING = 1;
    static final byte AFTER_SUCCESS = 2;
    static final byte AFTER_FAILURE = 3;
    /**
     * Caller ring: the chain member, before this one, that the kernel canceled unstarted for its exited submitter; it
     * goes to a Netty ring with this member once this member's own (link-broken) {@code -ECANCELED} is reaped. Null
     * otherwise. Under that ring's lock.
     */
    Request orphanHead;
    boolean control;
    int result;
    boolean pageCacheFirst;
    /**
     * The attachment is the memory a checked {@code MemorySegment} form prepared ({@link #prepRead(int, MemorySegment,
     * long)} and the like): a submission checks it is still alive ({@link #segmentsAlive()}), since a request may be
     * submitted again, unchanged, long after its prep. False after a raw prep or an {@link #attach}.
     */
    private boolean segmentsChecked;
    /** The submitting thread's count this request is in ({@link SubmitterHome#inFlight}), or null when not counted. */
    SubmitterHome submitter;

    /** A request with no completion yet; set one with {@link #completion(Completion)}. */
    public Request() {
    }

    /** A request that reports to {@code completion}. */
    public Request(Completion completion) {
        this.completion = completion;
    }

    /**
     * Marks a read to be tried in the page cache first, on the submitting thread ({@code preadv2} with
     * {@code RWF_NOWAIT}): when every byte is cached, the read completes inside {@link RingEngine#submit}, on the
     * caller's thread, before {@code submit} returns, without a ring; otherwise it goes to a ring as usual. Only plain
     * reads ({@code IORING_OP_READ} without {@code rw_flags}) submitted alone qualify, only when the engine's
     * {@link RingEngineConfig#pageCacheFastPath(boolean)} is on (the default), and not from the thread of a ring that
     * has other requests in flight (a completion that resubmits at depth: the ring batches those reads better). Leave
     * it off for {@code O_DIRECT} descriptors: there the call would wait for the device on the caller's thread. One
     * thread submitting a deep batch reads it all itself this way; where the rings' threads reading in parallel would
     * be faster, leave it off. The mark stays until changed.
     *
     * @return this
     */
    public Request pageCacheFirst(boolean enabled) {
        this.pageCacheFirst = enabled;
        return this;
    }

    /** Whether this request is marked for the page-cache fast path. */
    public boolean pageCacheFirst() {
        return pageCacheFirst;
    }

    /**
     * Sets the completion callback; only while idle.
     *
     * @throws IllegalStateException if the request is queued or in flight (its completion stays)
     */
    public Request completion(Completion completion) {
        Objects.requireNonNull(completion, "completion");
        checkIdle("completion");
        this.completion = completion;
        return this;
    }

    /** The completion callback. */
    public Completion completion() {
        return completion;
    }

    /**
     * Sets every field of the SQE at once: the general form under the named {@code prep*} helpers.
     *
     * @param opcode  an {@code IORING_OP_*} value from {@link Uapi}
     * @param fd      the file descriptor
     * @param address the {@code addr} field (buffer, iovec array, path)
     * @param length  the {@code len} field
     * @param offset  the {@code off} field; must not be negative
     * @param opFlags the per-opcode flags ({@code rw_flags}, {@code fsync_flags}, {@code open_flags} …)
     * @return this
     * @throws IllegalStateException if the request is queued or in flight (its fields may still be read)
     */
    public Request prep(byte opcode, int fd, long address, int length, long offset, int opFlags) {
        checkIdle("prep");
        this.opcode = opcode;
        this.fd = fd;
        this.address = address;
        this.length = length;
        this.offset = offset;
        this.opFlags = opFlags;
        this.sqeFlags = 0;
        this.ioPrio = 0;
        this.linkNext = null;
        this.segmentsChecked = false;
        return this;
    }

    /**
     * {@code IORING_OP_READ}: read {@code length} bytes at {@code offset} into native memory at {@code address}.
     * Unchecked: the {@code length} bytes at {@code address} must stay allocated, and untouched, until the completion
     * ran. Prefer {@link #prepRead(int, MemorySegment, long)}.
     */
    public Request prepRead(int fd, long address, int length, long offset) {
        return prep(Uapi.IORING_OP_READ, fd, address, length, offset, 0);
    }

    /**
     * {@code IORING_OP_WRITE}: write {@code length} bytes from native memory at {@code address} at {@code offset}.
     * Unchecked: the bytes must stay allocated until the completion ran. Prefer
     * {@link #prepWrite(int, MemorySegment, long)}.
     */
    public Request prepWrite(int fd, long address, int length, long offset) {
        return prep(Uapi.IORING_OP_WRITE, fd, address, length, offset, 0);
    }

    /**
     * {@code IORING_OP_READV} over {@code iovecCount} {@code struct iovec}s at {@code iovecAddress}. Unchecked: the
     * iovec array and every range it names must stay allocated until the completion ran. Prefer
     * {@link #prepReadv(int, MemorySegment, MemorySegment[], long)}.
     */
    public Request prepReadv(int fd, long iovecAddress, int iovecCount, long offset) {
        return prep(Uapi.IORING_OP_READV, fd, iovecAddress, iovecCount, offset, 0);
    }

    /**
     * {@code IORING_OP_WRITEV} over {@code iovecCount} {@code struct iovec}s at {@code iovecAddress}. Unchecked, as
     * {@link #prepReadv(int, long, int, long)}. Prefer {@link #prepWritev(int, MemorySegment, MemorySegment[], long)}.
     */
    public Request prepWritev(int fd, long iovecAddress, int iovecCount, long offset) {
        return prep(Uapi.IORING_OP_WRITEV, fd, iovecAddress, iovecCount, offset, 0);
    }

    /**
     * {@code IORING_OP_READ} of {@code dst.byteSize()} bytes at {@code offset} into {@code dst}, checked: the request
     * keeps {@code dst} reachable until the completion (it replaces any {@link #attach attachment}). {@code dst}'s
     * arena must stay open until the completion ran (see the class comment).
     *
     * @throws IllegalArgumentException if {@code dst} is not native, read-only, its arena closed, or larger than
     *                                  {@code Integer.MAX_VALUE} bytes; the request is left as it was
     * @throws IllegalStateException    if the request is queued or in flight
     */
    public Request prepRead(int fd, MemorySegment dst, long offset) {
        int length = checkedLength(dst, true, "dst");
        return prep(Uapi.IORING_OP_READ, fd, dst.address(), length, offset, 0).attachChecked(dst);
    }

    /**
     * {@code IORING_OP_WRITE} of the whole of {@code src} at {@code offset}, checked as
     * {@link #prepRead(int, MemorySegment, long)} (a read-only segment is fine).
     */
    public Request prepWrite(int fd, MemorySegment src, long offset) {
        int length = checkedLength(src, false, "src");
        return prep(Uapi.IORING_OP_WRITE, fd, src.address(), length, offset, 0).attachChecked(src);
    }

    /**
     * {@code IORING_OP_READV} into {@code dsts} in order, each whole, checked: the request writes the
     * {@code struct iovec}s into {@code iovecs} (native, at least {@code 16 * dsts.length} bytes: caller-provided, so
     * that a reused request allocates nothing) and keeps {@code iovecs} and every segment reachable until the
     * completion (the segments through its own copy of {@code dsts}: the caller may reuse the array once this
     * returns). Do not change {@code iovecs} while the request is in flight; every arena must stay open until the
     * completion ran.
     *
     * @throws IllegalArgumentException if a segment is not native, read-only, closed, or too large, if
     *                                  {@code iovecs} is too small, if {@code dsts} is empty or longer than 1024, or if
     *                                  the total exceeds {@code Integer.MAX_VALUE}; the request is left as it was
     */
    public Request prepReadv(int fd, MemorySegment iovecs, MemorySegment[] dsts, long offset) {
        MemorySegment[] named = fillIovecs(iovecs, dsts, true);
        return prep(Uapi.IORING_OP_READV, fd, iovecs.address(), named.length, offset, 0)
                .attachChecked(new Object[] {iovecs, named});
    }

    /** {@code IORING_OP_WRITEV} of {@code srcs} in order, checked as {@link #prepReadv(int, MemorySegment, MemorySegment[], long)}. */
    public Request prepWritev(int fd, MemorySegment iovecs, MemorySegment[] srcs, long offset) {
        MemorySegment[] named = fillIovecs(iovecs, srcs, false);
        return prep(Uapi.IORING_OP_WRITEV, fd, iovecs.address(), named.length, offset, 0)
                .attachChecked(new Object[] {iovecs, named});
    }

    /** Refuses {@code what} on a request queued or in flight: the engine may be reading its fields. */
    private void checkIdle(String what) {
        if (state.get() != IDLE) {
            throw new IllegalStateException(what + " on a request in flight: " + this);
        }
    }

    /** Checks a segment the kernel will read ({@code intoIt} false) or write, and returns its size as the length. */
    private static int checkedLength(MemorySegment segment, boolean intoIt, String name) {
        Objects.requireNonNull(segment, name);
        if (!segment.isNative()) {
            throw new IllegalArgumentException(name + " is a heap segment; the kernel needs native memory");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException(name + "'s arena is closed");
        }
        if (intoIt && segment.isReadOnly()) {
            throw new IllegalArgumentException(name + " is read-only");
        }
        if (segment.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + " of " + segment.byteSize() + " bytes; at most "
                    + Integer.MAX_VALUE + " per request");
        }
        return (int) segment.byteSize();
    }

    private static final int IOV_MAX = 1024;

    /**
     * Checks every segment, then writes their iovecs: all checks first, so a refusal changes nothing. Returns the
     * segments the iovecs name, in a copy of the caller's array: the request keeps that copy reachable, so a caller
     * that reuses its array does not leave an iovec naming memory that nothing keeps alive.
     */
    private MemorySegment[] fillIovecs(MemorySegment iovecs, MemorySegment[] caller, boolean intoThem) {
        checkIdle("prep");
        MemorySegment[] segments = Objects.requireNonNull(caller, "segments").clone();
        if (segments.length == 0 || segments.length > IOV_MAX) {
            throw new IllegalArgumentException(segments.length + " segments; 1.." + IOV_MAX + " allowed");
        }
        checkedLength(iovecs, true, "iovecs");
        if (iovecs.byteSize() < (long) segments.length * Uapi.IOVEC_SIZE) {
            throw new IllegalArgumentException("iovecs of " + iovecs.byteSize() + " bytes; " + segments.length
                    + " iovecs need " + (long) segments.length * Uapi.IOVEC_SIZE);
        }
        long total = 0;
        for (int i = 0; i < segments.length; i++) {
            total += checkedLength(segments[i], intoThem, "segment " + i);
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(total + " bytes in one vectored request; at most " + Integer.MAX_VALUE);
        }
        for (int i = 0; i < segments.length; i++) {
            iovecs.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) i * Uapi.IOVEC_SIZE, segments[i].address());
            iovecs.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) i * Uapi.IOVEC_SIZE + 8, segments[i].byteSize());
        }
        return segments;
    }

    /** {@code IORING_OP_FSYNC}: {@code fsync(fd)}, or {@code fdatasync(fd)} when {@code dataOnly}. */
    public Request prepFsync(int fd, boolean dataOnly) {
        return prep(Uapi.IORING_OP_FSYNC, fd, 0, 0, 0, dataOnly ? Uapi.IORING_FSYNC_DATASYNC : 0);
    }

    /** {@code IORING_OP_FALLOCATE}: {@code fallocate(fd, mode, offset, length)}; the kernel takes the length in addr. */
    public Request prepFallocate(int fd, int mode, long offset, long length) {
        return prep(Uapi.IORING_OP_FALLOCATE, fd, length, mode, offset, 0);
    }

    /** {@code IORING_OP_CLOSE} of {@code fd}. */
    public Request prepClose(int fd) {
        return prep(Uapi.IORING_OP_CLOSE, fd, 0, 0, 0, 0);
    }

    /** {@code IORING_OP_OPENAT}: open the NUL-terminated path at {@code pathAddress}, relative to {@code dirfd}. */
    public Request prepOpenat(int dirfd, long pathAddress, int openFlags, int mode) {
        return prep(Uapi.IORING_OP_OPENAT, dirfd, pathAddress, mode, 0, openFlags);
    }

    /**
     * {@code IORING_OP_STATX}: {@code statx(dirfd, path, flags, mask, statxbuf)}; the kernel takes the buffer's address
     * in the offset field.
     */
    public Request prepStatx(int dirfd, long pathAddress, int flags, int mask, long statxAddress) {
        return prep(Uapi.IORING_OP_STATX, dirfd, pathAddress, mask, statxAddress, flags);
    }

    /**
     * Sets the SQE's {@code ioprio} field (the kernel's I/O priority class and level); only while idle.
     *
     * @throws IllegalStateException if the request is queued or in flight
     */
    public Request ioPrio(short ioPrio) {
        checkIdle("ioPrio");
        this.ioPrio = ioPrio;
        return this;
    }

    /**
     * Sets the engine priority: when a ring already has its maximum in flight, waiting requests go to the kernel lowest
     * value first, FIFO among equals. Default 0. Only while idle: a waiting request's place is kept by its priority.
     *
     * @throws IllegalStateException if the request is queued or in flight
     */
    public Request priority(int priority) {
        checkIdle("priority");
        this.priority = priority;
        return this;
    }

    /**
     * Keeps {@code attachment} strongly reachable until the completion; {@code null} clears it. Only while idle: the
     * attachment of a request in flight may be memory the kernel is using (an automatic arena's segment would be
     * freed once unreachable).
     *
     * @throws IllegalStateException if the request is queued or in flight (its attachment stays)
     */
    public Request attach(Object attachment) {
        checkIdle("attach");
        this.attachment = attachment;
        this.segmentsChecked = false;
        return this;
    }

    /** Attaches the memory of a checked segment prep: a segment, or {iovecs, segments[]}. */
    private Request attachChecked(Object segments) {
        this.attachment = segments;
        this.segmentsChecked = true;
        return this;
    }

    /**
     * False when this request was prepared by a checked {@code MemorySegment} form and one of its segments' arenas
     * has closed since: submitted, the kernel would use freed memory. True for every other request (raw memory is the
     * caller's guarantee).
     */
    boolean segmentsAlive() {
        if (!segmentsChecked) {
            return true;
        }
        if (attachment instanceof MemorySegment segment) {
            return segment.scope().isAlive();
        }
        Object[] vectored = (Object[]) attachment;
        if (!((MemorySegment) vectored[0]).scope().isAlive()) {
            return false;
        }
        for (MemorySegment segment : (MemorySegment[]) vectored[1]) {
            if (!segment.scope().isAlive()) {
                return false;
            }
        }
        return true;
    }

    /** The attached object, if any. */
    public Object attachment() {
        return attachment;
    }

    /** The opcode last prepared. */
    public byte opcode() {
        return opcode;
    }

    /** The file descriptor last prepared. */
    public int fd() {
        return fd;
    }

    /** The offset last prepared. */
    public long offset() {
        return offset;
    }

    /** The {@code len} field last prepared. */
    public int length() {
        return length;
    }

    /** The engine priority. */
    public int priority() {
        return priority;
    }

    /** True while submitted and not yet completed. */
    public boolean inFlight() {
        return state.get() != IDLE;
    }

    /** The last result delivered; meaningful once the completion ran. */
    public int result() {
        return result;
    }

    /** True when the last completion was {@code -ECANCELED} because the engine closed before the request ran. */
    public boolean canceledByClose() {
        return closedByEngine;
    }

    /**
     * Returns the request to idle and runs its completion with {@link #result}: the one place a lane hands a result
     * to its caller. Idle first, so the callback may resubmit the same request; a throwing callback is logged.
     */
    void deliver() {
        int res = result;
        SubmitterHome home = submitter;
        if (home != null) {
            // Before the callback: a thread it wakes sees its count down already when it submits again.
            submitter = null;
            home.inFlight.decrementAndGet();
        }
        cancelRequested = false;
        linkNext = null;
        ring = null;
        state.set(IDLE);
        try {
            if (completion instanceof FileOp) {
                completion.complete(this, res); // the engine's own: its future holds its wakes (LaneFuture)
            } else {
                // Code of the user: it may wait for a thread whose wake is held, or that it wakes itself (a cancel).
                DeferredWakes wakes = DeferredWakes.current(); // one look-up: this is the raw requests' hot path
                int batch = wakes.suspendBatch();
                try {
                    completion.complete(this, res);
                } finally {
                    wakes.resumeBatch(batch);
                }
            }
        } catch (Throwable t) {
            RingEngine.LOG.log(System.Logger.Level.WARNING, "completion callback of " + this + " threw", t);
        }
    }

    /** Runs a lane's after-completion-batch hook, if any; a throwing hook is logged. */
    static void runAfterBatch(Runnable hook) {
        if (hook != null) {
            try {
                hook.run();
            } catch (Throwable t) {
                RingEngine.LOG.log(System.Logger.Level.WARNING, "afterCompletionBatch hook threw", t);
            }
        }
    }

    /** Whether a cancel was asked of this request or of a member of its chain behind it. */
    boolean chainCancelRequested() {
        for (Request r = this; r != null; r = r.linkNext) {
            if (r.cancelRequested) {
                return true;
            }
        }
        return false;
    }

    /** Records {@code lane} (or null) as where this request and every member of its chain behind it went. */
    void chainTo(Lane lane) {
        for (Request r = this; r != null; r = r.linkNext) {
            r.ring = lane;
        }
    }

    int chainLength() {
        int n = 1;
        for (Request r = linkNext; r != null; r = r.linkNext) {
            n++;
        }
        return n;
    }

    @Override
    public String toString() {
        return Uapi.opName(opcode) + "(fd=" + fd + ", off=" + offset + ", len=" + length + ", state=" + state.get() + ")";
    }
}
