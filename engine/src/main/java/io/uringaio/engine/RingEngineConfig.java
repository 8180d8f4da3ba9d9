package io.uringaio.engine;

import io.netty.channel.IoEventLoopGroup;
import io.uringaio.engine.internal.sys.FutexBoard;

/**
 * How a {@link RingEngine} is built. Mutable builder; {@link RingEngine#open(RingEngineConfig)} copies what it needs.
 *
 * <p>Defaults: one ring per available processor, 1024 SQ entries per ring, at most 896 requests in flight per ring
 * (the rest wait in the engine's queue), at least {@value #DEFAULT_BOUNDED_WORKERS} io-wq bounded workers per ring
 * ({@link #ioWorkers}), a private Netty event loop group.
 */
public final class RingEngineConfig {
    /** System property giving the default of {@link #callerRings(int)} (0 when unset). */
    public static final String CALLER_RINGS_PROPERTY = "uringaio.callerRings";

    private int rings = Runtime.getRuntime().availableProcessors();
    private int ringSize = 1024;
    private int maxInFlightPerRing = -1;
    /**
     * The default bound on a ring's io-wq bounded workers, where the kernel's own default (4 per CPU) is lower.
     * Bounded workers run the regular-file work io_uring cannot finish inline: every {@code fsync}/{@code fdatasync},
     * and buffered writes where the file system has no non-blocking buffered write (ext4). With the kernel's 8 on two
     * CPUs, a ring kept at most 8 syncs going at once while the block layer merges concurrent flushes: 32 lanes of
     * write + fdatasync through two rings ran at half the rate of 32 threads calling {@code FileChannel.force}; with
     * 32-128 workers per ring at 0.7-0.95x of them (same runs, randwrite-fdatasync-qd32).
     */
    public static final int DEFAULT_BOUNDED_WORKERS = 64;

    private int maxBoundedWorkers = 4 * Runtime.getRuntime().availableProcessors() < DEFAULT_BOUNDED_WORKERS
            ? DEFAULT_BOUNDED_WORKERS : 0;
    private int maxUnboundedWorkers;
    private IoEventLoopGroup eventLoopGroup;
    private String threadNamePrefix = "uring-aio-ring";
    private Backend backend;
    private IoUringAvailability availability = IoUringAvailability.NETTY;
    private int poolThreads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    private long poolIdleNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(1);
    private Runnable afterCompletionBatch;
    private boolean pageCacheFastPath = true;
    private int callerRings = Integer.getInteger(CALLER_RINGS_PROPERTY, 0);
    private int callerRingDepth = Integer.MAX_VALUE;
    private long futexSliceNanos = FutexBoard.SLICE_NANOS;

    /** A config with the defaults. */
    public RingEngineConfig() {
    }

    /**
     * A copy of this config, every setting included (the event loop group and the completion hook by reference):
     * for code that adjusts a config it was given without changing the caller's, such as the POSIX facade's context.
     */
    public RingEngineConfig copy() {
        RingEngineConfig c = new RingEngineConfig();
        c.rings = rings;
        c.ringSize = ringSize;
        c.maxInFlightPerRing = maxInFlightPerRing;
        c.maxBoundedWorkers = maxBoundedWorkers;
        c.maxUnboundedWorkers = maxUnboundedWorkers;
        c.eventLoopGroup = eventLoopGroup;
        c.threadNamePrefix = threadNamePrefix;
        c.backend = backend;
        c.availability = availability;
        c.poolThreads = poolThreads;
        c.poolIdleNanos = poolIdleNanos;
        c.afterCompletionBatch = afterCompletionBatch;
        c.pageCacheFastPath = pageCacheFastPath;
        c.callerRings = callerRings;
        c.callerRingDepth = callerRingDepth;
        c.futexSliceNanos = futexSliceNanos;
        return c;
    }

    /**
     * Longest single sleep of a thread blocked on a future of the engine ({@link FutexBoard}). Package-private, for
     * tests: a slice far longer than a test's bound turns a wake-up that nobody made into a hang it can see.
     */
    RingEngineConfig futexSliceNanos(long nanos) {
        if (nanos <= 0) {
            throw new IllegalArgumentException("futex slice must be positive, was " + nanos);
        }
        this.futexSliceNanos = nanos;
        return this;
    }

    long futexSliceNanos() {
        return futexSliceNanos;
    }

