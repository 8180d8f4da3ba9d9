package io.uringaio.engine;

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
 * <p>The engine does not check the address and length of a raw request: the caller guarantees that the memory stays
 * valid until the completion. {@link #attach(Object)} keeps an object (a buffer, a segment) strongly reachable until
 * then. The engine does refuse a negative offset, which the kernel would read as "the current file position".
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
    /** io_uring: the caller cancels waiting for this request's result, newest first (ring thread only). */
    Ring.KernelCancel cancelWatch;
    long seq;
    int heapIndex = -1;
    volatile boolean cancelRequested;
    boolean closedByEngine;
    boolean control;
    int result;
    boolean pageCacheFirst;

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

    /** Sets the completion callback; only while idle. */
    public Request completion(Completion completion) {
        this.completion = Objects.requireNonNull(completion, "completion");
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
        if (state.get() != IDLE) {
            throw new IllegalStateException("prep on a request in flight: " + this);
        }
        this.opcode = opcode;
        this.fd = fd;
        this.address = address;
        this.length = length;
        this.offset = offset;
        this.opFlags = opFlags;
        this.sqeFlags = 0;
        this.ioPrio = 0;
        this.linkNext = null;
        return this;
    }

    /** {@code IORING_OP_READ}: read {@code length} bytes at {@code offset} into native memory at {@code address}. */
    public Request prepRead(int fd, long address, int length, long offset) {
        return prep(Uapi.IORING_OP_READ, fd, address, length, offset, 0);
    }

    /** {@code IORING_OP_WRITE}: write {@code length} bytes from native memory at {@code address} at {@code offset}. */
    public Request prepWrite(int fd, long address, int length, long offset) {
        return prep(Uapi.IORING_OP_WRITE, fd, address, length, offset, 0);
    }

    /** {@code IORING_OP_READV} over {@code iovecCount} {@code struct iovec}s at {@code iovecAddress}. */
    public Request prepReadv(int fd, long iovecAddress, int iovecCount, long offset) {
        return prep(Uapi.IORING_OP_READV, fd, iovecAddress, iovecCount, offset, 0);
    }

    /** {@code IORING_OP_WRITEV} over {@code iovecCount} {@code struct iovec}s at {@code iovecAddress}. */
    public Request prepWritev(int fd, long iovecAddress, int iovecCount, long offset) {
        return prep(Uapi.IORING_OP_WRITEV, fd, iovecAddress, iovecCount, offset, 0);
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

    /** Sets the SQE's {@code ioprio} field (the kernel's I/O priority class and level). */
    public Request ioPrio(short ioPrio) {
        this.ioPrio = ioPrio;
        return this;
    }

    /**
     * Sets the engine priority: when a ring already has its maximum in flight, waiting requests go to the kernel lowest
     * value first, FIFO among equals. Default 0.
     */
    public Request priority(int priority) {
        this.priority = priority;
        return this;
    }

    /** Keeps {@code attachment} strongly reachable until the completion; {@code null} clears it. */
    public Request attach(Object attachment) {
        this.attachment = attachment;
        return this;
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
        cancelRequested = false;
        linkNext = null;
        ring = null;
        state.set(IDLE);
        try {
            completion.complete(this, res);
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
