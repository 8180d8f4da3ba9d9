package io.uringaio.engine;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The system calls of a {@link CallerRing}, through FFM, for Linux on x86-64: the three io_uring calls (there is no
 * libc wrapper for them, so they go through {@code syscall(2)}), {@code mmap}/{@code munmap} of the rings, and the
 * eventfd the engine's reaper watches.
 *
 * <p>Kernel convention: each call returns its result, or {@code -errno} when it failed; nothing throws for an errno.
 * errno is captured right after the call into a segment of the calling thread, so nothing is allocated per call.
 * Pointers travel as {@code long} (on x86-64 System V a pointer is passed exactly like a 64-bit integer).
 *
 * <p>Kept apart from {@code sys.Libc} on purpose: these calls exist only for the caller-driven lane.
 */
@SuppressWarnings("restricted") // downcallHandle: the point of this class
final class UringSyscalls {
    static final long SYS_io_uring_setup = 425;
    static final long SYS_io_uring_enter = 426;
    static final long SYS_io_uring_register = 427;

    // io_uring_enter(2) flags
    static final int IORING_ENTER_GETEVENTS = 1;
    static final int IORING_ENTER_EXT_ARG = 1 << 3;
    // io_uring_register(2) opcodes
    static final int IORING_REGISTER_EVENTFD = 4;
    static final int IORING_UNREGISTER_EVENTFD = 5;
    // mmap offsets and io_uring_params->features
    static final long IORING_OFF_SQ_RING = 0L;
    static final long IORING_OFF_SQES = 0x10000000L;
    static final int IORING_FEAT_SINGLE_MMAP = 1;
    static final int IORING_FEAT_NODROP = 1 << 1;
    static final int IORING_FEAT_EXT_ARG = 1 << 8;
    // cq_ring->flags
    static final int IORING_CQ_EVENTFD_DISABLED = 1;

    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final int MAP_POPULATE = 0x8000;
    static final int EFD_CLOEXEC = 0x80000;
    static final short POLLIN = 1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /** One errno segment per thread: two threads failing at once each see their own errno. */
    private static final ThreadLocal<MemorySegment> CALL_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE_LAYOUT));

    // long syscall(long number, ...): the number is the last fixed argument; the rest are variadic longs.
    private static final MethodHandle SYSCALL6 = capturing("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle MMAP = capturing("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = capturing("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle EVENTFD = capturing("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = capturing("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle WRITE = capturing("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle POLL = capturing("poll",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle CLOSE = capturing("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private UringSyscalls() {
    }

    /** {@code io_uring_setup(entries, params)}: the ring's fd, or -errno. */
    static int ioUringSetup(int entries, long paramsAddress) {
        return (int) syscall(SYS_io_uring_setup, entries, paramsAddress, 0, 0, 0, 0);
    }

    /** {@code io_uring_enter(fd, toSubmit, minComplete, flags, arg, argSize)}: SQEs consumed, or -errno. */
    static int ioUringEnter(int fd, int toSubmit, int minComplete, int flags, long arg, long argSize) {
        return (int) syscall(SYS_io_uring_enter, fd, toSubmit, minComplete, flags, arg, argSize);
    }

    /** {@code io_uring_register(fd, opcode, arg, nrArgs)}: 0 or -errno. */
    static int ioUringRegister(int fd, int opcode, long arg, int nrArgs) {
        return (int) syscall(SYS_io_uring_register, fd, opcode, arg, nrArgs, 0, 0);
    }

    /** {@code mmap(NULL, length, READ|WRITE, SHARED|POPULATE, fd, offset)}: the address, or -errno. */
    static long mmapShared(long length, int fd, long offset) {
        try {
            MemorySegment state = CALL_STATE.get();
            long address = (long) MMAP.invokeExact(state, 0L, length, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_POPULATE, fd, offset);
            return address == -1L ? -errno(state) : address;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int munmap(long address, long length) {
        try {
            MemorySegment state = CALL_STATE.get();
            int res = (int) MUNMAP.invokeExact(state, address, length);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code eventfd(0, EFD_CLOEXEC)}: a blocking eventfd, or -errno. */
    static int eventfd() {
        try {
            MemorySegment state = CALL_STATE.get();
            int res = (int) EVENTFD.invokeExact(state, 0, EFD_CLOEXEC);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long read(int fd, long address, long count) {
        try {
            MemorySegment state = CALL_STATE.get();
            long res = (long) READ.invokeExact(state, fd, address, count);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static long write(int fd, long address, long count) {
        try {
            MemorySegment state = CALL_STATE.get();
            long res = (long) WRITE.invokeExact(state, fd, address, count);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code poll(fds, nfds, timeoutMillis)}: ready descriptors, 0 on timeout, or -errno. */
    static int poll(long fdsAddress, long count, int timeoutMillis) {
        try {
            MemorySegment state = CALL_STATE.get();
            int res = (int) POLL.invokeExact(state, fdsAddress, count, timeoutMillis);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static int close(int fd) {
        try {
            MemorySegment state = CALL_STATE.get();
            int res = (int) CLOSE.invokeExact(state, fd);
            return res == -1 ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static long syscall(long number, long a, long b, long c, long d, long e, long f) {
        try {
            MemorySegment state = CALL_STATE.get();
            long res = (long) SYSCALL6.invokeExact(state, number, a, b, c, d, e, f);
            return res == -1L ? -errno(state) : res;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static MethodHandle capturing(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = CAPTURE_ERRNO;
        System.arraycopy(options, 0, all, 1, options.length);
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
        return LINKER.downcallHandle(symbol, descriptor, all);
    }

    /** A downcall throws only what the JVM throws (errors, or a bug in a handle's type); pass it on unchanged. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException re) {
            throw re;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("downcall failed", t);
    }
}
