package io.uringaio.posix;

/**
 * {@code <aio.h>}: POSIX asynchronous I/O on the io_uring engine, with C's names, types and return conventions. Each
 * function acts on one process-wide {@link AioContext} that starts on first use, as glibc's does; functions return -1
 * and set the calling thread's {@link #errno()} on failure.
 *
 * <p>Semantics follow POSIX.1-2017 and, where it leaves a choice, the strict reading pinned in
 * {@code spec/posix-facade.md}: for example an {@code Aiocb} in flight cannot be resubmitted (EBUSY), {@code aio_fsync}
 * waits for every earlier request on its descriptor, and {@code lio_listio} hands its whole list to the kernel in one
 * batch.
 */
public final class Aio {
    private Aio() {
    }

    /** {@link #aio_cancel}: every request asked for was canceled. */
    public static final int AIO_CANCELED = 0;
    /** {@link #aio_cancel}: at least one request asked for could not be canceled (it is in progress). */
    public static final int AIO_NOTCANCELED = 1;
    /** {@link #aio_cancel}: every request asked for had already completed. */
    public static final int AIO_ALLDONE = 2;
    /** {@link Aiocb#aio_lio_opcode}: read. */
    public static final int LIO_READ = 0;
    /** {@link Aiocb#aio_lio_opcode}: write. */
    public static final int LIO_WRITE = 1;
    /** {@link Aiocb#aio_lio_opcode}: no operation; the entry is skipped. */
    public static final int LIO_NOP = 2;
    /** {@link #lio_listio} mode: return once every request of the list completed. */
    public static final int LIO_WAIT = 0;
    /** {@link #lio_listio} mode: return once the list is queued; notify through the {@link SigEvent}. */
    public static final int LIO_NOWAIT = 1;
    /** The largest {@link Aiocb#aio_reqprio}: how far a request may lower its priority. */
    public static final int AIO_PRIO_DELTA_MAX = 20;
    /** The most entries one {@link #lio_listio} call takes. */
    public static final int AIO_LISTIO_MAX = 1024;
    /** The most requests outstanding at once that the facade is sized for; more wait in the engine's queue. */
    public static final int AIO_MAX = 65536;

    private static final class Holder {
        static final AioContext CONTEXT = new AioContext();
    }

    /** The process-wide context behind the static functions. */
    public static AioContext context() {
        return Holder.CONTEXT;
    }

    /**
     * Queues a read of {@code aio_nbytes} bytes at {@code aio_offset} of {@code aio_fildes} into
     * {@code aio_buf[0, aio_nbytes)}.
     *
     * @return 0 once queued; -1 with errno EINVAL (bad {@code aio_reqprio}, {@code aio_nbytes} or sigevent), EFAULT
     *         (null or read-only buffer), EBUSY (this {@code Aiocb} is in flight, or being submitted by another
     *         thread: of racing calls exactly one proceeds) or EAGAIN (context closed, or no direct memory for a heap
     *         buffer's bounce copy). A bad descriptor (of any value, negative too), a negative offset and kernel
     *         errors are reported asynchronously by {@link #aio_error}. No exception leaves this function.
     */
    public static int aio_read(Aiocb aiocbp) {
        return Holder.CONTEXT.aio_read(aiocbp);
    }

    /**
     * Queues a write of {@code aio_buf[0, aio_nbytes)}; as {@link #aio_read}. O_APPEND writes land in call order, as do
     * writes to a pipe or socket (whatever offsets they name: it ignores them).
     */
    public static int aio_write(Aiocb aiocbp) {
        return Holder.CONTEXT.aio_write(aiocbp);
    }

    /**
     * Queues an fsync ({@code O_SYNC}) or fdatasync ({@code O_DSYNC}) of {@code aio_fildes} that starts after every
     * request submitted before it on that descriptor has completed. Reads only {@code aio_fildes} and
     * {@code aio_sigevent}.
     *
     * @return 0, or -1 with errno EINVAL (bad op or sigevent), EBADF (descriptor not open), EBUSY
     */
    public static int aio_fsync(int op, Aiocb aiocbp) {
        return Holder.CONTEXT.aio_fsync(op, aiocbp);
    }

    /** EINPROGRESS, 0, the request's errno, ECANCELED; EINVAL for a request never submitted or already returned. */
    public static int aio_error(Aiocb aiocbp) {
        return Holder.CONTEXT.aio_error(aiocbp);
    }

    /** The transfer count (0 for fsync, -1 for a failed request), once; then -1/EINVAL. -1/EINPROGRESS while running. */
    public static long aio_return(Aiocb aiocbp) {
        return Holder.CONTEXT.aio_return(aiocbp);
    }

    /**
     * Waits until one of {@code list[0, nent)} is complete (null entries skipped), at most {@code timeout} (null:
     * forever). 0, or -1 with EAGAIN (timed out), EINTR ({@code Thread.interrupt()}: interrupt status cleared, nothing
     * canceled), EINVAL (bad nent or tv_nsec). A call that need not wait (an entry complete, none listed) returns 0
     * whatever the timeout holds, as POSIX has it. Entries may belong to any context.
     */
    public static int aio_suspend(Aiocb[] list, int nent, Timespec timeout) {
        return Holder.CONTEXT.aio_suspend(list, nent, timeout);
    }

    /**
     * Cancels {@code aiocbp}, or every outstanding request on {@code fildes} when null: AIO_CANCELED, AIO_NOTCANCELED
     * (one was running and could not be), AIO_ALLDONE (none outstanding); -1 with EBADF or EINVAL. An
     * {@code aiocbp} that another context runs is canceled by that context.
     */
    public static int aio_cancel(int fildes, Aiocb aiocbp) {
        return Holder.CONTEXT.aio_cancel(fildes, aiocbp);
    }

    /**
     * Submits {@code list[0, nent)} (LIO_READ and LIO_WRITE entries; null and LIO_NOP skipped) in one kernel batch.
     * LIO_WAIT returns when all completed: 0, or -1/EIO if one failed, -1/EINTR on interrupt. LIO_NOWAIT returns once
     * queued and notifies {@code sig} when all completed (at once for an empty list).
     */
    public static int lio_listio(int mode, Aiocb[] list, int nent, SigEvent sig) {
        return Holder.CONTEXT.lio_listio(mode, list, nent, sig);
    }

    /** glibc's {@code aio_init}: tunes the process-wide context; effective only before its first request. */
    public static void aio_init(AioInit init) {
        Holder.CONTEXT.aio_init(init);
    }

    /** The calling thread's errno, set by the last facade function that returned -1 on this thread. */
    public static int errno() {
        return Errno.get();
    }
}