    /** Number of rings (each an event loop thread); default the available processors. Ignored with a group. */
    public RingEngineConfig rings(int rings) {
        if (rings < 1 || rings > 1024) {
            throw new IllegalArgumentException("rings must be in 1..1024, was " + rings);
        }
        this.rings = rings;
        return this;
    }

    /** SQ entries per ring, a power of two in 64..32768; default 1024. The CQ gets twice as many. */
    public RingEngineConfig ringSize(int ringSize) {
        if (ringSize < 64 || ringSize > RequestTable.MAX_SLOTS || Integer.bitCount(ringSize) != 1) {
            throw new IllegalArgumentException("ringSize must be a power of two in 64.." + RequestTable.MAX_SLOTS
                    + ", was " + ringSize);
        }
        this.ringSize = ringSize;
        return this;
    }

    /**
     * The most requests one ring keeps in the kernel; the excess waits in the engine (priority, then FIFO). At most
     * {@code ringSize - 40} (room for the engine's cancels and Netty's own entries), so the SQ never fills in one turn
     * and the CQ never overflows. Default {@code ringSize - 128}.
     */
    public RingEngineConfig maxInFlightPerRing(int maxInFlight) {
        if (maxInFlight < 1) {
            throw new IllegalArgumentException("maxInFlightPerRing must be positive, was " + maxInFlight);
        }
        this.maxInFlightPerRing = maxInFlight;
        return this;
    }

    /**
     * io-wq worker bounds per ring ({@code IORING_REGISTER_IOWQ_MAX_WORKERS}): bounded workers serve regular-file
     * I/O that cannot complete inline, unbounded ones the rest. 0 keeps the kernel's default (bounded: 4 per CPU;
     * unbounded: the process's thread limit). Defaults: {@link #DEFAULT_BOUNDED_WORKERS} bounded where that is more
     * than the kernel's, unbounded left to the kernel. Workers start on demand and exit when idle. Only for the
     * engine's own loops, on kernels that have the call (5.15); ignored elsewhere.
     */
    public RingEngineConfig ioWorkers(int maxBounded, int maxUnbounded) {
        if (maxBounded < 0 || maxUnbounded < 0) {
            throw new IllegalArgumentException("io-wq worker bounds must not be negative: " + maxBounded + ", "
                    + maxUnbounded);
        }
        this.maxBoundedWorkers = maxBounded;
        this.maxUnboundedWorkers = maxUnbounded;
        return this;
    }

    /**
     * Runs the engine on an application's Netty group whose loops use {@code IoUringIoHandler}: one ring per loop, so
     * file I/O shares the loops of the application's sockets. The engine never shuts the group down; close the engine
     * before the group. An operation started on a loop runs on that loop's ring. A blocking wait on any loop that
     * runs an engine's ring ({@code join}/{@code get} of an {@link AsyncFile} future or of a dependent stage, not yet
     * done) throws Netty's {@code BlockingOperationException} instead of waiting: for an operation of that same loop
     * it would hang the loop for good, for one of another loop it deadlocks as soon as that loop waits for this one
     * (chain a callback instead). If the group (or one of its loops) shuts down first, every request still held by a
     * dying loop completes once with {@code -ECANCELED} as canceled by close, the engine stops taking work
     * ({@link RingEngine#isOpen()} false; later submissions are refused with {@link EngineRejectedException}), and
     * {@link RingEngine#close()} is still to be called.
     */
    public RingEngineConfig eventLoopGroup(IoEventLoopGroup group) {
        this.eventLoopGroup = group;
        return this;
    }

    /**
     * Name prefix of the engine's own ring threads.
     *
     * @throws NullPointerException if {@code prefix} is null (the config is left as it was)
     */
    public RingEngineConfig threadNamePrefix(String prefix) {
        this.threadNamePrefix = java.util.Objects.requireNonNull(prefix, "prefix");
        return this;
    }

    /**
     * The backend; unset means the system property {@code uringaio.backend} (AUTO | IO_URING | THREAD_POOL), and
     * {@link Backend#AUTO} when that is unset too.
     */
    public RingEngineConfig backend(Backend backend) {
        this.backend = backend;
        return this;
    }

    /**
     * The hook that decides whether io_uring is available (default: Netty's verdict). Package-private: the tests of
     * this package install one to exercise the fallback without touching the kernel; it is no part of the API.
     */
    RingEngineConfig ioUringAvailability(IoUringAvailability availability) {
        this.availability = java.util.Objects.requireNonNull(availability, "availability");
        return this;
    }

