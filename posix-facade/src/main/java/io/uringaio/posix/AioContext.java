package io.uringaio.posix;

import io.uringaio.engine.Backend;
import io.uringaio.engine.CancelOutcome;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * An AIO context: its own engine and its own request bookkeeping, with the functions of {@link Aio} as instance
 * methods of the same names. {@link Aio}'s static functions use one process-wide context that starts on first use;
 * create an {@code AioContext} for tests or for a program that wants two. The engine starts with the first request,
 * so {@link #aio_init} before it takes effect.
 *
 * <p>Every method is thread-safe. {@link #close()} cancels what is outstanding, waits for it and releases the engine;
 * a request submitted after close fails with -1/EAGAIN.
 */
public final class AioContext implements AutoCloseable {
    private static final long CANCEL_WAIT_SECONDS = 30;
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");
    /** Descriptors below this index a dense array; larger numbers a map that holds only those in use. */
    static final int DENSE_FD_LIMIT = FdTable.DENSE_LIMIT;
    /** The most worker threads {@code aio_init}'s {@code aio_threads} asks for: the engine's pool bound. */
    private static final int MAX_AIO_THREADS = 4096;
    private static final ExecutorService THREAD_NOTIFIER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "uring-aio-sigev-thread");
        t.setDaemon(true);
        return t;
    });

    private final RingEngineConfig baseConfig;
    private volatile RingEngine engine;
    private AioInit init;
    private volatile boolean closed;
    private final Object startLock = new Object();
    private final FdTable fds;

    /** Threads in aio_suspend or waiting for a cancel; LIO_WAIT callers wait on their own {@link ListIo}. */
    private final Waiters waiters = new Waiters();
    /**
     * Set after a status is published by a batched completion; taken with getAndSet by whichever thread runs the
     * after-batch hook next (rings run it concurrently; the page-cache fast path runs it on submitting threads), so a
     * set is never cleared without a wake-up that follows it.
     */
    private final AtomicBoolean wakePending = new AtomicBoolean();

    /** A context with its own engine and default settings. */
    public AioContext() {
        this(new RingEngineConfig());
    }

    /**
     * A context whose engine is opened with {@code config}. The context takes the config over: {@link #aio_init}
     * before the first request adjusts it, and the context installs its own
     * {@link RingEngineConfig#afterCompletionBatch(Runnable) afterCompletionBatch} hook (to wake its waiters once per
     * completion batch).
     */
    public AioContext(RingEngineConfig config) {
        this(config, DENSE_FD_LIMIT);
    }

    /** For tests: a context whose descriptor table keeps only numbers below {@code denseFdLimit} in its array. */
    AioContext(RingEngineConfig config, int denseFdLimit) {
        this.baseConfig = config;
        this.fds = new FdTable(denseFdLimit);
    }

    // ---------------------------------------------------------------- submission

    /** See {@link Aio#aio_read}. */
    public int aio_read(Aiocb aiocbp) {
        return submitOne(aiocbp, Aiocb.OP_READ);
    }

    /** See {@link Aio#aio_write}. */
    public int aio_write(Aiocb aiocbp) {
        return submitOne(aiocbp, Aiocb.OP_WRITE);
    }

    /** See {@link Aio#aio_fsync}. */
    public int aio_fsync(int op, Aiocb aiocbp) {
        if (aiocbp == null) {
            return Errno.fail(Errno.EFAULT);
        }
        if (!aiocbp.claim()) {
            return Errno.fail(Errno.EBUSY);
        }
        int err;
        if (op != Fcntl.O_SYNC && op != Fcntl.O_DSYNC) {
            err = Errno.EINVAL;
        } else {
            err = checkSigevent(aiocbp.aio_sigevent);
            if (err == 0 && Libc.fcntl(aiocbp.aio_fildes, Libc.F_GETFD, 0) < 0) {
                err = Errno.EBADF;
            }
        }
        return start(aiocbp, op == Fcntl.O_SYNC ? Aiocb.OP_FSYNC : Aiocb.OP_FDATASYNC, err);
    }

    private int submitOne(Aiocb cb, byte op) {
        if (cb == null) {
            return Errno.fail(Errno.EFAULT);
        }
        // The claim comes first: until it succeeds nothing of the block is read or written, so of two calls racing on
        // one block the loser changes nothing and gets EBUSY (issue 11 item 10).
        if (!cb.claim()) {
            return Errno.fail(Errno.EBUSY);
        }
        return start(cb, op, checkTransfer(cb, op));
    }

    /**
     * The rest of a single submission of a claimed block: reject with {@code err} (or EAGAIN when closed or out of
     * bounce memory), else snapshot, queue and dispatch. Returns what the call returns.
     */
    private int start(Aiocb cb, byte op, int err) {
        if (err == 0 && closed) {
            err = Errno.EAGAIN;
        }
        if (err == 0) {
            err = reserveBounce(cb, op);
        }
        if (err != 0) {
            return reject(cb, err);
        }
        snapshot(cb, op, null);
        boolean goesNow;
        try {
            goesNow = enqueue(cb);
        } catch (Throwable t) { // out of memory for a new descriptor state: nothing was queued
            LOG.log(System.Logger.Level.WARNING, "aio request not queued", t);
            releaseSnapshot(cb);
            return reject(cb, Errno.EAGAIN);
        }
        if (goesNow) {
            dispatch(cb);
        }
        return 0;
    }

    /** The synchronous checks of a read or write; 0 or the errno. */
    private static int checkTransfer(Aiocb cb, byte op) {
        if (cb.aio_reqprio < 0 || cb.aio_reqprio > Aio.AIO_PRIO_DELTA_MAX) {
            return Errno.EINVAL;
        }
        if (cb.aio_nbytes < 0) {
            return Errno.EINVAL;
        }
        if (cb.aio_buf == null) {
            if (cb.aio_nbytes > 0) {
                return Errno.EFAULT;
            }
        } else {
            if (cb.aio_nbytes > cb.aio_buf.capacity()) {
                return Errno.EINVAL;
            }
            if (op == Aiocb.OP_READ && cb.aio_buf.isReadOnly()) {
                return Errno.EFAULT;
            }
        }
        return checkSigevent(cb.aio_sigevent);
    }

    private static int checkSigevent(SigEvent e) {
        if (e == null) {
            return 0;
        }
        return switch (e.sigev_notify) {
            case Signals.SIGEV_NONE -> 0;
            case Signals.SIGEV_SIGNAL -> Signals.validSigno(e.sigev_signo) ? 0 : Errno.EINVAL;
            case Signals.SIGEV_THREAD -> e.sigev_notify_function != null ? 0 : Errno.EINVAL;
            default -> Errno.EINVAL;
        };
    }

    /** A synchronous rejection of a claimed block: the errno becomes the request's status; no notification. */
    private static int reject(Aiocb cb, int err) {
        cb.error = err;
        cb.result = -1;
        cb.state = Aiocb.DONE;
        return Errno.fail(err);
    }

    /**
     * Makes sure a transfer from or to a heap buffer (or of no buffer) has its bounce buffer before anything is
     * queued: running out of direct memory is then a synchronous EAGAIN (POSIX: "not queued due to system resource
     * limitations") instead of a failure inside a completion. 0 or EAGAIN.
     */
    private static int reserveBounce(Aiocb cb, byte op) {
        if (op != Aiocb.OP_READ && op != Aiocb.OP_WRITE) {
            return 0;
        }
        ByteBuffer buf = cb.aio_buf;
        if (buf != null && buf.isDirect()) {
            return 0;
        }
        try {
            ensureBounce(cb, buf == null ? 1 : (int) cb.aio_nbytes);
            return 0;
        } catch (OutOfMemoryError noDirectMemory) {
            return Errno.EAGAIN;
        }
    }

    /** Drops what a snapshot took from the caller, for a request that will not run. */
    private static void releaseSnapshot(Aiocb cb) {
        cb.buffer = null;
        cb.list = null;
        cb.value = null;
        cb.function = null;
        cb.executor = null;
    }

    /** Copies the caller's fields into the request; from here on the caller's fields are not read again. */
    private void snapshot(Aiocb cb, byte op, ListIo list) {
        cb.context = this;
        cb.requestForNewSubmission();
        cb.submission++;
        cb.op = op;
        cb.fd = cb.aio_fildes;
        cb.list = list;
        SigEvent e = cb.aio_sigevent;
        cb.notify = e == null ? Signals.SIGEV_NONE : e.sigev_notify;
        cb.signo = e == null ? 0 : e.sigev_signo;
        cb.value = e == null ? null : e.sigev_value;
        cb.function = e == null ? null : e.sigev_notify_function;
        cb.executor = e == null ? null : e.sigev_notify_attributes;
        if (op == Aiocb.OP_READ || op == Aiocb.OP_WRITE) {
            cb.offset = cb.aio_offset;
            cb.nbytes = (int) cb.aio_nbytes;
            cb.buffer = cb.aio_buf;
            cb.priority = cb.aio_reqprio;
            cb.append = op == Aiocb.OP_WRITE && isAppend(cb.fd);
        } else {
            cb.offset = 0;
            cb.nbytes = 0;
            cb.buffer = null;
            cb.priority = 0;
            cb.append = false;
        }
    }

    private static boolean isAppend(int fd) {
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        return flags >= 0 && (flags & Fcntl.O_APPEND) != 0;
    }

    /** Whether a read on {@code fd} may try the page cache on this thread: not O_DIRECT (nor an unknown descriptor). */
    private static boolean mayReadInline(int fd) {
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        return flags >= 0 && (flags & Fcntl.O_DIRECT) == 0;
    }

    /**
     * Adds the request to its fildes' list (setting WAITING or IN_KERNEL under the fildes' monitor); true when it may
     * go to the kernel now. A negative fildes has no list: it goes straight to {@link #prepare}, which fails it.
     */
    private boolean enqueue(Aiocb cb) {
        if (cb.fd < 0) {
            cb.state = Aiocb.IN_KERNEL;
            return true;
        }
        return fds.add(cb.fd, cb);
    }

    /**
     * Prepares the engine request of an IN_KERNEL control block: 0, or the {@code -errno} it completes with without
     * the kernel.
     */
    private int prepare(Aiocb cb) {
        var r = cb.request;
        if (cb.fd < 0) {
            return -Errno.EBADF; // no such descriptor; never handed to the kernel, which reads some negatives specially
        }
        switch (cb.op) {
            case Aiocb.OP_FSYNC, Aiocb.OP_FDATASYNC -> r.prepFsync(cb.fd, cb.op == Aiocb.OP_FDATASYNC).priority(0);
            default -> {
                long offset = cb.offset;
                if (offset < 0) {
                    long pos = Libc.lseek(cb.fd, 0, Libc.SEEK_CUR);
                    if (pos == -Errno.ESPIPE) {
                        offset = 0; // a pipe or socket: the offset is ignored
                    } else {
                        return pos < 0 ? (int) pos : -Errno.EINVAL;
                    }
                }
                long address = address(cb);
                if (cb.op == Aiocb.OP_READ) {
                    r.prepRead(cb.fd, address, cb.nbytes, offset);
                } else {
                    r.prepWrite(cb.fd, address, cb.nbytes, offset);
                }
                r.priority(cb.priority).attach(cb.buffer);
            }
        }
        return 0;
    }

    /**
     * The native address of index 0 of the transfer: the direct buffer's own, or the bounce buffer's (reserved at
     * submission), filled from a heap buffer for a write.
     */
    private static long address(Aiocb cb) {
        ByteBuffer buf = cb.buffer;
        if (buf == null) {
            return cb.bounceAddress;
        }
        if (buf.isDirect()) {
            if (cb.addressOf != buf) {
                cb.cachedAddress = MemorySegment.ofBuffer(buf).address() - buf.position();
                cb.addressOf = buf;
            }
            return cb.cachedAddress;
        }
        if (cb.op == Aiocb.OP_WRITE) {
            copyIn(cb.bounce, buf, cb.nbytes);
        }
        return cb.bounceAddress;
    }

    /**
     * Copies {@code src[0, n)} to the bounce buffer by absolute index, whatever src's position and limit (the spec:
     * they are never read). A heap buffer's array directly; a read-only one (no array) through a view whose window is
     * the whole buffer.
     */
    private static void copyIn(ByteBuffer bounce, ByteBuffer src, int n) {
        if (src.hasArray()) {
            bounce.put(0, src.array(), src.arrayOffset(), n);
        } else {
            bounce.put(0, src.duplicate().clear(), 0, n);
        }
    }

    /** Copies {@code n} bytes read into the bounce buffer to {@code dst[0, n)}: a writable heap buffer has an array. */
    private static void copyOut(ByteBuffer bounce, ByteBuffer dst, int n) {
        bounce.get(0, dst.array(), dst.arrayOffset(), n);
    }

    /**
     * The bounce buffer of at least {@code size} bytes, 4 KiB aligned ({@link #bounceCapacity}).
     *
     * @throws OutOfMemoryError when direct memory is exhausted, or {@code size} is too large to bounce at all
     */
    private static long ensureBounce(Aiocb cb, int size) {
        if (cb.bounce == null || cb.bounce.capacity() < size) {
            int capacity = bounceCapacity(size);
            if (capacity < 0) {
                throw new OutOfMemoryError("a bounce buffer of " + size + " bytes does not fit a direct ByteBuffer");
            }
            ByteBuffer b = ByteBuffer.allocateDirect(capacity + 4096).alignedSlice(4096);
            cb.bounce = b;
            cb.bounceAddress = MemorySegment.ofBuffer(b).address();
        }
        return cb.bounceAddress;
    }

    /**
     * The capacity of a bounce buffer for {@code size} bytes: the next power of two, at least 4 KiB (so a reused block
     * rarely reallocates), or exactly {@code size} where the power of two plus the 4 KiB alignment slack would not fit
     * an int; -1 when not even that fits. Computed in long: the old int arithmetic wrapped for sizes above 2^30 and
     * asked {@code allocateDirect} for a negative capacity near 2 GiB.
     */
    static int bounceCapacity(int size) {
        long capacity = Math.max(4096, Long.highestOneBit(Math.max(1, size - 1)) << 1);
        if (capacity + 4096 > Integer.MAX_VALUE) {
            capacity = Math.max(size, 4096);
        }
        return capacity + 4096 > Integer.MAX_VALUE ? -1 : (int) capacity;
    }

    /**
     * Hands an IN_KERNEL block to the engine, or completes it: with the errno {@link #prepare} found, ECANCELED when
     * the engine is closed, EIO when the facade itself failed. Never throws: it also runs on completion threads, for
     * requests a completion released.
     */
    private void dispatch(Aiocb cb) {
        int res;
        try {
            res = prepare(cb);
            if (res == 0) {
                // A read alone (not a lio_listio entry, whose list goes to the kernel as one batch) tries the page
                // cache on this thread first and then completes inside aio_read; not on O_DIRECT, where it would wait
                // for the device.
                cb.request.pageCacheFirst(cb.op == Aiocb.OP_READ && mayReadInline(cb.fd));
                engine().submit(cb.request);
                return;
            }
        } catch (EngineRejectedException closedEngine) {
            res = -Errno.ECANCELED;
        } catch (Throwable t) {
            if (!failedBeforeEngine(cb, t)) {
                return;
            }
            res = -Errno.EIO;
        }
        completed(cb, res);
    }

    /**
     * After the facade's own code threw while handing {@code cb} to the engine: true when the engine does not hold it
     * (so the facade must complete it, or it would be lost), false when the engine holds it (its completion will come).
     */
    private static boolean failedBeforeEngine(Aiocb cb, Throwable t) {
        LOG.log(System.Logger.Level.ERROR, "aio request failed in the facade: " + cb.request, t);
        return !cb.request.inFlight() && cb.state == Aiocb.IN_KERNEL;
    }

    /** Dispatches a chain of requests a completion or a cancel released ({@link FdState#remove}). */
    private void dispatchReleased(Aiocb released) {
        while (released != null) {
            Aiocb next = released.releasedNext;
            released.releasedNext = null;
            dispatch(released);
            released = next;
        }
    }

    // ---------------------------------------------------------------- completion

    /** A completion delivered by the engine: waiters are woken once per completion batch ({@link #afterBatch}). */
    void completedByEngine(Aiocb cb, int res) {
        completed(cb, res, true);
    }

    /** A completion the facade makes itself (not through the engine): waiters are woken at once. */
    void completed(Aiocb cb, int res) {
        completed(cb, res, false);
    }

    /** Runs on the engine's thread after each batch of completions: one wake-up for all of them. */
    private void afterBatch() {
        if (wakePending.get() && wakePending.getAndSet(false)) {
            waiters.wakeAll();
        }
    }

    /**
     * The result for {@code cb}: make it final, then release, wake and notify. Never throws, and nothing before the
     * status is published may throw: a failure of the facade's own code here (the copy back from the bounce buffer)
     * turns the result into EIO; the steps after it (wake-up, notification, list bookkeeping, released requests) are
     * each guarded, so one failing does not skip the others. A completion callback that threw would be swallowed by
     * the engine and the request lost (issue 11 item 7).
     */
    private void completed(Aiocb cb, int res, boolean batched) {
        if (res > 0 && cb.op == Aiocb.OP_READ && cb.buffer != null && !cb.buffer.isDirect()) {
            try {
                copyOut(cb.bounce, cb.buffer, Math.min(res, cb.nbytes));
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "copy from the bounce buffer failed: " + cb.request, t);
                res = -Errno.EIO;
            }
        }
        // Capture what the notification needs before the status is published: after that the caller may reuse cb.
        int notify = cb.notify;
        int signo = cb.signo;
        Object value = cb.value;
        Consumer<Object> function = cb.function;
        Executor executor = cb.executor;
        ListIo list = cb.list;
        FdState fdState = cb.fdState;
        // The signal's disposition is taken as the request completes, before its status is published: a handler
        // installed by someone who already saw the final status does not receive this one.
        Consumer<SigInfo> handler = notify == Signals.SIGEV_SIGNAL ? Signals.disposition(signo) : null;
        int fd = cb.fd;
        Aiocb released = null;
        if (fdState != null) {
            try {
                released = fdState.remove(cb);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "ordering bookkeeping failed: " + cb.request, t);
            }
        }
        releaseSnapshot(cb);
        cb.request.attach(null);
        cb.error = res < 0 ? -res : 0;
        cb.result = res < 0 ? -1 : res;
        cb.state = Aiocb.DONE;
        // From here on the status is final; the rest is guarded step by step.
        if (batched) {
            wakePending.set(true); // published after the status: the batch's wake-up sees it
        } else {
            wakeWaiters();
        }
        try {
            if (notify == Signals.SIGEV_SIGNAL) {
                Signals.deliver(handler, signo, value);
            } else {
                notify(notify, signo, value, function, executor);
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "aio notification failed", t);
        }
        if (list != null) {
            try {
                list.release(res < 0);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "lio_listio bookkeeping failed", t);
            }
        }
        if (fdState != null) {
            try {
                fds.dropIfIdle(fd, fdState);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "descriptor table bookkeeping failed", t);
            }
        }
        dispatchReleased(released);
    }

    /**
     * Fires a notification: SIGEV_SIGNAL to the handler installed now, SIGEV_THREAD on its executor (or a facade
     * thread). Never throws.
     */
    void notify(int notify, int signo, Object value, Consumer<Object> function, Executor executor) {
        if (notify == Signals.SIGEV_SIGNAL) {
            try {
                Signals.raise(signo, value);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "signal delivery failed for " + signo, t);
            }
        } else if (notify == Signals.SIGEV_THREAD) {
            ThreadNotification task = new ThreadNotification(function, value);
            if (executor == null) {
                runOnce(task, null);
            } else {
                handOff(task, executor);
            }
        }
    }

    /**
     * Calls the caller's {@code sigev_notify_attributes} executor from a facade thread, never from the completion
     * path: an {@code execute} that blocks (a full bounded queue with a blocking policy, a direct executor whose
     * function waits) then holds that one facade thread, not a ring's or pool's completion thread with every other
     * request behind it. The price is one more thread hand-off for notifications that name an executor.
     */
    private static void handOff(ThreadNotification task, Executor executor) {
        try {
            THREAD_NOTIFIER.execute(() -> runOnce(task, executor));
        } catch (Throwable noThread) { // no facade thread can be started: call it here rather than never
            runOnce(task, executor);
        }
    }

    /**
     * Runs a SIGEV_THREAD notification exactly once: on {@code executor} (null: a facade thread); if the executor
     * throws before the task started, that is a rejection and the task runs on a facade thread instead. The task
     * catches the function's own exceptions, so a throw seen here is always the executor's (a direct executor such as
     * {@code Runnable::run} runs the function inside {@code execute}: its throw is not a rejection, issue 11 item 9),
     * and the task's claim makes a second run impossible even for an executor that queued it and then threw. As a
     * last resort (no facade thread can be started) the function runs here: once, late and on this thread, rather
     * than never.
     */
    private static void runOnce(ThreadNotification task, Executor executor) {
        Executor where = executor != null ? executor : THREAD_NOTIFIER;
        try {
            where.execute(task);
            return;
        } catch (Throwable rejected) {
            if (task.started()) {
                LOG.log(System.Logger.Level.WARNING, "sigev_notify_attributes executor threw after running", rejected);
                return;
            }
        }
        try {
            THREAD_NOTIFIER.execute(task);
        } catch (Throwable noThread) {
            task.run();
        }
    }

    /** One SIGEV_THREAD notification: runs its function at most once, whoever calls {@link #run} first. */
    private static final class ThreadNotification extends AtomicBoolean implements Runnable {
        private final Consumer<Object> function;
        private final Object value;

        ThreadNotification(Consumer<Object> function, Object value) {
            this.function = function;
            this.value = value;
        }

        boolean started() {
            return get();
        }

        @Override
        public void run() {
            if (!compareAndSet(false, true)) {
                return;
            }
            try {
                function.accept(value);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "sigev_notify_function threw", t);
            }
        }
    }

    void wakeWaiters() {
        waiters.wakeAll();
    }

    // ---------------------------------------------------------------- status

    /** See {@link Aio#aio_error}. */
    public int aio_error(Aiocb aiocbp) {
        if (aiocbp == null) {
            return Errno.fail(Errno.EINVAL);
        }
        return switch (aiocbp.state) {
            case Aiocb.WAITING, Aiocb.IN_KERNEL, Aiocb.SUBMITTING -> Errno.EINPROGRESS;
            case Aiocb.DONE -> aiocbp.error;
            default -> Errno.EINVAL;
        };
    }

    /** See {@link Aio#aio_return}. */
    public long aio_return(Aiocb aiocbp) {
        if (aiocbp == null) {
            return Errno.fail(Errno.EINVAL);
        }
        if (aiocbp.inProgress()) {
            return Errno.fail(Errno.EINPROGRESS);
        }
        long result = aiocbp.result; // read before the collect: DONE published it
        return aiocbp.collect() ? result : Errno.fail(Errno.EINVAL);
    }

    /** See {@link Aio#aio_suspend}. */
    public int aio_suspend(Aiocb[] list, int nent, Timespec timeout) {
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
            return awaitAny(list, nent, timeoutNanos, deadline) ? 0 : Errno.fail(Errno.EAGAIN);
        } catch (InterruptedException e) {
            return Errno.fail(Errno.EINTR);
        }
    }

    private boolean awaitAny(Aiocb[] list, int nent, long timeoutNanos, long deadline) throws InterruptedException {
        int slot = waiters.register();
        try {
            while (true) {
                for (int i = 0; i < nent; i++) {
                    Aiocb cb = list[i];
                    if (cb != null && !cb.inProgress()) {
                        return true;
                    }
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (timeoutNanos >= 0 && deadline - System.nanoTime() <= 0) {
                    return false;
                }
                Waiters.park(slot, timeoutNanos < 0 ? 0 : deadline);
            }
        } finally {
            waiters.unregister(slot);
        }
    }

    // ---------------------------------------------------------------- cancel

    /** See {@link Aio#aio_cancel}. */
    public int aio_cancel(int fildes, Aiocb aiocbp) {
        if (Libc.fcntl(fildes, Libc.F_GETFD, 0) < 0) {
            return Errno.fail(Errno.EBADF);
        }
        if (aiocbp != null && aiocbp.aio_fildes != fildes) {
            return Errno.fail(Errno.EINVAL);
        }
        FdState.Outstanding[] targets;
        if (aiocbp != null) {
            int s = aiocbp.state; // the state first: the submission number read after it is at least as new
            long submission = aiocbp.submission;
            if (s != Aiocb.WAITING && s != Aiocb.IN_KERNEL || aiocbp.context != this) {
                return Aio.AIO_ALLDONE;
            }
            targets = new FdState.Outstanding[] {new FdState.Outstanding(aiocbp, submission)};
        } else {
            FdState state = fildes < 0 ? null : fds.get(fildes);
            targets = state == null ? new FdState.Outstanding[0] : state.snapshot();
        }
        boolean anyCanceled = false;
        boolean anyNotCanceled = false;
        for (FdState.Outstanding target : targets) {
            switch (cancelOne(target.cb(), target.submission())) {
                case CANCELED -> anyCanceled = true;
                case NOT_CANCELED -> anyNotCanceled = true;
                case ALREADY_DONE -> { }
            }
        }
        if (anyNotCanceled) {
            return Aio.AIO_NOTCANCELED;
        }
        return anyCanceled ? Aio.AIO_CANCELED : Aio.AIO_ALLDONE;
    }

    /**
     * Cancels submission {@code submission} of {@code cb}, and nothing else: the block may have completed and been
     * submitted again by its owner since the caller found it (a snapshot of a descriptor's requests, taken by one
     * thread while others reap and reuse their blocks). The check and the cancel's issue happen under the block's
     * cancel pin, so the owner's next submission cannot reach the engine in between.
     */
    private CancelOutcome cancelOne(Aiocb cb, long submission) {
        CompletableFuture<CancelOutcome> inEngine = null;
        FdState removedFrom = null;
        int fd;
        cb.pinForCancel();
        try {
            int s = cb.state;
            if (cb.submission != submission || (s != Aiocb.WAITING && s != Aiocb.IN_KERNEL)) {
                return CancelOutcome.ALREADY_DONE;
            }
            FdState state = cb.fdState;
            fd = cb.fd;
            if (state != null && state.removeWaiting(cb, submission)) {
                removedFrom = state; // ours to complete: no one else sees it any more
            } else {
                RingEngine e = engine;
                if (cb.state != Aiocb.IN_KERNEL || e == null) {
                    return CancelOutcome.ALREADY_DONE;
                }
                cb.cancelIssued();
                try {
                    inEngine = e.cancel(cb.request);
                } catch (RuntimeException notIssued) {
                    cb.cancelSettled();
                    LOG.log(System.Logger.Level.ERROR, "engine cancel failed: " + cb.request, notIssued);
                    return CancelOutcome.NOT_CANCELED;
                }
                inEngine.whenComplete((outcome, failure) -> cb.cancelSettled());
            }
        } finally {
            cb.unpinForCancel();
        }
        if (removedFrom != null) {
            cb.state = Aiocb.IN_KERNEL; // leaves WAITING; completed() makes it final
            completed(cb, -Errno.ECANCELED);
            // What the canceled request held back may go now; its state may be dropped if that was all.
            dispatchReleased(removedFrom.releaseAfterCancel());
            fds.dropIfIdle(fd, removedFrom);
            return CancelOutcome.CANCELED;
        }
        // The wait for the engine's answer ignores interrupts (and keeps the status for the caller): the cancel is
        // issued and will act whatever this thread does, so answering AIO_NOTCANCELED on an interrupt could
        // contradict the request's final ECANCELED. The wait is short (one ring or pool round trip) and bounded.
        boolean interrupted = Thread.interrupted();
        try {
            CancelOutcome outcome = awaitOutcome(inEngine);
            if (outcome == CancelOutcome.CANCELED) {
                awaitFinal(cb, submission);
            }
            return outcome;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The engine's answer to an issued cancel, waited for without regard to interrupts (bounded); they are kept. */
    private static CancelOutcome awaitOutcome(CompletableFuture<CancelOutcome> inEngine) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return inEngine.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException ie) {
                    interrupted = true;
                } catch (ExecutionException | TimeoutException ex) {
                    return CancelOutcome.NOT_CANCELED;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits (bounded) until a canceled request's -ECANCELED completion has been recorded, so the caller of
     * {@code aio_cancel} that gets AIO_CANCELED reads ECANCELED at once. Called with the interrupt status clear.
     */
    private void awaitFinal(Aiocb cb, long submission) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS);
        int slot = waiters.register();
        boolean interrupted = false;
        try {
            while (cb.inProgress(submission) && deadline - System.nanoTime() > 0) {
                if (Thread.interrupted()) {
                    interrupted = true; // parking with it set would spin; kept for the caller
                }
                Waiters.park(slot, deadline);
            }
        } finally {
            waiters.unregister(slot);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---------------------------------------------------------------- lio_listio

    /** See {@link Aio#lio_listio}. */
    public int lio_listio(int mode, Aiocb[] list, int nent, SigEvent sig) {
        if ((mode != Aio.LIO_WAIT && mode != Aio.LIO_NOWAIT) || nent < 0 || nent > Aio.AIO_LISTIO_MAX
                || (list == null ? nent > 0 : nent > list.length)) {
            return Errno.fail(Errno.EINVAL);
        }
        if (mode == Aio.LIO_NOWAIT && checkSigevent(sig) != 0) {
            return Errno.fail(Errno.EINVAL);
        }
        if (closed) {
            return Errno.fail(Errno.EAGAIN);
        }
        ListIo group = new ListIo(this, mode == Aio.LIO_NOWAIT ? sig : null);
        LioScratch scratch = LIO_SCRATCH.get().ensure(nent);
        io.uringaio.engine.Request[] batch = scratch.requests;
        Aiocb[] batchCbs = scratch.aiocbs;
        int n = 0;
        for (int i = 0; i < nent; i++) {
            Aiocb cb = list[i];
            if (cb == null || cb.aio_lio_opcode == Aio.LIO_NOP) {
                continue;
            }
            // A block listed twice in this call is taken by its first entry only: an entry that completes at once
            // (a bad opcode, a bad fildes) is claimable again, and would otherwise run and notify a second time.
            if (cb.listedIn == group || !cb.claim()) {
                group.failed(); // EBUSY: this entry is someone else's request (or listed twice); leave it alone
                continue;
            }
            cb.listedIn = group;
            byte op = cb.aio_lio_opcode == Aio.LIO_READ ? Aiocb.OP_READ
                    : cb.aio_lio_opcode == Aio.LIO_WRITE ? Aiocb.OP_WRITE : -1;
            int err = op < 0 ? Errno.EINVAL : checkTransfer(cb, op);
            if (err == 0) {
                err = reserveBounce(cb, op);
            }
            if (err != 0) {
                failEntry(cb, err);
                group.failed();
                continue;
            }
            snapshot(cb, op, group);
            group.add();
            boolean goesNow;
            try {
                goesNow = enqueue(cb);
            } catch (Throwable t) { // out of memory for a new descriptor state: this entry was not queued
                LOG.log(System.Logger.Level.WARNING, "lio_listio entry not queued", t);
                cb.state = Aiocb.IN_KERNEL;
                completed(cb, -Errno.EAGAIN);
                continue;
            }
            if (goesNow) {
                int res;
                try {
                    res = prepare(cb);
                } catch (Throwable t) { // the facade's own failure, before the engine saw the request
                    LOG.log(System.Logger.Level.ERROR, "lio_listio entry failed in the facade", t);
                    res = -Errno.EIO;
                }
                if (res == 0) {
                    batch[n] = cb.request;
                    batchCbs[n] = cb;
                    n++;
                } else {
                    completed(cb, res);
                }
            }
        }
        if (n > 0) {
            submitBatch(batch, batchCbs, n);
        }
        java.util.Arrays.fill(batch, 0, n, null);
        java.util.Arrays.fill(batchCbs, 0, n, null);
        group.release(false);
        if (mode == Aio.LIO_NOWAIT) {
            return 0;
        }
        try {
            group.await();
        } catch (InterruptedException e) {
            return Errno.fail(Errno.EINTR);
        }
        return group.anyFailed() ? Errno.fail(Errno.EIO) : 0;
    }

    /**
     * An entry that failed its own checks: its status is that errno, and, as for any request that fails, its own
     * notification fires once (issue 11 item 8) when its sigevent is valid (an invalid one cannot be fired). It is
     * not counted in its list: it is complete before the list's notification can fire.
     */
    private void failEntry(Aiocb cb, int err) {
        SigEvent e = cb.aio_sigevent;
        reject(cb, err);
        if (e != null && checkSigevent(e) == 0) {
            notify(e.sigev_notify, e.sigev_signo, e.sigev_value, e.sigev_notify_function, e.sigev_notify_attributes);
        }
    }

    /**
     * Hands a lio_listio batch to the engine. If the engine refuses it (closed), or the facade's own code throws, no
     * request of it was accepted (submitBatch is all or nothing): each completes, ECANCELED or EIO.
     */
    private void submitBatch(io.uringaio.engine.Request[] batch, Aiocb[] batchCbs, int n) {
        int res;
        try {
            engine().submitBatch(batch, n);
            return;
        } catch (EngineRejectedException closedEngine) {
            res = -Errno.ECANCELED;
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "lio_listio batch failed in the facade", t);
            res = -Errno.EIO;
        }
        for (int i = 0; i < n; i++) {
            Aiocb cb = batchCbs[i];
            if (!cb.request.inFlight() && cb.state == Aiocb.IN_KERNEL) {
                completed(cb, res);
            }
        }
    }

    /** Per-thread arrays for one lio_listio call's batch, so a call allocates only its {@link ListIo}. */
    private static final class LioScratch {
        io.uringaio.engine.Request[] requests = new io.uringaio.engine.Request[32];
        Aiocb[] aiocbs = new Aiocb[32];

        LioScratch ensure(int n) {
            if (requests.length < n) {
                requests = new io.uringaio.engine.Request[n];
                aiocbs = new Aiocb[n];
            }
            return this;
        }
    }

    private static final ThreadLocal<LioScratch> LIO_SCRATCH = ThreadLocal.withInitial(LioScratch::new);

    // ---------------------------------------------------------------- init, errno, engine

    /** See {@link Aio#aio_init}: effective only before this context's first request. */
    public void aio_init(AioInit init) {
        if (init == null) {
            return;
        }
        synchronized (startLock) {
            if (engine == null && !closed) {
                AioInit copy = new AioInit();
                copy.aio_threads = init.aio_threads;
                copy.aio_num = init.aio_num;
                copy.aio_idle_time = init.aio_idle_time;
                this.init = copy;
            }
        }
    }

    /** The calling thread's errno, as set by the last failing facade call on this thread. */
    public int errno() {
        return Errno.get();
    }

    /** The engine's counters (zeros before the first request). */
    public EngineStats engineStats() {
        RingEngine e = engine;
        return e == null ? new EngineStats(0, 0, 0, 0, 0, 0) : e.stats();
    }

    /**
     * The backend this context's engine runs on ({@link Backend#IO_URING}, or {@link Backend#THREAD_POOL} where
     * io_uring is unavailable), starting the engine if it was not yet.
     *
     * @throws EngineRejectedException when the context was closed before its engine started
     */
    public Backend backend() {
        return engine().backend();
    }

    /**
     * Why the engine runs on {@link #backend()} (for example {@code "io_uring_setup: EPERM (seccomp?)"} after a
     * fallback), starting the engine if it was not yet.
     *
     * @throws EngineRejectedException when the context was closed before its engine started
     */
    public String backendReason() {
        return engine().backendReason();
    }

    /**
     * The engine this context runs on, started if it was not yet. Package-private: the POSIX API does not hand the
     * engine out (a caller would bypass the per-descriptor order and the notification); {@link #backend()} and
     * {@link #engineStats()} say what a user needs to know of it.
     *
     * @throws EngineRejectedException when the context was closed before its engine started: a closed context never
     *         starts one (a submission racing with close would otherwise run on an engine nobody closes)
     */
    RingEngine engine() {
        RingEngine e = engine;
        if (e != null) {
            return e;
        }
        synchronized (startLock) {
            if (engine == null) {
                if (closed) {
                    throw new EngineRejectedException();
                }
                RingEngineConfig config = baseConfig;
                AioInit i = init;
                if (i != null) {
                    if (i.aio_threads > 0) {
                        // A hint, as in glibc: clamped to what the engine accepts, never a failed first request.
                        int threads = Math.min(i.aio_threads, MAX_AIO_THREADS);
                        config.ioWorkers(threads, threads);
                        config.poolThreads(threads);
                    }
                    if (i.aio_idle_time > 0) {
                        config.poolIdleTime(java.time.Duration.ofSeconds(i.aio_idle_time));
                    }
                    if (i.aio_num > 0) {
                        // aio_num bounds the whole context: one ring (and one waiting queue, so aio_reqprio orders
                        // every waiting request), and no more pool workers than that.
                        int inFlight = Math.max(1, Math.min(i.aio_num, config.ringSize() - 64));
                        config.rings(1).maxInFlightPerRing(inFlight);
                        config.poolThreads(Math.min(config.poolThreads(), i.aio_num));
                    }
                }
                // One wake-up of the waiting threads per completion batch, not per request.
                config.afterCompletionBatch(this::afterBatch);
                engine = openUninterrupted(config);
            }
            return engine;
        }
    }

    /**
     * Opens the engine with the caller's interrupt status put aside: the engine's start waits for its rings to
     * register, which an interrupt status set by the caller (one that has nothing to do with AIO) would abort, failing
     * the context's first request with EIO and consuming the status. The status is restored afterwards.
     */
    private static RingEngine openUninterrupted(RingEngineConfig config) {
        boolean interrupted = Thread.interrupted();
        try {
            return RingEngine.open(config);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Closes the context: requests held in the facade complete with ECANCELED, the engine cancels those in the
     * kernel and waits for every completion, then releases its rings. Idempotent.
     */
    @Override
    public void close() {
        synchronized (startLock) {
            if (closed) {
                return;
            }
            closed = true;
        }
        List<Aiocb> waiting = new ArrayList<>();
        fds.forEach(state -> {
            for (FdState.Outstanding o : state.snapshot()) {
                if (state.removeWaiting(o.cb(), o.submission())) {
                    waiting.add(o.cb());
                }
            }
        });
        for (Aiocb cb : waiting) {
            cb.state = Aiocb.IN_KERNEL;
            completed(cb, -Errno.ECANCELED);
        }
        RingEngine e = engine;
        if (e != null) {
            e.close();
        }
        wakeWaiters();
    }

    /** For tests: the dense descriptor table's slots (at most {@link #DENSE_FD_LIMIT}). */
    int denseFdSlots() {
        return fds.denseSlots();
    }

    /** For tests: descriptor states kept for numbers at or above {@link #DENSE_FD_LIMIT} (only while in use). */
    int sparseFdStates() {
        return fds.sparseStates();
    }

    /** For tests: the list steps the ordering of {@code fd}'s requests took so far (0 if it has no state). */
    long fdScanSteps(int fd) {
        FdState state = fd < 0 ? null : fds.get(fd);
        return state == null ? 0 : state.scanSteps();
    }
}
