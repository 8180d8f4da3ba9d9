package io.uringaio.engine;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringIoHandlerConfig;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.uringaio.engine.internal.sys.FutexBoard;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The io_uring engine: a set of rings, each on one Netty io_uring event loop, that run file I/O requests.
 *
 * <p>Two APIs sit on it. {@link AsyncFile} (opened with {@link #open(Path, OpenOption...)}) is the Java one:
 * positional reads and writes of buffers and memory segments with {@code CompletableFuture} results. The raw one,
 * {@link #submit(Request)} and {@link #cancel(Request)}, takes reusable {@link Request}s on descriptors the caller owns
 * and reports the kernel's {@code int res}; the POSIX facade is built on it.
 *
 * <p><b>Threads.</b> Every method may be called from any thread. Submissions from any thread enter a lock-free queue
 * of one ring; the ring thread moves everything queued into SQEs in one task, and the loop enters the kernel once for
 * all of them. A submission from a ring's own thread (a completion callback that submits again) goes straight to that
 * ring. Completions run on the ring thread after the CQE drain. A completion must not block: while it runs, every
 * other completion of its ring (or, on the thread pool, its worker) waits; a completion that throws (an Error
 * included) is logged at WARNING and the engine goes on. {@link #close()} may be called from a completion (it then
 * finishes on another thread). On a ring's event loop, a blocking wait for an {@link AsyncFile} operation not yet
 * done fails at once with Netty's {@code BlockingOperationException}, whichever ring runs the operation: loops that
 * wait for each other's rings deadlock (see {@link RingEngineConfig#eventLoopGroup}). So does a wait on a stage made
 * from such a future ({@code thenApply}, {@code thenCombine}...) and on {@link AsyncFile#allOf}/{@link AsyncFile#anyOf}.
 * <b>Not</b> checked, because the JDK makes them as plain futures no engine sees: {@code CompletableFuture.allOf} and
 * {@code anyOf} of the engine's futures (and any future completed by user code from them). Joined on a ring's thread
 * (inside a completion callback) while not done, such a wait blocks the loop that must deliver the operations it
 * waits for: that ring, every request on it and this engine's {@link #close()} hang for good. Use
 * {@link AsyncFile#allOf}/{@link AsyncFile#anyOf}, or chain a callback instead of waiting.
 *
 * <p><b>Caller rings.</b> With {@link RingEngineConfig#callerRings(int)} on, a request submitted by a thread that is
 * not one of the engine's own goes instead to a caller-driven ring: the submitting thread writes the SQE and enters
 * the kernel itself, and a thread that then waits for it ({@link #awaitInLane(Request, long)}, or {@code join}/{@code
 * get} of an {@link AsyncFile} future) reaps it inside {@code io_uring_enter}, with no hand-off to another thread.
 * Completions of those requests run on the thread that reaped them: the submitting thread when the kernel completed
 * the request during its submission, a waiting thread, or the engine's reaper thread ({@code uring-aio-caller-reaper})
 * for requests nobody waits for.
 *
 * <p><b>Bounds.</b> Each ring keeps at most {@link RingEngineConfig#maxInFlightPerRing()} requests in the kernel; the
 * excess waits in the engine, lowest {@link Request#priority(int) priority} value first, then FIFO. Submission never
 * fails for lack of room and the completion queue never overflows.
 *
 * <p><b>Close.</b> {@link #close()} fails every queued request with {@code ECANCELED}
 * ({@link EngineClosedException} for futures), cancels every request in the kernel, waits for every CQE, closes the
 * files still open and only then releases the rings. A buffer is never released while the kernel may still use it.
 */
public final class RingEngine implements AutoCloseable {
    static final System.Logger LOG = System.getLogger("io.uringaio.engine");
    private static final long CLOSE_WARN_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Lane[] rings;
    /** The caller-driven rings ({@link RingEngineConfig#callerRings(int)}); null when off. */
    private final CallerLanes callerLanes;
    /** {@link RingEngineConfig#callerRingDepth(int)}. */
    private final int callerRingDepth;
    private final Backend backend;
    private final String backendReason;
    private final AtomicInteger[] entering;
    private final IoEventLoopGroup ownGroup;
    private final AtomicInteger nextRing = new AtomicInteger();
    /** Each submitting thread's ring and in-flight count ({@link SubmitterHome}), given in turn on first use. */
    private final ThreadLocal<SubmitterHome> homes = ThreadLocal.withInitial(this::newHome);
    private final boolean pageCacheFastPath;
    private final Runnable afterBatch;
    /** Reads completed on the submitting thread from the page cache (counted as submitted and completed). */
    private final LongAdder pageCacheHits = new LongAdder();
    private final Set<AsyncFile> openFiles = ConcurrentHashMap.newKeySet();
    final BouncePool bouncePool = new BouncePool();
    /** Where platform threads blocked on this engine's {@link AsyncFile} futures sleep ({@link LaneFuture}). */
    final FutexBoard blocked;
    private volatile boolean closed;
    /** Set by the first {@link #close()}; the close runs once. */
    private final AtomicBoolean closeBegun = new AtomicBoolean();
    /** Completes when the close finished, for the closers that came second. */
    private final CompletableFuture<Void> closeDone = new CompletableFuture<>();

    private RingEngine(Lane[] rings, CallerLanes callerLanes, IoEventLoopGroup ownGroup, Backend backend,
                       String backendReason, RingEngineConfig config) {
        this.rings = rings;
        this.callerLanes = callerLanes;
        this.callerRingDepth = config.callerRingDepth();
        this.pageCacheFastPath = config.pageCacheFastPath();
        this.afterBatch = config.afterCompletionBatch();
        this.blocked = new FutexBoard(config.futexSliceNanos());
        this.ownGroup = ownGroup;
        this.backend = backend;
        this.backendReason = backendReason;
        int lanes = rings.length + (callerLanes == null ? 0 : callerLanes.rings().length);
        this.entering = new AtomicInteger[lanes];
        for (int i = 0; i < lanes; i++) {
            entering[i] = new AtomicInteger();
        }
    }

    /** Opens an engine with the default configuration. */
    public static RingEngine open() {
        return open(new RingEngineConfig());
    }

    /**
     * Opens an engine on the configured backend ({@link RingEngineConfig#backend()}: the config's, else the system
     * property {@code uringaio.backend}, else {@link Backend#AUTO}). AUTO takes io_uring when the availability hook
     * says yes, the rings' threads start and a probe op on a real ring succeeds, else the thread pool (where no thread
     * can be started, a pids limit, the pool's requests then fail with EAGAIN until one can); the choice and its
     * reason are logged once at INFO and kept in {@link #backendReason()}.
     *
     * @throws UnsupportedOperationException when {@link Backend#IO_URING} was asked for and io_uring is unavailable
     *                                       or its ring threads cannot be started, with the reason
     * @throws IllegalArgumentException      for an inconsistent configuration (e.g. a {@code maxInFlightPerRing} that
     *                                       does not fit the ring size), on every backend
     */
    public static RingEngine open(RingEngineConfig config) {
        Objects.requireNonNull(config, "config");
        // Checked whatever the backend, so that a config valid on one machine is not refused on another (AUTO).
        checkInFlightBound(config);
        Backend asked = config.backend();
        RingEngine engine = switch (asked) {
            case THREAD_POOL -> openPool(config, "THREAD_POOL requested");
            case IO_URING -> {
                String unavailable = config.ioUringAvailability().unavailableReason();
                if (unavailable != null) {
                    throw new UnsupportedOperationException("IO_URING backend requested, but " + unavailable);
                }
                try {
                    yield openRings(config, "IO_URING requested");
                } catch (RingThreadRefused e) {
                    throw new UnsupportedOperationException("IO_URING backend requested, but " + e.getMessage(),
                            e.getCause());
                }
            }
            case AUTO -> {
                String unavailable = config.ioUringAvailability().unavailableReason();
                if (unavailable != null) {
                    yield openPool(config, unavailable);
                }
                RingEngine rings;
                try {
                    rings = openRings(config, "io_uring available and probe op succeeded");
                } catch (RingThreadRefused e) {
                    yield openPool(config, e.getMessage()); // the pool starts its workers on demand
                }
                String probeFailure = rings.probe();
                if (probeFailure == null) {
                    yield rings;
                }
                rings.close();
                yield openPool(config, probeFailure);
            }
        };
        String line = "uring-aio engine backend " + engine.backend + ": " + engine.backendReason;
        if (LOGGED_REASONS.add(line)) {
            LOG.log(System.Logger.Level.INFO, line);
        }
        return engine;
    }

    private static final Set<String> LOGGED_REASONS = ConcurrentHashMap.newKeySet();

    private static RingEngine openPool(RingEngineConfig config, String reason) {
        String prefix = config.threadNamePrefix();
        String name = prefix.endsWith("ring") ? prefix.substring(0, prefix.length() - 4) + "pool" : prefix + "-pool";
        ThreadPoolLane pool = new ThreadPoolLane(0, config.poolThreads(), config.poolIdleNanos(), name,
                config.afterCompletionBatch());
        return new RingEngine(new Lane[] {pool}, null, null, Backend.THREAD_POOL, reason, config);
    }

    private static void checkInFlightBound(RingEngineConfig config) {
        int maxInFlight = config.maxInFlightPerRing();
        if (maxInFlight > config.maxAllowedInFlight()) {
            throw new IllegalArgumentException("maxInFlightPerRing " + maxInFlight + " leaves no room in a ring of "
                    + config.ringSize() + " entries; at most " + config.maxAllowedInFlight());
        }
    }

    private static RingEngine openRings(RingEngineConfig config, String reason) {
        int maxInFlight = config.maxInFlightPerRing();
        IoEventLoopGroup group = config.eventLoopGroup();
        IoEventLoopGroup ownGroup = null;
        if (group == null) {
            IoUringIoHandlerConfig handlerConfig = new IoUringIoHandlerConfig()
                    .setRingSize(config.ringSize())
                    .setCqSize(config.ringSize() * 2);
            if (config.maxBoundedWorkers() > 0 || config.maxUnboundedWorkers() > 0) {
                handlerConfig.setMaxBoundedWorker(config.maxBoundedWorkers());
                handlerConfig.setMaxUnboundedWorker(config.maxUnboundedWorkers());
            }
            ownGroup = new MultiThreadIoEventLoopGroup(config.rings(),
                    new DefaultThreadFactory(config.threadNamePrefix(), true),
                    IoUringIoHandler.newFactory(handlerConfig));
            group = ownGroup;
        }
        if (group.isShuttingDown()) {
            // Before, Netty's untyped RejectedExecutionException ("event executor terminated") came out of open.
            throw new IllegalArgumentException("the event loop group " + group + " is shut down (or shutting down):"
                    + " the engine needs running io_uring loops");
        }
        List<Ring> rings = new ArrayList<>();
        try {
            for (EventExecutor executor : group) {
                if (!(executor instanceof IoEventLoop loop) || !loop.isCompatible(IoUringIoHandle.class)) {
                    throw new IllegalArgumentException("event loop " + executor + " does not use IoUringIoHandler");
                }
                if (loop.isShuttingDown()) {
                    // One loop of an application's group shut down (the group as a whole still runs). Before, its
                    // refused registration read as a ring thread that died starting: IO_URING threw "unsupported",
                    // and AUTO fell back to the thread pool, leaving the application's group unused.
                    throw new IllegalArgumentException("event loop " + executor + " of the group is shut down (or"
                            + " shutting down): the engine needs running io_uring loops");
                }
                Ring ring = new Ring(rings.size(), loop, maxInFlight, config.afterCompletionBatch());
                ring.register();
                rings.add(ring);
            }
        } catch (Exception | OutOfMemoryError e) {
            List<EventExecutor> started = new ArrayList<>();
            for (Ring ring : rings) {
                ring.deregister();
                started.add(ring.loop);
            }
            if (ownGroup != null) {
                shutDown(started); // only the loops that started: see shutDown
            }
            if (e instanceof OutOfMemoryError noThread) {
                // Netty starts a loop's thread on its first task (the registration): a pids or thread limit refuses
                // it with this Error, which must not leave the API.
                throw new RingThreadRefused("cannot start a ring thread (" + noThread.getMessage() + ")", noThread);
            }
            if (e instanceof java.util.concurrent.RejectedExecutionException dead) {
                // A loop that died while starting (its io_uring_enter failed: Netty logs why) refuses the registration.
                throw new RingThreadRefused("a ring's event loop terminated while starting (" + dead.getMessage()
                        + ")", dead);
            }
            if (e instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("cannot register the engine's rings: " + e, e);
        }
        if (rings.isEmpty()) {
            throw new IllegalArgumentException("the event loop group has no loops");
        }
        RingEngine[] self = new RingEngine[1]; // the rings need the engine to rehome, the engine needs the rings
        CallerLanes callerLanes = config.callerRings() > 0
                ? CallerLanes.open(config.callerRings(), rings.size(), config, r -> self[0].rehome(r)) : null;
        self[0] = new RingEngine(rings.toArray(Lane[]::new), callerLanes, ownGroup, Backend.IO_URING, reason, config);
        for (Ring ring : rings) {
            ring.onLoopShutDown(() -> self[0].loopShutDown(ring.index()));
        }
        return self[0];
    }

    /**
     * Runs an {@code IORING_OP_NOP} on every ring; null when all answered 0, else what went wrong. Not on the ring of
     * the calling thread: an application that opens the engine from a handler on a loop of its group would wait for
     * an answer that loop gives only after open returned. Before, the loop stalled for the probe's 5 s and AUTO fell
     * back to the thread pool ("no completion within 5 s") with io_uring working. The other rings' answers, and the
     * availability check's own ring, vouch for io_uring.
     */
    private String probe() {
        for (Lane lane : rings) {
            if (lane.isCurrentThread()) {
                continue;
            }
            CompletableFuture<Integer> answer = new CompletableFuture<>();
            Request nop = new Request((r, res) -> answer.complete(res));
            nop.prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0);
            nop.state.set(Request.QUEUED);
            nop.ring = lane;
            lane.accept(nop);
            try {
                int res = answer.get(PROBE_SECONDS, TimeUnit.SECONDS);
                if (res < 0) {
                    return "probe IORING_OP_NOP on ring " + lane.index() + ": " + ErrnoTable.describe(-res);
                }
            } catch (TimeoutException e) {
                return "probe IORING_OP_NOP on ring " + lane.index() + ": no completion within " + PROBE_SECONDS
                        + " s";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "probe interrupted";
            } catch (ExecutionException e) {
                return "probe IORING_OP_NOP failed: " + e.getCause();
            }
        }
        return null;
    }

    private static final int PROBE_SECONDS = 5;

    // ---------------------------------------------------------------- raw requests

    /**
     * Submits a prepared request. Its completion runs exactly once: with the kernel's result, with
     * {@code -ECANCELED} if it was canceled, or with {@code -ECANCELED} and {@link Request#canceledByClose()} if the
     * engine closed first. It runs on a ring's thread, except for a read marked
     * {@link Request#pageCacheFirst(boolean)} whose bytes were all in the page cache: that one completes on this
     * thread before {@code submit} returns (not on the thread of a ring with other reads in flight: that ring reads it
     * with them). With caller rings on (see the class comment), a request submitted from a thread other than the
     * engine's own completes on the thread that reaps it: this one, before {@code submit} returns, when the kernel
     * completes it during the submission (a buffered read of cached pages, a buffered write) or refuses it.
     *
     * @throws IllegalStateException    if the request is already queued or in flight (caller misuse; nothing submitted)
     * @throws EngineRejectedException  if the engine is closed or closing (nothing submitted; the request is idle again)
     * @throws IllegalArgumentException if the offset is negative (the kernel would read it as "current position");
     *                                  if a read's or write's length is negative (the kernel would read it as
     *                                  unsigned, gigabytes past the caller's memory); if the opcode acts on other
     *                                  requests ({@code IORING_OP_ASYNC_CANCEL}, {@code POLL_REMOVE},
     *                                  {@code TIMEOUT_REMOVE}: use {@link #cancel(Request)}; {@code MSG_RING}, which
     *                                  would forge their completions); if the opcode changes the ring's shared
     *                                  state ({@code PROVIDE_BUFFERS}, {@code REMOVE_BUFFERS},
     *                                  {@code FILES_UPDATE}); if the request would post more than one
     *                                  completion (multishot forms, zero-copy sends); or if it was prepared by a
     *                                  {@code MemorySegment} form of {@link Request} and a segment's arena has
     *                                  closed since. Nothing is submitted; the request stays idle
     * @throws NullPointerException     if the request has no completion
     */
    public void submit(Request request) {
        submitRouted(request);
    }

    /**
     * {@link #submit(Request)}, returning where the request went: its lane, or null when it completed on this thread
     * (page-cache fast path). A request sent to a caller ring may already have completed when this returns.
     */
    Lane submitRouted(Request request) {
        validate(request);
        if (!request.state.compareAndSet(Request.IDLE, Request.QUEUED)) {
            throw new IllegalStateException("request already in flight: " + request);
        }
        request.closedByEngine = false;
        request.linked = false;
        if (pageCacheFastPath && !closed && PageCacheFastPath.eligible(request) && !onBusyRingThread()
                && PageCacheFastPath.tryComplete(request, afterBatch, pageCacheHits)) {
            return null; // every byte was in the page cache: completed on this thread
        }
        if (callerLanes != null && ownLane() == null) {
            return submitCounted(request);
        }
        Lane ring = pickRing();
        enqueue(ring, request);
        return ring;
    }

    /**
     * Submits {@code request} of a thread that is not the engine's, with caller rings on, counted in the thread's
     * {@link SubmitterHome#inFlight}: into the thread's caller ring while the thread has fewer than
     * {@link RingEngineConfig#callerRingDepth(int)} other requests in flight, had fewer at its previous submission
     * ({@link SubmitterHome#lastDepth}), and that ring has room (a thread with nothing else in flight will most likely
     * wait for this one, and reaps it there itself); else to the thread's Netty ring, where the requests a thread keeps
     * in flight are taken many per {@code io_uring_enter}. The previous submission counts because a thread at depth
     * finds its count at zero whenever a ring thread delivered all its completions before it resubmitted the first:
     * measured on one facade thread at queue depth 32 (O_DIRECT reads), that first request of each round went to the
     * caller ring (an enter and a device doorbell on the submitting thread, then a reaper wake-up for a completion
     * nobody waited for there): a quarter of the thread's time.
     */
    private Lane submitCounted(Request request) {
        SubmitterHome home = homes.get();
        request.submitter = home;
        int mine = home.inFlight.incrementAndGet();
        int before = home.lastDepth;
        home.lastDepth = mine;
        try {
            CallerRing caller = callerLanes.forCurrentThread();
            if (mine <= callerRingDepth && before <= callerRingDepth && enqueueCaller(caller, request)) {
                return caller;
            }
            Lane ring = homeRing(home);
            enqueue(ring, request);
            return ring;
        } catch (RuntimeException | Error e) {
            // Not accepted (closed engine): not in flight. An accepted request is only uncounted by its delivery.
            uncount(home, request);
            throw e;
        }
    }

    /**
     * The Netty ring or pool lane whose thread this is (a completion running there), or null on any other thread: its
     * submissions stay on its own lane.
     */
    private Lane ownLane() {
        for (Lane r : rings) {
            if (r.isCurrentThread()) {
                return r;
            }
        }
        return null;
    }

    /**
     * Submits {@code request} (with its chain, if linked) on this thread to its caller ring. False when that ring is
     * full: nothing happened to the request, which then goes to a Netty ring.
     */
    private boolean enqueueCaller(CallerRing caller, Request request) {
        AtomicInteger guard = entering[caller.index()];
        guard.incrementAndGet();
        try {
            if (closed) {
                resetChain(request);
                throw rejected();
            }
            request.chainTo(caller);
            if (caller.tryAccept(request)) {
                return true;
            }
            request.chainTo(null);
            return false;
        } finally {
            guard.decrementAndGet();
        }
    }

    /**
     * Takes a QUEUED request (with the members of its chain behind it, still linked) back from a caller ring whose
     * kernel canceled it unstarted (its submitting thread exited) and sends it to a Netty ring, or, once the engine
     * closed, completes it (each member) as canceled by the close.
     */
    private void rehome(Request head) {
        Lane ring = rings[(nextRing.getAndIncrement() & Integer.MAX_VALUE) % rings.length];
        AtomicInteger guard = entering[ring.index()];
        guard.incrementAndGet();
        try {
            if (closed) {
                cancelChainByClose(head);
                return;
            }
            head.chainTo(ring);
            try {
                ring.accept(head);
            } catch (EngineRejectedException loopShutDown) {
                // The Netty loops were shut down under the open engine: nowhere to run it; it ends as by a close.
                cancelChainByClose(head);
            }
        } finally {
            guard.decrementAndGet();
        }
    }

    /** Completes each member of a chain nobody will run as canceled by the close, in chain order. */
    private static void cancelChainByClose(Request head) {
        for (Request r = head; r != null; ) {
            Request next = r.linkNext; // cleared by the delivery
            r.result = -ErrnoTable.ECANCELED;
            r.closedByEngine = true;
            r.deliver();
            r = next;
        }
    }

    /**
     * Waits, on this thread, for a request in flight on a caller ring ({@link RingEngineConfig#callerRings(int)}):
     * the thread waits inside that ring's {@code io_uring_enter} for at most {@code maxNanos}, reaping and running
     * every completion it finds there (this request's and other threads' requests of the same ring, whose callbacks
     * then run on this thread). Returns as soon as it ran at least one completion ({@code r}'s or another's: a caller
     * waiting for any of several requests re-checks them), after {@code maxNanos} (plus the time to run what it
     * reaped), or within one kernel wait slice (10 ms) of the thread being interrupted (the status stays set) or the
     * engine beginning to close. Loop on your own condition:
     * {@code while (!done) if (!engine.awaitInLane(r, slice)) park...}.
     *
     * @return true if {@code r} was on a caller ring and this thread waited there (whether or not {@code r} completed
     *         meanwhile); false at once when {@code r} is not in flight on a caller ring (idle, on a Netty ring or the
     *         thread pool, completed already), on a virtual thread (a kernel wait would pin its carrier), or once the
     *         engine closed its caller rings: the caller then waits as it would otherwise (e.g. parks until the
     *         completion wakes it)
     */
    public boolean awaitInLane(Request r, long maxNanos) {
        Objects.requireNonNull(r, "r");
        return r.ring instanceof CallerRing caller && r.state.get() != Request.IDLE && caller.await(r, maxNanos);
    }

    /**
     * {@link #awaitInLane(Request, long)} for a future of an {@link AsyncFile} operation of this engine: when the
     * operation went to a caller ring, waits inside that ring for at most {@code maxNanos}, reaping and running every
     * completion it finds there (the operation's, whose future it then completes on this thread, and other requests'
     * of that ring). For code that blocks on something that follows from the operation (a storage log acknowledges a
     * record once its group's write is durable) and wants the thread to reap the operation itself rather than be
     * woken by the thread that did. Returns as {@link #awaitInLane(Request, long)} does: loop on your own condition.
     *
     * @return true if this thread waited in a caller ring; false at once when the future is done, not one of this
     *         engine's {@code AsyncFile} futures, its operation did not go to a caller ring, on a virtual thread or a
     *         {@link java.util.concurrent.ForkJoinWorkerThread} (a kernel wait would hold its carrier or worker
     *         unknown to its pool), or once the engine closed its caller rings
     */
    public boolean awaitInLane(CompletableFuture<?> future, long maxNanos) {
        Objects.requireNonNull(future, "future");
        if (!(future instanceof LaneFuture<?> operation) || operation.isDone()
                || Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread) {
            return false;
        }
        CallerRing ring = operation.callerLane();
        return ring != null && callerLanes != null && callerLanes.owns(ring) && ring.await(operation, maxNanos);
    }

    /** Number of caller rings in use: 0 when {@link RingEngineConfig#callerRings(int)} is off or unavailable. */
    public int callerRingCount() {
        return callerLanes == null ? 0 : callerLanes.rings().length;
    }

    /**
     * True on the thread of an io_uring ring that has other requests in the kernel. A read submitted there (a
     * completion that resubmits while others are in flight) skips the page-cache fast path: the ring reads cached data
     * inline in its next {@code io_uring_enter}, many reads per call, which beats one {@code preadv2} per read and
     * keeps the ring's other completions on time. On an idle ring (a loop at depth 1) the fast path is the cheaper
     * one. Pool workers always take it: for them it saves a trip through the queue.
     */
    private boolean onBusyRingThread() {
        if (backend != Backend.IO_URING) {
            return false;
        }
        Lane own = ownLane();
        return own != null && own.inFlight() > 0;
    }

    /**
     * Submits a chain of requests linked with {@code IOSQE_IO_LINK}: each starts only after the one before it
     * succeeded, and a failure (including a short read or write) completes the rest with {@code -ECANCELED}. The whole
     * chain reaches the kernel in one turn of one ring (the submitting thread's caller ring, on the terms of
     * {@link RingEngineConfig#callerRings(int)}). Each request gets its own completion.
     *
     * @throws IllegalArgumentException if the chain is empty, has more than 16 requests or more than a ring keeps in
     *                                  flight ({@link RingEngineConfig#maxInFlightPerRing(int)}: it would wait for
     *                                  room for ever), or a request is invalid as for {@link #submit}; nothing is
     *                                  submitted
     * @throws IllegalStateException    if a request is already in flight; nothing is submitted
     * @throws EngineRejectedException  once the engine is closed
     */
    public void submitLinked(Request... chain) {
        submitLinkedRouted(chain);
    }

    /** {@link #submitLinked}, returning the lane the chain went to. */
    Lane submitLinkedRouted(Request... chain) {
        if (chain.length == 0) {
            throw new IllegalArgumentException("empty chain");
        }
        if (chain.length > 16) {
            throw new IllegalArgumentException("chain of " + chain.length + " requests; at most 16");
        }
        int room = rings[0].maxChainLength();
        if (chain.length > room) {
            // Its members go into the kernel together: it would wait for room in the ring for ever.
            throw new IllegalArgumentException("chain of " + chain.length + " requests; a ring keeps at most " + room
                    + " in flight (RingEngineConfig.maxInFlightPerRing)");
        }
        claim(chain, chain.length);
        for (int i = 0; i < chain.length; i++) {
            chain[i].linkNext = i + 1 < chain.length ? chain[i + 1] : null;
            chain[i].linked = chain.length > 1;
        }
        SubmitterHome home = count(chain, chain.length);
        try {
            if (home != null && chain.length > 1 && CallerRing.chainEligible(chain)) {
                // A chain counts as one request of its thread: its members run one after the other.
                CallerRing caller = callerLanes.forCurrentThread();
                int mine = home.inFlight.get() - (chain.length - 1);
                int before = home.lastDepth;
                home.lastDepth = mine; // one request at the thread's next submission too (submitCounted)
                // Routed as one request is (submitCounted): the thread's previous submission counts too.
                if (mine <= callerRingDepth && before <= callerRingDepth && enqueueCaller(caller, chain[0])) {
                    return caller;
                }
            } else if (home != null) {
                home.lastDepth = home.inFlight.get();
            }
            Lane ring = pickRing();
            enqueue(ring, chain[0]);
            return ring;
        } catch (RuntimeException | Error e) {
            uncount(home, chain, chain.length); // not accepted (closed engine): not in flight
            throw e;
        }
    }

    /**
     * Submits {@code requests[0..count)} as one batch: all go to one ring, which moves them into SQEs in one turn, so
     * they reach the kernel in one {@code io_uring_enter} (as far as the ring has room; the rest wait their turn).
     * Validation is all or nothing: if one request is invalid or already in flight, none is submitted.
     */
    public void submitBatch(Request[] requests, int count) {
        Objects.checkFromToIndex(0, count, requests.length);
        claim(requests, count);
        for (int i = 0; i < count; i++) {
            requests[i].linkNext = null;
        }
        if (count == 0) {
            return;
        }
        Lane ring = pickRing();
        AtomicInteger guard = entering[ring.index()];
        guard.incrementAndGet();
        try {
            if (closed) {
                for (int i = 0; i < count; i++) {
                    requests[i].state.set(Request.IDLE);
                }
                throw rejected();
            }
            for (int i = 0; i < count; i++) {
                requests[i].ring = ring;
            }
            SubmitterHome home = count(requests, count); // before the ring has them: a completion may run first
            if (home != null) {
                home.lastDepth = home.inFlight.get();
            }
            try {
                ring.acceptBatch(requests, count);
            } catch (EngineRejectedException loopShutDown) {
                // The ring's event loop was shut down under the open engine: nothing of the batch was accepted.
                uncount(home, requests, count);
                for (int i = 0; i < count; i++) {
                    requests[i].state.set(Request.IDLE);
                }
                throw loopShutDown;
            }
        } finally {
            guard.decrementAndGet();
        }
    }

    /**
     * Counts {@code requests[0..count)} (claimed, not yet handed to a lane) in the submitting thread's
     * {@link SubmitterHome#inFlight} when caller rings are on and this is not one of the engine's threads, as
     * {@link #submitCounted} does for a lone request: a batch or chain in flight is the thread's requests in flight,
     * which {@link RingEngineConfig#callerRingDepth(int)} counts on every lane. Each is uncounted by its delivery.
     *
     * @return the home counted in, or null when not counted
     */
    private SubmitterHome count(Request[] requests, int count) {
        if (callerLanes == null || ownLane() != null) {
            return null;
        }
        SubmitterHome home = homes.get();
        for (int i = 0; i < count; i++) {
            requests[i].submitter = home;
        }
        home.inFlight.addAndGet(count);
        return home; // the caller records the thread's depth (lastDepth): a batch counts as many, a chain as one
    }

    /** Undoes {@link #count} for requests the engine refused (idle again, never delivered). */
    private static void uncount(SubmitterHome home, Request[] requests, int count) {
        if (home == null) {
            return;
        }
        for (int i = 0; i < count; i++) {
            uncount(home, requests[i]);
        }
    }

    /** Undoes the count of one request the engine refused, unless its delivery already did. */
    private static void uncount(SubmitterHome home, Request request) {
        if (request.submitter == home) {
            request.submitter = null;
            home.inFlight.decrementAndGet();
        }
    }

    /**
     * Validates {@code requests[0..count)} and moves them IDLE → QUEUED, all or nothing: if one is in flight, those
     * already claimed go back to IDLE and nothing is submitted.
     */
    private static void claim(Request[] requests, int count) {
        for (int i = 0; i < count; i++) {
            validate(requests[i]);
        }
        for (int i = 0; i < count; i++) {
            if (!requests[i].state.compareAndSet(Request.IDLE, Request.QUEUED)) {
                for (int j = 0; j < i; j++) {
                    requests[j].state.set(Request.IDLE);
                }
                throw new IllegalStateException("request already in flight: " + requests[i]);
            }
        }
        // Only once all are claimed: a refused batch leaves each request's last outcome as it was.
        for (int i = 0; i < count; i++) {
            requests[i].closedByEngine = false;
            requests[i].linked = false;
        }
    }

    private static void validate(Request request) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(request.completion(), "request has no completion");
        if (request.offset < 0) {
            throw new IllegalArgumentException("negative offset " + request.offset + " for " + request);
        }
        if (request.length < 0 && (request.opcode == Uapi.IORING_OP_READ || request.opcode == Uapi.IORING_OP_WRITE)) {
            // The kernel reads len as unsigned: 4 GiB, clamped to 2 GiB, far past the caller's memory.
            throw new IllegalArgumentException("negative length " + request.length + " for " + request);
        }
        if (!request.segmentsAlive()) {
            // Prepared on a segment whose arena closed since (a request reused without a new prep): the kernel would
            // read or write freed memory, which may already be another allocation's.
            throw new IllegalArgumentException("a segment of " + request + " belongs to a closed arena");
        }
        if (addressesOtherRequests(request.opcode)) {
            // The engine owns every SQE's user data: a raw cancel (with IORING_ASYNC_CANCEL_ANY or _FD it needs no
            // key) would end requests of other callers of the ring, which no cancel of the API ever does.
            throw new IllegalArgumentException(Uapi.opName(request.opcode) + " acts on other requests of the ring;"
                    + " use RingEngine.cancel(Request)");
        }
        if (changesRingState(request.opcode)) {
            // The ring is the engine's, shared by every caller (and, with an application's event loops, by its
            // sockets): provided buffers would be handed to other users' buffer-selecting receives, and would point
            // into this caller's memory after its request ended; removed ones would starve those receives; a file
            // table entry would outlive the request. Nothing of the API needs them.
            throw new IllegalArgumentException(Uapi.opName(request.opcode) + " changes the ring's shared state"
                    + " (buffer groups, registered files); refused");
        }
        if (postsSeveralCompletions(request)) {
            // The engine frees a request's slot at its first CQE: the later ones of a multishot or zero-copy request
            // carry a tag the slot gets again after its generations wrap, and then complete whichever request holds
            // it (seen: a pipe read completed with a poll's mask after 1024 reuses of the slot).
            throw new IllegalArgumentException(Uapi.opName(request.opcode) + " in a form that posts more than one"
                    + " completion (multishot or zero-copy): a request has exactly one");
        }
    }

    /**
     * Opcodes that find other in-flight requests by user data or by descriptor, or post completions for them
     * ({@code MSG_RING}: a forged completion of another caller's request, in this engine's ring or any other):
     * refused from callers.
     */
    private static boolean addressesOtherRequests(byte opcode) {
        return opcode == Uapi.IORING_OP_ASYNC_CANCEL || opcode == Uapi.IORING_OP_POLL_REMOVE
                || opcode == Uapi.IORING_OP_TIMEOUT_REMOVE || opcode == Uapi.IORING_OP_MSG_RING;
    }

    /**
     * Opcodes that change the ring's own state, shared by every user of the ring and kept past the request: its buffer
     * groups ({@code PROVIDE_BUFFERS}, {@code REMOVE_BUFFERS}) and its registered-file table ({@code FILES_UPDATE}).
     */
    private static boolean changesRingState(byte opcode) {
        return opcode == Uapi.IORING_OP_PROVIDE_BUFFERS || opcode == Uapi.IORING_OP_REMOVE_BUFFERS
                || opcode == Uapi.IORING_OP_FILES_UPDATE;
    }

    /**
     * Forms that post several CQEs for one SQE: multishot poll, timeout, accept, recv/recvmsg and read (each CQE
     * flagged {@code IORING_CQE_F_MORE} but the last), and the zero-copy sends (a result, then a notification once
     * the kernel let go of the buffer).
     */
    private static boolean postsSeveralCompletions(Request r) {
        return switch (r.opcode) {
            case Uapi.IORING_OP_POLL_ADD -> (r.length & Uapi.IORING_POLL_ADD_MULTI) != 0;
            case Uapi.IORING_OP_TIMEOUT -> (r.opFlags & Uapi.IORING_TIMEOUT_MULTISHOT) != 0;
            case Uapi.IORING_OP_ACCEPT -> (r.ioPrio & Uapi.IORING_ACCEPT_MULTISHOT) != 0;
            case Uapi.IORING_OP_RECV, Uapi.IORING_OP_RECVMSG -> (r.ioPrio & Uapi.IORING_RECV_MULTISHOT) != 0;
            case Uapi.IORING_OP_SEND_ZC, Uapi.IORING_OP_SENDMSG_ZC, Uapi.IORING_OP_READ_MULTISHOT -> true;
            default -> false;
        };
    }

    private void enqueue(Lane ring, Request head) {
        AtomicInteger guard = entering[ring.index()];
        guard.incrementAndGet();
        try {
            if (closed) {
                resetChain(head);
                throw rejected();
            }
            head.chainTo(ring);
            try {
                ring.accept(head);
            } catch (EngineRejectedException loopShutDown) {
                // The ring's event loop was shut down under the open engine (an application's group): not accepted.
                resetChain(head);
                throw loopShutDown;
            }
        } finally {
            guard.decrementAndGet();
        }
    }

    /** A chain the engine did not accept: idle again, unlinked. */
    private static void resetChain(Request head) {
        for (Request r = head; r != null; ) {
            Request next = r.linkNext;
            r.linkNext = null;
            r.state.set(Request.IDLE);
            r = next;
        }
    }

    /**
     * Cancels a request: at once if it still waits in the engine, else in the kernel with
     * {@code IORING_OP_ASYNC_CANCEL} keyed to this submission of it only (never to a later request that reuses its
     * slot). The outcome is what the request ended with: {@link CancelOutcome#CANCELED} only if its completion runs
     * with {@code -ECANCELED}, and always when the submission this cancel found runs it with {@code -ECANCELED}
     * (whoever canceled it, and whatever the kernel answered the cancel itself: it can answer "not found" for work it
     * then ends canceled); {@link CancelOutcome#NOT_CANCELED} if it was already running and ends with its own result
     * (the future then completes when it ends); {@link CancelOutcome#ALREADY_DONE} if it had finished (or was never
     * submitted).
     *
     * <p>A request is known by its object only: a cancel that races with the request's completion and resubmission
     * acts on whichever submission is current when the cancel runs, and its outcome is about that same submission.
     * A request in flight on another engine is canceled there (a request belongs to the engine it was submitted to).
     * A member of a linked chain that the kernel has not started yet (its predecessor still runs) cannot be canceled
     * in the kernel: on io_uring the outcome is then decided when it ends ({@code NOT_CANCELED}, or {@code CANCELED}
     * if it ends {@code -ECANCELED} because an earlier member failed); on the thread pool it is canceled with the
     * members behind it; a chain still waiting in the engine (the ring was full) is canceled whole.
     */
    public CompletableFuture<CancelOutcome> cancel(Request request) {
        Objects.requireNonNull(request, "request");
        // A LaneFuture: the outcome of a kernel cancel is decided on the ring's loop, so a join of it on that same loop
        // (a Netty application's handler) fails fast instead of hanging the loop (LaneFuture#checkMayWait).
        LaneFuture<CancelOutcome> outcome = new LaneFuture<>(blocked);
        Lane ring = request.ring;
        if (ring == null || request.state.get() == Request.IDLE) {
            outcome.complete(CancelOutcome.ALREADY_DONE);
        } else {
            if (ring instanceof Ring netty) {
                outcome.sentTo(netty);
            }
            ring.cancel(request, outcome);
        }
        return outcome;
    }

    /**
     * The ring for a new request: the caller's own ring when it runs on one, else the submitting thread's ring
     * ({@link SubmitterHome}: threads are spread over the rings in turn, each keeps its ring).
     */
    Lane pickRing() {
        Lane[] rs = rings;
        if (rs.length == 1) {
            return rs[0];
        }
        Lane own = ownLane();
        if (own != null) {
            return own;
        }
        return homeRing(homes.get());
    }

    /**
     * The thread's Netty ring: its home, unless that is full while another ring has room; the thread then moves there
     * (kept from then on). A full ring holds a new request back behind every request that waits there, however long
     * those take, and a thread that kept a full ring while another idled had all its requests stuck behind them. One
     * volatile read per submission while the home has room.
     */
    private Lane homeRing(SubmitterHome home) {
        Lane[] rs = rings;
        Lane ring = rs[home.ring];
        if (ring.full()) {
            for (int i = 1; i < rs.length; i++) {
                int k = (home.ring + i) % rs.length;
                if (!rs[k].full()) {
                    home.ring = k;
                    return rs[k];
                }
            }
        }
        return ring;
    }

    /** For tests: the calling thread's requests counted in flight ({@link SubmitterHome#inFlight}). */
    int countedInFlightOfThisThread() {
        return homes.get().inFlight.get();
    }

    /**
     * The home of a thread that submits for the first time: the ring with the fewest requests in the kernel now,
     * from the next in turn ({@link Lane#leastLoaded}). Once per thread and engine, not per request.
     */
    private SubmitterHome newHome() {
        int turn = (nextRing.getAndIncrement() & Integer.MAX_VALUE) % rings.length;
        return new SubmitterHome(Lane.leastLoaded(rings, turn));
    }

    // ---------------------------------------------------------------- files

    /**
     * Opens a file through the ring ({@code IORING_OP_OPENAT}). Options as for
     * {@link java.nio.channels.AsynchronousFileChannel#open}: {@code READ}, {@code WRITE}, {@code CREATE},
     * {@code CREATE_NEW}, {@code TRUNCATE_EXISTING}, {@code DELETE_ON_CLOSE}, {@code SPARSE} (ignored), {@code SYNC},
     * {@code DSYNC}, {@code NOFOLLOW_LINKS}, plus {@link UringOpenOption}s. {@code APPEND} is refused, as there.
     * New files get mode 0644 (less the umask).
     *
     * <p>A FIFO (named pipe), the same on both backends (io_uring's own rule): {@code READ} opens at once, even with no
     * writer; {@code WRITE} with no reader fails {@code ENXIO} at once; {@code READ, WRITE} opens at once; {@code WRITE}
     * with {@code CREATE} or {@code TRUNCATE_EXISTING} stays pending until a reader opens the FIFO. One difference:
     * {@code READ} with {@code CREATE} or {@code TRUNCATE_EXISTING} waits for a writer on io_uring (its io-wq worker
     * opens blocking) and opens at once on the thread pool. Ending the returned future yourself (cancel, a timeout,
     * completing it) cancels a pending open (a file it still opens is closed), and {@link #close()} ends it
     * ({@link EngineClosedException}).
     *
     * @return a future of the open file; it fails with a {@link UringIOException} (e.g. ENOENT) naming the path
     */
    public CompletableFuture<AsyncFile> open(Path path, OpenOption... options) {
        return AsyncFile.open(this, path, options);
    }

    void fileOpened(AsyncFile file) {
        openFiles.add(file);
    }

    void fileClosed(AsyncFile file) {
        openFiles.remove(file);
    }

    // ---------------------------------------------------------------- state

    /** Number of rings. */
    public int ringCount() {
        return rings.length;
    }

    /** The backend this engine runs on: {@link Backend#IO_URING} or {@link Backend#THREAD_POOL}. */
    public Backend backend() {
        return backend;
    }

    /** Why this backend was chosen, e.g. {@code "io_uring_setup: EPERM (seccomp?)"} for a fallback. */
    public String backendReason() {
        return backendReason;
    }

    /**
     * False once {@link #close()} began, or once an event loop the engine runs on is shutting down (the application
     * shut its group, or one loop of it, down under the open engine): from then on every submission is refused, as by
     * a closed engine ({@link EngineRejectedException}; {@link EngineClosedException} for {@link AsyncFile}
     * futures), on every ring, caller rings and the page-cache fast path included. Call {@link #close()} still: it
     * closes the files left open and releases the engine. True answers that the engine takes work at the time of the
     * call only: a close or shutdown may come before the next submission.
     */
    public boolean isOpen() {
        if (closed) {
            return false;
        }
        for (Lane ring : rings) {
            if (ring.loopShutDown()) {
                return false; // seen before the ring's hook ran (loopShutDown)
            }
        }
        return true;
    }

    /** False once the engine refuses new work; one volatile read, for the submission paths ({@link #isOpen()}). */
    boolean takesWork() {
        return !closed;
    }

    /**
     * A ring's loop is shutting down under the open engine (an application's group): the engine stops taking work,
     * on every ring, caller ring and the page-cache fast path, as a closed engine does; before, {@link #isOpen()}
     * still said true, a cached read still succeeded on the calling thread, and a caller ring still took requests,
     * while every request for the Netty rings was refused. What is already in flight ends as before (the dying loop
     * completes its own as canceled by close; the other rings' run to their results). {@link #close()} still runs in
     * full when called.
     */
    private void loopShutDown(int ring) {
        if (!closed && closedBecause == null) { // not after a close(): its refusals say "engine closed"
            closedBecause = "engine closed: the event loop of ring " + ring + " is shut down (its group was shut down"
                    + " while the engine was open)";
        }
        closed = true; // after the reason: a submitter that sees closed sees why
    }

    /** Why the engine stopped taking work without a {@link #close()}; null until then. */
    private volatile String closedBecause;

    /** The refusal of a submission to the closed engine, saying why when its loops went first. */
    private EngineRejectedException rejected() {
        String why = closedBecause;
        return why == null ? new EngineRejectedException() : new EngineRejectedException(why);
    }

    /** Every lane: the Netty rings (or the pool), then the caller rings. */
    private List<Lane> allLanes() {
        List<Lane> all = new ArrayList<>(List.of(rings));
        if (callerLanes != null) {
            all.addAll(List.of(callerLanes.rings()));
        }
        return all;
    }

    /** The counters, summed over the rings. */
    public EngineStats stats() {
        long submitted = 0;
        long completed = 0;
        long inFlight = 0;
        long enters = 0;
        long sqes = 0;
        for (Lane r : allLanes()) {
            completed += r.completedTotal();
            inFlight += r.inFlight();
            enters += r.enters();
            sqes += r.sqes();
            submitted += r.submittedCount();
        }
        long queued = Math.max(0, submitted - completed - inFlight);
        long hits = pageCacheHits.sum();
        return new EngineStats(submitted + hits, completed + hits, inFlight, queued, enters, sqes, hits);
    }

    /**
     * Closes the engine: new submissions are refused; queued requests complete with {@code -ECANCELED}; requests in
     * the kernel are canceled and every CQE is awaited; files still open are closed; then the rings are released (the
     * engine's own loops shut down; an application's group is left running). Idempotent; blocks until done, also when
     * another thread's close is under way.
     *
     * <p>From one of the engine's own threads (a completion callback, a future's dependent stage running on a ring or
     * a pool worker) the close cannot wait for itself: there it begins the close (from then on {@link #isOpen()} is
     * false and submissions are refused), finishes it on a new thread, and returns at once.
     */
    @Override
    public void close() {
        boolean first = closeBegun.compareAndSet(false, true);
        if (onOwnThread()) {
            if (first) {
                closed = true;
                try {
                    Thread.ofPlatform().daemon().name("uring-aio-close").start(this::closeNow);
                } catch (OutOfMemoryError noThread) {
                    // A pids or thread limit: the close cannot run here (it would wait for this thread), so the next
                    // close() from another thread runs it (awaitClose); until then submissions are refused.
                    closeHandedOver.set(true);
                    LOG.log(System.Logger.Level.WARNING, "engine close from one of its threads could not start its"
                            + " thread (" + noThread.getMessage() + "); the next close() from another thread runs it");
                }
            }
            return; // waiting here would wait for this very thread
        }
        if (first) {
            closeNow();
        } else {
            awaitClose();
        }
    }

    /**
     * A second closer waits, uninterruptibly as the close itself, for the first one's close; or runs it, when the
     * first was one of the engine's threads that could not start the close's thread ({@link #closeHandedOver}). It
     * looks for that every {@link #HANDOVER_POLL_MILLIS} ms: that closer may set it after this one began to wait.
     */
    private void awaitClose() {
        boolean interrupted = false;
        try {
            while (true) {
                if (closeHandedOver.compareAndSet(true, false)) {
                    closeNow();
                    return;
                }
                try {
                    closeDone.get(HANDOVER_POLL_MILLIS, TimeUnit.MILLISECONDS);
                    return;
                } catch (TimeoutException e) {
                    // look again
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    return; // closeDone never fails; done either way
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static final long HANDOVER_POLL_MILLIS = 10;
    /** Set when a close begun on one of the engine's threads found no thread to run on: the next closer runs it. */
    private final AtomicBoolean closeHandedOver = new AtomicBoolean();

    /**
     * True when the calling thread is one of this engine's own threads (a ring's event loop or a pool worker): the
     * thread completions run on. Code that may be called from a completion uses it to avoid waiting for this engine
     * there, which would wait for itself.
     */
    public boolean isEngineThread() {
        return onOwnThread();
    }

    /** True on a ring's or pool worker's thread of this engine, where a blocking close would deadlock. */
    private boolean onOwnThread() {
        return (callerLanes != null && callerLanes.isOwnThread()) || ownLane() != null;
    }

    /** The close itself; runs once, on the first closer's thread (or the thread a callback's close started). */
    private void closeNow() {
        try {
            closed = true;
            for (AtomicInteger guard : entering) {
                while (guard.get() != 0) {
                    Thread.onSpinWait();
                }
            }
            List<CompletableFuture<Void>> drained = new ArrayList<>();
            for (Lane ring : rings) {
                drained.add(ring.beginClose());
            }
            if (callerLanes != null) {
                callerLanes.closeRings(); // on this thread: it reaps them until empty
            }
            awaitAll(drained);
            for (AsyncFile file : List.copyOf(openFiles)) {
                file.closeFdNow();
            }
            for (Lane ring : rings) {
                ring.deregister();
            }
            if (callerLanes != null) {
                callerLanes.release();
            }
            if (ownGroup != null) {
                shutDown(ownGroup);
            }
            bouncePool.clear();
        } finally {
            closeDone.complete(null);
        }
    }

    /**
     * Shuts the engine's own loops down and waits for each to terminate (at most {@link #SHUTDOWN_WAIT_MILLIS} in
     * all). Loop by loop rather than through the group's future: Netty completes that one from a listener it runs on a
     * thread of its {@code GlobalEventExecutor}, and where no thread can be started (a pids limit) that listener never
     * runs and the wait never ends; and a loop whose thread never started throws the refused thread's
     * {@link OutOfMemoryError} from {@code shutdownGracefully} (it is then terminated: there is nothing to wait for).
     *
     * <p>After an open that failed for want of a thread, only the loops that started (those a ring registered on)
     * are shut down. A shutdown of one that never started tries to start its thread (refused again) and then completes
     * its termination future on the calling thread, whose listener (the group's own) Netty hands to its
     * {@code GlobalEventExecutor}: with no thread to be had, Netty logged a SEVERE "Failed to submit a listener
     * notification task" with a stack trace, on an open that falls back cleanly. Such a loop holds no thread, and the
     * shutdown freed nothing of it either (its io_uring is released by its own thread, which never ran).
     */
    private static void shutDown(Iterable<? extends EventExecutor> group) {
        for (EventExecutor loop : group) {
            try {
                loop.shutdownGracefully(0, 2, TimeUnit.SECONDS);
            } catch (OutOfMemoryError neverStarted) {
                // its thread could not be started: no request ever ran there
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SHUTDOWN_WAIT_MILLIS);
        for (EventExecutor loop : group) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            if (!loop.terminationFuture().awaitUninterruptibly(Math.max(0, left))) {
                LOG.log(System.Logger.Level.WARNING, "ring loop " + loop + " did not terminate within "
                        + SHUTDOWN_WAIT_MILLIS + " ms of the close");
            }
        }
    }

    private static final long SHUTDOWN_WAIT_MILLIS = 10_000;

    /**
     * Thrown inside {@link #open} when a ring's thread could not be started (a pids or thread limit) or died while
     * starting: AUTO falls back
     * to the thread pool with this message as the reason, IO_URING throws {@link UnsupportedOperationException}.
     */
    private static final class RingThreadRefused extends RuntimeException {
        RingThreadRefused(String reason, Throwable cause) {
            super(reason, cause);
        }
    }

    private static void awaitAll(List<CompletableFuture<Void>> futures) {
        CompletableFuture<Void> all = CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
        boolean interrupted = false;
        long started = System.nanoTime();
        while (true) {
            try {
                all.get(CLOSE_WARN_NANOS, TimeUnit.NANOSECONDS);
                break;
            } catch (TimeoutException e) {
                LOG.log(System.Logger.Level.WARNING, "engine close still waits for in-flight requests after "
                        + TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started) + " s");
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (ExecutionException e) {
                throw new IllegalStateException("ring failed while closing", e.getCause());
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
