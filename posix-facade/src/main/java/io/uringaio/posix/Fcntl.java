package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

/** {@code <fcntl.h>}: {@code open} through libc, so the descriptor is real and shared with any native code. */
public final class Fcntl {
    private Fcntl() {
    }

    public static final int O_RDONLY = Libc.O_RDONLY;
    public static final int O_WRONLY = Libc.O_WRONLY;
    public static final int O_RDWR = Libc.O_RDWR;
    public static final int O_CREAT = Libc.O_CREAT;
    public static final int O_EXCL = Libc.O_EXCL;
    public static final int O_TRUNC = Libc.O_TRUNC;
    public static final int O_APPEND = Libc.O_APPEND;
    public static final int O_NONBLOCK = Libc.O_NONBLOCK;
    public static final int O_DIRECT = Libc.O_DIRECT;
    public static final int O_SYNC = Libc.O_SYNC;
    public static final int O_DSYNC = Libc.O_DSYNC;
    public static final int O_CLOEXEC = Libc.O_CLOEXEC;

    /**
     * {@code open(path, oflag, mode)}.
     *
     * @return the new descriptor, or -1 with {@link Aio#errno()} set (ENOENT, EACCES, EEXIST ...)
     */
    public static int open(String path, int oflag, int mode) {
        if (path == null) {
            return Errno.fail(Errno.EFAULT);
        }
        int fd = Libc.open(path, oflag, mode);
        return fd < 0 ? Errno.fail(-fd) : fd;
    }
}
