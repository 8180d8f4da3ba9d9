package io.uringaio.engine.internal.sys;

import io.uringaio.engine.uapi.Uapi;

import static io.uringaio.engine.uapi.ErrnoTable.EINVAL;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The C library's file calls, through the FFM API ({@code java.lang.foreign}), for Linux on x86-64.
 *
 * <p>Every call follows the kernel's convention instead of C's: it returns the call's result when it succeeds and
 * {@code -errno} when it fails (the C function returned -1). Nothing throws for an errno; turn it into words with
 * {@code ErrnoTable.describe(-result)}. {@code errno} is captured by the linker right after the call
 * ({@link Linker.Option#captureCallState}) into a segment owned by the calling thread, so one thread's error never
 * shows in another's result, and a call allocates nothing except where it takes a path.
 *
 * <p>No call is retried: a call interrupted by a signal returns {@code -EINTR} (4) and the caller decides. Under
 * the JVM that is rare (its own signals are installed with {@code SA_RESTART}), but a blocking {@code read} of a
 * pipe can still see it.
 *
 * <p>Buffers are passed as native addresses ({@link MemorySegment#address()} of a native segment, or the address
 * of a direct buffer). The caller keeps the memory alive and at least {@code count} bytes long for the whole call;
 * nothing here checks it, and a wrong address crashes the JVM or corrupts its memory.
 *
 * <p>Thread safety: every method may be called from any thread, concurrently. The calls that may block
 * ({@code read}, {@code pread}, {@code fsync} ...) block the calling thread, so call them off the ring thread.
 * Needs {@code --enable-native-access=ALL-UNNAMED} (otherwise the JVM warns on first use).
 */
@SuppressWarnings("restricted") // downcallHandle and reinterpret: the point of this class
public final class Libc {

    /** Open for reading only. */
    public static final int O_RDONLY = 0;
    /** Open for writing only. */
    public static final int O_WRONLY = 1;
    /** Open for reading and writing. */
    public static final int O_RDWR = 2;
    /** The access mode bits of the flags ({@code flags & O_ACCMODE} is one of the three above). */
    public static final int O_ACCMODE = 3;
    /** Create the file if it does not exist (then {@code mode} applies). */
    public static final int O_CREAT = 0100;
    /** With {@code O_CREAT}: fail with {@code EEXIST} if the file exists. */
    public static final int O_EXCL = 0200;
    /** Do not make a terminal the controlling terminal. */
    public static final int O_NOCTTY = 0400;
    /** Truncate a regular file to length 0. */
    public static final int O_TRUNC = 01000;
    /** Every write goes to the end of the file. */
    public static final int O_APPEND = 02000;
    /** Non-blocking mode (no effect on regular files). */
    public static final int O_NONBLOCK = 04000;
    /** Writes return once the data, and the metadata needed to read it back, are durable. */
    public static final int O_DSYNC = 010000;
    /** Bypass the page cache; buffers, offsets and lengths must be aligned to the device's block size. */
    public static final int O_DIRECT = 040000;
    /** Allow files larger than 2 GiB (implied on 64-bit). */
    public static final int O_LARGEFILE = 0100000;
    /** Fail with {@code ENOTDIR} unless the path is a directory. */
    public static final int O_DIRECTORY = 0200000;
    /** Fail with {@code ELOOP} if the last path component is a symbolic link. */
    public static final int O_NOFOLLOW = 0400000;
    /** Do not update the access time on read. */
    public static final int O_NOATIME = 01000000;
    /** Close the descriptor on {@code execve}. */
    public static final int O_CLOEXEC = 02000000;
    /** Writes return once data and all metadata are durable ({@code __O_SYNC | O_DSYNC}). */
    public static final int O_SYNC = 04010000;
    /** A descriptor for the path only: no read or write through it. */
    public static final int O_PATH = 010000000;

    /** {@code fcntl}: get the descriptor flags ({@link #FD_CLOEXEC}). */
    public static final int F_GETFD = 1;
    /** {@code fcntl}: set the descriptor flags. */
    public static final int F_SETFD = 2;
    /** {@code fcntl}: get the file status flags ({@code O_*}, access mode included). */
    public static final int F_GETFL = 3;
    /** {@code fcntl}: set the file status flags ({@code O_APPEND}, {@code O_NONBLOCK}, {@code O_DIRECT} ...). */
    public static final int F_SETFL = 4;
    /** The close-on-exec descriptor flag, for {@link #F_GETFD} and {@link #F_SETFD}. */
    public static final int FD_CLOEXEC = 1;

    /** {@code lseek}: the offset is absolute. */
    public static final int SEEK_SET = 0;
    /** {@code lseek}: the offset is relative to the current position. */
    public static final int SEEK_CUR = 1;
    /** {@code lseek}: the offset is relative to the end of the file. */
    public static final int SEEK_END = 2;
    /** {@code lseek} whence: the next offset at or after the given one that holds data (a hole skipped). */
    public static final int SEEK_DATA = 3;
    /** {@code lseek} whence: the next hole at or after the given offset (the end of the file counts as one). */
    public static final int SEEK_HOLE = 4;
    /** {@code open(2)}'s {@code __O_TMPFILE} bit ({@code O_TMPFILE} is it with {@code O_DIRECTORY}). */
    public static final int O_TMPFILE_BIT = 020000000;
    /** The file type bits of a mode ({@code st_mode}, {@code stx_mode}). */
    public static final int S_IFMT = 0170000;
    /** File type: a FIFO (named pipe). */
    public static final int S_IFIFO = 0010000;
    /** File type: a directory. */
    public static final int S_IFDIR = 0040000;
    /** File type: a block device. */
    public static final int S_IFBLK = 0060000;
    /** File type: a regular file. */
    public static final int S_IFREG = 0100000;

    /** {@code preadv2}/{@code pwritev2}: fail with EAGAIN rather than block. */
    public static final int RWF_NOWAIT = 0x8;
    /** {@code poll} event: readable. */
    public static final short POLLIN = 0x1;
    /** {@code poll} event: writable. */
    public static final short POLLOUT = 0x4;
    /** {@link #pollWithWake}: set in the result when the wake descriptor was readable. */
    public static final int POLL_WOKEN = 1 << 16;
    /** {@code eventfd} flag: close on {@code exec}. */
    public static final int EFD_CLOEXEC = 0x80000;
    /** {@code eventfd} flag: non-blocking reads and writes. */
    public static final int EFD_NONBLOCK = 0x800;

    /** {@code mmap} protection: readable. */
    public static final int PROT_READ = 1;
    /** {@code mmap} protection: writable. */
    public static final int PROT_WRITE = 2;
    /** {@code mmap}: shared with the kernel (and other mappings of the same object). */
    public static final int MAP_SHARED = 1;
    /** {@code mmap}: fault the pages in now. */
    public static final int MAP_POPULATE = 0x8000;

    /** {@code fallocate}: allocate without changing the file size. */
    public static final int FALLOC_FL_KEEP_SIZE = 1;
    /** {@code fallocate}: deallocate the range (must be combined with {@link #FALLOC_FL_KEEP_SIZE}). */
    public static final int FALLOC_FL_PUNCH_HOLE = 2;

    /** {@code posix_fadvise}: the range will not be needed; the kernel drops its clean pages from the page cache. */
    public static final int POSIX_FADV_DONTNEED = 4;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();

    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    /**
     * Where the linker stores errno, one segment per thread, allocated on the thread's first call and freed with the
     * thread (by the GC). Per thread, not per class: two threads failing at once must each see their own errno.
     */
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    // Buffer addresses are declared JAVA_LONG, not ADDRESS: on x86-64 (System V) a pointer argument travels exactly
    // like a 64-bit integer, and a long needs no MemorySegment wrapper per call. size_t, ssize_t and off_t are 64 bits.
    private static final MethodHandle OPEN = capturing("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = capturing("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PIPE = capturing("pipe", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle READ = capturing("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle WRITE = capturing("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PREAD = capturing("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = capturing("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    /** pwrite with the source as a segment: the linker keeps its arena alive (acquired) during the call. */
    private static final MethodHandle PWRITE_SEGMENT = capturing("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FSYNC = capturing("fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FDATASYNC = capturing("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FTRUNCATE = capturing("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FALLOCATE = capturing("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    /** posix_fadvise returns its error number; it does not set errno. */
    private static final MethodHandle POSIX_FADVISE = LINKER.downcallHandle(symbol("posix_fadvise"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle UNLINK = capturing("unlink", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle LSEEK = capturing("lseek",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle FCNTL = capturing("fcntl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle OPENAT = capturing("openat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(3));
    private static final MethodHandle PREADV2 = capturing("preadv2",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    /** {@code preadv2} without errno capture: for callers that only need "all of it, or not" (no per-call state). */
    private static final MethodHandle PREADV2_PLAIN = LINKER.downcallHandle(symbol("preadv2"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle PWRITEV2 = capturing("pwritev2",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle STATX = capturing("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle POLL = capturing("poll",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = capturing("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // long syscall(long number, ...): the number is the last fixed argument; the rest are variadic longs.
    private static final MethodHandle SYSCALL6 = capturing("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG), Linker.Option.firstVariadicArg(1));
    /**
     * {@link #SYSCALL6} without errno capture. The linker's capture checks its state segment with a slice per call,
     * which only C2's escape analysis removes: code not yet (or no longer) compiled by C2 allocated 40 bytes per call.
     */
    private static final MethodHandle SYSCALL6_PLAIN = LINKER.downcallHandle(symbol("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle MMAP = capturing("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = capturing("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(symbol("strerror"),
            FunctionDescriptor.of(ADDRESS, JAVA_INT));

    private Libc() {
    }

    /**
     * {@code open(2)}.
     *
     * @param path the file; must not contain a NUL character
     * @param flags {@code O_*} flags, such as {@code O_RDWR | O_CREAT | O_CLOEXEC}
     * @param mode the permission bits of a created file (such as {@code 0644}), before the umask; ignored without
     *     {@code O_CREAT}
     * @return the new file descriptor, or {@code -errno} ({@code -EINVAL} for a path containing NUL)
     */
    public static int open(String path, int flags, int mode) {
        if (path.indexOf('\0') >= 0) {
            return -EINVAL;
        }
        MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined()) {
            int res = (int) OPEN.invokeExact(state, arena.allocateFrom(path), flags, mode);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow("open", t);
        }
    }

    /**
     * {@code close(2)}. The descriptor is released even when the result is {@code -EINTR} or {@code -EIO}: never
     * close it again.
     *
     * @return 0, or {@code -errno} ({@code -EBADF} for a descriptor that is not open)
     */
    public static int close(int fd) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) CLOSE.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw rethrow("close", t);
        }
    }

    /**
     * {@code pipe(2)}: a new pipe, without {@code O_CLOEXEC}.
     *
     * @param fds receives the read end in {@code fds[0]} and the write end in {@code fds[1]}; length at least 2.
     *     Left unchanged on failure.
     * @return 0, or {@code -errno}
     */
    public static int pipe(int[] fds) {
        if (fds.length < 2) {
            throw new IllegalArgumentException("pipe needs an int[2], got length " + fds.length);
        }
        MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pair = arena.allocate(JAVA_INT, 2);
            int res = (int) PIPE.invokeExact(state, pair);
            if (res == -1) {
                return -errno(state);
            }
            fds[0] = pair.getAtIndex(JAVA_INT, 0);
            fds[1] = pair.getAtIndex(JAVA_INT, 1);
            return res;
        } catch (Throwable t) {
            throw rethrow("pipe", t);
        }
    }

    /**
     * {@code read(2)} at the file's current position.
     *
     * @param address native address of at least {@code count} writable bytes
     * @return the bytes read (0 at end of file), or {@code -errno}
     */
    public static long read(int fd, long address, long count) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) READ.invokeExact(state, fd, address, count), state);
        } catch (Throwable t) {
            throw rethrow("read", t);
        }
    }

    /**
     * {@code write(2)} at the file's current position (at its end with {@code O_APPEND}).
     *
     * @param address native address of at least {@code count} readable bytes
     * @return the bytes written (possibly fewer than {@code count}), or {@code -errno}
     */
    public static long write(int fd, long address, long count) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) WRITE.invokeExact(state, fd, address, count), state);
        } catch (Throwable t) {
            throw rethrow("write", t);
        }
    }

    /**
     * {@code pread(2)}: read at {@code offset}, leaving the file position alone.
     *
     * @param address native address of at least {@code count} writable bytes
     * @param offset file offset; negative gives {@code -EINVAL}
     * @return the bytes read (0 at or past end of file), or {@code -errno}
     */
    public static long pread(int fd, long address, long count, long offset) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) PREAD.invokeExact(state, fd, address, count, offset), state);
        } catch (Throwable t) {
            throw rethrow("pread", t);
        }
    }

    /**
     * {@code pwrite(2)}: write at {@code offset}, leaving the file position alone. Linux ignores {@code offset} and
     * appends when the file was opened with {@code O_APPEND}.
     *
     * @param address native address of at least {@code count} readable bytes
     * @param offset file offset; negative gives {@code -EINVAL}
     * @return the bytes written (possibly fewer than {@code count}), or {@code -errno}
     */
    public static long pwrite(int fd, long address, long count, long offset) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) PWRITE.invokeExact(state, fd, address, count, offset), state);
        } catch (Throwable t) {
            throw rethrow("pwrite", t);
        }
    }

    /**
     * {@link #pwrite(int, long, long, long)} of the native segment {@code src}: the downcall acquires the segment's
     * arena for the call, so a shared arena cannot be closed (its {@code close} throws {@code IllegalStateException})
     * while the kernel reads it, as with the JDK's channels; with a bare address, it could, and the kernel read freed
     * memory.
     *
     * @param src native memory of at least {@code count} readable bytes, of an arena alive and accessible here
     * @return the bytes written (possibly fewer than {@code count}), or {@code -errno}
     */
    public static long pwrite(int fd, MemorySegment src, long count, long offset) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) PWRITE_SEGMENT.invokeExact(state, fd, src, count, offset), state);
        } catch (Throwable t) {
            throw rethrow("pwrite", t);
        }
    }

    /**
     * {@code fsync(2)}: data and metadata of the file reach stable storage before it returns.
     *
     * @return 0, or {@code -errno} ({@code -EIO}: a write-back failed and the data may be lost)
     */
    public static int fsync(int fd) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) FSYNC.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw rethrow("fsync", t);
        }
    }

    /**
     * {@code fdatasync(2)}: like {@link #fsync} but skips metadata not needed to read the data back (such as the
     * modification time).
     *
     * @return 0, or {@code -errno}
     */
    public static int fdatasync(int fd) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) FDATASYNC.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw rethrow("fdatasync", t);
        }
    }

    /**
     * {@code ftruncate(2)}: set the file's size, cutting or extending with zeros.
     *
     * @return 0, or {@code -errno}
     */
    public static int ftruncate(int fd, long length) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) FTRUNCATE.invokeExact(state, fd, length), state);
        } catch (Throwable t) {
            throw rethrow("ftruncate", t);
        }
    }

    /**
     * {@code fallocate(2)}: allocate (mode 0) or manipulate ({@code FALLOC_FL_*}) disk space for a range.
     *
     * @return 0, or {@code -errno} ({@code -EOPNOTSUPP} where the file system does not support the mode)
     */
    public static int fallocate(int fd, int mode, long offset, long length) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) FALLOCATE.invokeExact(state, fd, mode, offset, length), state);
        } catch (Throwable t) {
            throw rethrow("fallocate", t);
        }
    }

    /**
     * {@code posix_fadvise(2)}: advice about the use of a range of a file ({@code length} 0: to its end), e.g.
     * {@link #POSIX_FADV_DONTNEED}.
     *
     * @return 0, or {@code -errno}
     */
    public static int posixFadvise(int fd, long offset, long length, int advice) {
        try {
            return -(int) POSIX_FADVISE.invokeExact(fd, offset, length, advice);
        } catch (Throwable t) {
            throw rethrow("posix_fadvise", t);
        }
    }

    /**
     * {@code unlink(2)}: remove a name from the file system.
     *
     * @param path the file; must not contain a NUL character
     * @return 0, or {@code -errno} ({@code -EINVAL} for a path containing NUL)
     */
    public static int unlink(String path) {
        if (path.indexOf('\0') >= 0) {
            return -EINVAL;
        }
        MemorySegment state = CALL_STATE.get();
        try (Arena arena = Arena.ofConfined()) {
            return intResult((int) UNLINK.invokeExact(state, arena.allocateFrom(path)), state);
        } catch (Throwable t) {
            throw rethrow("unlink", t);
        }
    }

    /**
     * {@code lseek(2)}: move the file position.
     *
     * @param whence {@link #SEEK_SET}, {@link #SEEK_CUR} or {@link #SEEK_END}
     * @return the new position from the start of the file, or {@code -errno} ({@code -ESPIPE} on a pipe)
     */
    public static long lseek(int fd, long offset, int whence) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) LSEEK.invokeExact(state, fd, offset, whence), state);
        } catch (Throwable t) {
            throw rethrow("lseek", t);
        }
    }

    /**
     * {@code fcntl(2)} with an integer argument (or none: pass 0).
     *
     * @param cmd such as {@link #F_GETFL}, {@link #F_SETFL}, {@link #F_GETFD}, {@link #F_SETFD}
     * @return the command's result (flags for the {@code GET} commands, 0 for the others), or {@code -errno}
     */
    public static int fcntl(int fd, int cmd, int arg) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) FCNTL.invokeExact(state, fd, cmd, arg), state);
        } catch (Throwable t) {
            throw rethrow("fcntl", t);
        }
    }

    /**
     * {@code openat(2)} with the path already in native memory (a NUL-terminated string at {@code pathAddress}).
     *
     * @return the new descriptor, or {@code -errno}
     */
    public static int openat(int dirfd, long pathAddress, int flags, int mode) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) OPENAT.invokeExact(state, dirfd, pathAddress, flags, mode), state);
        } catch (Throwable t) {
            throw rethrow("openat", t);
        }
    }

    /**
     * {@code preadv2(2)} over {@code iovcnt} {@code struct iovec}s at {@code iovAddress}; {@code offset} -1 means the
     * current position (only for streams), {@code flags} such as {@link #RWF_NOWAIT}.
     *
     * @return the bytes read, or {@code -errno} ({@code -EAGAIN} with RWF_NOWAIT when it would block)
     */
    public static long preadv2(int fd, long iovAddress, int iovcnt, long offset, int flags) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) PREADV2.invokeExact(state, fd, iovAddress, iovcnt, offset, flags), state);
        } catch (Throwable t) {
            throw rethrow("preadv2", t);
        }
    }

    /**
     * {@link #preadv2} for a caller that needs no error code (the page-cache fast path: anything but every byte sends
     * the read to a ring): no errno capture, so no per-thread call state is looked up.
     *
     * @return the bytes read, or -1 on any error
     */
    public static long preadv2NoErrno(int fd, long iovAddress, int iovcnt, long offset, int flags) {
        try {
            return (long) PREADV2_PLAIN.invokeExact(fd, iovAddress, iovcnt, offset, flags);
        } catch (Throwable t) {
            throw rethrow("preadv2", t);
        }
    }

    /** {@code pwritev2(2)}; as {@link #preadv2}. */
    public static long pwritev2(int fd, long iovAddress, int iovcnt, long offset, int flags) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) PWRITEV2.invokeExact(state, fd, iovAddress, iovcnt, offset, flags), state);
        } catch (Throwable t) {
            throw rethrow("pwritev2", t);
        }
    }

    /**
     * {@code statx(2)} with the path and the {@code struct statx} buffer in native memory.
     *
     * @return 0, or {@code -errno}
     */
    public static int statx(int dirfd, long pathAddress, int flags, int mask, long statxAddress) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) STATX.invokeExact(state, dirfd, pathAddress, flags, mask, statxAddress), state);
        } catch (Throwable t) {
            throw rethrow("statx", t);
        }
    }

    private static final ThreadLocal<MemorySegment> POLLFD =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8, 8));

    /**
     * {@code poll(2)} on one descriptor.
     *
     * @param events {@link #POLLIN} and/or {@link #POLLOUT}
     * @param timeoutMillis how long to wait; 0 polls, -1 waits forever
     * @return the {@code revents} (0 on timeout), or {@code -errno}
     */
    public static int pollOne(int fd, short events, int timeoutMillis) {
        MemorySegment state = CALL_STATE.get();
        MemorySegment pfd = POLLFD.get();
        pfd.set(JAVA_INT, 0, fd);
        pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, events);
        pfd.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 6, (short) 0);
        try {
            int res = intResult((int) POLL.invokeExact(state, pfd.address(), 1L, timeoutMillis), state);
            return res <= 0 ? res : pfd.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 6) & 0xFFFF;
        } catch (Throwable t) {
            throw rethrow("poll", t);
        }
    }

    private static final ThreadLocal<MemorySegment> POLLFDS =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));
    /** Eight bytes per thread for eventfd counters: written with 1 to signal, read into to drain. */
    private static final ThreadLocal<MemorySegment> COUNTER =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(8, 8));

    /**
     * {@code poll(2)} on one descriptor and a wake descriptor (an eventfd): returns when {@code fd} is ready or someone
     * signaled {@code wakeFd} ({@link #eventfdSignal}).
     *
     * @return {@code fd}'s {@code revents}, with {@link #POLL_WOKEN} added when {@code wakeFd} was readable (0 on
     *         timeout), or {@code -errno}
     */
    public static int pollWithWake(int fd, short events, int wakeFd, int timeoutMillis) {
        MemorySegment state = CALL_STATE.get();
        MemorySegment pfds = POLLFDS.get();
        pfds.set(JAVA_INT, 0, fd);
        pfds.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 4, events);
        pfds.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 6, (short) 0);
        pfds.set(JAVA_INT, 8, wakeFd);
        pfds.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 12, POLLIN);
        pfds.set(java.lang.foreign.ValueLayout.JAVA_SHORT, 14, (short) 0);
        try {
            int res = intResult((int) POLL.invokeExact(state, pfds.address(), 2L, timeoutMillis), state);
            if (res <= 0) {
                return res;
            }
            int revents = pfds.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 6) & 0xFFFF;
            if (pfds.get(java.lang.foreign.ValueLayout.JAVA_SHORT, 14) != 0) {
                revents |= POLL_WOKEN;
            }
            return revents;
        } catch (Throwable t) {
            throw rethrow("poll", t);
        }
    }

    /**
     * {@code eventfd(2)}.
     *
     * @return the new descriptor, or {@code -errno}
     */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) EVENTFD.invokeExact(state, initialValue, flags), state);
        } catch (Throwable t) {
            throw rethrow("eventfd", t);
        }
    }

    /** Adds one to an eventfd's counter (makes it readable); 8, or {@code -errno}. */
    public static long eventfdSignal(int fd) {
        MemorySegment one = COUNTER.get();
        one.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, 1L);
        return write(fd, one.address(), 8);
    }

    /** Resets a non-blocking eventfd's counter to zero; 8, or {@code -errno} ({@code -EAGAIN} if it was zero). */
    public static long eventfdDrain(int fd) {
        return read(fd, COUNTER.get().address(), 8);
    }

    /**
     * {@code strerror(3)}: the C library's message for an errno, in the C locale (the JVM does not call
     * {@code setlocale}), such as {@code "Bad file descriptor"} for 9 or {@code "Unknown error 999"}.
     *
     * @param errno a positive errno number (not the negated result)
     */
    public static String strerror(int errno) {
        try {
            MemorySegment message = (MemorySegment) STRERROR.invokeExact(errno);
            // The result is a NUL-terminated string of unknown length; glibc keeps the unknown-error text in a
            // per-thread buffer, so reading it right away on this thread is safe.
            return message.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow("strerror", t);
        }
    }

    /**
     * {@code io_uring_setup(entries, params)} (no libc wrapper: through {@code syscall(2)}): the ring's descriptor, or
     * {@code -errno}.
     */
    public static int ioUringSetup(int entries, long paramsAddress) {
        return (int) syscall("io_uring_setup", Uapi.SYS_IO_URING_SETUP, entries, paramsAddress, 0, 0, 0, 0);
    }

    /** {@code io_uring_enter(fd, toSubmit, minComplete, flags, arg, argSize)}: SQEs consumed, or {@code -errno}. */
    public static int ioUringEnter(int fd, int toSubmit, int minComplete, int flags, long arg, long argSize) {
        return (int) syscall("io_uring_enter", Uapi.SYS_IO_URING_ENTER, fd, toSubmit, minComplete, flags, arg,
                argSize);
    }

    /**
     * {@link #ioUringEnter} for the hot paths of a caller-driven ring (a submission's first attempt, a wait slice),
     * which need no error code on success and can ask again with {@link #ioUringEnter} when it failed: no errno
     * capture, so no per-thread call state and nothing allocated in any compilation tier.
     *
     * @return what {@code io_uring_enter} returned (SQEs consumed), or -1 on any error (errno not known)
     */
    public static int ioUringEnterNoErrno(int fd, int toSubmit, int minComplete, int flags, long arg, long argSize) {
        try {
            return (int) (long) SYSCALL6_PLAIN.invokeExact((long) Uapi.SYS_IO_URING_ENTER, (long) fd, (long) toSubmit,
                    (long) minComplete, (long) flags, arg, argSize);
        } catch (Throwable t) {
            throw rethrow("io_uring_enter", t);
        }
    }

    /** {@code io_uring_register(fd, opcode, arg, nrArgs)}: 0 (or the opcode's result), or {@code -errno}. */
    public static int ioUringRegister(int fd, int opcode, long arg, int nrArgs) {
        return (int) syscall("io_uring_register", Uapi.SYS_IO_URING_REGISTER, fd, opcode, arg, nrArgs, 0, 0);
    }

    /** {@code FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG}: the word is shared only by threads of this process. */
    private static final int FUTEX_WAIT_BITSET_PRIVATE = 9 | 128;
    /** {@code FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG}. */
    private static final int FUTEX_WAKE_BITSET_PRIVATE = 10 | 128;
    private static final int CLOCK_MONOTONIC = 1;
    private static final MethodHandle CLOCK_GETTIME = LINKER.downcallHandle(symbol("clock_gettime"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), Linker.Option.critical(false));
    /** A {@code struct timespec} per thread, for {@link #futexWait} and {@link #monotonicNanos}. */
    private static final ThreadLocal<MemorySegment> TIMESPEC =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(16, 8));

    /** Whether {@link #futexWait} and {@link #futexWake} are available (the futex system call's number is known). */
    public static boolean hasFutex() {
        return Uapi.SYS_FUTEX > 0;
    }

    /** {@code clock_gettime(CLOCK_MONOTONIC)} in nanoseconds: the clock of {@link #futexWait}'s deadline. */
    public static long monotonicNanos() {
        MemorySegment ts = TIMESPEC.get();
        try {
            int res = (int) CLOCK_GETTIME.invokeExact(CLOCK_MONOTONIC, ts.address());
            if (res != 0) {
                throw new IllegalStateException("clock_gettime(CLOCK_MONOTONIC) failed");
            }
        } catch (Throwable t) {
            throw rethrow("clock_gettime", t);
        }
        return ts.get(JAVA_LONG, 0) * 1_000_000_000L + ts.get(JAVA_LONG, 8);
    }

    /**
     * {@code futex(address, FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, NULL, bitset)}: sleeps while the 32-bit
     * word at {@code address} holds {@code expected}, until a {@link #futexWake} whose bitset shares a bit with
     * {@code bitset} (not 0), or until {@code deadlineNanos} on {@link #monotonicNanos}'s clock (an absolute time).
     * 0 when woken, else {@code -errno}: {@code EAGAIN} (the word did not hold {@code expected}), {@code ETIMEDOUT},
     * {@code EINTR}. The word must stay allocated until this returns. Only where {@link #hasFutex}.
     */
    public static int futexWait(long address, int expected, long deadlineNanos, int bitset) {
        long deadline = Math.max(0, deadlineNanos);
        MemorySegment ts = TIMESPEC.get();
        ts.set(JAVA_LONG, 0, deadline / 1_000_000_000L);
        ts.set(JAVA_LONG, 8, deadline % 1_000_000_000L);
        return (int) syscall("futex", Uapi.SYS_FUTEX, address, FUTEX_WAIT_BITSET_PRIVATE, expected, ts.address(), 0,
                bitset);
    }

    /**
     * {@code futex(address, FUTEX_WAKE_BITSET_PRIVATE, count, NULL, NULL, bitset)}: wakes, in one system call, at most
     * {@code count} threads sleeping in {@link #futexWait} on the word at {@code address} with a bitset that shares a
     * bit with {@code bitset} (not 0); how many woke, or {@code -errno}.
     */
    public static int futexWake(long address, int count, int bitset) {
        return (int) syscall("futex", Uapi.SYS_FUTEX, address, FUTEX_WAKE_BITSET_PRIVATE, count, 0, 0, bitset);
    }

    /**
     * {@code mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_POPULATE, fd, offset)}: the address, or
     * {@code -errno}. The caller owns the mapping and must {@link #munmap} it exactly once, after its last use.
     */
    public static long mmapShared(long length, int fd, long offset) {
        MemorySegment state = CALL_STATE.get();
        try {
            long address = (long) MMAP.invokeExact(state, 0L, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd, offset);
            return address == -1L ? -errno(state) : address;
        } catch (Throwable t) {
            throw rethrow("mmap", t);
        }
    }

    /** {@code munmap(address, length)}: 0 or {@code -errno}. */
    public static int munmap(long address, long length) {
        MemorySegment state = CALL_STATE.get();
        try {
            return intResult((int) MUNMAP.invokeExact(state, address, length), state);
        } catch (Throwable t) {
            throw rethrow("munmap", t);
        }
    }

    private static long syscall(String call, long number, long a, long b, long c, long d, long e, long f) {
        MemorySegment state = CALL_STATE.get();
        try {
            return longResult((long) SYSCALL6.invokeExact(state, number, a, b, c, d, e, f), state);
        } catch (Throwable t) {
            throw rethrow(call, t);
        }
    }

    private static int intResult(int res, MemorySegment state) {
        return res == -1 ? -errno(state) : res;
    }

    private static long longResult(long res, MemorySegment state) {
        return res == -1 ? -errno(state) : res;
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static MethodHandle capturing(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = CAPTURE_ERRNO;
        System.arraycopy(options, 0, all, 1, options.length);
        return LINKER.downcallHandle(symbol(name), descriptor, all);
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    /** A downcall throws only what the JVM throws (errors, or a bug in a handle's type); pass it on unchanged. */
    private static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException e) {
            throw e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("libc " + call + " threw a checked exception", t);
    }
}
