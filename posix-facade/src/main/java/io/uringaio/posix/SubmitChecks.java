package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

/**
 * The synchronous checks of a submission, made on a claimed block before anything is queued: each returns 0 or the
 * errno the call fails with. Nothing here writes the block except {@link #reject}, which makes a refusal its status.
 */
final class SubmitChecks {
    private SubmitChecks() {
    }

    /** The synchronous checks of a read or write; 0 or the errno. */
    static int transfer(Aiocb cb, byte op) {
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
        return sigevent(cb.aio_sigevent);
    }

    /**
     * The synchronous checks of an fsync: the operation, the sigevent, and a descriptor that exists (an fsync has no
     * transfer whose completion would report EBADF in its place); 0 or the errno.
     */
    static int fsync(int op, Aiocb cb) {
        if (op != Fcntl.O_SYNC && op != Fcntl.O_DSYNC) {
            return Errno.EINVAL;
        }
        int err = sigevent(cb.aio_sigevent);
        if (err == 0 && Libc.fcntl(cb.aio_fildes, Libc.F_GETFD, 0) < 0) {
            err = Errno.EBADF;
        }
        return err;
    }

    /** A sigevent that can be fired (null is SIGEV_NONE); 0 or EINVAL. */
    static int sigevent(SigEvent e) {
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
    static int reject(Aiocb cb, int err) {
        cb.error = err;
        cb.result = -1;
        cb.state = Aiocb.DONE;
        return Errno.fail(err);
    }
}
