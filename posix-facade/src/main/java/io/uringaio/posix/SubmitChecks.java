package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

import java.nio.ByteBuffer;

/**
 * The synchronous checks of a submission, made on a claimed block's captured fields ({@link RequestPrep#capture})
 * before anything is queued: each returns 0 or the errno the call fails with. Nothing here writes the block except
 * {@link #reject}, which makes a refusal its status.
 */
final class SubmitChecks {
    private SubmitChecks() {
    }

    /** The synchronous checks of a captured ({@link RequestPrep#capture}) read or write; 0 or the errno. */
    static int transfer(Aiocb cb, byte op) {
        if (cb.priority < 0 || cb.priority > Aio.AIO_PRIO_DELTA_MAX) {
            return Errno.EINVAL;
        }
        long n = cb.requested;
        if (n < 0) {
            return Errno.EINVAL;
        }
        ByteBuffer buf = cb.buffer;
        if (buf == null) {
            if (n > 0) {
                return Errno.EFAULT;
            }
        } else {
            if (n > buf.capacity()) {
                return Errno.EINVAL;
            }
            if (op == Aiocb.OP_READ && buf.isReadOnly()) {
                return Errno.EFAULT;
            }
            if (buf.isDirect() && !Bounce.alive(cb, buf)) {
                return Errno.EFAULT; // its arena closed: the address is freed memory, not the caller's
            }
        }
        return capturedSigevent(cb);
    }

    /**
     * The synchronous checks of a captured fsync: the operation, the sigevent, and a descriptor that exists (an fsync
     * has no transfer whose completion would report EBADF in its place); 0 or the errno.
     */
    static int fsync(int op, Aiocb cb) {
        if (op != Fcntl.O_SYNC && op != Fcntl.O_DSYNC) {
            return Errno.EINVAL;
        }
        int err = capturedSigevent(cb);
        if (err == 0 && Libc.fcntl(cb.fd, Libc.F_GETFD, 0) < 0) {
            err = Errno.EBADF;
        }
        return err;
    }

    /** The captured sigevent of {@code cb} can be fired; 0 or EINVAL. */
    static int capturedSigevent(Aiocb cb) {
        return sigevent(cb.notify, cb.signo, cb.function);
    }

    /** A sigevent that can be fired (null is SIGEV_NONE); 0 or EINVAL. Reads each field of {@code e} once. */
    static int sigevent(SigEvent e) {
        return e == null ? 0 : sigevent(e.sigev_notify, e.sigev_signo, e.sigev_notify_function);
    }

    /** A sigevent of these values can be fired; 0 or EINVAL. */
    static int sigevent(int notify, int signo, Object function) {
        return switch (notify) {
            case Signals.SIGEV_NONE -> 0;
            case Signals.SIGEV_SIGNAL -> Signals.validSigno(signo) ? 0 : Errno.EINVAL;
            case Signals.SIGEV_THREAD -> function != null ? 0 : Errno.EINVAL;
            default -> Errno.EINVAL;
        };
    }

    /**
     * A synchronous rejection of a claimed block: the errno becomes the request's status; no notification. What the
     * capture took from the caller is dropped.
     */
    static int reject(Aiocb cb, int err) {
        RequestPrep.releaseSnapshot(cb);
        cb.error = err;
        cb.result = -1;
        cb.state = Aiocb.DONE;
        return Errno.fail(err);
    }
}
