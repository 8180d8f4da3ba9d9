package io.uringaio.posix;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.*;
import static io.uringaio.posix.Signals.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * Submission errors reported synchronously (-1 with errno): each leaves its errno as the request's status, fires no
 * notification and starts nothing. And EBUSY for an in-flight {@code Aiocb}, which changes nothing.
 */
class AioSubmitErrorsTest extends PosixTestSupport {

    private final AtomicInteger notified = new AtomicInteger();

    /** A SIGEV_THREAD event that counts: a synchronous rejection must never fire it. */
    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), "v");
    }

    /** The rule for every synchronous rejection except EBUSY: status = errno, aio_return -1 once, no notification. */
    private void assertRejected(int expectedErrno, int rc, Aiocb cb) {
        assertEquals(-1, rc);
        assertEquals(expectedErrno, errno());
        assertEquals(expectedErrno, aio_error(cb));
        assertEquals(-1, aio_return(cb));
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, notified.get(), "a call that returned -1 fired a notification");
    }

    @Test
    void reqprioOutOfRange_isEINVAL_andBecomesTheStatus() throws Exception {
        int fd = openTemp("f", 0);
        for (int prio : new int[] {-1, AIO_PRIO_DELTA_MAX + 1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            Aiocb w = writeCb(fd, 0, "never");
            w.aio_reqprio = prio;
            w.aio_sigevent = counting();
            assertRejected(EINVAL, aio_write(w), w);
            Aiocb r = readCb(fd, 0, 4);
            r.aio_reqprio = prio;
            r.aio_sigevent = counting();
            assertRejected(EINVAL, aio_read(r), r);
        }
        assertEquals("", fileContent("f"), "a rejected write started nothing");
    }

    @Test
    void reqprio_zeroThroughDeltaMax_isAccepted() {
        assertEquals(20, AIO_PRIO_DELTA_MAX);
        int fd = openTemp("f", 0);
        Aiocb[] all = new Aiocb[AIO_PRIO_DELTA_MAX + 1];
        for (int prio = 0; prio <= AIO_PRIO_DELTA_MAX; prio++) {
            Aiocb w = writeCb(fd, prio, "" + (char) ('a' + prio));
            w.aio_reqprio = prio;
            assertEquals(0, aio_write(w), "prio " + prio);
            all[prio] = w;
        }
        awaitDone(all);
        for (Aiocb w : all) {
            assertEquals(1, aio_return(w));
        }
    }

    @Test
    void nbytesNegativeOrBeyondCapacity_isEINVAL() throws Exception {
        int fd = openTemp("f", 0);
        for (long n : new long[] {-1, 11, Long.MIN_VALUE, Long.MAX_VALUE}) {
            Aiocb w = aiocb(fd, 0, ByteBuffer.allocateDirect(10), n);
            w.aio_sigevent = counting();
            assertRejected(EINVAL, aio_write(w), w);
            Aiocb r = aiocb(fd, 0, ByteBuffer.allocate(10), n);
            r.aio_sigevent = counting();
            assertRejected(EINVAL, aio_read(r), r);
        }
        // Exactly the capacity is fine, whatever the limit says.
        ByteBuffer b = bytes("0123456789");
        b.limit(2);
        Aiocb w = aiocb(fd, 0, b, 10);
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(10, aio_return(w));
        assertEquals("0123456789", fileContent("f"));
    }

    @Test
    void nullBufferWithBytes_isEFAULT() {
        int fd = openTemp("f", 0);
        Aiocb r = aiocb(fd, 0, null, 1);
        r.aio_sigevent = counting();
        assertRejected(EFAULT, aio_read(r), r);
        Aiocb w = aiocb(fd, 0, null, 4096);
        w.aio_sigevent = counting();
        assertRejected(EFAULT, aio_write(w), w);
    }

    @Test
    void badSigevNotify_isEINVAL() {
        int fd = openTemp("f", 0);
        for (int notify : new int[] {-1, 3, 4, 99}) {
            Aiocb r = readCb(fd, 0, 4);
            SigEvent sev = new SigEvent();
            sev.sigev_notify = notify;
            sev.sigev_signo = SIGUSR1;
            sev.sigev_notify_function = v -> notified.incrementAndGet();
            r.aio_sigevent = sev;
            assertRejected(EINVAL, aio_read(r), r);
        }
    }

    @Test
    void sigevSignal_signoOutOfRange_isEINVAL() {
        int fd = openTemp("f", 0);
        for (int signo : new int[] {0, -1, SIGRTMAX + 1, 1000}) {
            Aiocb r = readCb(fd, 0, 4);
            r.aio_sigevent = SigEvent.signal(signo, "x");
            assertRejected(EINVAL, aio_read(r), r);
            Aiocb w = writeCb(fd, 0, "x");
            w.aio_sigevent = SigEvent.signal(signo, "x");
            assertRejected(EINVAL, aio_write(w), w);
        }
        // The bounds themselves are fine (no handler installed: the event is dropped, never fatal).
        for (int signo : new int[] {1, SIGRTMAX}) {
            Aiocb r = readCb(fd, 0, 4);
            r.aio_sigevent = SigEvent.signal(signo, "x");
            assertEquals(0, aio_read(r), "signo " + signo);
            awaitDone(r);
            assertEquals(0, aio_return(r));
        }
    }

    @Test
    void sigevThread_withoutFunction_isEINVAL() {
        int fd = openTemp("f", 0);
        Aiocb r = readCb(fd, 0, 4);
        r.aio_sigevent = SigEvent.thread(null, "x");
        assertRejected(EINVAL, aio_read(r), r);
        Aiocb r2 = readCb(fd, 0, 4);
        SigEvent sev = new SigEvent();
        sev.sigev_notify = SIGEV_THREAD;
        r2.aio_sigevent = sev;
        assertRejected(EINVAL, aio_read(r2), r2);
    }

    @Test
    void badSigevent_onFsync_isEINVAL() {
        int fd = openTemp("f", 0);
        Aiocb s = new Aiocb();
        s.aio_fildes = fd;
        s.aio_sigevent = SigEvent.signal(0, null);
        assertRejected(EINVAL, aio_fsync(O_SYNC, s), s);
    }

    @Test
    void fsync_badOp_isEINVAL() {
        int fd = openTemp("f", 0);
        for (int op : new int[] {0, O_RDWR, O_APPEND, O_SYNC | O_APPEND, -1, 12345}) {
            Aiocb s = new Aiocb();
            s.aio_fildes = fd;
            s.aio_sigevent = counting();
            assertRejected(EINVAL, aio_fsync(op, s), s);
        }
    }

    @Test
    void fsync_onAFildesNotOpen_isEBADF() {
        for (int fd : new int[] {-1, 1_000_000}) {
            Aiocb s = new Aiocb();
            s.aio_fildes = fd;
            s.aio_sigevent = counting();
            assertRejected(EBADF, aio_fsync(O_SYNC, s), s);
        }
        int fd = openTemp("closed", 0);
        closeNow(fd);
        Aiocb s = new Aiocb();
        s.aio_fildes = fd; // not reused by us; another thread of this JVM could reuse the number, hence -1 above too
        assertEquals(-1, aio_fsync(O_DSYNC, s));
    }

    @Test
    void inFlightAiocb_isEBUSY_andNothingChanges() {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 16);
        r.aio_sigevent = counting();
        assertEquals(0, aio_read(r));

        assertEquals(-1, aio_read(r));
        assertEquals(EBUSY, errno());
        assertEquals(EINPROGRESS, aio_error(r));

        // The same control block through the other entry points.
        assertEquals(-1, aio_write(r));
        assertEquals(EBUSY, errno());
        assertEquals(-1, aio_fsync(O_SYNC, r));
        assertEquals(EBUSY, errno());

        assertStaysInProgress(null, r);
        assertEquals(0, notified.get());

        writeTo(p[1], "payload");
        awaitDone(r);
        assertEquals(0, aio_error(r));
        assertEquals(7, aio_return(r));
        assertEquals("payload", text(r.aio_buf, 7));
        awaitTrue("one notification", () -> notified.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, notified.get(), "EBUSY must not add a notification");
    }

    @Test
    void afterRejection_theSameAiocbCanBeFixedAndSubmitted() {
        int fd = tempFileWith("f", "abcdef");
        Aiocb r = readCb(fd, 0, 6);
        r.aio_reqprio = -5;
        assertEquals(-1, aio_read(r));
        assertEquals(EINVAL, aio_error(r));
        r.aio_reqprio = 0;
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(0, aio_error(r));
        assertEquals(6, aio_return(r));
    }
}
