package io.uringaio.posix;

import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.EBADF;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * A descriptor number of any value, huge or negative, is an asynchronous EBADF on read and write (and a synchronous
 * one for {@code aio_fsync} and {@code aio_cancel}), as the spec says: never an exception out of the call, and the
 * per-descriptor bookkeeping is not sized by the number (issue 11 item 6: fildes 100,000,000 kept ~320 MiB,
 * 400,000,000 threw OutOfMemoryError, Integer.MAX_VALUE threw ArrayIndexOutOfBoundsException).
 */
class LargeFildesTest extends PrivateContextSupport {

    private static final int[] BAD_FILDES = {100_000_000, 400_000_000, Integer.MAX_VALUE, Integer.MAX_VALUE - 1,
            1 << 20, -1, -2, -100, Integer.MIN_VALUE};

    private final AtomicInteger notified = new AtomicInteger();

    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), "v");
    }

    @Test
    void hugeAndNegativeFildes_areAsyncEBADF_notifiedOnce_andRetainNothing() throws Exception {
        // A bystander in flight on a real pipe all along: it must complete normally afterwards.
        int[] p = pipe();
        Aiocb bystander = readCb(p[0], 0, 8);
        assertEquals(0, ctx.aio_read(bystander));
        int fd = tempFileWith("f", "content!");

        int submitted = 0;
        for (int bad : BAD_FILDES) {
            Aiocb r = readCb(bad, 0, 8);
            r.aio_sigevent = counting();
            Aiocb w = writeCb(bad, 0, "xyz");
            w.aio_sigevent = counting();
            Aiocb atNegativeOffset = readCb(bad, -1, 8); // the offset check must not touch the descriptor's state
            atNegativeOffset.aio_sigevent = counting();
            assertEquals(0, ctx.aio_read(r), "aio_read on fildes " + bad);
            assertEquals(0, ctx.aio_write(w), "aio_write on fildes " + bad);
            assertEquals(0, ctx.aio_read(atNegativeOffset), "aio_read at offset -1 on fildes " + bad);
            Aiocb lr = lioCb(LIO_READ, readCb(bad, 0, 4));
            lr.aio_sigevent = counting();
            Aiocb lw = lioCb(LIO_WRITE, writeCb(bad, 0, "ab"));
            lw.aio_sigevent = counting();
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {lr, lw}, 2, null));
            submitted += 5;
            awaitDone(ctx, r, w, atNegativeOffset, lr, lw);
            for (Aiocb cb : new Aiocb[] {r, w, atNegativeOffset, lr, lw}) {
                assertEquals(EBADF, ctx.aio_error(cb), "status on fildes " + bad);
                assertEquals(-1, ctx.aio_return(cb));
            }

            Aiocb s = new Aiocb();
            s.aio_fildes = bad;
            assertEquals(-1, ctx.aio_fsync(O_SYNC, s), "aio_fsync on fildes " + bad);
            assertEquals(EBADF, ctx.errno());
            assertEquals(-1, ctx.aio_cancel(bad, null), "aio_cancel on fildes " + bad);
            assertEquals(EBADF, ctx.errno());
        }
        int expected = submitted;
        awaitTrue("one notification each", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get(), "notifications: exactly one per request");

        // Nothing is kept for the numbers once their requests are done.
        assertEquals(0, ctx.sparseFdStates(), "per-descriptor states kept for descriptors above the dense range");
        assertTrue(ctx.denseFdSlots() <= AioContext.DENSE_FD_LIMIT, "dense table: " + ctx.denseFdSlots());

        // The bystander and a real descriptor still work.
        assertEquals(Errno.EINPROGRESS, ctx.aio_error(bystander));
        writeTo(p[1], "bystand");
        awaitDone(ctx, bystander);
        assertEquals(7, ctx.aio_return(bystander));
        Aiocb ok = readCb(fd, 0, 8);
        assertEquals(0, ctx.aio_read(ok));
        awaitDone(ctx, ok);
        assertEquals(8, ctx.aio_return(ok));
        assertEquals("content!", text(ok.aio_buf, 8));
    }

    /**
     * A real descriptor numbered above the dense range goes through the map: its requests are ordered like any, and
     * its state is dropped once idle. A context with a small dense range (64) and a descriptor duplicated above it.
     */
    @Test
    void aDescriptorAboveTheDenseRange_isOrderedAndThenForgotten() throws Exception {
        int denseLimit = 64;
        int fd = openTemp("log", Fcntl.O_APPEND);
        int high = io.uringaio.engine.internal.sys.Libc.fcntl(fd, F_DUPFD, denseLimit + 17);
        assertTrue(high >= denseLimit, "F_DUPFD: " + high);
        try (AioContext small = new AioContext(new io.uringaio.engine.RingEngineConfig(), denseLimit)) {
            int n = 50;
            Aiocb[] w = new Aiocb[n];
            StringBuilder expected = new StringBuilder();
            for (int i = 0; i < n; i++) {
                String rec = String.format("%02d,", i);
                expected.append(rec);
                w[i] = writeCb(high, 0, rec);
                assertEquals(0, small.aio_write(w[i]));
            }
            awaitDone(small, w);
            for (Aiocb cb : w) {
                assertEquals(3, small.aio_return(cb));
            }
            assertEquals(expected.toString(), fileContent("log"));
            assertEquals(0, small.sparseFdStates(), "the state of an idle high descriptor is dropped");
            assertTrue(small.denseFdSlots() <= denseLimit);
            // Cancel-all on it finds nothing once idle; in flight, it finds its request.
            assertEquals(Aio.AIO_ALLDONE, small.aio_cancel(high, null));
        } finally {
            Unistd.close(high);
        }
    }

    /** fcntl's F_DUPFD: the lowest free descriptor at or above the argument. */
    private static final int F_DUPFD = 0;
}
