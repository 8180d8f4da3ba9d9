package io.uringaio.posix;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * {@code <errno.h>}: Linux x86-64 errno values, {@link #strerror(int)}, and the calling thread's {@code errno}, which
 * every facade function that returns -1 sets ({@link Aio#errno()} reads it).
 */
public final class Errno {
    private Errno() {
    }

    /** Operation not permitted. */
    public static final int EPERM = ErrnoTable.EPERM;
    /** No such file or directory. */
    public static final int ENOENT = ErrnoTable.ENOENT;
    /** No such process. */
    public static final int ESRCH = ErrnoTable.ESRCH;
    /** Interrupted system call. */
    public static final int EINTR = ErrnoTable.EINTR;
    /** Input/output error. */
    public static final int EIO = ErrnoTable.EIO;
    /** No such device or address. */
    public static final int ENXIO = ErrnoTable.ENXIO;
    /** Argument list too long. */
    public static final int E2BIG = ErrnoTable.E2BIG;
    /** Bad file descriptor. */
    public static final int EBADF = ErrnoTable.EBADF;
    /** Resource temporarily unavailable. */
    public static final int EAGAIN = ErrnoTable.EAGAIN;
    /** Another name for {@link #EAGAIN} (the same number). */
    public static final int EWOULDBLOCK = EAGAIN;
    /** Cannot allocate memory. */
    public static final int ENOMEM = ErrnoTable.ENOMEM;
    /** Permission denied. */
    public static final int EACCES = ErrnoTable.EACCES;
    /** Bad address. */
    public static final int EFAULT = ErrnoTable.EFAULT;
    /** Device or resource busy. */
    public static final int EBUSY = ErrnoTable.EBUSY;
    /** File exists. */
    public static final int EEXIST = ErrnoTable.EEXIST;
    /** No such device. */
    public static final int ENODEV = ErrnoTable.ENODEV;
    /** Not a directory. */
    public static final int ENOTDIR = ErrnoTable.ENOTDIR;
    /** Is a directory. */
    public static final int EISDIR = ErrnoTable.EISDIR;
    /** Invalid argument. */
    public static final int EINVAL = ErrnoTable.EINVAL;
    /** Too many open files in system. */
    public static final int ENFILE = ErrnoTable.ENFILE;
    /** Too many open files. */
    public static final int EMFILE = ErrnoTable.EMFILE;
    /** File too large. */
    public static final int EFBIG = ErrnoTable.EFBIG;
    /** No space left on device. */
    public static final int ENOSPC = ErrnoTable.ENOSPC;
    /** Illegal seek. */
    public static final int ESPIPE = ErrnoTable.ESPIPE;
    /** Read-only file system. */
    public static final int EROFS = ErrnoTable.EROFS;
    /** Broken pipe. */
    public static final int EPIPE = ErrnoTable.EPIPE;
    /** Numerical result out of range. */
    public static final int ERANGE = ErrnoTable.ERANGE;
    /** Function not implemented. */
    public static final int ENOSYS = ErrnoTable.ENOSYS;
    /** Value too large for defined data type. */
    public static final int EOVERFLOW = ErrnoTable.EOVERFLOW;
    /** Operation not supported. */
    public static final int EOPNOTSUPP = ErrnoTable.EOPNOTSUPP;
    /** Another name for {@link #EOPNOTSUPP} (the same number). */
    public static final int ENOTSUP = EOPNOTSUPP;
    /** Connection timed out. */
    public static final int ETIMEDOUT = ErrnoTable.ETIMEDOUT;
    /** Operation already in progress. */
    public static final int EALREADY = ErrnoTable.EALREADY;
    /** Operation now in progress. */
    public static final int EINPROGRESS = ErrnoTable.EINPROGRESS;
    /** Operation canceled. */
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
