package io.uringaio.posix;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** {@code aio_suspend}: which entries count, every kind of timeout, the argument errors, and interruption (EINTR). */
class AioSuspendTest extends PosixTestSupport {

    /** A pipe read that stays in progress until the test writes to p[1]. */
    private Aiocb pendingPipeRead(int[] p) {
        Aiocb r = readCb(p[0], 0, 8);
        assertEquals(0, aio_read(r));
        return r;
    }

    private Aiocb completedFileRead() {
        int fd = tempFileWith("f" + System.nanoTime(), "data");
        Aiocb r = readCb(fd, 0, 4);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        return r;
    }

    private static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void alreadyComplete_returnsZeroAtOnce_evenWhenReturnedOrCanceled() {
        Aiocb done = completedFileRead();
        Aiocb[] list = {done};
        assertEquals(0, aio_suspend(list, 1, null));
        assertEquals(0, aio_suspend(list, 1, new Timespec(0, 0)));
        assertEquals(4, aio_return(done));
        assertEquals(0, aio_suspend(list, 1, null), "an entry whose result was taken still counts as complete");

        int[] p = pipe();
        Aiocb canceled = pendingPipeRead(p);
        assertEquals(AIO_CANCELED, aio_cancel(p[0], canceled));
        assertEquals(0, aio_suspend(new Aiocb[] {canceled}, 1, null));
    }