    /**
     * Worker threads of the thread-pool backend (glibc's {@code aio_threads}); default max(4, 2 × cores). A worker
     * stays with its request until it ends, also while a read of an empty pipe or socket (or a write to a full one)
     * waits for its descriptor: {@code n} such waiting requests occupy all {@code n} workers, and every other request
     * queues behind them until one of them ends or is canceled (as with glibc). Size the pool above the number of
     * stream requests that may wait at once, or cancel them; io_uring has no such limit.
     */
    public RingEngineConfig poolThreads(int threads) {
        if (threads < 1 || threads > 4096) {
            throw new IllegalArgumentException("poolThreads must be in 1..4096, was " + threads);
        }
        this.poolThreads = threads;
        return this;
    }

    /**
     * How long an idle pool worker lingers before it exits (glibc's {@code aio_idle_time}); default 1 s. A duration
     * too long for a {@code long} of nanoseconds (about 292 years) means for ever.
     *
     * @throws IllegalArgumentException if {@code idle} is negative
     */
    public RingEngineConfig poolIdleTime(java.time.Duration idle) {
        if (idle.isNegative()) {
            throw new IllegalArgumentException("poolIdleTime must not be negative, was " + idle);
        }
        this.poolIdleNanos = saturatedNanos(idle);
        return this;
    }

