package io.uringaio.posix;

import io.uringaio.engine.Request;

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

    static final byte OP_READ = 0;
    static final byte OP_WRITE = 1;
    static final byte OP_FSYNC = 2;
    static final byte OP_FDATASYNC = 3;

    /** Published last on completion: readers of {@code DONE} see {@link #error} and {@link #result}. */
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
    long seq;
    boolean append;
    int notify;
    int signo;
    Object value;
    Consumer<Object> function;
    Executor executor;
    ListIo list;

    // The per-fildes list, in call order (guarded by its FdState).
    Aiocb fdPrev;
    Aiocb fdNext;
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
        int s = state;
        return s == WAITING || s == IN_KERNEL;
    }
}