    @Test
    void oneCompleteAmongPending_returnsZero() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        Aiocb done = completedFileRead();
        assertEquals(0, aio_suspend(new Aiocb[] {pending, null, done}, 3, null));
        assertEquals(EINPROGRESS, aio_error(pending));
    }

    @Test
    void nullEntries_areSkipped_andNentZeroOrAllNullReturnsAtOnce() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        assertEquals(0, aio_suspend(new Aiocb[0], 0, null));
        assertEquals(0, aio_suspend(new Aiocb[] {pending}, 0, null));
        assertEquals(0, aio_suspend(new Aiocb[] {null, null, null}, 3, null));
        assertEquals(-1, aio_suspend(new Aiocb[] {null, pending, null}, 3, new Timespec(0, 0)));
        assertEquals(EAGAIN, errno());
    }

    @Test
    void onlyTheFirstNentEntriesCount() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        Aiocb done = completedFileRead();
        assertEquals(-1, aio_suspend(new Aiocb[] {pending, done}, 1, new Timespec(0, 10_000_000)));
        assertEquals(EAGAIN, errno());
    }

    @Test
    void nullTimeout_waitsUntilACompletion() throws Exception {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        AtomicInteger rc = new AtomicInteger(99);
        Thread waiter = new Thread(() -> rc.set(aio_suspend(new Aiocb[] {pending}, 1, null)), "suspend-waiter");
        waiter.start();
        sleepMillis(QUIET_MILLIS);
        assertTrue(waiter.isAlive(), "aio_suspend(null timeout) returned with nothing complete");
        writeTo(p[1], "wake");
        join(waiter);
        assertEquals(0, rc.get());
        assertEquals(0, aio_error(pending));
        assertEquals(4, aio_return(pending));
    }

    @Test
    void timeoutElapses_isEAGAIN() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        long t0 = System.nanoTime();
        assertEquals(-1, aio_suspend(new Aiocb[] {pending}, 1, new Timespec(0, 100_000_000)));
        assertEquals(EAGAIN, errno());
        assertTrue(millisSince(t0) >= 90, "returned before the timeout: " + millisSince(t0) + " ms");
        assertEquals(EINPROGRESS, aio_error(pending));

        t0 = System.nanoTime();
        assertEquals(-1, aio_suspend(new Aiocb[] {pending}, 1, new Timespec(1, 0)));
        assertEquals(EAGAIN, errno());
        assertTrue(millisSince(t0) >= 990, "tv_sec ignored: " + millisSince(t0) + " ms");
    }

    @Test
    void zeroTimeout_polls() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        long t0 = System.nanoTime();
        assertEquals(-1, aio_suspend(new Aiocb[] {pending}, 1, new Timespec(0, 0)));
        assertEquals(EAGAIN, errno());
        assertTrue(millisSince(t0) < 5_000);
    }

    @Test
    void negativeTvSec_isEAGAINAtOnce() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        for (Timespec ts : new Timespec[] {new Timespec(-1, 0), new Timespec(-1, 999_999_999),
                new Timespec(Long.MIN_VALUE, 0)}) {
            long t0 = System.nanoTime();
            assertEquals(-1, aio_suspend(new Aiocb[] {pending}, 1, ts), ts.toString());
            assertEquals(EAGAIN, errno(), ts.toString());
            assertTrue(millisSince(t0) < 5_000);
        }
    }

    @Test
    void hugeTimeout_doesNotOverflowIntoAnImmediateReturn() throws Exception {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        AtomicInteger rc = new AtomicInteger(99);
        Thread waiter = new Thread(() -> rc.set(aio_suspend(new Aiocb[] {pending}, 1,
                new Timespec(Long.MAX_VALUE, 999_999_999))), "suspend-waiter");
        waiter.start();
        sleepMillis(QUIET_MILLIS);
        assertTrue(waiter.isAlive(), "returned " + rc.get() + " with nothing complete");
        writeTo(p[1], "x");
        join(waiter);
        assertEquals(0, rc.get());
    }

    @Test
    void badTvNsec_isEINVAL() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        for (Timespec ts : new Timespec[] {new Timespec(0, -1), new Timespec(0, 1_000_000_000),
                new Timespec(1, Long.MAX_VALUE)}) {
            assertEquals(-1, aio_suspend(new Aiocb[] {pending}, 1, ts), ts.toString());
            assertEquals(EINVAL, errno(), ts.toString());
        }
    }

    @Test
    void badNent_isEINVAL() {
        Aiocb done = completedFileRead();
        assertEquals(-1, aio_suspend(new Aiocb[] {done}, -1, null));
        assertEquals(EINVAL, errno());
        assertEquals(-1, aio_suspend(new Aiocb[] {done}, 2, null));
        assertEquals(EINVAL, errno());
        assertEquals(-1, aio_suspend(new Aiocb[0], 1, new Timespec(0, 0)));
        assertEquals(EINVAL, errno());
    }

    @Test
    void interrupt_isEINTR_statusCleared_nothingCanceled() throws Exception {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        AtomicInteger rc = new AtomicInteger(99);
        AtomicInteger err = new AtomicInteger();
        AtomicInteger stillInterrupted = new AtomicInteger(-1);
        Thread waiter = new Thread(() -> {
            rc.set(aio_suspend(new Aiocb[] {pending}, 1, null));
            err.set(errno());
            stillInterrupted.set(Thread.currentThread().isInterrupted() ? 1 : 0);
        }, "suspend-waiter");
        waiter.start();
        interruptWhenParked(waiter);
        join(waiter);
        assertEquals(-1, rc.get());
        assertEquals(EINTR, err.get());
        assertEquals(0, stillInterrupted.get(), "interrupt status must be cleared");
        assertEquals(EINPROGRESS, aio_error(pending), "EINTR canceled nothing");
        writeTo(p[1], "later");
        awaitDone(pending);
        assertEquals(5, aio_return(pending));
    }

    @Test
    void interruptPendingAtEntry_isEINTR_withATimeoutToo() {
        int[] p = pipe();
        Aiocb pending = pendingPipeRead(p);
        Thread.currentThread().interrupt();
        int rc;
        try {
            rc = aio_suspend(new Aiocb[] {pending}, 1, new Timespec(5, 0));
        } finally {
            boolean was = Thread.interrupted();
            assertFalse(was, "interrupt status must be cleared");
        }
        assertEquals(-1, rc);
        assertEquals(EINTR, errno());
        assertEquals(EINPROGRESS, aio_error(pending));
    }
}
