package io.uringaio.bench.harness;

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
 * glibc's own POSIX AIO ({@code aio_read}, {@code aio_write}, {@code aio_fsync}, {@code aio_error},
 * {@code aio_return}, {@code aio_suspend}) through FFM. Since glibc 2.34 these live in {@code libc.so.6} (before, in
 * {@code librt}); the default lookup finds them. glibc runs them on its own threads ({@code aio_init}'s
 * {@code aio_threads}, default 20, left as is), and queues requests for one file descriptor behind each other.
 *
 * <p>Submission calls return 0 or the errno (captured right after the call); {@code aio_error} and
 * {@code aio_return} return what C returns. Not thread-safe: one instance per calling thread (the errno capture
 * segment is the instance's).
 */
@SuppressWarnings("restricted")
public final class GlibcAio {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final String UNAVAILABLE;
    private static final MethodHandle AIO_READ;
    private static final MethodHandle AIO_WRITE;
    private static final MethodHandle AIO_FSYNC;
    private static final MethodHandle AIO_ERROR;
    private static final MethodHandle AIO_RETURN;
    private static final MethodHandle AIO_SUSPEND;
    private static final String VERSION;

    static {
        String why = null;
        MethodHandle read = null, write = null, fsync = null, error = null, ret = null, suspend = null;
        String version = null;
        try {
            SymbolLookup libc = LINKER.defaultLookup();
            if (libc.find("aio_read").isEmpty()) {
                libc = SymbolLookup.libraryLookup("librt.so.1", Arena.global()); // glibc before 2.34
            }
            read = handle(libc, "aio_read", FunctionDescriptor.of(JAVA_INT, ADDRESS), true);
            write = handle(libc, "aio_write", FunctionDescriptor.of(JAVA_INT, ADDRESS), true);
            fsync = handle(libc, "aio_fsync", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), true);
            error = handle(libc, "aio_error", FunctionDescriptor.of(JAVA_INT, ADDRESS), false);
            ret = handle(libc, "aio_return", FunctionDescriptor.of(JAVA_LONG, ADDRESS), false);
            suspend = handle(libc, "aio_suspend", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS), true);
            MethodHandle v = LINKER.defaultLookup().find("gnu_get_libc_version")
                    .map(s -> LINKER.downcallHandle(s, FunctionDescriptor.of(ADDRESS))).orElse(null);
            if (v != null) {
                version = ((MemorySegment) v.invokeExact()).reinterpret(64).getString(0);
            } else {
                why = "not glibc (no gnu_get_libc_version): the aiocb layout is glibc's";
            }
            if (!"amd64".equals(System.getProperty("os.arch")) && !"x86_64".equals(System.getProperty("os.arch"))) {
                why = "the aiocb layout is glibc's for x86-64; this is " + System.getProperty("os.arch");
            }
        } catch (Throwable t) {
            why = "glibc POSIX AIO not found: " + t;
        }
        UNAVAILABLE = why;
        AIO_READ = read;
        AIO_WRITE = write;
        AIO_FSYNC = fsync;
        AIO_ERROR = error;
        AIO_RETURN = ret;
        AIO_SUSPEND = suspend;
        VERSION = version;
    }

    private static MethodHandle handle(SymbolLookup lookup, String name, FunctionDescriptor fd, boolean errno) {
        MemorySegment symbol = lookup.find(name).orElseThrow(() -> new IllegalStateException(name + " not found"));
        return errno ? LINKER.downcallHandle(symbol, fd, CAPTURE_ERRNO) : LINKER.downcallHandle(symbol, fd);
    }

    /** Why glibc AIO cannot be used here, or null. */
    public static String unavailableReason() {
        return UNAVAILABLE;
    }

    /** {@code gnu_get_libc_version()}, or null when not glibc. */
    public static String glibcVersion() {
        return VERSION;
    }

    private final MemorySegment callState;

    /** Bindings whose errno capture lives in {@code arena}. */
    public GlibcAio(Arena arena) {
        if (UNAVAILABLE != null) {
            throw new IllegalStateException(UNAVAILABLE);
        }
        this.callState = arena.allocate(CALL_STATE);
    }

    private int errno() {
        return (int) ERRNO.get(callState, 0L);
    }

    /** Allocates a zeroed {@code struct aiocb} with SIGEV_NONE. */
    public static MemorySegment newAiocb(Arena arena) {
        MemorySegment cb = arena.allocate(GlibcAiocbLayout.AIOCB);
        cb.set(JAVA_INT, GlibcAiocbLayout.SIGEV_NOTIFY, GlibcAiocbLayout.SIGEV_NONE);
        return cb;
    }

    /** Sets the transfer fields of a control block. */
    public static void prepare(MemorySegment cb, int fd, MemorySegment buffer, long nbytes, long offset) {
        cb.set(JAVA_INT, GlibcAiocbLayout.AIO_FILDES, fd);
        cb.set(ADDRESS, GlibcAiocbLayout.AIO_BUF, buffer);
        cb.set(JAVA_LONG, GlibcAiocbLayout.AIO_NBYTES, nbytes);
        cb.set(JAVA_LONG, GlibcAiocbLayout.AIO_OFFSET, offset);
    }

    /** {@code aio_read(cb)}: 0 or the errno. */
    public int aio_read(MemorySegment cb) {
        try {
            return (int) AIO_READ.invokeExact(callState, cb) == 0 ? 0 : errno();
        } catch (Throwable t) {
            throw new IllegalStateException("aio_read", t);
        }
    }

    /** {@code aio_write(cb)}: 0 or the errno. */
    public int aio_write(MemorySegment cb) {
        try {
            return (int) AIO_WRITE.invokeExact(callState, cb) == 0 ? 0 : errno();
        } catch (Throwable t) {
            throw new IllegalStateException("aio_write", t);
        }
    }

    /** {@code aio_fsync(op, cb)} with {@code O_SYNC} or {@code O_DSYNC}: 0 or the errno. */
    public int aio_fsync(int op, MemorySegment cb) {
        try {
            return (int) AIO_FSYNC.invokeExact(callState, op, cb) == 0 ? 0 : errno();
        } catch (Throwable t) {
            throw new IllegalStateException("aio_fsync", t);
        }
    }

    /** {@code aio_error(cb)}: EINPROGRESS, 0, or the request's errno. */
    public int aio_error(MemorySegment cb) {
        try {
            return (int) AIO_ERROR.invokeExact(cb);
        } catch (Throwable t) {
            throw new IllegalStateException("aio_error", t);
        }
    }

    /** {@code aio_return(cb)}: the request's result. */
    public long aio_return(MemorySegment cb) {
        try {
            return (long) AIO_RETURN.invokeExact(cb);
        } catch (Throwable t) {
            throw new IllegalStateException("aio_return", t);
        }
    }

    /** {@code aio_suspend(list, nent, timeout)} ({@code timeout} a {@code struct timespec} or NULL): 0 or errno. */
    public int aio_suspend(MemorySegment list, int nent, MemorySegment timeout) {
        try {
            return (int) AIO_SUSPEND.invokeExact(callState, list, nent, timeout) == 0 ? 0 : errno();
        } catch (Throwable t) {
            throw new IllegalStateException("aio_suspend", t);
        }
    }
}