    /** {@code d} in nanoseconds, {@link Long#MAX_VALUE} when it does not fit ({@code toNanos} would throw). */
    private static long saturatedNanos(java.time.Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * A hook run on the completing thread after each batch of completion callbacks: on io_uring after every callback
     * of one CQE drain has run, on the thread pool after each request. For work that should happen once per batch
     * rather than once per request, such as waking a thread that waits for any of many requests. It must not block.
     */
    public RingEngineConfig afterCompletionBatch(Runnable hook) {
        this.afterCompletionBatch = hook;
        return this;
    }

    /** The hook run after each batch of completions, or null. */
    public Runnable afterCompletionBatch() {
        return afterCompletionBatch;
    }

    /**
     * Whether reads marked {@link Request#pageCacheFirst(boolean)} (and {@link AsyncFile} reads of files opened
     * without {@link UringOpenOption#DIRECT}) are tried in the page cache on the submitting thread first; default on.
     * Off, every read goes through a ring and completes on its thread.
     */
    public RingEngineConfig pageCacheFastPath(boolean enabled) {
        this.pageCacheFastPath = enabled;
        return this;
    }

    /** Whether the page-cache fast path is on. */
    public boolean pageCacheFastPath() {
        return pageCacheFastPath;
    }

    /**
     * Caller-driven rings: {@code count} extra io_uring instances, set up by the engine without a thread of their own,
     * for requests submitted by threads that are not the engine's (neither a ring thread nor a pool worker). Such a
     * thread writes its request's SQE and enters the kernel itself; when it (or any thread) then waits for the request
     * through {@link RingEngine#awaitInLane(Request, long)} or an {@link AsyncFile} future's {@code join}/{@code get},
     * it waits inside {@code io_uring_enter} and reaps the completion itself: no wake-up of a ring thread, no wake-up
     * back. Threads get rings on their first submission, in turn unless another ring has fewer requests in flight
     * (the first {@code count} threads one each, then shared; a thread that died does not keep its turn); a thread
     * keeps its ring.
     *
     * <p>A caller ring pays one {@code io_uring_enter} per request: right for a thread that waits for its one request,
     * slower than the Netty rings' batching for one thread that keeps many in flight; see
     * {@link #callerRingDepth(int)}.
     *
     * <p>Contract changes for those requests: their completion callbacks run on the thread that reaps them: the
     * submitting thread itself, inside {@code submit}, when the kernel completes the request during the submission (a
     * buffered read of cached pages, most buffered writes), a thread waiting in that ring (which may be another
     * submitter sharing it), or the engine's reaper thread
     * {@code uring-aio-caller-reaper} (woken through an eventfd) for completions nobody waits for; never on a Netty
     * loop. Exactly-once completion, cancel in the kernel and close behave as on the Netty rings. Linked chains
     * ({@link RingEngine#submitLinked}, {@link AsyncFile#writeDurable}) go there too, counted as one request of their
     * thread, when every member but the last is a read, write, {@code fsync}, {@code fallocate} or NOP and none is a
     * linked timeout (a chain whose submitting thread exits before it ran is handed to a Netty ring still linked);
     * other chains, batches ({@link RingEngine#submitBatch}) and requests submitted from the engine's own threads
     * keep using the Netty rings, as does a request whose caller ring is full. Each caller ring has
     * {@link #ringSize(int)} SQ entries and its own {@link #maxInFlightPerRing(int)} bound, so the engine's total
     * bound grows by {@code count ×} that. A caller ring has no waiting queue: a request enters the kernel at once
     * ({@link Request#priority(int)} plays no part) or, when its ring is full, waits in a Netty ring's queue. Each
     * submission costs its own {@code io_uring_enter} (on the submitting thread): many small requests from one thread
     * that nobody waits for batch better on the Netty rings.
     *
     * <p>0 (the default, unless the system property {@value #CALLER_RINGS_PROPERTY} says otherwise) turns them off.
     * No effect on the thread-pool backend; on io_uring, a kernel that cannot set them up (it lacks
     * {@code IORING_FEAT_SINGLE_MMAP}, {@code NODROP} or {@code EXT_ARG}) leaves them off with a WARNING, see
     * {@link RingEngine#callerRingCount()}.
     */
    public RingEngineConfig callerRings(int count) {
        if (count < 0 || count > 1024) {
            throw new IllegalArgumentException("callerRings must be in 0..1024, was " + count);
        }
        this.callerRings = count;
        return this;
    }

    /** The number of caller rings asked for; 0 when off. */
    public int callerRings() {
        return callerRings;
    }

    /**
     * How many of a thread's requests may be in flight for its next one to still go into its caller ring: a request
     * submitted while its thread has {@code depth} or more others in flight (on any lane), or had at its previous
     * submission (a thread at depth whose completions all came in before it resubmitted is still at depth), goes to
     * the thread's Netty ring instead, where the requests a thread keeps in flight share one {@code io_uring_enter}. {@code 1} suits
     * threads that mostly wait for one request at a time and sometimes keep many in flight (the POSIX facade's
     * contexts): a thread's lone request is reaped by the thread itself in its caller ring, while one thread at a
     * queue depth of 32 sends its requests to its Netty ring, batched (one enter per request, and a reaper wake-up
     * per completion nobody waited for in the ring, cost such a thread a third of its throughput). Default: no limit
     * (every request of a thread goes into its caller ring while that ring has room).
     *
     * @throws IllegalArgumentException if {@code depth} is below 1
     */
    public RingEngineConfig callerRingDepth(int depth) {
        if (depth < 1) {
            throw new IllegalArgumentException("callerRingDepth must be at least 1, was " + depth);
        }
        this.callerRingDepth = depth;
        return this;
    }

    /** See {@link #callerRingDepth(int)}. */
    public int callerRingDepth() {
        return callerRingDepth;
    }

    /** The backend asked for: the configured one, else the system property's. */
    public Backend backend() {
        return backend != null ? backend : Backend.fromSystemProperty();
    }

    IoUringAvailability ioUringAvailability() {
        return availability;
    }

    /** Worker threads of the thread-pool backend. */
    public int poolThreads() {
        return poolThreads;
    }

    /** How long an idle thread-pool worker lingers before it exits, in nanoseconds. */
    public long poolIdleNanos() {
        return poolIdleNanos;
    }

    /** The number of rings. */
    public int rings() {
        return rings;
    }

    /** SQ entries per ring. */
    public int ringSize() {
        return ringSize;
    }

    /** The in-flight bound in effect, after defaults. */
    public int maxInFlightPerRing() {
        return maxInFlightPerRing > 0 ? maxInFlightPerRing : ringSize - 128;
    }

    int maxAllowedInFlight() {
        return ringSize - Ring.CONTROL_SLOTS - Ring.NETTY_SQ_RESERVE;
    }

    /** The io-wq bound on bounded workers (0: the kernel's default); see {@link #ioWorkers}. */
    public int maxBoundedWorkers() {
        return maxBoundedWorkers;
    }

    /** The io-wq bound on unbounded workers (0: the kernel's default). */
    public int maxUnboundedWorkers() {
        return maxUnboundedWorkers;
    }

    /** The caller's event loop group, or null for a private one. */
    public IoEventLoopGroup eventLoopGroup() {
        return eventLoopGroup;
    }

    /** The name prefix of the engine's threads. */
    public String threadNamePrefix() {
        return threadNamePrefix;
    }
}
