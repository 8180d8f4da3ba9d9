package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

/** {@code <fcntl.h>}: {@code open} through libc, so the descriptor is real and shared with any native code. */
public final class Fcntl {
    private Fcntl() {
    }

    /** Open for reading only. */
    public static final int O_RDONLY = Libc.O_RDONLY;
    /** Open for writing only. */
    public static final int O_WRONLY = Libc.O_WRONLY;
    /** Open for reading and writing. */
    public static final int O_RDWR = Libc.O_RDWR;
    /** Create the file if it does not exist (with {@code mode}). */
    public static final int O_CREAT = Libc.O_CREAT;
    /** With {@link #O_CREAT}: fail with EEXIST if the file exists. */
    public static final int O_EXCL = Libc.O_EXCL;
    /** Truncate the file to length 0. */
    public static final int O_TRUNC = Libc.O_TRUNC;
    /** Every write appends at the end of the file. */
    public static final int O_APPEND = Libc.O_APPEND;
    /** Non-blocking I/O (pipes, sockets): EAGAIN instead of waiting. */
    public static final int O_NONBLOCK = Libc.O_NONBLOCK;
    /** Bypass the page cache; buffers, offsets and lengths must be aligned. */
    public static final int O_DIRECT = Libc.O_DIRECT;
    /** Every write returns once its data and metadata are durable. */
    public static final int O_SYNC = Libc.O_SYNC;
    /** Every write returns once its data is durable; also {@code aio_fsync}'s data-only operation. */
    public static final int O_DSYNC = Libc.O_DSYNC;
    /** Close the descriptor on {@code exec}. */
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
