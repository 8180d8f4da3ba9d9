package io.uringaio.posix;

import io.uringaio.engine.Request;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * {@code struct aiocb}: one asynchronous I/O request. Fill in the public fields, submit with {@link Aio#aio_read},
 * {@link Aio#aio_write}, {@link Aio#aio_fsync} or {@link Aio#lio_listio}, poll with {@link Aio#aio_error}, collect
 * with {@link Aio#aio_return}. Reusable once its result was collected; do not change its fields or touch its buffer
 * while it is in progress.
 *
 * <p>The transfer uses {@code aio_buf} by absolute index: bytes {@code [0, aio_nbytes)}; the buffer's position and
 * limit are never read or changed, and the facade never writes any public field.
 */
public final class Aiocb {
    /** The file descriptor. */
    public int aio_fildes;
    /** The file offset; ignored by pipes and sockets. */
    public long aio_offset;
    /** The buffer, direct or heap, used from index 0. */
    public ByteBuffer aio_buf;
    /** The number of bytes to transfer, at most {@code aio_buf.capacity()}. */
    public long aio_nbytes;
    /** Request priority lowering, 0..{@link Aio#AIO_PRIO_DELTA_MAX}: waiting requests go lowest first. */
    public int aio_reqprio;
    /** How to notify completion; null means SIGEV_NONE. */
    public SigEvent aio_sigevent;
    /** {@link Aio#LIO_READ}, {@link Aio#LIO_WRITE} or {@link Aio#LIO_NOP}; read by {@link Aio#lio_listio} only. */
    public int aio_lio_opcode;

    /** A control block with every field zero or null; fill it in before submitting it. */
    public Aiocb() {
    }

    // ---------------------------------------------------------------- facade state (package-private)

    static final int IDLE = 0;        // never submitted, or its result was collected
    static final int WAITING = 1;     // accepted, held back in the facade (ordering)
    static final int IN_KERNEL = 2;   // handed to the engine
    static final int DONE = 3;        // final; aio_return not yet called
    static final int SUBMITTING = 4;  // claimed by one submitting call, being checked and queued

    static final byte OP_READ = 0;
    static final byte OP_WRITE = 1;
    static final byte OP_FSYNC = 2;
    static final byte OP_FDATASYNC = 3;

    /**
     * Published last on completion: readers of {@code DONE} see {@link #error} and {@link #result}. A submitting call
     * takes the block with a compare-and-set from IDLE or DONE to SUBMITTING ({@link #claim}) before it reads or writes
     * anything else, so of two calls racing on one block exactly one proceeds and the other sees EBUSY.
     */
    volatile int state = IDLE;
    int error;
    long result;

    /**
     * The engine request this control block owns and reuses; replaced by a new one for a submission that starts while
     * an engine cancel aimed at the previous submission may still be pending ({@link #cancelsInEngine}).
     */
    Request request;

    /**
     * Which submission of this block is current: incremented by each accepted submission before its state is
     * published (WAITING or IN_KERNEL), so a reader that saw that state sees this number or a newer one. A cancel
     * compares it with the number it found, so it never cancels a later submission of a reused block.
     */
    long submission;
    /** Cancels inside their check-and-issue step for this block: a claim waits for them (see {@link #claim}). */
    volatile int cancelPins;
    /**
     * Engine cancels issued for this block whose outcome is not known yet. The engine identifies a cancel's target by
     * its {@code Request} object and may act on it later, on its ring's thread: a new submission must not reuse that
     * object meanwhile, or the late cancel would hit it. {@link #requestForNewSubmission} takes a new one then.
     */
    volatile int cancelsInEngine;
    /**
     * The submission an aio_cancel (or a close) asked the engine to cancel, or 0: the rest of a {@link #stream} write,
     * started after the part the cancel found, is canceled too ({@link Completion}).
     */
    volatile long cancelAsked;

    /**
     * The lock that puts the cancels of this block in turn ({@link Canceller}), made by the first cancel: not the
     * block itself, which the caller may synchronize on, and nothing for a block never canceled. A cancel holds it
     * for its engine round trip; no code of the user runs under it.
     */
    private volatile Object cancelTurn;

    /**
     * The lio_listio call that last claimed this block (written by the claiming thread only): a later entry of the same
     * call that lists the block again is refused without a claim. Holds that small call object until the block's next
     * lio_listio.
     */
    ListIo listedIn;

    // Snapshot taken at submission: the fields the request runs with (RequestPrep.capture reads each public field
    // once).
    AioContext context;
    byte op;
    int fd;
    long offset;
    /** {@code aio_nbytes} as captured, before it is checked against the buffer (then {@link #nbytes}). */
    long requested;
    int nbytes;
    ByteBuffer buffer;
    int priority;
    boolean append;
    /**
     * A write to a blocking pipe or socket ({@link FdState#add}): the kernel ends it short at what the stream took, where
     * a blocking write(2) goes on until all of it is written; {@link Completion} writes the rest.
     */
    boolean stream;
    /** Bytes the earlier parts of a {@link #stream} write wrote: 0 until a part ended short. */
    int written;
    /** A read of a pipe or socket: it takes the stream's bytes after every older read of it ({@link FdState}). */
    boolean streamRead;
    int notify;
    int signo;
    Object value;
    Consumer<Object> function;
    Executor executor;
    ListIo list;

    // The per-fildes lists, in call order (guarded by its FdState; see there).
    long fdOrder;
    Aiocb fdPrev;
    Aiocb fdNext;
    Aiocb rwPrev;
    Aiocb rwNext;
    Aiocb wPrev;
    Aiocb wNext;
    Aiocb qPrev;
    Aiocb qNext;
    FdState.Chain waitQueue;
    /** The plain writes waiting on this one as their youngest blocker (see FdState); made once, reused. */
    FdState.Chain dependents;
    /** The next request released by the same completion (a short chain in dispatch order). */
    Aiocb releasedNext;
    FdState fdState;

    // Reused native memory: the bounce buffer for heap buffers, the cached address of a direct one.
    ByteBuffer bounce;
    long bounceAddress;
    ByteBuffer addressOf;
    long cachedAddress;
    /** The memory behind {@link #addressOf}: an arena's, which may close, or the JVM's (never). */
    MemorySegment.Scope cachedScope;

    {
        request = newRequest();
    }

    private Request newRequest() {
        return new Request((r, res) -> context.completedByEngine(this, res));
    }

    /**
     * Called by the claiming thread before a submission is published: the engine request to use, a new one if a
     * cancel of an earlier submission may still reach the current one. After {@link #claim} no new cancel can be
     * issued for this block until the submission is published, so the count read here is final for the old request.
     */
    void requestForNewSubmission() {
        if (cancelsInEngine != 0) {
            request = newRequest(); // rare: only while a cancel is in flight; the old object is idle and dropped
        }
    }

    /** Counts an engine cancel issued for the current request (under the cancel pin) until its outcome is known. */
    void cancelIssued() {
        IN_ENGINE.getAndAdd(this, 1);
    }

    void cancelSettled() {
        IN_ENGINE.getAndAdd(this, -1);
    }

    boolean inProgress() {
        return inProgress(state);
    }

    /** Whether state {@code s} is one of a request in progress (claimed, waiting or in the engine). */
    static boolean inProgress(int s) {
        return s == WAITING || s == IN_KERNEL || s == SUBMITTING;
    }

    /**
     * Takes this block for one submitting call: true for exactly one of any number of racing calls. A cancel that is
     * between checking a previous submission and issuing its cancel to the engine ({@link #pinForCancel}) finishes
     * that step first: the new submission must not be handed to the engine before a cancel meant for the old one was.
     * The pin covers a few field reads and one engine call, never a wait, and it exists only while a cancel runs. The
     * engine call may complete the canceled request on the canceling thread, whose notification (on a direct
     * executor) may resubmit the block: a claim on a thread that holds a pin itself does not wait (its own cancel is
     * past the point it protects: the old submission is complete).
     */
    boolean claim() {
        while (true) {
            int s = state;
            if (inProgress(s)) {
                return false;
            }
            if (STATE.compareAndSet(this, s, SUBMITTING)) {
                if (cancelPins != 0 && PINNING.get()[0] == 0) {
                    while (cancelPins != 0) {
                        Thread.onSpinWait();
                    }
                }
                return true;
            }
        }
    }

    /** Holds off a new submission's claim while a cancel checks and issues (see {@link #claim}); then unpin. */
    void pinForCancel() {
        PINNING.get()[0]++;
        PINS.getAndAdd(this, 1);
    }

    void unpinForCancel() {
        PINS.getAndAdd(this, -1);
        PINNING.get()[0]--;
    }

    /** How many cancel pins the current thread holds (on any block). */
    private static final ThreadLocal<int[]> PINNING = ThreadLocal.withInitial(() -> new int[1]);

    /** This block's cancel lock ({@link #cancelTurn}), made on first use. */
    Object cancelTurn() {
        Object turn = cancelTurn;
        if (turn == null) {
            turn = new Object();
            if (!TURN.compareAndSet(this, null, turn)) {
                turn = cancelTurn;
            }
        }
        return turn;
    }

    /** Whether submission {@code n} of this block is still in progress. */
    boolean inProgress(long n) {
        return inProgress() && submission == n;
    }

    /**
     * Collects a final result once: DONE to IDLE; false if the block was not DONE (or another call collected it
     * first). The caller read {@link #result} just before; collecting while another thread resubmits the same block
     * is the caller's race, as in C.
     */
    boolean collect() {
        return STATE.compareAndSet(this, DONE, IDLE);
    }

    private static final VarHandle STATE;
    private static final VarHandle PINS;
    private static final VarHandle IN_ENGINE;
    private static final VarHandle TURN;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Aiocb.class, "state", int.class);
            PINS = MethodHandles.lookup().findVarHandle(Aiocb.class, "cancelPins", int.class);
            IN_ENGINE = MethodHandles.lookup().findVarHandle(Aiocb.class, "cancelsInEngine", int.class);
            TURN = MethodHandles.lookup().findVarHandle(Aiocb.class, "cancelTurn", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
