package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.AIO_LISTIO_MAX;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.O_DSYNC;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static io.uringaio.posix.Signals.SIGEV_SIGNAL;
import static io.uringaio.posix.Signals.SIGEV_THREAD;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every facade function with arguments at and past their boundaries, on a private context (both backends: the pom runs
 * the suite twice). Each case asserts the spec's answer (a return value and errno, or an asynchronous status) and that
 * nothing else changed: the file's content is the same, a request in flight all along (the bystander, a pipe read)
 * completes normally afterwards, and no call throws.
 */
class FacadeHostileInputTest extends PosixTestSupport {

    private static final String CONTENT = "0123456789";

    private AioContext ctx;
    private int fd;
    private int[] pipe;
    private Aiocb bystander;
    private final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void start() {
        ctx = new AioContext();
        fd = tempFileWith("f", CONTENT);
        pipe = pipe();
        bystander = readCb(pipe[0], 0, 8);
        assertEquals(0, ctx.aio_read(bystander));
    }

    /** Nothing else changed: the bystander still runs and then completes normally; the file is as it was. */
    @AfterEach
    void bystanderUnharmed() throws Exception {
        try {
            assertEquals(EINPROGRESS, ctx.aio_error(bystander), "the bystander was disturbed");
            writeTo(pipe[1], "bystand");
            awaitDone(ctx, bystander);
            assertEquals(7, ctx.aio_return(bystander));
            assertEquals("bystand", text(bystander.aio_buf, 7));
            assertEquals(CONTENT, fileContent("f"), "the file changed");
        } finally {
            ctx.close();
        }
    }

    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), "v");
    }

    /** -1 with the errno, the errno as the status, aio_return -1 once, and no notification. */
    private void assertRejected(int expectedErrno, int rc, Aiocb cb) {
        assertEquals(-1, rc);
        assertEquals(expectedErrno, ctx.errno());
        assertEquals(expectedErrno, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertEquals(EINVAL, ctx.errno());
    }

    /** Returned 0, then completed asynchronously with {@code expectedErrno}, notified once. */
    private void assertFailsLater(int expectedErrno, int rc, Aiocb cb) {
        assertEquals(0, rc);
        awaitDone(ctx, cb);
        assertEquals(expectedErrno, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
    }

    private void assertNotifications(int expected) {
        awaitTrue(expected + " notifications", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
    }

    // ---------------------------------------------------------------- aio_read / aio_write

    @Test
    void nullAiocb_isEFAULT_everywhere() {
        assertEquals(-1, ctx.aio_read(null));
        assertEquals(EFAULT, ctx.errno());
        assertEquals(-1, ctx.aio_write(null));
        assertEquals(EFAULT, ctx.errno());
        assertEquals(-1, ctx.aio_fsync(O_SYNC, null));
        assertEquals(EFAULT, ctx.errno());
        assertEquals(-1, ctx.aio_error(null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_return(null));
        assertEquals(EINVAL, ctx.errno());
    }

    @Test
    void nbytes_negativeOrPastTheBuffer_isEINVAL() {
        for (long n : new long[] {-1, Long.MIN_VALUE, 9, 11, Integer.MAX_VALUE, Integer.MAX_VALUE + 1L,
                Long.MAX_VALUE}) {
            Aiocb r = aiocb(fd, 0, ByteBuffer.allocateDirect(8), n);
            r.aio_sigevent = counting();
            if (n == 9 || n == 11) {
                r.aio_buf = ByteBuffer.allocate(8); // heap too
            }
            assertRejected(EINVAL, ctx.aio_read(r), r);
            Aiocb w = aiocb(fd, 0, bytes("xxxxxxxx"), n);
            w.aio_sigevent = counting();
            assertRejected(EINVAL, ctx.aio_write(w), w);
        }
        assertNotifications(0);
    }

    @Test
    void nullBuffer_isEFAULT_unlessNbytesIsZero() {
        Aiocb r = aiocb(fd, 0, null, 1);
        assertRejected(EFAULT, ctx.aio_read(r), r);
        Aiocb w = aiocb(fd, 0, null, 1);
        assertRejected(EFAULT, ctx.aio_write(w), w);
        // Zero bytes with no buffer: a valid empty transfer.
        Aiocb r0 = aiocb(fd, 0, null, 0);
        r0.aio_sigevent = counting();
        assertEquals(0, ctx.aio_read(r0));
        Aiocb w0 = aiocb(fd, 0, null, 0);
        w0.aio_sigevent = counting();
        assertEquals(0, ctx.aio_write(w0));
        awaitDone(ctx, r0, w0);
        assertEquals(0, ctx.aio_return(r0));
        assertEquals(0, ctx.aio_return(w0));
        assertNotifications(2);
    }

    @Test
    void zeroBytes_atAnyOffset_transferNothing() {
        for (long off : new long[] {0, 5, 10, 1L << 40}) {
            Aiocb r = aiocb(fd, off, ByteBuffer.allocateDirect(4), 0);
            assertEquals(0, ctx.aio_read(r));
            Aiocb w = aiocb(fd, off, bytes("zzzz"), 0);
            assertEquals(0, ctx.aio_write(w));
            awaitDone(ctx, r, w);
            assertEquals(0, ctx.aio_return(r));
            assertEquals(0, ctx.aio_return(w));
        }
    }

    @Test
    void negativeOffset_onAFile_isAsyncEINVAL() {
        for (long off : new long[] {-1, -2, -4096, Long.MIN_VALUE}) {
            Aiocb r = readCb(fd, off, 4);
            r.aio_sigevent = counting();
            assertFailsLater(EINVAL, ctx.aio_read(r), r);
            Aiocb w = writeCb(fd, off, "evil");
            w.aio_sigevent = counting();
            assertFailsLater(EINVAL, ctx.aio_write(w), w);
        }
        assertNotifications(8);
    }

    @Test
    void hugeOffsets_failOrReadNothing_andNeverWrite() {
        Set<Integer> readOutcomes = Set.of(0, EINVAL, EOVERFLOW);
        Set<Integer> writeOutcomes = Set.of(EINVAL, EFBIG, EOVERFLOW);
        for (long off : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 3, 1L << 62}) {
            Aiocb r = readCb(fd, off, 4);
            assertEquals(0, ctx.aio_read(r));
            awaitDone(ctx, r);
            int err = ctx.aio_error(r);
            assertTrue(readOutcomes.contains(err), "read at " + off + ": errno " + err);
            assertEquals(err == 0 ? 0 : -1, ctx.aio_return(r));
            Aiocb w = writeCb(fd, off, "evil");
            assertEquals(0, ctx.aio_write(w));
            awaitDone(ctx, w);
            err = ctx.aio_error(w);
            assertTrue(writeOutcomes.contains(err), "write at " + off + ": errno " + err);
            assertEquals(-1, ctx.aio_return(w));
        }
    }

    @Test
    void readOnlyBuffer_forAioRead_isEFAULT() {
        Aiocb r = aiocb(fd, 0, ByteBuffer.allocateDirect(4).asReadOnlyBuffer(), 4);
        assertRejected(EFAULT, ctx.aio_read(r), r);
        Aiocb h = aiocb(fd, 0, ByteBuffer.allocate(4).asReadOnlyBuffer(), 4);
        assertRejected(EFAULT, ctx.aio_read(h), h);
    }

    @Test
    void badSigevents_areEINVAL_andFireNothing() {
        SigEvent[] bad = new SigEvent[6];
        bad[0] = new SigEvent(); // SIGEV_SIGNAL with signal 0
        bad[1] = SigEvent.signal(Signals.SIGRTMAX + 1, null);
        bad[2] = SigEvent.signal(-1, null);
        bad[3] = SigEvent.thread(null, null);
        bad[4] = new SigEvent();
        bad[4].sigev_notify = 3;
        bad[5] = new SigEvent();
        bad[5].sigev_notify = Integer.MIN_VALUE;
        for (SigEvent e : bad) {
            Aiocb r = readCb(fd, 0, 4);
            r.aio_sigevent = e;
            assertRejected(EINVAL, ctx.aio_read(r), r);
            Aiocb w = writeCb(fd, 0, "evil");
            w.aio_sigevent = e;
            assertRejected(EINVAL, ctx.aio_write(w), w);
            Aiocb s = new Aiocb();
            s.aio_fildes = fd;
            s.aio_sigevent = e;
            assertRejected(EINVAL, ctx.aio_fsync(O_SYNC, s), s);
        }
        assertEquals(SIGEV_SIGNAL, bad[0].sigev_notify);
        assertEquals(SIGEV_THREAD, bad[3].sigev_notify);
    }

    @Test
    void closedFildes_isAsyncEBADF_forTransfers_andSyncEBADF_forFsyncAndCancel() {
        // A descriptor that was open and is closed, numbered high (F_DUPFD to 5000 or above): the kernel hands out the
        // lowest free number, so no other thread of this JVM (an engine's eventfd, a pipe) takes it back meanwhile.
        int low = openTemp("gone", 0);
        int gone = io.uringaio.engine.internal.sys.Libc.fcntl(low, 0 /* F_DUPFD */, 5000);
        assertTrue(gone >= 5000, "F_DUPFD: " + gone);
        assertEquals(0, Unistd.close(gone));
        Aiocb r = readCb(gone, 0, 4);
        r.aio_sigevent = counting();
        assertFailsLater(EBADF, ctx.aio_read(r), r);
        Aiocb w = writeCb(gone, 0, "evil");
        w.aio_sigevent = counting();
        assertFailsLater(EBADF, ctx.aio_write(w), w);
        Aiocb s = new Aiocb();
        s.aio_fildes = gone;
        assertRejected(EBADF, ctx.aio_fsync(O_DSYNC, s), s);
        assertEquals(-1, ctx.aio_cancel(gone, null));
        assertEquals(EBADF, ctx.errno());
        assertNotifications(2);
    }

    @Test
    void writeToAReadOnlyDescriptor_isAsyncEBADF() {
        int ro = Fcntl.open(dir.resolve("f").toString(), Fcntl.O_RDONLY, 0);
        assertTrue(ro >= 0);
        try {
            Aiocb w = writeCb(ro, 0, "evil");
            assertFailsLater(EBADF, ctx.aio_write(w), w);
        } finally {
            Unistd.close(ro);
        }
    }

    // ---------------------------------------------------------------- aio_fsync

    @Test
    void fsync_badOp_isEINVAL_andOtherFieldsAreIgnored() {
        for (int op : new int[] {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, O_SYNC | O_DSYNC + 1}) {
            Aiocb s = new Aiocb();
            s.aio_fildes = fd;
            assertRejected(EINVAL, ctx.aio_fsync(op, s), s);
        }
        // Garbage in the fields aio_fsync does not read changes nothing.
        Aiocb s = new Aiocb();
        s.aio_fildes = fd;
        s.aio_nbytes = -5;
        s.aio_offset = Long.MIN_VALUE;
        s.aio_reqprio = -9;
        s.aio_lio_opcode = 77;
        s.aio_sigevent = counting();
        assertEquals(0, ctx.aio_fsync(O_SYNC, s));
        awaitDone(ctx, s);
        assertEquals(0, ctx.aio_return(s));
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- aio_error / aio_return

    @Test
    void status_ofNeverSubmitted_returnedTwice_andInProgress() {
        Aiocb fresh = readCb(fd, 0, 4);
        assertEquals(EINVAL, ctx.aio_error(fresh));
        assertEquals(-1, ctx.aio_return(fresh));
        assertEquals(EINVAL, ctx.errno());

        assertEquals(EINPROGRESS, ctx.aio_error(bystander));
        assertEquals(-1, ctx.aio_return(bystander));
        assertEquals(EINPROGRESS, ctx.errno());

        Aiocb r = readCb(fd, 0, 4);
        assertEquals(0, ctx.aio_read(r));
        awaitDone(ctx, r);
        assertEquals(4, ctx.aio_return(r));
        assertEquals(-1, ctx.aio_return(r));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(r));
    }

    @Test
    void inFlightAiocb_isEBUSY_throughEveryEntryPoint_andUntouched() {
        for (int i = 0; i < 3; i++) {
            assertEquals(-1, i == 0 ? ctx.aio_read(bystander) : i == 1 ? ctx.aio_write(bystander)
                    : ctx.aio_fsync(O_SYNC, bystander));
            assertEquals(EBUSY, ctx.errno());
        }
        bystander.aio_lio_opcode = LIO_READ;
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {bystander}, 1, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {bystander}, 1, null));
        assertEquals(EINPROGRESS, ctx.aio_error(bystander));
    }

    // ---------------------------------------------------------------- aio_suspend

    @Test
    void suspend_boundaries() {
        Aiocb[] inFlight = {bystander};
        assertEquals(0, ctx.aio_suspend(null, 0, null));
        assertEquals(0, ctx.aio_suspend(new Aiocb[3], 3, null));
        assertEquals(-1, ctx.aio_suspend(null, 1, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, -1, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, 2, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, Integer.MIN_VALUE, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, 1, new Timespec(0, 0)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, 1, new Timespec(-1, 0)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(inFlight, 1, new Timespec(Long.MIN_VALUE, 0)));
        assertEquals(EAGAIN, ctx.errno());
        for (long nsec : new long[] {-1, 1_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE}) {
            assertEquals(-1, ctx.aio_suspend(inFlight, 1, new Timespec(0, nsec)));
            assertEquals(EINVAL, ctx.errno());
        }
        // A huge timeout with one entry done returns at once; a never-submitted entry counts as done.
        Aiocb done = readCb(fd, 0, 2);
        assertEquals(0, ctx.aio_read(done));
        awaitDone(ctx, done);
        assertEquals(0, ctx.aio_suspend(new Aiocb[] {bystander, done}, 2, new Timespec(Long.MAX_VALUE, 999_999_999)));
        assertEquals(0, ctx.aio_suspend(new Aiocb[] {bystander, new Aiocb()}, 2, null));
        assertEquals(2, ctx.aio_return(done));
    }

    // ---------------------------------------------------------------- aio_cancel

    @Test
    void cancel_boundaries() {
        assertEquals(-1, ctx.aio_cancel(-1, null));
        assertEquals(EBADF, ctx.errno());
        assertEquals(-1, ctx.aio_cancel(Integer.MAX_VALUE, null));
        assertEquals(EBADF, ctx.errno());
        assertEquals(-1, ctx.aio_cancel(fd, bystander)); // bystander is on the pipe, not on fd
        assertEquals(EINVAL, ctx.errno());
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, readCb(fd, 0, 1))); // never submitted
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, null)); // nothing outstanding on fd
        Aiocb r = readCb(fd, 0, 4);
        assertEquals(0, ctx.aio_read(r));
        awaitDone(ctx, r);
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(fd, r));
        assertEquals(4, ctx.aio_return(r), "a cancel of a completed request left it alone");
    }

    // ---------------------------------------------------------------- lio_listio

    @Test
    void lio_listLevelErrors_startNothing() {
        Aiocb w = lioCb(LIO_WRITE, writeCb(fd, 0, "evil"));
        w.aio_sigevent = counting();
        Aiocb[] list = {w};
        int[][] calls = {{2, 1}, {-1, 1}, {LIO_WAIT, -1}, {LIO_NOWAIT, 2}, {LIO_WAIT, Integer.MIN_VALUE},
                {LIO_NOWAIT, AIO_LISTIO_MAX + 1}, {LIO_WAIT, Integer.MAX_VALUE}};
        for (int[] c : calls) {
            assertEquals(-1, ctx.lio_listio(c[0], list, c[1], null), "mode " + c[0] + " nent " + c[1]);
            assertEquals(EINVAL, ctx.errno());
            assertEquals(EINVAL, ctx.aio_error(w), "an entry was touched");
        }
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, null, 1, null));
        assertEquals(EINVAL, ctx.errno());
        Aiocb[] tooLong = new Aiocb[AIO_LISTIO_MAX + 1];
        tooLong[0] = w;
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, tooLong, tooLong.length, null));
        assertEquals(EINVAL, ctx.errno());
        SigEvent badSig = SigEvent.thread(null, null);
        assertEquals(-1, ctx.lio_listio(LIO_NOWAIT, list, 1, badSig));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(w));
        // Empty lists are fine.
        assertEquals(0, ctx.lio_listio(LIO_WAIT, null, 0, null));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[0], 0, counting()));
        assertNotifications(1); // the empty list's own notification, and no entry's
    }

    @Test
    void lio_badEntries_failOnTheirOwn_andTheGoodOnesRun() {
        int out = openTemp("out", 0);
        Aiocb good = lioCb(LIO_WRITE, writeCb(out, 0, "good"));
        Aiocb[] bad = new Aiocb[6];
        bad[0] = lioCb(-1, writeCb(out, 0, "bad0"));
        bad[1] = lioCb(Integer.MAX_VALUE, writeCb(out, 0, "bad1"));
        bad[2] = lioCb(LIO_WRITE, aiocb(out, 0, bytes("bad2"), -4));
        bad[3] = lioCb(LIO_READ, aiocb(out, 0, ByteBuffer.allocateDirect(2).asReadOnlyBuffer(), 2));
        bad[4] = lioCb(LIO_WRITE, writeCb(out, 0, "bad4"));
        bad[4].aio_reqprio = AIO_PRIO_DELTA_MAX_PLUS_ONE;
        bad[5] = lioCb(LIO_WRITE, writeCb(out, 0, "bad5"));
        bad[5].aio_sigevent = SigEvent.signal(0, null);
        for (int i = 0; i < 5; i++) {
            bad[i].aio_sigevent = counting();
        }
        Aiocb[] list = {bad[0], bad[1], null, bad[2], good, bad[3], bad[4], bad[5]};
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, list.length, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(4, ctx.aio_return(good));
        int[] expected = {EINVAL, EINVAL, EINVAL, EFAULT, EINVAL, EINVAL};
        for (int i = 0; i < bad.length; i++) {
            assertEquals(expected[i], ctx.aio_error(bad[i]), "entry " + i);
        }
        assertNotifications(5); // one per bad entry whose own sigevent is valid
        try {
            assertEquals("good", fileContent("out"));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }

    private static final int AIO_PRIO_DELTA_MAX_PLUS_ONE = Aio.AIO_PRIO_DELTA_MAX + 1;

    // ---------------------------------------------------------------- aio_init

    @Test
    void aioInit_extremeValues_areHints_andTheContextWorks() {
        int[][] inits = {{Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE}, {-1, -1, -1},
                {0, 0, 0}, {Integer.MIN_VALUE, Integer.MIN_VALUE, Integer.MIN_VALUE}, {100_000, 1, 1}};
        for (int[] v : inits) {
            try (AioContext other = new AioContext()) {
                AioInit init = new AioInit();
                init.aio_threads = v[0];
                init.aio_num = v[1];
                init.aio_idle_time = v[2];
                other.aio_init(init);
                other.aio_init(null);
                Aiocb r = readCb(fd, 2, 3);
                assertEquals(0, other.aio_read(r), "aio_init " + java.util.Arrays.toString(v));
                awaitDone(other, r);
                assertEquals(0, other.aio_error(r), "aio_init " + java.util.Arrays.toString(v));
                assertEquals(3, other.aio_return(r));
                assertEquals("234", text(r.aio_buf, 3));
                // And one that needs the engine (a pipe read cannot be served from the page cache).
                int[] p = pipe();
                writeTo(p[1], "ok");
                Aiocb q = readCb(p[0], 0, 2);
                assertEquals(0, other.aio_read(q));
                awaitDone(other, q);
                assertEquals(2, other.aio_return(q), "aio_init " + java.util.Arrays.toString(v));
            }
        }
    }
}
