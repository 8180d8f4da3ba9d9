package io.uringaio.posix;

import io.uringaio.engine.Request;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.Uapi;

/**
 * Preparing an accepted request: the copy of the caller's fields at submission ({@link #capture}, each read once,
 * before the checks), the submission made current ({@link #snapshot}), and, once the request may go to the kernel,
 * its engine {@link Request} ({@link #prepare}). After the capture the caller's public fields are not read again.
 */
final class RequestPrep {
    private RequestPrep() {
    }

    /**
     * Reads the caller's fields of a claimed block into the request's own copy, each exactly once, before anything
     * is checked: {@link SubmitChecks} then judges the values the request will run with. Checking the public fields
     * and copying them afterwards read each twice, and a thread that wrote the block in between (a count beyond the
     * buffer, another buffer) had the request run with a count nobody checked: the kernel wrote past the buffer. For
     * an fsync (or a list entry whose opcode is not a transfer) only the descriptor and the sigevent are read.
     */
    static void capture(Aiocb cb, byte op) {
        cb.fd = cb.aio_fildes;
        SigEvent e = cb.aio_sigevent;
        if (e == null) {
            cb.notify = Signals.SIGEV_NONE;
            cb.signo = 0;
            cb.value = null;
            cb.function = null;
            cb.executor = null;
        } else {
            cb.notify = e.sigev_notify;
            cb.signo = e.sigev_signo;
            cb.value = e.sigev_value;
            cb.function = e.sigev_notify_function;
            cb.executor = e.sigev_notify_attributes;
        }
        if (op == Aiocb.OP_READ || op == Aiocb.OP_WRITE) {
            cb.offset = cb.aio_offset;
            cb.requested = cb.aio_nbytes;
            cb.buffer = cb.aio_buf;
            cb.priority = cb.aio_reqprio;
        } else {
            cb.offset = 0;
            cb.requested = 0;
            cb.buffer = null;
            cb.priority = 0;
        }
        cb.nbytes = 0;
        cb.append = false; // a write's O_APPEND (or a stream's): FdState#add, from the descriptor's flags
        cb.stream = false; // likewise
        cb.written = 0;
        cb.streamRead = false; // likewise
    }

    /**
     * Makes a captured ({@link #capture}) and checked request this block's current submission; the caller's fields are
     * not read again.
     */
    static void snapshot(Aiocb cb, byte op, ListIo list, AioContext context) {
        cb.context = context;
        cb.requestForNewSubmission();
        cb.submission++;
        cb.op = op;
        cb.list = list;
        cb.nbytes = (int) cb.requested; // checked: at most the buffer's capacity
    }

    /** Drops what a snapshot took from the caller, for a request that will not run or has completed. */
    static void releaseSnapshot(Aiocb cb) {
        cb.buffer = null;
        cb.list = null;
        cb.value = null;
        cb.function = null;
        cb.executor = null;
    }

    /**
     * Prepares the engine request of an IN_KERNEL control block: 0, or the {@code -errno} it completes with without
     * the kernel.
     */
    static int prepare(Aiocb cb) {
        var r = cb.request;
        if (cb.fd < 0) {
            return -Errno.EBADF; // no such descriptor; never handed to the kernel, which reads some negatives specially
        }
        switch (cb.op) {
            case Aiocb.OP_FSYNC, Aiocb.OP_FDATASYNC -> r.prepFsync(cb.fd, cb.op == Aiocb.OP_FDATASYNC).priority(0);
            default -> {
                long offset = cb.offset;
                if (offset < 0 || offset > Long.MAX_VALUE - cb.nbytes) {
                    // Negative, or ending past the largest offset: the kernel refuses either (EINVAL), on a pipe or
                    // socket too, whose offset the spec ignores; a file's large one goes on for the kernel's answer.
                    long pos = Libc.lseek(cb.fd, 0, Libc.SEEK_CUR);
                    if (pos == -Errno.ESPIPE) {
                        offset = 0; // a pipe or socket: the offset is ignored
                    } else if (offset < 0) {
                        return pos < 0 ? (int) pos : -Errno.EINVAL;
                    }
                }
                long address = Bounce.address(cb);
                byte opcode = cb.op == Aiocb.OP_READ ? Uapi.IORING_OP_READ : Uapi.IORING_OP_WRITE;
                r.prep(opcode, cb.fd, address, cb.nbytes, offset, rwFlags(cb)).priority(cb.priority).attach(cb.buffer);
            }
        }
        return 0;
    }

    /**
     * The transfer's {@code rw_flags}: RWF_NOWAIT on a non-blocking pipe or socket, else none. glibc's aio_read and
     * aio_write there are read(2) and write(2), which fail at once with EAGAIN when the stream has no data or no room;
     * io_uring instead arms a poll for a stream whatever its O_NONBLOCK, and would wait. The flags are the
     * descriptor's kept ones ({@link FdState#flags}): no system call per request.
     */
    private static int rwFlags(Aiocb cb) {
        FdState state = cb.fdState;
        int f = state != null ? state.flags(cb.fd) : flagsNow(cb.fd);
        return f >= 0 && (f & STREAM) != 0 && (f & Fcntl.O_NONBLOCK) != 0 ? Libc.RWF_NOWAIT : 0;
    }

    /**
     * Whether the read {@code cb} may try the page cache on this thread: not O_DIRECT, as its descriptor's state
     * last found it while requests were outstanding ({@link FdState#readsInline}).
     */
    static boolean mayReadInline(Aiocb cb) {
        FdState state = cb.fdState;
        return state != null ? state.readsInline(cb.fd) : readsInlineNow(cb.fd);
    }

    /** Whether a read on {@code fd} may try the page cache, asked now: not O_DIRECT (nor an unknown descriptor). */
    static boolean readsInlineNow(int fd) {
        int flags = flagsNow(fd);
        return flags >= 0 && (flags & Fcntl.O_DIRECT) == 0;
    }

    /**
     * A bit of {@link #flagsNow} that no {@code F_GETFL} flag uses: the descriptor has no file position (a pipe, a
     * socket: {@code lseek} fails with ESPIPE), so its offset is ignored and its writes are one stream, ordered like
     * O_APPEND writes ({@link FdState}).
     */
    static final int STREAM = 1 << 30;

    /**
     * The descriptor's file status flags ({@code fcntl(F_GETFL)}) now, plus {@link #STREAM} for a pipe or socket, or a
     * negative errno. Kept per descriptor ({@link FdState#flags}): the lseek costs a system call per miss only.
     */
    static int flagsNow(int fd) {
        int flags = Libc.fcntl(fd, Libc.F_GETFL, 0);
        if (flags >= 0 && Libc.lseek(fd, 0, Libc.SEEK_CUR) == -Errno.ESPIPE) {
            flags |= STREAM;
        }
        return flags;
    }
}
