package io.uringaio.posix;

import io.uringaio.engine.ErrnoTable;

/**
 * {@code <errno.h>}: Linux x86-64 errno values, {@link #strerror(int)}, and the calling thread's {@code errno}, which
 * every facade function that returns -1 sets ({@link Aio#errno()} reads it).
 */
public final class Errno {
    private Errno() {
    }

    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int ENXIO = 6;
    public static final int E2BIG = 7;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int EWOULDBLOCK = EAGAIN;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int ENOTDIR = 20;
    public static final int EISDIR = 21;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int EFBIG = 27;
    public static final int ENOSPC = 28;
    public static final int ESPIPE = 29;
    public static final int EROFS = 30;
    public static final int EPIPE = 32;
    public static final int ERANGE = 34;
    public static final int ENOSYS = 38;
    public static final int EOVERFLOW = 75;
    public static final int EOPNOTSUPP = 95;
    public static final int ENOTSUP = EOPNOTSUPP;
    public static final int ETIMEDOUT = 110;
    public static final int EALREADY = 114;
    public static final int EINPROGRESS = 115;
    public static final int ECANCELED = 125;

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
