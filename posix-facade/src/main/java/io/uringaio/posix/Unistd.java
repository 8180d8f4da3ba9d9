package io.uringaio.posix;

import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * {@code <unistd.h>}: {@code close}, {@code pipe}, {@code read}, {@code write}, {@code pread}, {@code pwrite},
 * {@code fsync}, {@code ftruncate}, {@code unlink}, through libc. Buffers are used by absolute index from 0, like
 * {@link Aiocb#aio_buf}: {@code n} bytes from index 0; position and limit are neither read nor changed. Each function
 * returns -1 with {@link Aio#errno()} set on failure ({@code EINTR} is returned, not retried, as in C).
 */
public final class Unistd {
    private Unistd() {
    }

    /**
     * {@code close(fd)}: 0, or -1 with {@link Aio#errno()} set (EBADF, EIO ...). Requests of any {@link AioContext} still outstanding on {@code fd} are settled first, as
     * POSIX allows: each is canceled, and one that was not (already running, or on its way to the engine) completes
     * before the descriptor is closed, so no request whose {@code aio_*} call returned before this call ever starts on
     * the file that takes the number next. Returns once that is done. An {@code aio_*} call on {@code fd} running
     * concurrently on another thread is the caller's race, as in C. Called from one of an engine's own threads (a raw
     * engine completion callback), it cancels only what is still held back by the descriptor's ordering and does not
     * wait: a request already in the engine's queue may then start on the next file; close from another thread. A
     * descriptor closed by other means (a JDK channel, JNI) gets none of this: as with glibc, a request not yet started
     * may then run on the file that takes the number next.
     */
    public static int close(int fd) {
        LiveContexts.beforeClose(fd);
        return check(Libc.close(fd));
    }

    /** {@code pipe(fds)}: {@code fds[0]} the read end, {@code fds[1]} the write end. */
    public static int pipe(int[] fds) {
        if (fds == null || fds.length < 2) {
            return Errno.fail(Errno.EFAULT);
        }
        int res = Libc.pipe(fds);
        if (res == 0) {
            LiveContexts.forgetFlags(fds[0]);
            LiveContexts.forgetFlags(fds[1]);
        }
        return check(res);
    }

    /**
     * {@code read(fd, buf, n)} at the descriptor's position, into {@code buf} from index 0 (its position and limit are
     * left alone).
     *
     * @return the bytes read (0 at end of file), or -1 with {@link Aio#errno()} set (EINVAL for {@code n} beyond the
     *         buffer's capacity, EFAULT for a missing or read-only buffer)
     */
    public static long read(int fd, ByteBuffer buf, long n) {
        return transfer(fd, buf, n, -1, true);
    }

    /**
     * {@code write(fd, buf, n)} at the descriptor's position, of {@code buf}'s bytes from index 0.
     *
     * @return the bytes written, or -1 with {@link Aio#errno()} set
     */
    public static long write(int fd, ByteBuffer buf, long n) {
        return transfer(fd, buf, n, -1, false);
    }

    /**
     * {@code pread(fd, buf, n, off)}: as {@link #read} at offset {@code off}, the descriptor's position unchanged.
     *
     * @return the bytes read, or -1 with {@link Aio#errno()} set (EINVAL for a negative offset)
     */
    public static long pread(int fd, ByteBuffer buf, long n, long off) {
        if (off < 0) {
            return Errno.fail(Errno.EINVAL);
        }
        return transfer(fd, buf, n, off, true);
    }

    /**
     * {@code pwrite(fd, buf, n, off)}: as {@link #write} at offset {@code off}, the descriptor's position unchanged.
     *
     * @return the bytes written, or -1 with {@link Aio#errno()} set (EINVAL for a negative offset)
     */
    public static long pwrite(int fd, ByteBuffer buf, long n, long off) {
        if (off < 0) {
            return Errno.fail(Errno.EINVAL);
        }
        return transfer(fd, buf, n, off, false);
    }

    /** {@code fsync(fd)}: 0 once the file's data and metadata are durable, or -1 with {@link Aio#errno()} set. */
    public static int fsync(int fd) {
        return check(Libc.fsync(fd));
    }

    /** {@code ftruncate(fd, length)}: 0, or -1 with {@link Aio#errno()} set. */
    public static int ftruncate(int fd, long length) {
        return check(Libc.ftruncate(fd, length));
    }

    /** {@code unlink(path)}: 0, or -1 with {@link Aio#errno()} set (ENOENT, EACCES ...). */
    public static int unlink(String path) {
        if (path == null) {
            return Errno.fail(Errno.EFAULT);
        }
        return check(Libc.unlink(path));
    }

    private static int check(int res) {
        return res < 0 ? Errno.fail(-res) : res;
    }

    /** A read or write of {@code buf[0, n)}; {@code off < 0} means the descriptor's own position. */
    private static long transfer(int fd, ByteBuffer buf, long n, long off, boolean isRead) {
        if (n < 0) {
            return Errno.fail(Errno.EINVAL);
        }
        if (buf == null) {
            if (n != 0) {
                return Errno.fail(Errno.EFAULT);
            }
            // Zero bytes still go to the kernel, which checks the descriptor: read(2)/write(2) with (NULL, 0) on a bad
            // one fail with EBADF, they do not return 0.
            long res = io(fd, 0, 0, off, isRead);
            return res < 0 ? Errno.fail((int) -res) : res;
        }
        if (n > buf.capacity()) {
            return Errno.fail(Errno.EINVAL);
        }
        if (isRead && buf.isReadOnly()) {
            return Errno.fail(Errno.EFAULT);
        }
        long res;
        if (buf.isDirect()) {
            if (!MemorySegment.ofBuffer(buf).scope().isAlive()) {
                return Errno.fail(Errno.EFAULT); // its arena closed: the address is freed memory, not the caller's
            }
            long address = Bounce.indexZero(buf);
            res = io(fd, address, n, off, isRead);
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment tmp;
                try {
                    tmp = arena.allocate(Math.max(1, n));
                } catch (OutOfMemoryError noNativeMemory) {
                    return Errno.fail(Errno.ENOMEM); // the copy of a heap buffer found no native memory: nothing done
                }
                ByteBuffer bounce = tmp.asByteBuffer();
                if (!isRead) {
                    try {
                        Bounce.copyIn(bounce, buf, (int) n);
                    } catch (IllegalArgumentException windowNeverStill) { // another thread moved it all along
                        return Errno.fail(Errno.EAGAIN); // nothing written
                    }
                }
                res = io(fd, tmp.address(), n, off, isRead);
                if (isRead && res > 0) {
                    // Into the array (a read's buffer is writable: checked above), by absolute index: ByteBuffer's
                    // absolute bulk put is bounded by the limit, and threw with the bytes already taken from the file.
                    Bounce.copyOut(bounce, buf, (int) res);
                }
            }
        }
        return res < 0 ? Errno.fail((int) -res) : res;
    }

    private static long io(int fd, long address, long n, long off, boolean isRead) {
        if (off < 0) {
            return isRead ? Libc.read(fd, address, n) : Libc.write(fd, address, n);
        }
        return isRead ? Libc.pread(fd, address, n, off) : Libc.pwrite(fd, address, n, off);
    }
}
