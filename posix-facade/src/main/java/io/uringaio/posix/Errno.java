package io.uringaio.posix;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * {@code <errno.h>}: Linux x86-64 errno values, {@link #strerror(int)}, and the calling thread's {@code errno}, which
 * every facade function that returns -1 sets ({@link Aio#errno()} reads it).
 */
public final class Errno {
    private Errno() {
    }

    public static final int EPERM = ErrnoTable.EPERM;
    public static final int ENOENT = ErrnoTable.ENOENT;
    public static final int ESRCH = ErrnoTable.ESRCH;
    public static final int EINTR = ErrnoTable.EINTR;
    public static final int EIO = ErrnoTable.EIO;
    public static final int ENXIO = ErrnoTable.ENXIO;
    public static final int E2BIG = ErrnoTable.E2BIG;
    public static final int EBADF = ErrnoTable.EBADF;
    public static final int EAGAIN = ErrnoTable.EAGAIN;
    public static final int EWOULDBLOCK = EAGAIN;
    public static final int ENOMEM = ErrnoTable.ENOMEM;
    public static final int EACCES = ErrnoTable.EACCES;
    public static final int EFAULT = ErrnoTable.EFAULT;
    public static final int EBUSY = ErrnoTable.EBUSY;
    public static final int EEXIST = ErrnoTable.EEXIST;
    public static final int ENODEV = ErrnoTable.ENODEV;
    public static final int ENOTDIR = ErrnoTable.ENOTDIR;
    public static final int EISDIR = ErrnoTable.EISDIR;
    public static final int EINVAL = ErrnoTable.EINVAL;
    public static final int ENFILE = ErrnoTable.ENFILE;
    public static final int EMFILE = ErrnoTable.EMFILE;
    public static final int EFBIG = ErrnoTable.EFBIG;
    public static final int ENOSPC = ErrnoTable.ENOSPC;
    public static final int ESPIPE = ErrnoTable.ESPIPE;
    public static final int EROFS = ErrnoTable.EROFS;
    public static final int EPIPE = ErrnoTable.EPIPE;
    public static final int ERANGE = ErrnoTable.ERANGE;
    public static final int ENOSYS = ErrnoTable.ENOSYS;
    public static final int EOVERFLOW = ErrnoTable.EOVERFLOW;
    public static final int EOPNOTSUPP = ErrnoTable.EOPNOTSUPP;
    public static final int ENOTSUP = EOPNOTSUPP;
    public static final int ETIMEDOUT = ErrnoTable.ETIMEDOUT;
    public static final int EALREADY = ErrnoTable.EALREADY;
    public static final int EINPROGRESS = ErrnoTable.EINPROGRESS;
    public static final int ECANCELED = ErrnoTable.ECANCELED;

    /** The message for {@code errnum}, as glibc's {@code strerror} ("Bad file descriptor"). */
    public static String strerror(int errnum) {
        return ErrnoTable.message(errnum);
    }

    private static final ThreadLocal<int[]> ERRNO = ThreadLocal.withInitial(() -> new int[1]);

    /** The calling thread's errno. */
    static int get() {
        return ERRNO.get()[0];
    }

    /** Sets the calling thread's errno and returns -1, the C failure convention. */
    static int fail(int errnum) {
        ERRNO.get()[0] = errnum;
        return -1;
    }
}
