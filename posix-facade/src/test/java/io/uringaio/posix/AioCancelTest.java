package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.AIO_NOTCANCELED;
import static io.uringaio.posix.Errno.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * {@code aio_cancel} on a private context: in progress (a pipe read), queued in the facade, finished and never
 * submitted requests; all of one fildes; the argument errors; ECANCELED / -1 and exactly one notification.
 */
class AioCancelTest extends PrivateContextSupport {

    private final AtomicInteger notified = new AtomicInteger();
    private final ConcurrentLinkedQueue<Integer> statusInNotification = new ConcurrentLinkedQueue<>();

    /** A SIGEV_THREAD event that counts and records the status it sees. */
    private SigEvent counting(Aiocb cb) {
        return SigEvent.thread(v -> {
            statusInNotification.add(ctx.aio_error(cb));
            notified.incrementAndGet();
        }, cb);
    }

    private Aiocb pipeRead(int fd) {
        Aiocb r = readCb(fd, 0, 16);
        r.aio_sigevent = counting(r);
        assertEquals(0, ctx.aio_read(r));
        return r;
    }

    private void assertCanceled(Aiocb cb) {
        awaitDone(ctx, cb);
        assertEquals(ECANCELED, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertEquals(EINVAL, ctx.aio_error(cb));
    }

    private void assertNotificationsExactly(int n) {
        awaitTrue(n + " notifications", () -> notified.get() >= n);
        sleepMillis(QUIET_MILLIS);
        assertEquals(n, notified.get(), "notifications");
    }

    @Test
    void inProgressPipeRead_isCanceled() {
        int[] p = pipe();
        Aiocb r = pipeRead(p[0]);
        assertStaysInProgress(ctx, r);
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], r));
        assertNotificationsExactly(1); // before aio_return, which would take the status the notification reads
        assertEquals(ECANCELED, statusInNotification.peek(), "status inside the notification is final");
        assertCanceled(r);

        // The canceled read consumed nothing: the next read gets what is written now.
        writeTo(p[1], "after");
        Aiocb r2 = readCb(p[0], 0, 16);
        assertEquals(0, ctx.aio_read(r2));
        awaitDone(ctx, r2);
        assertEquals(5, ctx.aio_return(r2));
        assertEquals("after", text(r2.aio_buf, 5));

        // And the canceled block can be submitted again.
        writeTo(p[1], "again");
        assertEquals(0, ctx.aio_read(r));
        awaitDone(ctx, r);
        assertEquals(5, ctx.aio_return(r));
        assertNotificationsExactly(2);
    }

    @Test
    void cancelTwice_secondIsAllDone() {
        int[] p = pipe();
        Aiocb r = pipeRead(p[0]);
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], r));
        awaitDone(ctx, r);
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(p[0], r));
        assertEquals(ECANCELED, ctx.aio_error(r), "a second cancel changes nothing");
        assertEquals(-1, ctx.aio_return(r));
        assertNotificationsExactly(1);
    }

    @Test
    void finishedRequest_isAllDone_andUntouched() {
        int fd = tempFileWith("f", "finished");
        Aiocb r = readCb(fd, 0, 8);
        r.aio_sigevent = counting(r);
        assertEquals(0, ctx.aio_read(r));
        awaitDone(ctx, r);
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, r));
        assertEquals(0, ctx.aio_error(r));
        assertEquals(8, ctx.aio_return(r));
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, r), "after aio_return too");
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, null));
        assertNotificationsExactly(1);
    }

    @Test
    void neverSubmitted_isAllDone() {
        int fd = openTemp("f", 0);
        Aiocb fresh = new Aiocb();
        fresh.aio_fildes = fd;
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, fresh));
        assertEquals(EINVAL, ctx.aio_error(fresh));
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, null), "nothing outstanding on a fresh fd");
    }

    @Test
    void nullAiocbp_cancelsEveryOutstandingRequestOnThatFildesOnly() {
        int[] p = pipe();
        int[] q = pipe();
        Aiocb a = pipeRead(p[0]);
        Aiocb b = pipeRead(p[0]);
        Aiocb c = pipeRead(p[0]);
        Aiocb other = pipeRead(q[0]);
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], null));
        assertCanceled(a);
        assertCanceled(b);
        assertCanceled(c);
        assertStaysInProgress(ctx, other);
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(p[0], null));
        assertNotificationsExactly(3);

        writeTo(q[1], "q");
        awaitDone(ctx, other);
        assertEquals(1, ctx.aio_return(other));
        assertNotificationsExactly(4);
    }

    @Test
    void cancelOne_leavesTheOthersOnTheSameFildes() {
        int[] p = pipe();
        Aiocb a = pipeRead(p[0]);
        Aiocb b = pipeRead(p[0]);
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], b));
        assertCanceled(b);
        assertStaysInProgress(ctx, a);
        writeTo(p[1], "for-a");
        awaitDone(ctx, a);
        assertEquals(5, ctx.aio_return(a));
        assertEquals("for-a", text(a.aio_buf, 5));
    }

    @Test
    void fildesNotOpen_isEBADF() {
        for (int fd : new int[] {-1, 1_000_000}) {
            assertEquals(-1, ctx.aio_cancel(fd, null));
            assertEquals(EBADF, ctx.errno());
            Aiocb cb = new Aiocb();
            cb.aio_fildes = fd;
            assertEquals(-1, ctx.aio_cancel(fd, cb));
            assertEquals(EBADF, ctx.errno());
        }
    }

    @Test
    void aiocbOnAnotherFildes_isEINVAL_andNotCanceled() {
        int[] p = pipe();
        int fd = openTemp("f", 0);
        Aiocb r = pipeRead(p[0]);
        assertEquals(-1, ctx.aio_cancel(fd, r));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_cancel(p[1], r));
        assertEquals(EINVAL, ctx.errno());
        assertStaysInProgress(ctx, r);
        assertEquals(0, notified.get());
        writeTo(p[1], "ok");
        awaitDone(ctx, r);
        assertEquals(2, ctx.aio_return(r));
    }

    @Test
    void cancelRacingWithFileWrites_everyOutcomeIsConsistent() throws Exception {
        // Like glibc's tst-aio: cancel what may already run or be done; each request must end in exactly one
        // coherent state, and notify exactly once.
        int fd = openTemp("f", 0);
        int n = 32;
        Aiocb[] w = new Aiocb[n];
        String chunk = repeat('w', 64 * 1024);
        for (int i = 0; i < n; i++) {
            w[i] = writeCb(fd, (long) i * chunk.length(), chunk);
            w[i].aio_sigevent = counting(w[i]);
            assertEquals(0, ctx.aio_write(w[i]));
        }
        int rc = ctx.aio_cancel(fd, null);
        assertTrue(rc == AIO_CANCELED || rc == AIO_NOTCANCELED || rc == AIO_ALLDONE, "rc " + rc);
        awaitDone(ctx, w);
        assertNotificationsExactly(n); // before aio_return, which would take the status the notifications read
        int canceled = 0;
        int completed = 0;
        for (Aiocb cb : w) {
            int e = ctx.aio_error(cb);
            long ret = ctx.aio_return(cb);
            if (e == ECANCELED) {
                assertEquals(-1, ret);
                canceled++;
            } else {
                assertEquals(0, e);
                assertEquals(chunk.length(), ret, "not canceled: completes normally");
                completed++;
            }
        }
        if (rc == AIO_ALLDONE) {
            assertEquals(0, canceled, "AIO_ALLDONE but some were canceled");
        }
        if (rc == AIO_NOTCANCELED) {
            assertTrue(completed > 0, "AIO_NOTCANCELED but every request was canceled");
        }
        if (rc == AIO_CANCELED) {
            assertTrue(canceled > 0, "AIO_CANCELED but nothing was canceled");
        }
        for (Integer s : statusInNotification) {
            assertTrue(s == 0 || s == ECANCELED, "status inside a notification: " + s);
        }
    }

    @Test
    void queuedRequest_isCanceled() {
        // aio_num = 1: with the pipe read holding the only slot, the next request waits in the facade.
        AioInit init = new AioInit();
        init.aio_threads = 1;
        init.aio_num = 1;
        init.aio_idle_time = 1;
        try (AioContext small = new AioContext()) {
            small.aio_init(init);
            int[] p = pipe();
            int[] q = pipe(); // data ready, but a pipe read needs the kernel (a page-cached file read would not)
            writeTo(q[1], "queued");
            int fd = q[0];
            Aiocb blocker = readCb(p[0], 0, 8);
            assertEquals(0, small.aio_read(blocker));
            Aiocb queued = readCb(fd, 0, 6);
            AtomicInteger queuedNotified = new AtomicInteger();
            queued.aio_sigevent = SigEvent.thread(v -> queuedNotified.incrementAndGet(), null);
            assertEquals(0, small.aio_read(queued));
            assumeTrue(small.aio_suspend(new Aiocb[] {queued}, 1, new Timespec(0, QUIET_MILLIS * 1_000_000L)) == -1,
                    "aio_num=1 did not hold the second request back: covered by AioInitTest");
            assertEquals(AIO_CANCELED, small.aio_cancel(fd, queued));
            awaitDone(small, queued);
            assertEquals(ECANCELED, small.aio_error(queued));
            assertEquals(-1, small.aio_return(queued));
            awaitTrue("queued notification", () -> queuedNotified.get() == 1);

            assertEquals(AIO_CANCELED, small.aio_cancel(p[0], blocker));
            awaitDone(small, blocker);
            assertEquals(ECANCELED, small.aio_error(blocker));
            sleepMillis(QUIET_MILLIS);
            assertEquals(1, queuedNotified.get());
        }
    }

    @Test
    void closeOfAContext_cancelsWhatIsOutstanding() {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 8);
        AtomicInteger seen = new AtomicInteger();
        AtomicInteger status = new AtomicInteger(-2);
        AioContext other = new AioContext();
        r.aio_sigevent = SigEvent.thread(v -> {
            status.set(other.aio_error(r));
            seen.incrementAndGet();
        }, null);
        assertEquals(0, other.aio_read(r));
        other.close(); // cancels what is outstanding, waits for it
        awaitTrue("notification of the canceled read", () -> seen.get() == 1);
        assertEquals(ECANCELED, status.get(), "status seen inside the notification");
    }
}
