package io.uringaio.engine;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The {@code THREAD_POOL} backend: the request contract of the io_uring rings, executed with libc ({@code preadv2},
 * {@code pwritev2}, {@code fsync}, {@code fdatasync}, {@code fallocate}, {@code openat}, {@code close}, {@code statx})
 * on a bounded pool of worker threads. This is what glibc's POSIX AIO does, except that requests on one descriptor
 * run in parallel (glibc serializes each descriptor).
 *
 * <p>Queued requests wait in one priority queue (lowest {@link Request#priority} first, then FIFO). Workers start on
 * demand up to the bound and exit after the idle time. A linked chain runs on one worker, in order; a failed or short
 * member completes the rest with {@code -ECANCELED}, as the kernel does.
 *
 * <p>Cancel: a queued request is canceled at once. A read or write that would block (an empty or full pipe, a
 * socket) waits for readiness with {@code poll} and stays cancelable: each worker polls its request's descriptor
 * together with its own eventfd, which a cancel (or close) signals, so a cancel takes effect at once rather than at
 * the next poll timeout. Any other running request completes normally ({@code NOT_CANCELED}). A read first tries
 * {@code RWF_NOWAIT}, so page-cached data costs one system call.
 */
final class ThreadPoolLane implements Lane {
    private static final long POLL_SLICE_MILLIS = 20;
    /** How often an open of a FIFO's write end that waits for a reader tries again ({@code Worker#open}). */
    private static final int FIFO_RETRY_MILLIS = 10;
    private static final Comparator<Request> ORDER = (a, b) -> a.priority != b.priority
            ? Integer.compare(a.priority, b.priority) : Long.compare(a.seq, b.seq);

    private final int index;
    private final int maxWorkers;
    private final long idleNanos;
    private final String threadName;
    private final PriorityBlockingQueue<Request> queue = new PriorityBlockingQueue<>(64, ORDER);
    private final AtomicLong nextSeq = new AtomicLong();
    private final AtomicInteger workers = new AtomicInteger();
    private final AtomicInteger idle = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    /** Chains taken from the queue and not yet delivered. */
    private final AtomicInteger busy = new AtomicInteger();
    private final AtomicInteger threadIds = new AtomicInteger();
    private final CopyOnWriteArrayList<Worker> live = new CopyOnWriteArrayList<>();
    private final LongAdder submitted = new LongAdder();
    private final LongAdder completed = new LongAdder();
    private volatile boolean closing;
    private final Runnable afterCompletionBatch;
    private volatile CompletableFuture<Void> drained;

    ThreadPoolLane(int index, int maxWorkers, long idleNanos, String threadName, Runnable afterCompletionBatch) {
        this.afterCompletionBatch = afterCompletionBatch;
        if (maxWorkers < 1) {
            throw new IllegalArgumentException("thread pool needs at least one worker, was " + maxWorkers);
        }
        this.index = index;
        this.maxWorkers = maxWorkers;
        this.idleNanos = idleNanos;
        this.threadName = threadName;
    }

    // ---------------------------------------------------------------- submission

    @Override
    public void accept(Request head) {
        submitted.add(head.chainLength());
        enqueue(head);
    }

    @Override
    public void acceptBatch(Request[] requests, int count) {
        submitted.add(count);
        for (int i = 0; i < count; i++) {
            enqueue(requests[i]);
        }
    }

    private void enqueue(Request head) {
        long seq = nextSeq.getAndIncrement();
        for (Request r = head; r != null; r = r.linkNext) {
            // Under the request's lock, so that a late cancel of its previous submission cannot mark this one
            // (see cancelRunning). Uncontended: the queue below takes a lock anyway.
            synchronized (r) {
                r.seq = seq;
                r.poolDone = false;
                r.cancelRequested = false;
            }
        }
        if (closing) {
            completeChain(head, -ErrnoTable.ECANCELED, true);
            return;
        }
        queue.offer(head);
        ensureWorker();
        if (closing && queue.remove(head)) {
            completeChain(head, -ErrnoTable.ECANCELED, true);
        }
    }

    /** Starts a worker while more requests wait than idle workers can take (and the bound allows). */
    private void ensureWorker() {
        while (idle.get() < queue.size()) {
            int w = workers.get();
            if (w >= maxWorkers) {
                return;
            }
            if (workers.compareAndSet(w, w + 1)) {
                if (!startWorker()) {
                    workers.decrementAndGet();
                    failQueuedIfNoWorker();
                }
                return;
            }
        }
    }

    /** Starts one worker thread (already counted); false, with nothing left of it, when the OS refused the thread. */
    private boolean startWorker() {
        Worker worker = new Worker();
        live.add(worker);
        Thread t = new PoolThread(this, worker, threadName + "-" + threadIds.incrementAndGet());
        t.setDaemon(true);
        worker.thread = t;
        try {
            t.start();
            return true;
        } catch (OutOfMemoryError noThread) { // a pids or thread limit (pthread_create: EAGAIN)
            live.remove(worker);
            worker.closeWake();
            return false;
        }
    }

    /**
     * After the OS refused a worker thread: when no worker is left to take the queue, every queued request completes
     * now with {@code -EAGAIN} (what {@code pthread_create} said; glibc's AIO fails the same way), a chain's later
     * members with {@code -ECANCELED} as after any failed link, rather than wait for a worker that may never come. A
     * request that a cancel claimed meanwhile completes canceled. With a worker left, the queue waits for it.
     */
    private void failQueuedIfNoWorker() {
        Request head;
        while (workers.get() == 0 && (head = queue.poll()) != null) {
            int res = -ErrnoTable.EAGAIN;
            for (Request r = head; r != null; ) {
                Request next = r.linkNext;
                boolean refused = res == -ErrnoTable.EAGAIN && r.state.compareAndSet(Request.QUEUED, Request.IN_KERNEL);
                deliver(r, refused ? res : -ErrnoTable.ECANCELED, false);
                res = -ErrnoTable.ECANCELED;
                r = next;
            }
        }
        checkDrained();
    }

    // ---------------------------------------------------------------- workers

    private static final class PoolThread extends Thread {
        final ThreadPoolLane lane;

        PoolThread(ThreadPoolLane lane, Runnable task, String name) {
            super(task, name);
            this.lane = lane;
        }
    }

    private final class Worker implements Runnable {
        Thread thread;
        /** The request this worker runs now, for close to cancel it while it polls. */
        volatile Request current;
        /** A struct statx for {@link #isFifo}, made at its first use. */
        private MemorySegment statx;
        /** One struct iovec for single-buffer reads and writes. */
        private final MemorySegment iovec = Arena.ofAuto().allocate(Uapi.IOVEC_SIZE, 8);
        /**
         * Polled beside the request's descriptor; a cancel or close signals it. Negative if eventfd failed (out of
         * descriptors): then the worker polls in slices and notices a cancel at the end of its slice.
         */
        private final int wakeFd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        /** Set (under this worker's lock) when {@link #wakeFd} is closed, so no signal goes to a reused number. */
        private boolean wakeClosed;
        /**
         * True while this worker waits for work in the queue: the only time the close may interrupt it
         * ({@link #interruptIfWaiting}). Cleared under this worker's lock, with any interrupt that came, before it runs
         * a request: an interrupt meant to end an idle wait must never reach a request or a callback of the user.
         */
        private volatile boolean waitingForWork;

        /** Interrupts this worker if it waits for work (the close: it then sees {@code closing} at once). */
        void interruptIfWaiting() {
            synchronized (this) {
                if (waitingForWork) {
                    thread.interrupt();
                }
            }
        }

        /** Leaves the wait for work: no interrupt of the close can come after this, and none that came is kept. */
        private void stopWaitingForWork() {
            synchronized (this) {
                waitingForWork = false;
                Thread.interrupted();
            }
        }

        /** Ends this worker's poll now, if it polls. Any thread. */
        void wake() {
            synchronized (this) {
                if (!wakeClosed && wakeFd >= 0) {
                    Libc.eventfdSignal(wakeFd);
                }
            }
        }

        private void closeWake() {
            synchronized (this) {
                wakeClosed = true;
                if (wakeFd >= 0) {
                    Libc.close(wakeFd);
                }
            }
        }

        @Override
        public void run() {
            try {
                while (true) {
                    Request head;
                    idle.incrementAndGet();
                    // Before the look at `closing` (volatile both): either this worker sees it, or the close sees this
                    // worker waiting and interrupts it.
                    waitingForWork = true;
                    try {
                        head = closing ? queue.poll() : queue.poll(idleNanos, TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        head = null;
                    } finally {
                        idle.decrementAndGet();
                        stopWaitingForWork();
                    }
                    if (head == null) {
                        return; // idle long enough, or closing with nothing left
                    }
                    if (!queue.isEmpty()) {
                        // A submitter that offered while this worker had taken its request but was still counted idle
                        // relied on it and started no worker: look again now that it no longer counts (else a request
                        // could wait behind this one for as long as it runs, a pipe read forever).
                        ensureWorker();
                    }
                    busy.incrementAndGet();
                    try {
                        if (closing) {
                            completeChain(head, -ErrnoTable.ECANCELED, true);
                        } else {
                            runChain(head);
                        }
                    } finally {
                        busy.decrementAndGet();
                    }
                    checkDrained();
                }
            } finally {
                live.remove(this);
                closeWake();
                workers.decrementAndGet();
                if (!queue.isEmpty() && !closing) {
                    ensureWorker(); // an offer may have counted on this worker while it was leaving
                }
                checkDrained();
            }
        }

        private void runChain(Request head) {
            boolean cancelRest = false;
            for (Request r = head; r != null; ) {
                Request next = r.linkNext;
                int res;
                // The worker and a cancel race for a queued request with one CAS each: whoever moves it out of
                // QUEUED decides whether it runs.
                if (cancelRest || !r.state.compareAndSet(Request.QUEUED, Request.IN_KERNEL)) {
                    res = -ErrnoTable.ECANCELED;
                } else {
                    running.incrementAndGet();
                    current = r;
                    try {
                        res = execute(r);
                    } catch (Throwable t) {
                        RingEngine.LOG.log(System.Logger.Level.ERROR, "thread-pool request " + r + " failed", t);
                        res = -ErrnoTable.EIO;
                    } finally {
                        current = null;
                        running.decrementAndGet();
                    }
                }
                if (next != null && (res < 0 || (isTransfer(r) && res < r.length))) {
                    cancelRest = true;
                }
                deliver(r, res, closing && res == -ErrnoTable.ECANCELED);
                r = next;
            }
        }

        private int execute(Request r) {
            return switch (r.opcode) {
                case Uapi.IORING_OP_READ -> (int) read(r, single(r), 1);
                case Uapi.IORING_OP_READV -> (int) read(r, r.address, r.length);
                case Uapi.IORING_OP_WRITE -> (int) write(r, single(r), 1);
                case Uapi.IORING_OP_WRITEV -> (int) write(r, r.address, r.length);
                case Uapi.IORING_OP_FSYNC -> (r.opFlags & Uapi.IORING_FSYNC_DATASYNC) != 0
                        ? Libc.fdatasync(r.fd) : Libc.fsync(r.fd);
                case Uapi.IORING_OP_FALLOCATE -> Libc.fallocate(r.fd, r.length, r.offset, r.address);
                case Uapi.IORING_OP_OPENAT -> open(r);
                case Uapi.IORING_OP_CLOSE -> Libc.close(r.fd);
                case Uapi.IORING_OP_STATX -> Libc.statx(r.fd, r.address, r.opFlags, r.length, r.offset);
                case Uapi.IORING_OP_NOP -> 0;
                default -> -ErrnoTable.EINVAL;
            };
        }

        /**
         * {@code openat} as io_uring's {@code IORING_OP_OPENAT} runs it, so that both backends open a FIFO (named pipe)
         * alike and no worker blocks where no cancel or close reaches it. io_uring first tries the open with
         * {@code O_NONBLOCK} added, then takes the flag off the new file unless the caller asked for it: a FIFO's read
         * end opens at once without a writer, its write end without a reader fails {@code ENXIO}. An open that fails
         * {@code EAGAIN} that way (a lease) is run again blocking, as io_uring hands it to an io-wq worker; so is an
         * open with {@code O_CREAT}, {@code O_TRUNC} or {@code O_TMPFILE}, which io_uring sends to io-wq at once: there
         * a FIFO's write end waits, cancelably, for a reader. Here that wait is the non-blocking open tried again every
         * {@link #FIFO_RETRY_MILLIS}, the worker polling its wake descriptor in between (a cancel or the close ends it at
         * once); a reader that comes and leaves within one retry is not seen. One difference is left: a read-only open
         * of a FIFO with {@code O_CREAT} or {@code O_TRUNC}, which io_uring's worker holds until a writer comes, opens at
         * once here (as io_uring's own open without those flags does): no system call can wait for a writer cancelably.
         * Two {@code fcntl}s per successful open take {@code O_NONBLOCK} off again (io_uring clears it in the kernel).
         */
        private int open(Request r) {
            int flags = r.opFlags;
            boolean waitsForReader = (flags & Libc.O_ACCMODE) == Libc.O_WRONLY
                    && (flags & (Libc.O_CREAT | Libc.O_TRUNC | Libc.O_TMPFILE_BIT)) != 0
                    && (flags & Libc.O_NONBLOCK) == 0; // the caller's own O_NONBLOCK: ENXIO at once, as io_uring's
            while (true) {
                int fd = Libc.openat(r.fd, r.address, flags | Libc.O_NONBLOCK, r.length);
                if (fd >= 0) {
                    if ((flags & Libc.O_NONBLOCK) == 0) {
                        int now = Libc.fcntl(fd, Libc.F_GETFL, 0);
                        if (now >= 0) {
                            Libc.fcntl(fd, Libc.F_SETFL, now & ~Libc.O_NONBLOCK);
                        }
                    }
                    return fd;
                }
                if (fd == -ErrnoTable.EAGAIN) {
                    return Libc.openat(r.fd, r.address, flags, r.length); // never a FIFO: its open has no EAGAIN
                }
                if (fd != -ErrnoTable.ENXIO || !waitsForReader || !isFifo(r)) {
                    return fd;
                }
                if (!awaitReady(r, -1, (short) 0, FIFO_RETRY_MILLIS)) {
                    return -ErrnoTable.ECANCELED;
                }
            }
        }

        /** Whether the path of the open {@code r} names a FIFO (following a symbolic link, as the open does). */
        private boolean isFifo(Request r) {
            if (statx == null) {
                statx = Arena.ofAuto().allocate(Uapi.STATX_STRUCT_SIZE, 8);
            }
            if (Libc.statx(r.fd, r.address, 0, Uapi.STATX_TYPE, statx.address()) != 0) {
                return false;
            }
            return (statx.get(ValueLayout.JAVA_SHORT, Uapi.STATX_MODE_OFFSET) & Libc.S_IFMT) == Libc.S_IFIFO;
        }

        private long single(Request r) {
            iovec.set(ValueLayout.JAVA_LONG, 0, r.address);
            iovec.set(ValueLayout.JAVA_LONG, 8, Integer.toUnsignedLong(r.length));
            return iovec.address();
        }

        /**
         * A read: RWF_NOWAIT first; if it would block, wait for readiness (cancelable), then read. A stream (pipe,
         * socket) is read again without blocking after each wake-up, and waited for again while it has nothing: another
         * reader of the same pipe may take the data that woke this one, and a blocking read would then sit in the
         * kernel where no cancel or close reaches it. A read that carries the caller's own RWF_NOWAIT is answered by
         * its first attempt (EAGAIN when nothing is there), as io_uring answers it.
         */
        private long read(Request r, long iov, int count) {
            long offset = r.offset;
            int flags = r.opFlags; // the caller's rw_flags, as io_uring passes them (RWF_HIPRI, RWF_NOWAIT ...)
            long res = Libc.preadv2(r.fd, iov, count, offset, flags | Libc.RWF_NOWAIT);
            if (res == -ErrnoTable.ESPIPE) {
                offset = -1; // a pipe or socket: no offset, as io_uring ignores it for streams
                res = Libc.preadv2(r.fd, iov, count, offset, flags | Libc.RWF_NOWAIT);
            }
            if ((flags & Libc.RWF_NOWAIT) != 0) {
                return res; // the caller's own RWF_NOWAIT: what is there now, or EAGAIN, as io_uring answers it
            }
            if (res >= 0 && offset >= 0 && res < requested(iov, count)) {
                // RWF_NOWAIT stops where the page cache ends: read the whole range again, allowed to block. (At
                // end of file this costs one more call and gives the same count.)
                return Libc.preadv2(r.fd, iov, count, offset, flags);
            }
            if (offset < 0) {
                while (res == -ErrnoTable.EAGAIN) {
                    if (!awaitReady(r, Libc.POLLIN)) {
                        return -ErrnoTable.ECANCELED;
                    }
                    res = Libc.preadv2(r.fd, iov, count, offset, flags | Libc.RWF_NOWAIT);
                }
            }
            if (res != -ErrnoTable.EAGAIN && res != -ErrnoTable.EOPNOTSUPP) {
                return res;
            }
            // A file being read from the device (RWF_NOWAIT found it uncached), or a descriptor that cannot read
            // without blocking: wait until it is ready (cancelable), then read, allowed to block.
            if (!awaitReady(r, Libc.POLLIN)) {
                return -ErrnoTable.ECANCELED;
            }
            return Libc.preadv2(r.fd, iov, count, offset, flags);
        }

        private static long requested(long iov, int count) {
            MemorySegment vec = MemorySegment.ofAddress(iov).reinterpret((long) count * Uapi.IOVEC_SIZE);
            long total = 0;
            for (int i = 0; i < count; i++) {
                total += vec.get(ValueLayout.JAVA_LONG, (long) i * Uapi.IOVEC_SIZE + 8);
            }
            return total;
        }

        private long write(Request r, long iov, int count) {
            // The caller's rw_flags (RWF_DSYNC, RWF_APPEND ...): dropping them would silently lose what they ask for.
            long res = Libc.pwritev2(r.fd, iov, count, r.offset, r.opFlags);
            if (res == -ErrnoTable.ESPIPE) {
                return streamWrite(r, iov, count);
            }
            return res;
        }

        /**
         * A write to a pipe or socket: {@code RWF_NOWAIT}, and while there is no room, a cancelable wait for it. As with
         * io_uring on a non-regular file, a write that finds some room returns the (possibly short) count written; with
         * the caller's own RWF_NOWAIT, one that finds none returns EAGAIN.
         */
        private long streamWrite(Request r, long iov, int count) {
            while (true) {
                long res = Libc.pwritev2(r.fd, iov, count, -1, r.opFlags | Libc.RWF_NOWAIT);
                if ((r.opFlags & Libc.RWF_NOWAIT) != 0) {
                    return res; // the caller's own RWF_NOWAIT: what fits now, or EAGAIN, as io_uring answers it
                }
                if (res == -ErrnoTable.EOPNOTSUPP) {
                    // This descriptor cannot write without blocking: wait (cancelably) for room, then write blocking.
                    if (!awaitReady(r, Libc.POLLOUT)) {
                        return -ErrnoTable.ECANCELED;
                    }
                    return Libc.pwritev2(r.fd, iov, count, -1, r.opFlags);
                }
                if (res != -ErrnoTable.EAGAIN) {
                    return res;
                }
                if (!awaitReady(r, Libc.POLLOUT)) {
                    return -ErrnoTable.ECANCELED;
                }
            }
        }

        /**
         * Polls until the descriptor is ready for {@code events}; false if a cancel claimed the request meanwhile, or
         * the lane began closing (a close that swept the workers just before this request started polling did not see
         * it polling). A cancel or close signals {@link #wakeFd}, so the poll has no timeout.
         */
        private boolean awaitReady(Request r, short events) {
            return awaitReady(r, r.fd, events, -1);
        }

        /**
         * {@link #awaitReady(Request, short)} on {@code fd} (negative: none, only the wake descriptor), for at most
         * {@code timeoutMillis} when that is not negative: true then too, when the time ran out (try again).
         */
        private boolean awaitReady(Request r, int fd, short events, int timeoutMillis) {
            r.poller = this; // published by the volatile state write below, read by a cancel after its CAS
            r.state.set(Request.POLLING);
            try {
                while (true) {
                    if (closing || r.cancelRequested) {
                        // Closing, or a cancel came while the request was running its first attempt.
                        r.state.compareAndSet(Request.POLLING, Request.CANCEL_CLAIMED);
                    }
                    if (r.state.get() == Request.CANCEL_CLAIMED) {
                        return false;
                    }
                    int ev;
                    if (wakeFd >= 0) {
                        ev = Libc.pollWithWake(fd, events, wakeFd, timeoutMillis);
                        if (ev > 0 && (ev & Libc.POLL_WOKEN) != 0) {
                            Libc.eventfdDrain(wakeFd);
                            ev &= ~Libc.POLL_WOKEN;
                        }
                    } else {
                        ev = Libc.pollOne(fd, events, timeoutMillis < 0 ? (int) POLL_SLICE_MILLIS
                                : (int) Math.min(timeoutMillis, POLL_SLICE_MILLIS));
                    }
                    if (ev == 0 && timeoutMillis >= 0) {
                        return r.state.compareAndSet(Request.POLLING, Request.IN_KERNEL); // time to try again
                    }
                    if (ev > 0) {
                        // Ready (or an error the call itself will report): leave the cancelable phase, unless a
                        // cancel won.
                        return r.state.compareAndSet(Request.POLLING, Request.IN_KERNEL);
                    }
                    if (ev < 0 && ev != -ErrnoTable.EINTR) {
                        return r.state.compareAndSet(Request.POLLING, Request.IN_KERNEL);
                    }
                }
            } finally {
                r.poller = null;
            }
        }
    }

    private static boolean isTransfer(Request r) {
        return r.opcode == Uapi.IORING_OP_READ || r.opcode == Uapi.IORING_OP_WRITE
                || r.opcode == Uapi.IORING_OP_READV || r.opcode == Uapi.IORING_OP_WRITEV;
    }

    // ---------------------------------------------------------------- completion

    private void deliver(Request r, int res, boolean byClose) {
        r.result = res;
        r.closedByEngine = byClose;
        r.poolDone = true;
        CancelWaiter waiters = null;
        if (r.cancelRequested) {
            // Only when a cancel marked this request: see cancelRunning for the handshake.
            synchronized (r) {
                waiters = r.poolWaiters;
                r.poolWaiters = null;
            }
        }
        completed.increment();
        r.deliver();
        for (CancelWaiter w = waiters; w != null; w = w.next) {
            w.outcome.complete(res == -ErrnoTable.ECANCELED ? CancelOutcome.CANCELED : CancelOutcome.NOT_CANCELED);
        }
        Request.runAfterBatch(afterCompletionBatch);
    }

    private void completeChain(Request head, int res, boolean byClose) {
        for (Request r = head; r != null; ) {
            Request next = r.linkNext;
            deliver(r, res, byClose);
            r = next;
        }
    }

    // ---------------------------------------------------------------- cancel and close

    @Override
    public void cancel(Request target, CompletableFuture<CancelOutcome> outcome) {
        if (queue.remove(target)) {
            completeChain(target, -ErrnoTable.ECANCELED, false);
            outcome.complete(CancelOutcome.CANCELED);
            return;
        }
        // Decide with a CAS against the worker: QUEUED (just taken, or behind the head of a chain) and POLLING (a read
        // or write waiting for its descriptor) can still be claimed; the worker then completes the request with
        // -ECANCELED. A request IN_KERNEL is running a system call: it is marked, so that it gives up if it comes to
        // wait for its descriptor, and the outcome is what it ends with.
        while (true) {
            int s = target.state.get();
            if (s == Request.QUEUED || s == Request.POLLING) {
                if (target.state.compareAndSet(s, Request.CANCEL_CLAIMED)) {
                    if (s == Request.POLLING) {
                        wakePoller(target);
                    }
                    outcome.complete(CancelOutcome.CANCELED);
                    return;
                }
            } else if (s == Request.CANCEL_CLAIMED) {
                outcome.complete(CancelOutcome.CANCELED);
                return;
            } else if (s == Request.IDLE) {
                outcome.complete(CancelOutcome.ALREADY_DONE);
                return;
            } else {
                cancelRunning(target, target.seq, outcome); // seq: read after the state, which published it
                return;
            }
        }
    }

    /**
     * Cancels a request a worker is running (submission {@code seq}): marks it (a worker about to wait for the
     * descriptor then gives up), wakes its worker if it already waits, and leaves the outcome to the end of the request
     * (see {@link #deliver}). The mark and {@link Request#poolDone} are a handshake of two volatile writes, each
     * followed by a read of the other's: either the worker sees the mark and takes the waiters under the request's
     * lock, or this thread sees the request done and decides at once. The lock also keeps a cancel of an earlier
     * submission from marking a later one ({@link #enqueue} resets the mark under it).
     */
    private static void cancelRunning(Request target, long seq, CompletableFuture<CancelOutcome> outcome) {
        CancelOutcome decided;
        synchronized (target) {
            if (target.seq != seq) {
                decided = CancelOutcome.ALREADY_DONE; // that submission ended and the request was submitted again
            } else {
                target.cancelRequested = true;
                if (!target.poolDone) {
                    target.poolWaiters = new CancelWaiter(outcome, target.poolWaiters);
                    decided = null;
                } else {
                    decided = target.result == -ErrnoTable.ECANCELED ? CancelOutcome.CANCELED
                            : CancelOutcome.ALREADY_DONE;
                }
            }
        }
        if (decided != null) {
            outcome.complete(decided);
        } else {
            wakePoller(target);
        }
    }

    /** A cancel waiting for the result of the running request it targets. */
    static final class CancelWaiter {
        final CompletableFuture<CancelOutcome> outcome;
        final CancelWaiter next;

        CancelWaiter(CompletableFuture<CancelOutcome> outcome, CancelWaiter next) {
            this.outcome = outcome;
            this.next = next;
        }
    }

    /** Wakes the worker that polls {@code target}, which a cancel just claimed, so it completes it now. */
    private static void wakePoller(Request target) {
        if (target.poller instanceof Worker w) {
            w.wake();
        }
    }

    @Override
    public CompletableFuture<Void> beginClose() {
        CompletableFuture<Void> done = new CompletableFuture<>();
        drained = done;
        closing = true;
        Request head;
        while ((head = queue.poll()) != null) {
            completeChain(head, -ErrnoTable.ECANCELED, true);
        }
        for (Worker w : live) {
            Request r = w.current;
            if (r != null) {
                r.state.compareAndSet(Request.POLLING, Request.CANCEL_CLAIMED);
            }
            w.wake(); // a worker polling sees `closing` (and its claimed request) at once
            w.interruptIfWaiting(); // wakes idle workers; one running a request or callback is left alone
        }
        checkDrained();
        return done;
    }

    /** While closing, cancel what polls; complete the close future once nothing runs. */
    private void checkDrained() {
        CompletableFuture<Void> d = drained;
        if (d == null) {
            return;
        }
        if (busy.get() == 0 && queue.isEmpty()) {
            d.complete(null);
        }
    }

    @Override
    public void deregister() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Worker w : live) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                try {
                    w.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public boolean isCurrentThread() {
        return Thread.currentThread() instanceof PoolThread p && p.lane == this;
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
        return 0;
    }

    @Override
    public long sqes() {
        return 0;
    }

    @Override
    public int inFlight() {
        return running.get();
    }

    /** Never: an engine has one pool lane, so there is no other to choose (its queue is unbounded by design). */
    @Override
    public boolean full() {
        return false;
    }
}
