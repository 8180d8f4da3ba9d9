package io.uringaio.posix;

import io.uringaio.engine.Request;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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

    /** The engine request this control block owns and reuses. */
    final Request request;

    // Snapshot taken at submission: the fields the request runs with.
    AioContext context;
    byte op;
    int fd;
    long offset;
    int nbytes;
    ByteBuffer buffer;
    int priority;
    boolean append;
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
    /** The next request released by the same completion (a short chain in dispatch order). */
    Aiocb releasedNext;
    FdState fdState;

    // Reused native memory: the bounce buffer for heap buffers, the cached address of a direct one.
    ByteBuffer bounce;
    long bounceAddress;
    ByteBuffer addressOf;
    long cachedAddress;

    {
        request = new Request((r, res) -> context.completedByEngine(this, res));
    }

    boolean inProgress() {
        return inProgress(state);
    }

    private static boolean inProgress(int s) {
        return s == WAITING || s == IN_KERNEL || s == SUBMITTING;
    }

    /** Takes this block for one submitting call: true for exactly one of any number of racing calls. */
    boolean claim() {
        while (true) {
            int s = state;
            if (inProgress(s)) {
                return false;
            }
            if (STATE.compareAndSet(this, s, SUBMITTING)) {
                return true;
            }
        }
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

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Aiocb.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
