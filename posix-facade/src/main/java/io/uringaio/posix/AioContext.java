package io.uringaio.posix;

import io.uringaio.engine.Backend;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.EngineStats;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.util.ArrayList;
import java.util.List;

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
    // The flow of one aio_read or aio_write, in the order the classes run: claim the block, RequestPrep.capture (the
    // request's own copy of the caller's fields, each read once), SubmitChecks (validation of that copy),
    // Bounce.reserve and RequestPrep.snapshot (the submission made current), FdTable/FdState (the
    // per-fildes order: it may go now or waits), Dispatcher (RequestPrep.prepare builds the engine Request, then the
    // engine), Completion (the status made final, waiters woken), Notifier (SIGEV_NONE/SIGNAL/THREAD), and the requests
    // the completion released back to the Dispatcher. Suspension (aio_suspend), Canceller (aio_cancel) and
    // ListIoSubmitter (lio_listio) are the other entries; this class holds the engine's lifecycle and wires the pieces.
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");
    /** Descriptors below this index a dense array; larger numbers a map that holds only those in use. */
    static final int DENSE_FD_LIMIT = FdTable.DENSE_LIMIT;
    /** The most worker threads {@code aio_init}'s {@code aio_threads} asks for: the engine's pool bound. */
    private static final int MAX_AIO_THREADS = 4096;

    private final RingEngineConfig baseConfig;
    private volatile RingEngine engine;
    private AioInit init;
    private volatile boolean closed;
    private final Object startLock = new Object();
    /** In {@link LiveContexts} (from the first request on, until {@link #close}): see {@link #joinLive}. */
    private volatile boolean live;
    private final FdTable fds;
    /** Threads in aio_suspend or waiting for a cancel; LIO_WAIT callers wait on their own {@link ListIo}. */
    private final Waiters waiters = new Waiters();
    private final Dispatcher dispatcher;
    private final Completion completion;
    private final Canceller canceller;
    private final ListIoSubmitter listIo;

    /** A context with its own engine and default settings. */
    public AioContext() {
        this(defaultConfig());
    }

    /**
     * The no-argument context's engine settings: the engine's defaults, plus caller rings (one per core, taking a
     * thread's request only when the thread has nothing else in flight: {@link RingEngineConfig#callerRingDepth(int)})
     * so that a thread that waits for its own request
     * ({@code aio_suspend}, a one-entry {@code LIO_WAIT}) reaps it itself, with no hand-off to a ring thread and back;
     * unless the system property {@value RingEngineConfig#CALLER_RINGS_PROPERTY} chose a count (0 turns them off). A
     * context built from a config takes the config's choice.
     */
    static RingEngineConfig defaultConfig() {
        RingEngineConfig config = new RingEngineConfig();
        if (System.getProperty(RingEngineConfig.CALLER_RINGS_PROPERTY) == null) {
            config.callerRings(Runtime.getRuntime().availableProcessors());
        }
        // A thread's lone request (the one it then waits for) is reaped in its own caller ring; the requests of a
        // thread that keeps many in flight are batched on its Netty ring.
        return config.callerRingDepth(1);
    }

    /**
     * A context whose engine is opened, at its first request, with a copy of {@code config} as it is then
     * ({@link RingEngineConfig#copy}): {@link #aio_init} adjusts that copy, and the context installs its own
     * {@link RingEngineConfig#afterCompletionBatch(Runnable) afterCompletionBatch} hook there (to wake its waiters once
     * per completion batch). The caller's config is never written, so several contexts may share one.
     */
    public AioContext(RingEngineConfig config) {
        this(config, DENSE_FD_LIMIT);
    }

    /** For tests: a context whose descriptor table keeps only numbers below {@code denseFdLimit} in its array. */
    AioContext(RingEngineConfig config, int denseFdLimit) {
        this.baseConfig = config;
        this.fds = new FdTable(denseFdLimit);
        this.dispatcher = new Dispatcher(this, fds, waiters);
        this.completion = dispatcher.completion();
        this.canceller = new Canceller(this, fds, waiters, dispatcher);
        this.listIo = new ListIoSubmitter(this, fds, dispatcher);
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
        RequestPrep.capture(aiocbp, Aiocb.OP_FSYNC);
        int err = SubmitChecks.fsync(op, aiocbp);
        return start(aiocbp, op == Fcntl.O_SYNC ? Aiocb.OP_FSYNC : Aiocb.OP_FDATASYNC, err);
    }

    private int submitOne(Aiocb cb, byte op) {
        if (cb == null) {
            return Errno.fail(Errno.EFAULT);
        }
        // The claim comes first: until it succeeds nothing of the block is read or written, so of two calls racing on
        // one block the loser changes nothing and gets EBUSY.
        if (!cb.claim()) {
            return Errno.fail(Errno.EBUSY);
        }
        RequestPrep.capture(cb, op); // each caller field read once: the checks judge what the request runs with
        return start(cb, op, SubmitChecks.transfer(cb, op));
    }

    /**
     * The rest of a single submission of a claimed block, in one pass: reject with {@code err} (or EAGAIN when closed
     * or out of bounce memory), else snapshot, put in the descriptor's order, and dispatch if it may go now. Returns
     * what the call returns.
     */
    private int start(Aiocb cb, byte op, int err) {
        if (err == 0 && closed) {
            err = Errno.EAGAIN;
        }
        if (err == 0) {
            err = Bounce.reserve(cb, op);
        }
        if (err != 0) {
            return SubmitChecks.reject(cb, err);
        }
        joinLive();
        RequestPrep.snapshot(cb, op, null, this);
        boolean goesNow;
        try {
            goesNow = fds.enqueue(cb);
        } catch (Throwable t) { // out of memory for a new descriptor state: nothing was queued
            LOG.log(System.Logger.Level.WARNING, "aio request not queued", t);
            RequestPrep.releaseSnapshot(cb);
            return SubmitChecks.reject(cb, Errno.EAGAIN);
        }
        if (goesNow) {
            dispatcher.dispatch(cb);
        }
        return 0;
    }

    /** A completion delivered by the engine for a request of this context (the {@link Aiocb}'s engine callback). */
    void completedByEngine(Aiocb cb, int res) {
        completion.completedByEngine(cb, res);
    }

    // ---------------------------------------------------------------- status, suspend, cancel, lio_listio

    /** See {@link Aio#aio_error}. */
    public int aio_error(Aiocb aiocbp) {
        if (aiocbp == null) {
            return Errno.fail(Errno.EINVAL);
        }
        return switch (aiocbp.state) {
            case Aiocb.WAITING, Aiocb.IN_KERNEL, Aiocb.SUBMITTING -> Errno.EINPROGRESS;
            case Aiocb.DONE -> aiocbp.error;
            default -> noStatus();
        };
    }

    /**
     * aio_error of a block with no status (never submitted, or its result taken): EINVAL, returned as the spec pins,
     * and set as errno too, as POSIX's "may fail [EINVAL]" has it, so a caller that checks either finds it.
     */
    private static int noStatus() {
        Errno.fail(Errno.EINVAL);
        return Errno.EINVAL;
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
        return Suspension.suspend(this, waiters, engine, list, nent, timeout);
    }

    /**
     * Waits on this thread, inside the caller ring that holds {@code cb}'s request
     * ({@link RingEngineConfig#callerRings(int)}), until {@code cb} is no longer in progress or
     * {@link Suspension#LANE_WAIT_NANOS} passed. Returns at once when the request is not on a caller ring (the caller
     * then waits as usual), and on an interrupt (status kept) or once the engine closes; see
     * {@link RingEngine#awaitInLane}.
     */
    void awaitInLane(Aiocb cb) {
        Suspension.awaitInLane(engine, cb, System.nanoTime() + Suspension.LANE_WAIT_NANOS);
    }

    /** This context's waiting threads: a wait for one of its requests from another context registers here too. */
    Waiters waiters() {
        return waiters;
    }

    /** See {@link Aio#aio_cancel}. */
    public int aio_cancel(int fildes, Aiocb aiocbp) {
        return canceller.cancel(fildes, aiocbp);
    }

    /**
     * {@link Unistd#close}'s step in this context, before {@code fd} is closed: settles its requests
     * ({@link Canceller#beforeClose}), then forgets its kept flags ({@link FdTable#forgetFlags}).
     */
    void beforeClose(int fd) {
        canceller.beforeClose(fd, engine);
        fds.forgetFlags(fd); // the number is about to be given back: the next file to take it has flags of its own
    }

    /**
     * Joins {@link LiveContexts} before this context's first request enters its descriptor's order, where the
     * descriptor's flags are kept ({@link FdState#flags}): a forget ({@link Fcntl#fcntl}'s {@code F_SETFL},
     * {@link Fcntl#open}, {@link Unistd#close}) made after that must reach this context. Joining when the engine
     * starts (dispatch, after the order) left a window in which the first request kept flags that an
     * {@code F_SETFL} then changed unseen, for good. Once per context: one volatile read per request after.
     */
    void joinLive() {
        if (!live) {
            synchronized (startLock) {
                if (!live && !closed) {
                    LiveContexts.add(this);
                    live = true;
                }
            }
        }
    }

    /** {@link LiveContexts#forgetFlags}'s step in this context. */
    void forgetFlags(int fd) {
        fds.forgetFlags(fd);
    }

    /** See {@link Aio#lio_listio}. */
    public int lio_listio(int mode, Aiocb[] list, int nent, SigEvent sig) {
        return listIo.submit(mode, list, nent, sig);
    }

    // ---------------------------------------------------------------- init, errno, engine

    /**
     * See {@link Aio#aio_init}: effective only before this context's first request. The first request is the first
     * one accepted ({@link #joinLive}, under the same lock), not the first to start the engine: one the facade
     * completes itself (a negative descriptor or offset) never starts it.
     */
    public void aio_init(AioInit init) {
        if (init == null) {
            return;
        }
        synchronized (startLock) {
            if (engine == null && !live && !closed) {
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
                // A copy: another context made from the same config must not get this one's aio_init or hook.
                RingEngineConfig config = baseConfig.copy();
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
                callerRings(config, i);
                // One wake-up of the waiting threads per completion batch, not per request.
                config.afterCompletionBatch(completion::afterBatch);
                // Joined before the engine starts, not after: requests are outstanding while it starts (the one that
                // starts it, and others held back behind it whose aio_* already returned), and a close meanwhile
                // must settle them, or they would run on the file that takes the number next.
                LiveContexts.add(this);
                live = true;
                engine = openUninterrupted(config);
            }
            return engine;
        }
    }

    /** {@code aio_num} bounds the whole context: its one ring and that ring's priority queue, no caller rings. */
    private static void callerRings(RingEngineConfig config, AioInit init) {
        if (init != null && init.aio_num > 0) {
            config.callerRings(0);
        }
    }

    /** The engine if it was started, else null (never starts one: a cancel has nothing to cancel in none). */
    RingEngine startedEngine() {
        return engine;
    }

    /** Whether {@link #close} was called: a submission then fails with EAGAIN. */
    boolean isClosed() {
        return closed;
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
            completion.completed(cb, -Errno.ECANCELED);
        }
        RingEngine e = engine;
        if (e != null) {
            e.close();
        }
        LiveContexts.remove(this);
        completion.wakeWaiters();
    }

    /** For tests: how many times this context asked the kernel for {@code fd}'s flags (0 when it has no state). */
    long flagQueries(int fd) {
        FdState state = fds.get(fd);
        return state == null ? 0 : state.flagQueries();
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
