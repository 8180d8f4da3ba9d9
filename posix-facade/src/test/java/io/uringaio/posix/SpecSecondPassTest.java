package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.LIO_NOP;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A spec-conformance pass by a reader who did not write the facade: {@code spec/posix-facade.md} line by line (and,
 * where it leaves a case open, POSIX and aio(7)), each pinned behaviour that no other class asserted, as a hostile
 * caller would reach it. Each case asserts the return value, the errno and that nothing else changed: a request in
 * flight all along (the bystander, a pipe read) still completes with its own result, and nothing ends ECANCELED that
 * nobody canceled. Private context; both backends (the pom runs the suite twice).
 */
class SpecSecondPassTest extends PosixTestSupport {

    private AioContext ctx;
    private int[] bystanderPipe;
    private Aiocb bystander;
    private final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void start() {
        ctx = new AioContext();
        bystanderPipe = pipe();
        bystander = readCb(bystanderPipe[0], 0, 8);
        assertEquals(0, ctx.aio_read(bystander));
    }

    /** Nothing else changed: the bystander is still in flight, then completes with its own result. */
    @AfterEach
    void bystanderUnharmed() {
        try {
            assertEquals(EINPROGRESS, ctx.aio_error(bystander), "the bystander was disturbed");
            writeTo(bystanderPipe[1], "bystand");
            awaitDone(ctx, bystander);
            assertEquals(0, ctx.aio_error(bystander));
            assertEquals(7, ctx.aio_return(bystander));
            assertEquals("bystand", text(bystander.aio_buf, 7));
        } finally {
            ctx.close();
        }
    }

    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), null);
    }

    private void assertNotifications(int expected) {
        awaitTrue(expected + " notifications", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
    }

    // ---------------------------------------------------------------- buffers by absolute index

    /**
     * The spec: {@code aio_buf}'s "position and limit are never read or changed" (Unistd: "buffers by absolute index
     * from 0, like Aiocb"), so another thread may move them as it likes while a write runs. A read-only heap buffer has
     * no array for the facade to copy from: the copy went through {@code duplicate()}, which reads the caller's mark,
     * position and limit one after the other and checks them together, and threw IllegalArgumentException ("mark >
     * position", "newPosition > limit") when they moved in between: out of {@code Unistd.pwrite} as an exception, and
     * an {@code aio_write} ended EIO having written nothing. Bounded (3 s): the copy itself ({@code Bounce.copyIn}, in
     * a tight loop, where the race is likeliest) and, every so often, a pwrite and an aio_write, each of indices [0, n)
     * whatever the window, which the file then holds.
     */
    @Test
    void readOnlyHeapBuffer_whoseWindowAnotherThreadMoves_isWrittenFromIndexZero_andNothingThrows() throws Exception {
        int fd = openTemp("window", 0);
        byte[] data = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
        int n = data.length;
        ByteBuffer ro = ByteBuffer.wrap(data).asReadOnlyBuffer();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger moves = new AtomicInteger(); // fences between the steps: each is stored, none merged away
        Thread mover = new Thread(() -> {
            while (!stop.get()) {
                ro.limit(n).position(n).mark(); // a mark at the end ...
                moves.incrementAndGet();
                ro.position(0).limit(1); // ... dropped again, and a window of one byte at the start
                moves.incrementAndGet();
            }
        }, "window-mover");
        mover.setDaemon(true);
        mover.start();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            ByteBuffer scratch = ByteBuffer.allocateDirect(n);
            ByteBuffer got = ByteBuffer.allocateDirect(n);
            for (int round = 0; System.nanoTime() - end < 0; round++) {
                for (int i = 0; i < 4096; i++) {
                    moves.get(); // a volatile read: the copy's reads of the window are not hoisted out of the loop
                    Bounce.copyIn(scratch, ro, n);
                }
                assertEquals("0123456789abcdef", text(scratch, n));
                long off = (long) (round % 64) * n;
                if (round % 2 == 1) {
                    Aiocb w = aiocb(fd, off, ro, n);
                    assertEquals(0, ctx.aio_write(w));
                    awaitDone(ctx, w);
                    assertEquals(0, ctx.aio_error(w), "aio_write round " + round);
                    assertEquals(n, ctx.aio_return(w));
                } else {
                    assertEquals(n, Unistd.pwrite(fd, ro, n, off), () -> "pwrite errno " + Aio.errno());
                }
                assertEquals(n, Unistd.pread(fd, got, n, off));
                assertEquals("0123456789abcdef", text(got, n), "round " + round);
            }
        } finally {
            stop.set(true);
            join(mover);
        }
    }

    // ---------------------------------------------------------------- a closed context

    /**
     * After {@code close()} a submission fails with -1/EAGAIN, and the spec: "Every other synchronous rejection leaves
     * that errno as the Aiocb's status (aio_error returns it, aio_return returns -1 once) and fires no notification";
     * {@code lio_listio} entries "are checked the same way but fail on their own", and POSIX has the caller of a
     * failed {@code lio_listio} "check the error status for each aiocb to determine the individual request(s) that
     * failed". The entries were left as they were: one that had completed before (and was not yet returned) still
     * read its old success, so a program that checks its entries took the refused request for done (and its old count
     * for this call's). Null, LIO_NOP and in-flight entries are still not touched; nothing is notified.
     */
    @Test
    void lio_onAClosedContext_isEAGAIN_andEachEntryItRefusedReadsEAGAIN() {
        int fd = tempFileWith("f", "0123456789");
        int[] p = pipe();
        AioContext c = new AioContext();
        Aiocb busy = lioCb(LIO_READ, readCb(p[0], 0, 4)); // in flight in another context: not this call's
        assertEquals(0, ctx.aio_read(busy));
        Aiocb stale = lioCb(LIO_READ, readCb(fd, 0, 4));
        assertEquals(0, c.lio_listio(LIO_WAIT, new Aiocb[] {stale}, 1, null));
        assertEquals(0, c.aio_error(stale)); // completed; its result not taken yet
        c.close();
        for (int mode : new int[] {LIO_WAIT, LIO_NOWAIT}) {
            Aiocb fresh = lioCb(LIO_WRITE, writeCb(fd, 0, "evil"));
            Aiocb nop = lioCb(LIO_NOP, readCb(fd, 0, 4));
            Aiocb[] entries = {stale, fresh, nop, busy};
            for (Aiocb e : entries) {
                e.aio_sigevent = counting();
            }
            Aiocb[] list = {stale, null, fresh, nop, busy};
            assertEquals(-1, c.lio_listio(mode, list, list.length, counting()), "mode " + mode);
            assertEquals(EAGAIN, c.errno());
            for (Aiocb refused : new Aiocb[] {stale, fresh}) {
                assertEquals(EAGAIN, c.aio_error(refused), "mode " + mode + ": a refused entry's status");
                assertEquals(-1, c.aio_return(refused));
                assertEquals(-1, c.aio_return(refused));
                assertEquals(EINVAL, c.errno());
            }
            assertEquals(EINVAL, c.aio_error(nop), "a NOP entry is not touched (never submitted)");
            assertEquals(EINPROGRESS, ctx.aio_error(busy), "an entry in flight elsewhere is not touched");
        }
        assertNotifications(0);
        try {
            assertEquals("0123456789", fileContent("f"));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        writeTo(p[1], "busy");
        awaitDone(ctx, busy);
        assertEquals(4, ctx.aio_return(busy));
        assertEquals("busy", text(busy.aio_buf, 4));
    }

    /**
     * A closed context still answers for what it ran (status, suspend, cancel), refuses new work with EAGAIN made the
     * block's status and no notification, and takes an {@code aio_init} without effect or exception.
     */
    @Test
    void closedContext_stillAnswersForItsRequests_andRefusesNewOnesWithEAGAIN() {
        int[] p = pipe();
        AioContext c = new AioContext();
        Aiocb r = readCb(p[0], 0, 4);
        AtomicInteger rNotified = new AtomicInteger();
        r.aio_sigevent = SigEvent.thread(v -> rNotified.incrementAndGet(), null);
        assertEquals(0, c.aio_read(r));
        c.close();
        assertEquals(ECANCELED, c.aio_error(r), "close cancels what is outstanding");
        assertEquals(0, c.aio_suspend(new Aiocb[] {r}, 1, new Timespec(0, 0)));
        assertEquals(AIO_ALLDONE, c.aio_cancel(p[0], r));
        assertEquals(AIO_ALLDONE, c.aio_cancel(p[0], null));
        assertEquals(-1, c.aio_return(r));
        assertEquals(-1, c.aio_return(r));
        assertEquals(EINVAL, c.errno());
        AioInit init = new AioInit();
        init.aio_num = 1;
        c.aio_init(init);
        Aiocb s = new Aiocb();
        s.aio_fildes = p[1];
        s.aio_sigevent = counting();
        assertEquals(-1, c.aio_fsync(O_SYNC, s));
        assertEquals(EAGAIN, c.errno());
        assertEquals(EAGAIN, c.aio_error(s));
        assertEquals(-1, c.aio_return(s));
        Aiocb w = writeCb(p[1], 0, "late");
        w.aio_sigevent = counting();
        assertEquals(-1, c.aio_write(w));
        assertEquals(EAGAIN, c.aio_error(w));
        assertNotifications(0);
        awaitTrue("the canceled read's notification", () -> rNotified.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, rNotified.get());
    }

    // ---------------------------------------------------------------- status across contexts

    /**
     * aio_error and aio_return read the block, whichever context runs it: EINPROGRESS (and -1/EINPROGRESS, result not
     * taken) while it runs, then its result, taken exactly once whichever context asks.
     */
    @Test
    void status_ofARequestOfAnotherContext_isReadThere_andTakenOnce() {
        int[] p = pipe();
        try (AioContext other = new AioContext()) {
            Aiocb r = readCb(p[0], 0, 4);
            assertEquals(0, ctx.aio_read(r));
            assertEquals(EINPROGRESS, other.aio_error(r));
            assertEquals(-1, other.aio_return(r));
            assertEquals(EINPROGRESS, other.errno());
            writeTo(p[1], "abc");
            awaitDone(other, r);
            assertEquals(0, other.aio_error(r));
            assertEquals(3, other.aio_return(r));
            assertEquals(-1, ctx.aio_return(r));
            assertEquals(EINVAL, ctx.errno());
            assertEquals(EINVAL, ctx.aio_error(r));
            // And resubmitted to the other context, it works again.
            writeTo(p[1], "xy");
            assertEquals(0, other.aio_read(r));
            awaitDone(ctx, r);
            assertEquals(2, ctx.aio_return(r));
            assertEquals("xy", text(r.aio_buf, 2));
        }
    }

    // ---------------------------------------------------------------- lio_listio entries

    /** Only {@code list[0, nent)} is the list: an entry past nent is neither run, nor checked, nor notified. */
    @Test
    void lio_entriesPastNent_areNotTouched() throws Exception {
        int fd = openTemp("out", 0);
        Aiocb a = lioCb(LIO_WRITE, writeCb(fd, 0, "aa"));
        Aiocb b = lioCb(LIO_WRITE, writeCb(fd, 2, "bb"));
        Aiocb past = lioCb(LIO_WRITE, writeCb(fd, 4, "XX"));
        past.aio_sigevent = counting();
        Aiocb pastBad = lioCb(99, writeCb(fd, 6, "YY"));
        pastBad.aio_sigevent = counting();
        Aiocb[] list = {a, b, past, pastBad};
        assertEquals(0, ctx.lio_listio(LIO_WAIT, list, 2, null));
        assertEquals(2, ctx.aio_return(a));
        assertEquals(2, ctx.aio_return(b));
        assertEquals(EINVAL, ctx.aio_error(past), "never submitted");
        assertEquals(EINVAL, ctx.aio_error(pastBad), "never submitted");
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, list, 0, counting()));
        assertNotifications(1); // the empty list's own
        assertEquals("aabb", fileContent("out"));
    }

    /**
     * "Null entries and LIO_NOP entries are ignored (no status change, no notification)": a NOP entry whose other
     * fields are all invalid (count, buffer, priority, sigevent, descriptor) is still ignored, in either mode, and a
     * list of nothing else is an empty list: LIO_WAIT returns 0, LIO_NOWAIT's sig fires once at once.
     */
    @Test
    void lio_nopEntriesWithInvalidFields_areIgnored_andAListOfThemIsEmpty() {
        Aiocb nop = aiocb(-1, -1, null, -5);
        nop.aio_lio_opcode = LIO_NOP;
        nop.aio_reqprio = -3;
        nop.aio_sigevent = SigEvent.signal(0, null);
        Aiocb nop2 = lioCb(LIO_NOP, aiocb(12345, 0, ByteBuffer.allocateDirect(1), 1 << 20));
        nop2.aio_sigevent = counting();
        Aiocb[] list = {null, nop, nop2, null};
        assertEquals(0, ctx.lio_listio(LIO_WAIT, list, list.length, null));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, list, list.length, counting()));
        assertNotifications(1);
        assertEquals(EINVAL, ctx.aio_error(nop));
        assertEquals(EINVAL, ctx.aio_error(nop2));
    }

    /** A LIO_WAIT list whose every entry fails is -1/EIO; each entry holds its own errno and is notified once. */
    @Test
    void lioWait_everyEntryFailing_isEIO_eachWithItsOwnErrno() {
        int fd = tempFileWith("f", "abcd");
        Aiocb badOp = lioCb(7, readCb(fd, 0, 2));
        Aiocb badFd = lioCb(LIO_READ, readCb(-1, 0, 2));
        Aiocb badOff = lioCb(LIO_READ, readCb(fd, -1, 2));
        Aiocb badBuf = lioCb(LIO_WRITE, aiocb(fd, 0, null, 2));
        Aiocb[] list = {badOp, badFd, badOff, badBuf};
        for (Aiocb e : list) {
            e.aio_sigevent = counting();
        }
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, list.length, counting()));
        assertEquals(EIO, ctx.errno());
        int[] expected = {EINVAL, EBADF, EINVAL, EFAULT};
        for (int i = 0; i < list.length; i++) {
            assertEquals(expected[i], ctx.aio_error(list[i]), "entry " + i);
            assertEquals(-1, ctx.aio_return(list[i]));
        }
        assertNotifications(4); // one per entry, none for the list (LIO_WAIT ignores sig)
    }

    // ---------------------------------------------------------------- in flight: EBUSY before any other check

    /**
     * "an Aiocb that is already in flight → EBUSY (nothing changes)": whatever else is wrong with the call (a bad
     * priority, count, buffer or sigevent written into the block meanwhile, a bad fsync op, a bad opcode), the answer
     * is EBUSY, not that call's EINVAL, which would have overwritten the running request's status. The request then
     * completes with its own result and is notified once.
     */
    @Test
    void inFlightAiocb_resubmittedWithInvalidFields_isEBUSY_andItsRequestIsUntouched() {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 4);
        r.aio_sigevent = counting();
        assertEquals(0, ctx.aio_read(r));
        ByteBuffer buf = r.aio_buf;
        r.aio_reqprio = 99;
        r.aio_nbytes = -1;
        r.aio_buf = null;
        r.aio_sigevent = SigEvent.signal(0, null);
        r.aio_lio_opcode = 42;
        for (int call = 0; call < 5; call++) {
            int rc = switch (call) {
                case 0 -> ctx.aio_read(r);
                case 1 -> ctx.aio_write(r);
                case 2 -> ctx.aio_fsync(0, r);
                case 3 -> ctx.aio_fsync(O_SYNC, r);
                default -> ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {r}, 1, null);
            };
            if (call == 4) {
                assertEquals(0, rc, "LIO_NOWAIT: the busy entry fails on its own");
            } else {
                assertEquals(-1, rc, "call " + call);
                assertEquals(EBUSY, ctx.errno(), "call " + call);
            }
            assertEquals(EINPROGRESS, ctx.aio_error(r), "call " + call + " changed the running request");
        }
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {r}, 1, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(EINPROGRESS, ctx.aio_error(r));
        writeTo(p[1], "ok");
        awaitDone(ctx, r);
        assertEquals(0, ctx.aio_error(r));
        assertEquals(2, ctx.aio_return(r));
        assertEquals("ok", text(buf, 2));
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- notification

    /**
     * SIGEV_THREAD: "the function runs with sigev_value on a thread other than the submitter (on
     * sigev_notify_attributes when given)", even when the request ends inside the submitting call (a negative
     * descriptor, a negative offset, an entry failing its checks, an empty list, a read the page cache served), and
     * with a direct executor ({@code Runnable::run}) as the attributes: it is called from a facade thread.
     */
    @Test
    void sigevThread_neverRunsOnTheSubmittingThread_evenForRequestsEndedInsideTheCall() {
        int fd = tempFileWith("f", "0123456789");
        Thread me = Thread.currentThread();
        ConcurrentLinkedQueue<String> onSubmitter = new ConcurrentLinkedQueue<>();
        AtomicInteger runs = new AtomicInteger();
        int expected = 0;
        for (boolean direct : new boolean[] {false, true}) {
            java.util.function.Function<Object, SigEvent> sig = tag -> {
                SigEvent e = SigEvent.thread(v -> {
                    runs.incrementAndGet();
                    if (Thread.currentThread() == me) {
                        onSubmitter.add(String.valueOf(v));
                    }
                }, tag + (direct ? " (direct executor)" : ""));
                if (direct) {
                    e.sigev_notify_attributes = Runnable::run;
                }
                return e;
            };
            Aiocb badFd = readCb(-1, 0, 2);
            badFd.aio_sigevent = sig.apply("negative fildes");
            assertEquals(0, ctx.aio_read(badFd));
            Aiocb badOff = readCb(fd, -7, 2);
            badOff.aio_sigevent = sig.apply("negative offset");
            assertEquals(0, ctx.aio_read(badOff));
            Aiocb cached = readCb(fd, 0, 4);
            cached.aio_sigevent = sig.apply("page-cache read");
            assertEquals(0, ctx.aio_read(cached));
            Aiocb badEntry = lioCb(9, readCb(fd, 0, 2));
            badEntry.aio_sigevent = sig.apply("failing entry");
            SigEvent listSig = sig.apply("list of a failing entry");
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {badEntry}, 1, listSig));
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, null, 0, sig.apply("empty list")));
            expected += 6;
            awaitDone(ctx, badFd, badOff, cached, badEntry);
            assertEquals(EBADF, ctx.aio_error(badFd));
            assertEquals(EINVAL, ctx.aio_error(badOff));
            assertEquals(4, ctx.aio_return(cached));
            assertEquals(EINVAL, ctx.aio_error(badEntry));
        }
        int total = expected;
        awaitTrue(total + " notifications", () -> runs.get() >= total);
        sleepMillis(QUIET_MILLIS);
        assertEquals(total, runs.get());
        assertTrue(onSubmitter.isEmpty(), "ran on the submitting thread: " + onSubmitter);
    }

    /**
     * SIGEV_SIGNAL: the handler gets {@code SigInfo(signo, SI_ASYNCIO, sigev_value)} with the value as given (the
     * Aiocb itself, an Integer, null), for the lowest and highest signo, once each; a signo just outside 1..SIGRTMAX is
     * EINVAL at the call and fires nothing.
     */
    @Test
    void sigevSignal_valuesAndSignoBoundaries() {
        int fd = tempFileWith("f", "0123456789");
        ConcurrentLinkedQueue<SigInfo> got = new ConcurrentLinkedQueue<>();
        int lo = 1;
        int hi = Signals.SIGRTMAX;
        assertEquals(0, Signals.sigaction(lo, got::add));
        assertEquals(0, Signals.sigaction(hi, got::add));
        try {
            Aiocb a = readCb(fd, 0, 2);
            a.aio_sigevent = SigEvent.signal(lo, a);
            Aiocb b = readCb(fd, 2, 2);
            b.aio_sigevent = SigEvent.signal(hi, 7);
            Aiocb c = readCb(fd, 4, 2);
            c.aio_sigevent = SigEvent.signal(hi, null);
            assertEquals(0, ctx.aio_read(a));
            assertEquals(0, ctx.aio_read(b));
            assertEquals(0, ctx.aio_read(c));
            for (int bad : new int[] {0, hi + 1}) {
                Aiocb x = readCb(fd, 0, 2);
                x.aio_sigevent = SigEvent.signal(bad, x);
                assertEquals(-1, ctx.aio_read(x));
                assertEquals(EINVAL, ctx.errno());
                assertEquals(EINVAL, ctx.aio_error(x));
            }
            awaitDone(ctx, a, b, c);
            awaitTrue("three signals", () -> got.size() >= 3);
            sleepMillis(QUIET_MILLIS);
            assertEquals(3, got.size(), got.toString());
            assertTrue(got.contains(new SigInfo(lo, Signals.SI_ASYNCIO, a)), got.toString());
            assertTrue(got.contains(new SigInfo(hi, Signals.SI_ASYNCIO, 7)), got.toString());
            assertTrue(got.contains(new SigInfo(hi, Signals.SI_ASYNCIO, null)), got.toString());
        } finally {
            Signals.sigaction(lo, null);
            Signals.sigaction(hi, null);
        }
    }

    /** aio_fsync refused at the call (a descriptor not open, a bad op) fires no notification: it started nothing. */
    @Test
    void fsync_refusedAtTheCall_firesNothing() {
        Aiocb s = new Aiocb();
        s.aio_fildes = -1;
        s.aio_sigevent = counting();
        assertEquals(-1, ctx.aio_fsync(O_SYNC, s));
        assertEquals(EBADF, ctx.errno());
        assertEquals(EBADF, ctx.aio_error(s));
        Aiocb t = new Aiocb();
        t.aio_fildes = bystanderPipe[1];
        t.aio_sigevent = counting();
        assertEquals(-1, ctx.aio_fsync(O_SYNC + 1, t));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(t));
        assertNotifications(0);
    }

    // ---------------------------------------------------------------- offsets on a pipe

    /**
     * "A pipe or socket ignores aio_offset": a write and a read on a pipe at offsets the kernel would refuse on a file
     * (negative, the current-position -1, one where offset + nbytes overflows) transfer their bytes.
     */
    @Test
    void pipe_ignoresAioOffset_evenNegativeOrOverflowing() {
        int[] p = pipe();
        long[] offsets = {-1, Long.MIN_VALUE, Long.MAX_VALUE - 1, Long.MAX_VALUE};
        for (long off : offsets) {
            Aiocb w = writeCb(p[1], off, "abcd");
            assertEquals(0, ctx.aio_write(w));
            awaitDone(ctx, w);
            assertEquals(0, ctx.aio_error(w), "write at " + off);
            assertEquals(4, ctx.aio_return(w));
            Aiocb r = readCb(p[0], off, 4);
            assertEquals(0, ctx.aio_read(r));
            awaitDone(ctx, r);
            assertEquals(0, ctx.aio_error(r), "read at " + off);
            assertEquals(4, ctx.aio_return(r));
            assertEquals("abcd", text(r.aio_buf, 4));
        }
    }

    // ---------------------------------------------------------------- LIO_WAIT

    /**
     * LIO_WAIT: "-1/EINTR on interrupt (interrupt status cleared, nothing canceled)", also for an interrupt already
     * pending when the call starts: the entries are queued and keep running, and complete with their own results.
     */
    @Test
    void lioWait_withAnInterruptPendingAtTheCall_isEINTR_clearsIt_andTheEntriesRunOn() {
        int[] p = pipe();
        int[] q = pipe();
        Aiocb a = lioCb(LIO_READ, readCb(p[0], 0, 4));
        Aiocb b = lioCb(LIO_READ, readCb(q[0], 0, 4));
        a.aio_sigevent = counting();
        b.aio_sigevent = counting();
        Thread.currentThread().interrupt();
        int rc = ctx.lio_listio(LIO_WAIT, new Aiocb[] {a, b}, 2, null);
        boolean stillInterrupted = Thread.interrupted();
        assertEquals(-1, rc);
        assertEquals(EINTR, ctx.errno());
        assertTrue(!stillInterrupted, "the interrupt status is cleared");
        assertEquals(EINPROGRESS, ctx.aio_error(a), "nothing canceled");
        assertEquals(EINPROGRESS, ctx.aio_error(b), "nothing canceled");
        writeTo(p[1], "aaaa");
        writeTo(q[1], "bb");
        awaitDone(ctx, a, b);
        assertEquals(4, ctx.aio_return(a));
        assertEquals(2, ctx.aio_return(b));
        assertNotifications(2);
    }

    /** "LIO_WAIT ignores sig": even one that LIO_NOWAIT would refuse with EINVAL. */
    @Test
    void lioWait_ignoresEvenAnInvalidSig() {
        int fd = tempFileWith("f", "abcdef");
        SigEvent[] invalid = {SigEvent.thread(null, null), SigEvent.signal(0, null), new SigEvent()};
        invalid[2].sigev_notify = 99;
        for (SigEvent sig : invalid) {
            Aiocb r = lioCb(LIO_READ, readCb(fd, 1, 3));
            assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {r}, 1, sig));
            assertEquals(3, ctx.aio_return(r));
            assertEquals("bcd", text(r.aio_buf, 3));
            Aiocb n = lioCb(LIO_READ, readCb(fd, 1, 3));
            assertEquals(-1, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {n}, 1, sig));
            assertEquals(EINVAL, ctx.errno());
            assertEquals(EINVAL, ctx.aio_error(n), "never submitted: the list was refused before its entries");
        }
    }

    /**
     * "Two writes to overlapping ranges of one fildes, the later call wins", also for ranges whose end passes
     * Long.MAX_VALUE (which a pipe accepts, as it ignores the offset): a run of writes to one such range lands in call
     * order. The overlap test added offset and count in long arithmetic, which wrapped: such writes did not overlap
     * anything, were not ordered, and a pool backend's workers ran them in any order.
     */
    @Test
    void overlappingWrites_whoseEndPassesLongMax_landInCallOrder() {
        int[] p = pipe();
        int n = 200;
        Aiocb[] writes = new Aiocb[n];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String block = String.format("%03d|", i);
            expected.append(block);
            writes[i] = writeCb(p[1], Long.MAX_VALUE - 1, block);
            assertEquals(0, ctx.aio_write(writes[i]));
        }
        awaitDone(ctx, writes);
        for (Aiocb w : writes) {
            assertEquals(0, ctx.aio_error(w));
            assertEquals(4, ctx.aio_return(w));
        }
        assertEquals(expected.toString(), drain(p[0], 4 * n));
    }

    /**
     * "A pipe or socket ignores aio_offset": so the offsets a program gives its writes to one pipe (say the running
     * count, as it would for a file) cannot change their order either: a pipe has one stream, and its writes land in
     * call order as on one file with O_APPEND (glibc's, run in call order per descriptor, do). They were ordered only
     * when their offsets' ranges overlapped, and a pool backend's workers ran the others in any order.
     */
    @Test
    void pipeWrites_atDistinctOffsets_landInCallOrder() {
        int[] p = pipe();
        int n = 200;
        Aiocb[] writes = new Aiocb[n];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String block = String.format("%03d|", i);
            expected.append(block);
            writes[i] = writeCb(p[1], (i % 2 == 0 ? 4L * i : 1_000_000L - 4L * i), block);
            assertEquals(0, ctx.aio_write(writes[i]));
        }
        awaitDone(ctx, writes);
        for (Aiocb w : writes) {
            assertEquals(0, ctx.aio_error(w));
            assertEquals(4, ctx.aio_return(w));
        }
        assertEquals(expected.toString(), drain(p[0], 4 * n));
    }

    /** Reads exactly {@code n} bytes from a pipe with plain read(2). */
    private static String drain(int fd, int n) {
        ByteBuffer got = ByteBuffer.allocateDirect(n);
        int read = 0;
        while (read < n) {
            ByteBuffer rest = got.slice(read, n - read);
            long r = Unistd.read(fd, rest, rest.capacity());
            assertTrue(r > 0, "read " + r + ", errno " + Aio.errno());
            read += (int) r;
        }
        return text(got, n);
    }
}
