package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

/**
 * {@code <fcntl.h>}: {@code open} and {@code fcntl} through libc, so the descriptor is real and shared with any native
 * code.
 */
public final class Fcntl {
    private Fcntl() {
    }

    /** {@link #fcntl} command: get the descriptor flags ({@link #FD_CLOEXEC}). */
    public static final int F_GETFD = Libc.F_GETFD;
    /** {@link #fcntl} command: set the descriptor flags ({@link #FD_CLOEXEC}). */
    public static final int F_SETFD = Libc.F_SETFD;
    /** {@link #fcntl} command: get the file status flags (access mode, {@link #O_APPEND}, {@link #O_DIRECT} ...). */
    public static final int F_GETFL = Libc.F_GETFL;
    /** {@link #fcntl} command: set the file status flags ({@link #O_APPEND}, {@link #O_NONBLOCK}, {@link #O_DIRECT}). */
    public static final int F_SETFL = Libc.F_SETFL;
    /** The close-on-exec descriptor flag. */
    public static final int FD_CLOEXEC = Libc.FD_CLOEXEC;

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
     * {@code open(path, oflag, mode)}: {@code open(2)} on the calling thread, not through the engine (so the same on
     * both backends). As there, an open of a FIFO without {@link #O_NONBLOCK} waits for the other end (a read-only
     * open for a writer, a write-only one for a reader) and no {@code Thread.interrupt} ends that wait; with
     * {@link #O_NONBLOCK} a read-only open returns at once and a write-only one fails ENXIO. No engine, request or
     * close of the facade waits for it.
     *
     * @return the new descriptor, or -1 with {@link Aio#errno()} set (ENOENT, EACCES, EEXIST ...)
     */
    public static int open(String path, int oflag, int mode) {
        if (path == null) {
            return Errno.fail(Errno.EFAULT);
        }
        int fd = Libc.open(path, oflag, mode);
        if (fd < 0) {
            return Errno.fail(-fd);
        }
        LiveContexts.forgetFlags(fd); // a number closed behind the facade's back and reused: a new file
        return fd;
    }

    /**
     * {@code fcntl(fd, cmd, arg)} for {@link #F_GETFD}, {@link #F_SETFD}, {@link #F_GETFL} and {@link #F_SETFL} (other
     * commands fail with EINVAL). Use this rather than native code to change a descriptor's flags while the facade
     * uses it: an {@code F_SETFL} here is seen by the next {@code aio_*} request (whether an {@code aio_write} is an
     * O_APPEND write, which orders it behind every older write of the descriptor, and whether an {@code aio_read} may
     * be served from the page cache on the calling thread); the facade keeps a descriptor's flags rather than asking
     * the kernel for every request.
     *
     * @return the flags for the {@code F_GET*} commands, 0 for the {@code F_SET*} commands, or -1 with
     *         {@link Aio#errno()} set (EBADF, EINVAL)
     */
    public static int fcntl(int fd, int cmd, int arg) {
        if (cmd != F_GETFD && cmd != F_SETFD && cmd != F_GETFL && cmd != F_SETFL) {
            return Errno.fail(Errno.EINVAL);
        }
        int res = Libc.fcntl(fd, cmd, arg);
        if (res < 0) {
            return Errno.fail(-res);
        }
        if (cmd == F_SETFL) {
            LiveContexts.forgetFlags(fd);
        }
        return res;
    }
}
