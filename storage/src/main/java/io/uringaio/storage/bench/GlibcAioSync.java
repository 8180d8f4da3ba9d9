package io.uringaio.storage.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The smallest FFM binding of glibc's POSIX AIO that AppendBench needs: {@code aio_write}, {@code aio_fsync},
 * {@code aio_error}, {@code aio_return}, {@code aio_suspend} on glibc's x86-64 {@code struct aiocb} (168 bytes; the
 * same offsets as the bench module's {@code io.uringaio.bench.harness.GlibcAiocbLayout}, which checks them against
 * gcc). The storage module cannot use the bench module's binding (storage is a library; bench does not build on it),
 * hence this copy. One instance per appender thread.
 */
@SuppressWarnings("restricted")
final class GlibcAioSync implements AutoCloseable {
    static final long SIZEOF = 168;
    static final long AIO_FILDES = 0;
    static final long AIO_BUF = 16;
    static final long AIO_NBYTES = 24;
    static final long SIGEV_NOTIFY = 44;
    static final long AIO_OFFSET = 128;
    static final int SIGEV_NONE = 1;
    static final int O_DSYNC = 010000;
    static final int EINPROGRESS = 115;

    /** Null when available, else why not. */
    static final String UNAVAILABLE;
    private static final MethodHandle AIO_WRITE;
    private static final MethodHandle AIO_FSYNC;
    private static final MethodHandle AIO_ERROR;
    private static final MethodHandle AIO_RETURN;
    private static final MethodHandle AIO_SUSPEND;

    static {
        Linker linker = Linker.nativeLinker();
        String why = null;
        MethodHandle write = null, fsync = null, error = null, ret = null, suspend = null;
        try {
            SymbolLookup libc = linker.defaultLookup();
            if (libc.find("aio_write").isEmpty()) {
                libc = SymbolLookup.libraryLookup("librt.so.1", Arena.global());
            }
            write = linker.downcallHandle(libc.find("aio_write").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            fsync = linker.downcallHandle(libc.find("aio_fsync").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
            error = linker.downcallHandle(libc.find("aio_error").orElseThrow(), FunctionDescriptor.of(JAVA_INT, ADDRESS));
            ret = linker.downcallHandle(libc.find("aio_return").orElseThrow(),
                    FunctionDescriptor.of(JAVA_LONG, ADDRESS));
            suspend = linker.downcallHandle(libc.find("aio_suspend").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
            if (linker.defaultLookup().find("gnu_get_libc_version").isEmpty()) {
                why = "not glibc: the aiocb layout here is glibc's";
            } else if (!"amd64".equals(System.getProperty("os.arch"))) {
                why = "the aiocb layout here is glibc's for x86-64; this is " + System.getProperty("os.arch");
            }
        } catch (Throwable t) {
            why = "glibc POSIX AIO not found: " + t;
        }
        UNAVAILABLE = why;
        AIO_WRITE = write;
        AIO_FSYNC = fsync;
        AIO_ERROR = error;
        AIO_RETURN = ret;
        AIO_SUSPEND = suspend;
    }

    private final Arena arena = Arena.ofShared();
    private final MemorySegment writeCb = arena.allocate(SIZEOF, 16);
    private final MemorySegment syncCb = arena.allocate(SIZEOF, 16);
    private final MemorySegment list = arena.allocate(ADDRESS);

    /**
     * {@code aio_write} of {@code length} bytes at {@code address} to {@code position}, then
     * {@code aio_fsync(O_DSYNC)} (glibc runs a file descriptor's requests in order, so the sync follows the write),
     * then waits in {@code aio_suspend} until both are done.
     *
     * @throws IllegalStateException with the errno if a call or a request failed, or the write was short
     */
    void writeDurable(int fd, long address, long length, long position) throws Throwable {
        writeCb.fill((byte) 0);
        writeCb.set(JAVA_INT, AIO_FILDES, fd);
        writeCb.set(ADDRESS, AIO_BUF, MemorySegment.ofAddress(address));
        writeCb.set(JAVA_LONG, AIO_NBYTES, length);
        writeCb.set(JAVA_LONG, AIO_OFFSET, position);
        writeCb.set(JAVA_INT, SIGEV_NOTIFY, SIGEV_NONE);
        syncCb.fill((byte) 0);
        syncCb.set(JAVA_INT, AIO_FILDES, fd);
        syncCb.set(JAVA_INT, SIGEV_NOTIFY, SIGEV_NONE);
        if ((int) AIO_WRITE.invokeExact(writeCb) != 0) {
            throw new IllegalStateException("aio_write failed");
        }
        if ((int) AIO_FSYNC.invokeExact(O_DSYNC, syncCb) != 0) {
            throw new IllegalStateException("aio_fsync failed");
        }
        await(syncCb);
        await(writeCb);
        long written = (long) AIO_RETURN.invokeExact(writeCb);
        long synced = (long) AIO_RETURN.invokeExact(syncCb);
        if (written != length || synced != 0) {
            throw new IllegalStateException("aio_write returned " + written + " of " + length + ", aio_fsync " + synced);
        }
    }

    private void await(MemorySegment cb) throws Throwable {
        list.set(ADDRESS, 0, cb);
        while (true) {
            int error = (int) AIO_ERROR.invokeExact(cb);
            if (error == 0) {
                return;
            }
            if (error != EINPROGRESS) {
                throw new IllegalStateException("aio request failed: errno " + error);
            }
            int ignored = (int) AIO_SUSPEND.invokeExact(list, 1, MemorySegment.NULL);
        }
    }

    @Override
    public void close() {
        arena.close();
    }
}
