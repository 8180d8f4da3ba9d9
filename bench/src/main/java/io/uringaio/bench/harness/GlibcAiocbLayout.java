package io.uringaio.bench.harness;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.posix.Fcntl;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

/**
 * glibc's {@code struct aiocb} on x86-64 (from {@code <aio.h>}, glibc 2.36), with 64-bit {@code off_t}: on x86-64
 * {@code off_t} is 64 bits with or without {@code _FILE_OFFSET_BITS=64}, so {@code struct aiocb} and
 * {@code struct aiocb64} are the same and {@code aio_read64} is an alias of {@code aio_read}.
 *
 * <pre>
 * struct aiocb {                         offset
 *   int aio_fildes;                        0
 *   int aio_lio_opcode;                    4
 *   int aio_reqprio;                       8
 *   volatile void *aio_buf;               16
 *   size_t aio_nbytes;                    24
 *   struct sigevent aio_sigevent;         32   (64 bytes: sigev_value @32, sigev_signo @40, sigev_notify @44)
 *   struct aiocb *__next_prio;            96   (glibc internals from here ...)
 *   int __abs_prio;                      104
 *   int __policy;                        108
 *   int __error_code;                    112
 *   __ssize_t __return_value;            120
 *   off_t aio_offset;                    128
 *   char __glibc_reserved[32];           136
 * };                                     sizeof 168
 * </pre>
 * Checked by {@code GlibcAiocbLayoutTest}, against these constants and against a C program compiled with gcc.
 */
public final class GlibcAiocbLayout {
    public static final long SIZEOF = 168;
    public static final long AIO_FILDES = 0;
    public static final long AIO_LIO_OPCODE = 4;
    public static final long AIO_REQPRIO = 8;
    public static final long AIO_BUF = 16;
    public static final long AIO_NBYTES = 24;
    public static final long AIO_SIGEVENT = 32;
    public static final long SIGEV_VALUE = 32;
    public static final long SIGEV_SIGNO = 40;
    public static final long SIGEV_NOTIFY = 44;
    public static final long AIO_OFFSET = 128;
    /** {@code sizeof(struct sigevent)} on Linux: a 64-byte union-padded struct. */
    public static final long SIGEVENT_SIZEOF = 64;

    /** {@code SIGEV_NONE}: no notification; completion is polled with {@code aio_error}/{@code aio_suspend}. */
    public static final int SIGEV_NONE = 1;
    /** {@code O_DSYNC} on x86-64 Linux: {@code aio_fsync}'s "data only" operation (the facade's, one table). */
    public static final int O_DSYNC = Fcntl.O_DSYNC;
    /** {@code EINPROGRESS} on Linux. */
    public static final int EINPROGRESS = ErrnoTable.EINPROGRESS;

    /** {@code struct sigevent}: {@code union sigval} (8), {@code sigev_signo}, {@code sigev_notify}, padding. */
    public static final StructLayout SIGEVENT = MemoryLayout.structLayout(
            JAVA_LONG.withName("sigev_value"),
            JAVA_INT.withName("sigev_signo"),
            JAVA_INT.withName("sigev_notify"),
            MemoryLayout.paddingLayout(48)).withName("sigevent");

    public static final StructLayout AIOCB = MemoryLayout.structLayout(
            JAVA_INT.withName("aio_fildes"),
            JAVA_INT.withName("aio_lio_opcode"),
            JAVA_INT.withName("aio_reqprio"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("aio_buf"),
            JAVA_LONG.withName("aio_nbytes"),
            SIGEVENT.withName("aio_sigevent"),
            ADDRESS.withName("__next_prio"),
            JAVA_INT.withName("__abs_prio"),
            JAVA_INT.withName("__policy"),
            JAVA_INT.withName("__error_code"),
            MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("__return_value"),
            JAVA_LONG.withName("aio_offset"),
            MemoryLayout.sequenceLayout(32, JAVA_BYTE).withName("__glibc_reserved")).withName("aiocb");

    /** The offset of a top-level field of {@link #AIOCB}. */
    public static long offsetOf(String field) {
        return AIOCB.byteOffset(MemoryLayout.PathElement.groupElement(field));
    }

    private GlibcAiocbLayout() {
    }
}
