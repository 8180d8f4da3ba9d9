package io.uringaio.posix;

import io.uringaio.engine.CancelOutcome;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.sys.Libc;

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
import java.util.concurrent.atomic.AtomicLong;
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
    private final AtomicLong seq = new AtomicLong();
    private volatile FdState[] fds = new FdState[256];
    private final Object fdsLock = new Object();

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
        this.baseConfig = config;
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
        if (aiocbp.inProgress()) {
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
        if (err != 0) {
            return reject(aiocbp, err);
        }
        if (closed) {
            return Errno.fail(Errno.EAGAIN);
        }
        snapshot(aiocbp, op == Fcntl.O_SYNC ? Aiocb.OP_FSYNC : Aiocb.OP_FDATASYNC, null);
        if (enqueue(aiocbp)) {
            dispatch(aiocbp);
        }
        return 0;
    }

    private int submitOne(Aiocb cb, byte op) {
        if (cb == null) {
            return Errno.fail(Errno.EFAULT);
        }
        if (cb.inProgress()) {
            return Errno.fail(Errno.EBUSY);
        }
        int err = checkTransfer(cb, op);
        if (err != 0) {
            return reject(cb, err);
        }
        if (closed) {
            return Errno.fail(Errno.EAGAIN);
        }
        snapshot(cb, op, null);
        if (enqueue(cb)) {
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

    /** A synchronous rejection: the errno becomes the request's status; no notification. */
    private static int reject(Aiocb cb, int err) {
        cb.error = err;
        cb.result = -1;
        cb.state = Aiocb.DONE;
        return Errno.fail(err);
    }

    /** Copies the caller's fields into the request; from here on the caller's fields are not read again. */
    private void snapshot(Aiocb cb, byte op, ListIo list) {
        cb.context = this;
        cb.op = op;
        cb.fd = cb.aio_fildes;
        cb.list = list;
        cb.seq = seq.getAndIncrement();
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

    /** Adds the request to its fildes' list; true when it may go to the kernel now. */
    private boolean enqueue(Aiocb cb) {
        if (cb.fd < 0) {
            cb.state = Aiocb.IN_KERNEL; // no descriptor to order on: the kernel answers EBADF
            return true;
        }
        return fdState(cb.fd).add(cb); // sets WAITING or IN_KERNEL under the fildes' monitor
    }

    private FdState fdState(int fd) {
        FdState[] table = fds;
        if (fd < table.length && table[fd] != null) {
            return table[fd];
        }
        synchronized (fdsLock) {
            table = fds;
            if (fd >= table.length) {
                table = java.util.Arrays.copyOf(table, Math.max(fd + 1, table.length * 2));
            }
            if (table[fd] == null) {
                table[fd] = new FdState();
            }
            fds = table;
            return table[fd];
        }
    }

    /** Prepares the engine request of an IN_KERNEL control block; returns false if it completed without the kernel. */
    private boolean prepare(Aiocb cb) {
        var r = cb.request;
        switch (cb.op) {
            case Aiocb.OP_FSYNC, Aiocb.OP_FDATASYNC -> r.prepFsync(cb.fd, cb.op == Aiocb.OP_FDATASYNC).priority(0);
            default -> {
                long offset = cb.offset;
                if (offset < 0) {
                    long pos = Libc.lseek(cb.fd, 0, Libc.SEEK_CUR);
                    if (pos == -Errno.ESPIPE) {
                        offset = 0; // a pipe or socket: the offset is ignored
                    } else {
                        completed(cb, pos < 0 ? (int) pos : -Errno.EINVAL);
                        return false;
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
        return true;
    }

    /** The native address of index 0 of the transfer: the direct buffer's own, or the bounce buffer's. */
    private static long address(Aiocb cb) {
        ByteBuffer buf = cb.buffer;
        if (buf == null) {
            return ensureBounce(cb, 1);
        }
        if (buf.isDirect()) {
            if (cb.addressOf != buf) {
                cb.cachedAddress = MemorySegment.ofBuffer(buf).address() - buf.position();
                cb.addressOf = buf;
            }
            return cb.cachedAddress;
        }
        long address = ensureBounce(cb, cb.nbytes);
        if (cb.op == Aiocb.OP_WRITE) {
            cb.bounce.put(0, buf, 0, cb.nbytes);
        }
        return address;
    }

    private static long ensureBounce(Aiocb cb, int size) {
        if (cb.bounce == null || cb.bounce.capacity() < size) {
            int capacity = Math.max(4096, Integer.highestOneBit(Math.max(1, size - 1)) << 1);
            if (capacity < size) {
                capacity = size;
            }
            ByteBuffer b = ByteBuffer.allocateDirect(capacity + 4096).alignedSlice(4096);
            cb.bounce = b;
            cb.bounceAddress = MemorySegment.ofBuffer(b).address();
        }
        return cb.bounceAddress;
    }

    private void dispatch(Aiocb cb) {
        if (!prepare(cb)) {
            return;
        }
        // A read alone (not a lio_listio entry, whose list goes to the kernel as one batch) tries the page cache on
        // this thread first and then completes inside aio_read; not on O_DIRECT, where it would wait for the device.
        cb.request.pageCacheFirst(cb.op == Aiocb.OP_READ && mayReadInline(cb.fd));
        RingEngine e = engine();
        try {
            e.submit(cb.request);
        } catch (EngineRejectedException closedEngine) {
            completed(cb, -Errno.ECANCELED);
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

    /** The result for {@code cb}: make it final, then release, wake and notify. */
    private void completed(Aiocb cb, int res, boolean batched) {
        if (res > 0 && cb.op == Aiocb.OP_READ && cb.buffer != null && !cb.buffer.isDirect()) {
            cb.buffer.put(0, cb.bounce, 0, res);
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
        Aiocb[] released = fdState == null ? null : fdState.remove(cb);
        cb.buffer = null;
        cb.list = null;
        cb.value = null;
        cb.function = null;
        cb.executor = null;
        cb.request.attach(null);
        cb.error = res < 0 ? -res : 0;
        cb.result = res < 0 ? -1 : res;
        cb.state = Aiocb.DONE;
        if (batched) {
            wakePending.set(true); // published after the status: the batch's wake-up sees it
        } else {
            wakeWaiters();
        }
        if (notify == Signals.SIGEV_SIGNAL) {
            Signals.deliver(handler, signo, value);
        } else {
            notify(notify, signo, value, function, executor);
        }
        if (list != null) {
            list.release(res < 0);
        }
        if (released != null) {
            for (Aiocb next : released) {
                dispatch(next);
            }
        }
    }

    void notify(int notify, int signo, Object value, Consumer<Object> function, Executor executor) {
        if (notify == Signals.SIGEV_SIGNAL) {
            Signals.raise(signo, value);
        } else if (notify == Signals.SIGEV_THREAD) {
            Executor where = executor != null ? executor : THREAD_NOTIFIER;
            try {
                where.execute(() -> function.accept(value));
            } catch (RuntimeException rejected) {
                THREAD_NOTIFIER.execute(() -> function.accept(value));
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
            case Aiocb.WAITING, Aiocb.IN_KERNEL -> Errno.EINPROGRESS;
            case Aiocb.DONE -> aiocbp.error;
            default -> Errno.EINVAL;
        };
    }

    /** See {@link Aio#aio_return}. */
    public long aio_return(Aiocb aiocbp) {
        if (aiocbp == null) {
            return Errno.fail(Errno.EINVAL);
        }
        synchronized (aiocbp) {
            int s = aiocbp.state;
            if (s == Aiocb.WAITING || s == Aiocb.IN_KERNEL) {
                return Errno.fail(Errno.EINPROGRESS);
            }
            if (s != Aiocb.DONE) {
                return Errno.fail(Errno.EINVAL);
            }
            long result = aiocbp.result;
            aiocbp.state = Aiocb.IDLE;
            return result;
        }
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
        Aiocb[] targets;
        if (aiocbp != null) {
            if (!aiocbp.inProgress() || aiocbp.context != this) {
                return Aio.AIO_ALLDONE;
            }
            targets = new Aiocb[] {aiocbp};
        } else {
            FdState[] table = fds;
            FdState state = fildes < table.length ? table[fildes] : null;
            targets = state == null ? new Aiocb[0] : state.snapshot();
        }
        boolean anyCanceled = false;
        boolean anyNotCanceled = false;
        for (Aiocb cb : targets) {
            switch (cancelOne(cb)) {
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

    private CancelOutcome cancelOne(Aiocb cb) {
        FdState state = cb.fdState;
        if (state != null && state.removeWaiting(cb)) {
            cb.state = Aiocb.IN_KERNEL; // leaves WAITING; completed() makes it final
            completed(cb, -Errno.ECANCELED);
            return CancelOutcome.CANCELED;
        }
        if (cb.state != Aiocb.IN_KERNEL) {
            return CancelOutcome.ALREADY_DONE;
        }
        RingEngine e = engine;
        if (e == null) {
            return CancelOutcome.ALREADY_DONE;
        }
        CancelOutcome outcome;
        try {
            outcome = e.cancel(cb.request).get(CANCEL_WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            return CancelOutcome.NOT_CANCELED;
        } catch (ExecutionException | TimeoutException ex) {
            return CancelOutcome.NOT_CANCELED;
        }
        if (outcome == CancelOutcome.CANCELED) {
            awaitFinal(cb);
        }
        return outcome;
    }

    /** Waits (bounded) until a canceled request's -ECANCELED completion has been recorded. */
    private void awaitFinal(Aiocb cb) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS);
        int slot = waiters.register();
        try {
            while (cb.inProgress() && deadline - System.nanoTime() > 0) {
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                Waiters.park(slot, deadline);
            }
        } finally {
            waiters.unregister(slot);
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
            if (cb.inProgress()) {
                group.failed(); // EBUSY: this entry is someone else's request; leave it alone
                continue;
            }
            byte op = cb.aio_lio_opcode == Aio.LIO_READ ? Aiocb.OP_READ
                    : cb.aio_lio_opcode == Aio.LIO_WRITE ? Aiocb.OP_WRITE : -1;
            int err = op < 0 ? Errno.EINVAL : checkTransfer(cb, op);
            if (err != 0) {
                cb.error = err;
                cb.result = -1;
                cb.state = Aiocb.DONE;
                group.failed();
                continue;
            }
            snapshot(cb, op, group);
            group.add();
            if (enqueue(cb)) {
                if (prepare(cb)) {
                    batch[n] = cb.request;
                    batchCbs[n] = cb;
                    n++;
                }
            }
        }
        if (n > 0) {
            try {
                engine().submitBatch(batch, n);
            } catch (EngineRejectedException closedEngine) {
                for (int i = 0; i < n; i++) {
                    completed(batchCbs[i], -Errno.ECANCELED);
                }
            }
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

    /** The engine this context runs on, started if it was not yet. */
    public RingEngine engine() {
        RingEngine e = engine;
        if (e != null) {
            return e;
        }
        synchronized (startLock) {
            if (engine == null) {
                RingEngineConfig config = baseConfig;
                AioInit i = init;
                if (i != null) {
                    if (i.aio_threads > 0) {
                        config.ioWorkers(i.aio_threads, i.aio_threads);
                        config.poolThreads(i.aio_threads);
                    }
                    if (i.aio_idle_time > 0) {
                        config.poolIdleTime(java.time.Duration.ofSeconds(i.aio_idle_time));
                    }
                    if (i.aio_num > 0) {
                        // aio_num bounds the whole context: one ring (and one waiting queue, so aio_reqprio orders
                        // every waiting request), and no more pool workers than that.
                        config.rings(1).maxInFlightPerRing(Math.min(i.aio_num, config.ringSize() - 64));
                        config.poolThreads(Math.min(config.poolThreads(), i.aio_num));
                    }
                }
                // One wake-up of the waiting threads per completion batch, not per request.
                config.afterCompletionBatch(this::afterBatch);
                engine = RingEngine.open(config);
            }
            return engine;
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
        for (FdState state : fds) {
            if (state != null) {
                for (Aiocb cb : state.snapshot()) {
                    if (state.removeWaiting(cb)) {
                        waiting.add(cb);
                    }
                }
            }
        }
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

    /** Future-proofing for tests: whether {@link #close()} ran. */
    boolean isClosed() {
        return closed;
    }

    static CompletableFuture<Void> done() {
        return CompletableFuture.completedFuture(null);
    }
}
