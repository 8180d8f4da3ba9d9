package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.AIO_LISTIO_MAX;
import static io.uringaio.posix.Aio.LIO_NOP;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.EAGAIN;
import static io.uringaio.posix.Errno.EBADF;
import static io.uringaio.posix.Errno.ECANCELED;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static io.uringaio.posix.Errno.EINTR;
import static io.uringaio.posix.Errno.EINVAL;
import static io.uringaio.posix.Errno.EIO;
import static io.uringaio.posix.Errno.EISDIR;
import static io.uringaio.posix.Fcntl.O_DSYNC;
import static io.uringaio.posix.Fcntl.O_RDONLY;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A third hostile pass over the facade by a reader who did not write it: {@code spec/posix-facade.md} (and, where it is
 * silent, what a C program ported from glibc expects), aimed at combinations the earlier passes left out: lists that
 * mix every kind of odd entry, notifications that throw, block, resubmit, wait, cancel or close, status calls at every
 * point of a block's life, and fsync's op, descriptor kinds and ordering. Each case asserts the return value and errno,
 * and that nothing else changed: two bystanders (a pipe read in flight all along, and a file read done before the
 * case and not yet returned) keep their own state and results, and nothing ends ECANCELED that nobody canceled.
 * Private context; both backends (the pom runs the suite twice).
 */
class FacadeThirdPassHostileTest extends PosixTestSupport {

    private AioContext ctx;
    private int[] bystanderPipe;
    private Aiocb pipeBystander;
    private Aiocb doneBystander;
    private CountDownLatch release;

    @BeforeEach
    void start() {
        ctx = new AioContext();
        release = new CountDownLatch(1);
        bystanderPipe = pipe();
        pipeBystander = readCb(bystanderPipe[0], 0, 8);
        assertEquals(0, ctx.aio_read(pipeBystander));
        int f = tempFileWith("bystander", "done-bystander");
        doneBystander = readCb(f, 0, 4);
        assertEquals(0, ctx.aio_read(doneBystander));
        awaitDone(ctx, doneBystander);
    }

    /** Nothing else changed: the pipe read is still in flight and gets its own data; the done read keeps its result. */
    @AfterEach
    void bystandersUnharmed() {
        try {
            release.countDown();
            assertEquals(0, ctx.aio_error(doneBystander), "the completed bystander's status changed");
            assertEquals(4, ctx.aio_return(doneBystander));
            assertEquals("done", text(doneBystander.aio_buf, 4));
            assertEquals(EINPROGRESS, ctx.aio_error(pipeBystander), "the pipe bystander was disturbed");
            writeTo(bystanderPipe[1], "bystand");
            awaitDone(ctx, pipeBystander);
            assertEquals(0, ctx.aio_error(pipeBystander));
            assertEquals(7, ctx.aio_return(pipeBystander));
            assertEquals("bystand", text(pipeBystander.aio_buf, 7));
        } finally {
            ctx.close();
        }
    }

    private static SigEvent countInto(AtomicIntegerArray counts, int index) {
        return SigEvent.thread(v -> counts.incrementAndGet(index), null);
    }

    /** Asserts the counts reach {@code expected} and stay there for {@link #QUIET_MILLIS}. */
    private static void assertCounts(AtomicIntegerArray counts, int... expected) {
        awaitTrue("notifications", () -> {
            for (int i = 0; i < expected.length; i++) {
                if (counts.get(i) < expected[i]) {
                    return false;
                }
            }
            return true;
        });
        sleepMillis(QUIET_MILLIS);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], counts.get(i), "notifications of entry " + i);
        }
    }

    /** A descriptor number that is not open (a dup above the usual range, closed again). */
    private int closedNumber() {
        int low = tempFileWith("gone" + (gone++), "x");
        int high = io.uringaio.engine.internal.sys.Libc.fcntl(low, 0 /* F_DUPFD */, 5000);
        assertTrue(high >= 5000, "F_DUPFD: " + high);
        assertEquals(0, Unistd.close(high));
        return high;
    }

    private int gone;

    // ---------------------------------------------------------------- lio_listio

    /**
     * One LIO_WAIT list holding every kind of odd entry: nulls, a LIO_NOP whose other fields are garbage, one block
     * listed twice, a block already in flight from an earlier aio_read, and a read of a descriptor that is not open,
     * among good entries on two files. The call is -1/EIO; each entry ends on its own: the good ones with their own
     * counts and data, the duplicate once, the bad descriptor EBADF, the NOP and the in-flight block untouched (the
     * latter completes later with its own data), each notified exactly as often as it ran.
     */
    @Test
    void lioWait_listOfNullsNopDuplicateInFlightAndBadFd_isEIO_andEachEntryEndsOnItsOwn() throws Exception {
        int src = tempFileWith("src", "0123456789abcdef");
        int dst = openTemp("dst", 0);
        int[] p = pipe();
        AtomicIntegerArray counts = new AtomicIntegerArray(6);

        Aiocb dup = lioCb(LIO_READ, readCb(src, 0, 4));
        dup.aio_sigevent = countInto(counts, 0);
        Aiocb good = lioCb(LIO_READ, readCb(src, 10, 6));
        good.aio_sigevent = countInto(counts, 1);
        Aiocb write = lioCb(LIO_WRITE, writeCb(dst, 3, "hello"));
        write.aio_sigevent = countInto(counts, 2);
        Aiocb badFd = lioCb(LIO_READ, readCb(closedNumber(), 0, 4));
        badFd.aio_sigevent = countInto(counts, 3);
        Aiocb nop = aiocb(src, -5, null, -1);
        nop.aio_lio_opcode = LIO_NOP;
        nop.aio_reqprio = 999;
        nop.aio_sigevent = countInto(counts, 4);
        Aiocb inFlight = readCb(p[0], 0, 3);
        inFlight.aio_sigevent = countInto(counts, 5);
        assertEquals(0, ctx.aio_read(inFlight));
        inFlight.aio_lio_opcode = LIO_READ; // a real entry of the list, but someone else's request

        Aiocb[] list = {null, dup, nop, inFlight, good, dup, null, badFd, write, null};
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, list.length, null));
        assertEquals(EIO, ctx.errno());

        assertEquals(0, ctx.aio_error(dup));
        assertEquals(4, ctx.aio_return(dup));
        assertEquals("0123", text(dup.aio_buf, 4));
        assertEquals(0, ctx.aio_error(good));
        assertEquals(6, ctx.aio_return(good));
        assertEquals("abcdef", text(good.aio_buf, 6));
        assertEquals(0, ctx.aio_error(write));
        assertEquals(5, ctx.aio_return(write));
        assertEquals("\0\0\0hello", fileContent("dst"));
        assertEquals(EBADF, ctx.aio_error(badFd));
        assertEquals(-1, ctx.aio_return(badFd));
        assertEquals(EINVAL, ctx.aio_error(nop), "a LIO_NOP entry got a status");
        assertEquals(EINPROGRESS, ctx.aio_error(inFlight), "the in-flight block was touched by the list");

        writeTo(p[1], "pip");
        awaitDone(ctx, inFlight);
        assertEquals(0, ctx.aio_error(inFlight));
        assertEquals(3, ctx.aio_return(inFlight));
        assertEquals("pip", text(inFlight.aio_buf, 3));
        assertCounts(counts, 1, 1, 1, 1, 0, 1);
    }

    /**
     * The same odd list under LIO_NOWAIT: 0 at once, and the list's notification fires exactly once, after every entry
     * it took is final (the in-flight block it did not take is not waited for); the entries end as under LIO_WAIT.
     */
    @Test
    void lioNoWait_oddList_sigFiresOnceAfterEveryTakenEntryIsFinal() {
        int src = tempFileWith("src", "0123456789");
        int[] p = pipe();
        Aiocb dup = lioCb(LIO_READ, readCb(src, 2, 3));
        Aiocb pending = lioCb(LIO_READ, readCb(p[0], 0, 2)); // taken by the list, completes when the pipe has data
        Aiocb badFd = lioCb(LIO_WRITE, writeCb(closedNumber(), 0, "zz"));
        Aiocb inFlight = readCb(src, 0, 1);
        assertEquals(0, ctx.aio_read(inFlight));
        awaitDone(ctx, inFlight); // DONE, not returned: claimable, so it is taken again by the list
        int[] q = pipe();
        Aiocb busy = readCb(q[0], 0, 1);
        busy.aio_lio_opcode = LIO_READ;
        assertEquals(0, ctx.aio_read(busy)); // in flight: the list leaves it alone, and does not wait for it
        AtomicInteger fired = new AtomicInteger();
        ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
        Aiocb[] list = {dup, null, pending, dup, busy, badFd, inFlight};
        SigEvent sig = SigEvent.thread(v -> {
            seen.add(ctx.aio_error(dup) + "," + ctx.aio_error(pending) + "," + ctx.aio_error(badFd) + ","
                    + ctx.aio_error(inFlight));
            fired.incrementAndGet();
        }, "list");
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, list, list.length, sig));
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, fired.get(), "the list's notification fired before its pipe entry completed");
        writeTo(p[1], "ab");
        awaitDone(ctx, dup, pending, badFd, inFlight);
        assertEquals(EINPROGRESS, ctx.aio_error(busy), "the list touched an in-flight block");
        awaitTrue("the list's notification", () -> fired.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, fired.get());
        assertEquals(List.of("0,0," + EBADF + ",0"), List.copyOf(seen));
        assertEquals(3, ctx.aio_return(dup));
        assertEquals("234", text(dup.aio_buf, 3));
        assertEquals(2, ctx.aio_return(pending));
        assertEquals("ab", text(pending.aio_buf, 2));
        assertEquals(-1, ctx.aio_return(badFd));
        assertEquals(1, ctx.aio_return(inFlight));
        writeTo(q[1], "c");
        awaitDone(ctx, busy);
        assertEquals(1, ctx.aio_return(busy));
        assertEquals("c", text(busy.aio_buf, 1));
    }

    /**
     * nent 0 (even with a null list), negative, beyond AIO_LISTIO_MAX, beyond the list: EINVAL for the bad ones and
     * nothing started; a block listed there that holds an earlier, not yet returned result keeps it.
     */
    @Test
    void lio_nentBoundaries_refuseWithoutTouchingTheEntries() {
        int src = tempFileWith("src", "abcdef");
        Aiocb held = readCb(src, 0, 3);
        assertEquals(0, ctx.aio_read(held));
        awaitDone(ctx, held); // its result, 3, not yet returned
        held.aio_lio_opcode = LIO_READ;
        AtomicInteger listFired = new AtomicInteger();
        SigEvent sig = SigEvent.thread(v -> listFired.incrementAndGet(), null);

        assertEquals(0, ctx.lio_listio(LIO_WAIT, null, 0, null));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[0], 0, null));
        Aiocb[] max = new Aiocb[AIO_LISTIO_MAX + 1];
        max[0] = held;
        int[][] bad = {{LIO_WAIT, -1}, {LIO_NOWAIT, Integer.MIN_VALUE}, {LIO_WAIT, AIO_LISTIO_MAX + 1},
                {LIO_NOWAIT, AIO_LISTIO_MAX + 1}};
        for (int[] b : bad) {
            assertEquals(-1, ctx.lio_listio(b[0], max, b[1], sig), "nent " + b[1]);
            assertEquals(EINVAL, ctx.errno());
        }
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {held}, 2, sig));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.lio_listio(LIO_NOWAIT, null, 1, sig));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.lio_listio(7, new Aiocb[] {held}, 1, sig));
        assertEquals(EINVAL, ctx.errno());
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, listFired.get(), "a refused list notified");
        assertEquals(0, ctx.aio_error(held));
        assertEquals(3, ctx.aio_return(held));
        // Exactly AIO_LISTIO_MAX is allowed.
        Aiocb[] full = new Aiocb[AIO_LISTIO_MAX];
        full[AIO_LISTIO_MAX - 1] = lioCb(LIO_READ, readCb(src, 3, 3));
        assertEquals(0, ctx.lio_listio(LIO_WAIT, full, full.length, null));
        assertEquals(3, ctx.aio_return(full[AIO_LISTIO_MAX - 1]));
        assertEquals("def", text(full[AIO_LISTIO_MAX - 1].aio_buf, 3));
    }

    /**
     * List notifications that throw, and one that blocks for ever (until the test ends), stall nothing: later lists
     * are notified, their entries and per-entry notifications complete, and aio_suspend still returns.
     */
    @Test
    void lioNoWait_listNotificationsThatThrowOrBlockForever_stallNoOtherList() throws Exception {
        int src = tempFileWith("src", "0123456789");
        CountDownLatch blocking = new CountDownLatch(1);
        SigEvent throwing = SigEvent.thread(v -> {
            throw new IllegalStateException("hostile list notification");
        }, null);
        SigEvent blocks = SigEvent.thread(v -> {
            blocking.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, null);
        SigEvent onDirectExecutorThatBlocks = new SigEvent();
        onDirectExecutorThatBlocks.sigev_notify = Signals.SIGEV_THREAD;
        onDirectExecutorThatBlocks.sigev_notify_function = blocks.sigev_notify_function;
        onDirectExecutorThatBlocks.sigev_notify_attributes = Runnable::run;
        SigEvent[] hostile = {throwing, blocks, onDirectExecutorThatBlocks, throwing};
        for (SigEvent h : hostile) {
            Aiocb e = lioCb(LIO_READ, readCb(src, 0, 2));
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {e}, 1, h));
            awaitDone(ctx, e);
            assertEquals(2, ctx.aio_return(e));
        }
        assertTrue(blocking.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
        AtomicIntegerArray counts = new AtomicIntegerArray(3);
        for (int round = 0; round < 20; round++) {
            Aiocb a = lioCb(LIO_READ, readCb(src, round % 10, 1));
            a.aio_sigevent = countInto(counts, 0);
            Aiocb b = lioCb(LIO_READ, readCb(src, 9 - round % 10, 1));
            b.aio_sigevent = countInto(counts, 1);
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {a, b}, 2, countInto(counts, 2)));
            awaitDone(ctx, a, b);
            assertEquals(1, ctx.aio_return(a));
            assertEquals(1, ctx.aio_return(b));
            assertEquals((char) ('0' + round % 10), (char) a.aio_buf.get(0));
            assertEquals((char) ('0' + 9 - round % 10), (char) b.aio_buf.get(0));
        }
        assertCounts(counts, 20, 20, 20);
    }

    /**
     * LIO_WAIT interrupted while one entry is done and another (a pipe read) is pending, across two descriptors:
     * -1/EINTR, the interrupt status cleared, nothing canceled: the pending entry completes later with its own data,
     * each entry is notified once.
     */
    @Test
    void lioWait_interruptedAcrossDescriptors_isEINTR_andEveryEntryCompletesUncanceled() throws Exception {
        int src = tempFileWith("src", "xyz");
        int[] p = pipe();
        AtomicIntegerArray counts = new AtomicIntegerArray(2);
        Aiocb quick = lioCb(LIO_READ, readCb(src, 0, 3));
        quick.aio_sigevent = countInto(counts, 0);
        Aiocb slow = lioCb(LIO_READ, readCb(p[0], 0, 4));
        slow.aio_sigevent = countInto(counts, 1);
        AtomicInteger rc = new AtomicInteger(99);
        AtomicInteger err = new AtomicInteger();
        AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
        Thread t = new Thread(() -> {
            rc.set(ctx.lio_listio(LIO_WAIT, new Aiocb[] {quick, slow}, 2, null));
            err.set(ctx.errno());
            stillInterrupted.set(Thread.currentThread().isInterrupted());
        });
        t.start();
        interruptWhenParked(t);
        join(t);
        assertEquals(-1, rc.get());
        assertEquals(EINTR, err.get());
        assertFalse(stillInterrupted.get(), "EINTR must clear the interrupt status");
        awaitDone(ctx, quick);
        assertEquals(3, ctx.aio_return(quick));
        assertEquals(EINPROGRESS, ctx.aio_error(slow), "an interrupted LIO_WAIT canceled its entry");
        writeTo(p[1], "late");
        awaitDone(ctx, slow);
        assertEquals(0, ctx.aio_error(slow));
        assertEquals(4, ctx.aio_return(slow));
        assertEquals("late", text(slow.aio_buf, 4));
        assertCounts(counts, 1, 1);
    }

    // ---------------------------------------------------------------- aio_suspend

    /**
     * A call that need not wait returns 0 whatever the timeout holds: all nulls, nent 0, a completed entry (even
     * listed next to itself, a never-submitted block, or one already returned).
     */
    @Test
    void suspend_listsThatNeedNoWait_returnZeroWhateverTheTimeout() {
        Timespec[] timeouts = {null, new Timespec(0, 0), new Timespec(-1, 0), new Timespec(0, -1),
                new Timespec(0, 1_000_000_000), new Timespec(Long.MIN_VALUE, Long.MIN_VALUE)};
        Aiocb never = new Aiocb();
        int src = tempFileWith("src", "ab");
        Aiocb returned = readCb(src, 0, 2);
        assertEquals(0, ctx.aio_read(returned));
        awaitDone(ctx, returned);
        assertEquals(2, ctx.aio_return(returned));
        for (Timespec t : timeouts) {
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {null, null, null}, 3, t));
            assertEquals(0, ctx.aio_suspend(new Aiocb[0], 0, t));
            assertEquals(0, ctx.aio_suspend(null, 0, t));
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {pipeBystander, doneBystander, doneBystander}, 3, t));
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {pipeBystander, pipeBystander, never}, 3, t));
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {null, returned, pipeBystander}, 3, t));
        }
        assertEquals(EINVAL, ctx.aio_error(never));
        assertEquals(EINVAL, ctx.aio_error(returned));
    }

    /**
     * A list of only in-flight entries (the same block twice): the timeout's boundaries. {0,0} polls (EAGAIN),
     * negative seconds EAGAIN at once, bad nanoseconds EINVAL, and the largest timeouts wait (no overflow into an
     * immediate return) until interrupted (EINTR, status cleared, nothing canceled).
     */
    @Test
    void suspend_timeoutBoundaries_onTheSameBlockListedTwice() throws Exception {
        Aiocb[] twice = {pipeBystander, null, pipeBystander};
        assertEquals(-1, ctx.aio_suspend(twice, 3, new Timespec(0, 0)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(twice, 3, new Timespec(-1, 999_999_999)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(twice, 3, new Timespec(Long.MIN_VALUE, 0)));
        assertEquals(EAGAIN, ctx.errno());
        for (long nsec : new long[] {-1, 1_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE}) {
            assertEquals(-1, ctx.aio_suspend(twice, 3, new Timespec(5, nsec)), "tv_nsec " + nsec);
            assertEquals(EINVAL, ctx.errno());
        }
        assertEquals(-1, ctx.aio_suspend(twice, 3, new Timespec(0, 1_000_000)));
        assertEquals(EAGAIN, ctx.errno());
        Timespec[] huge = {new Timespec(Long.MAX_VALUE, 999_999_999), new Timespec(9_223_372_036L, 854_775_807L),
                new Timespec(9_223_372_035L, 999_999_999L), new Timespec(Long.MAX_VALUE / 2, 1)};
        for (Timespec t : huge) {
            AtomicInteger rc = new AtomicInteger(99);
            AtomicInteger err = new AtomicInteger();
            AtomicReference<Boolean> flag = new AtomicReference<>();
            Thread w = new Thread(() -> {
                rc.set(ctx.aio_suspend(twice, 3, t));
                err.set(ctx.errno());
                flag.set(Thread.currentThread().isInterrupted());
            });
            w.start();
            interruptWhenParked(w);
            join(w);
            assertEquals(-1, rc.get(), "timeout " + t);
            assertEquals(EINTR, err.get(), "timeout " + t);
            assertFalse(flag.get());
        }
    }

    /**
     * A list naming a request whose descriptor is closed (by another thread) while this thread waits: the close
     * cancels it, and the waiter returns 0; a request submitted on the closed number fails EBADF and also ends a wait.
     */
    @Test
    void suspend_onARequestWhoseDescriptorIsClosedMeanwhile_returns() throws Exception {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 4);
        assertEquals(0, ctx.aio_read(r));
        AtomicInteger rc = new AtomicInteger(99);
        Thread w = new Thread(() -> rc.set(ctx.aio_suspend(new Aiocb[] {pipeBystander, r, null}, 3, null)));
        w.start();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (w.getState() != Thread.State.WAITING && w.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() - deadline < 0, "the waiter never parked");
            sleepMillis(1);
        }
        closeNow(p[0]);
        join(w);
        assertEquals(0, rc.get());
        assertEquals(ECANCELED, ctx.aio_error(r));
        assertEquals(-1, ctx.aio_return(r));
        Aiocb onClosed = readCb(closedNumber(), 0, 1);
        assertEquals(0, ctx.aio_read(onClosed));
        assertEquals(0, ctx.aio_suspend(new Aiocb[] {pipeBystander, onClosed}, 2, new Timespec(20, 0)));
        awaitDone(ctx, onClosed);
        assertEquals(EBADF, ctx.aio_error(onClosed));
    }

    // ---------------------------------------------------------------- aio_cancel

    /**
     * aio_cancel's synchronous refusals change nothing: a block of another descriptor (EINVAL, even with a
     * descriptor that has requests of its own), a closed descriptor (EBADF, with a block or fd-wide); a completed
     * block is AIO_ALLDONE and keeps its result; a second cancel of a canceled block is AIO_ALLDONE.
     */
    @Test
    void cancel_refusalsAndCompletedBlocks_changeNothing() {
        int[] p = pipe();
        Aiocb mine = readCb(p[0], 0, 2);
        assertEquals(0, ctx.aio_read(mine));
        assertEquals(-1, ctx.aio_cancel(p[0], pipeBystander));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_cancel(bystanderPipe[0] + 0, mine));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINPROGRESS, ctx.aio_error(mine));
        int closed = closedNumber();
        assertEquals(-1, ctx.aio_cancel(closed, null));
        assertEquals(EBADF, ctx.errno());
        Aiocb onClosed = readCb(closed, 0, 1);
        assertEquals(-1, ctx.aio_cancel(closed, onClosed));
        assertEquals(EBADF, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(onClosed), "a refused cancel gave a never-submitted block a status");
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(doneBystander.aio_fildes, doneBystander));

        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], mine));
        assertEquals(ECANCELED, ctx.aio_error(mine));
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(p[0], mine));
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(p[0], null));
        assertEquals(-1, ctx.aio_return(mine));
        assertEquals(EINVAL, ctx.aio_error(mine));
    }

    /**
     * A notification that cancels another request of its own descriptor and one fd-wide on a third descriptor: the
     * cancels answer AIO_CANCELED, the canceled requests read ECANCELED and are notified once, nothing else changes.
     */
    @Test
    void cancel_fromANotificationCallback_cancelsOnlyWhatItNames() throws Exception {
        int[] p = pipe();
        int[] q = pipe();
        AtomicIntegerArray counts = new AtomicIntegerArray(4);
        Aiocb victim = readCb(p[0], 0, 2);
        victim.aio_sigevent = countInto(counts, 1);
        Aiocb qa = readCb(q[0], 0, 2);
        qa.aio_sigevent = countInto(counts, 2);
        Aiocb qb = readCb(q[0], 0, 2);
        qb.aio_sigevent = countInto(counts, 3);
        assertEquals(0, ctx.aio_read(victim));
        assertEquals(0, ctx.aio_read(qa));
        assertEquals(0, ctx.aio_read(qb));
        AtomicInteger first = new AtomicInteger(99);
        AtomicInteger second = new AtomicInteger(99);
        int src = tempFileWith("src", "hey");
        Aiocb trigger = readCb(src, 0, 3);
        trigger.aio_sigevent = SigEvent.thread(v -> {
            first.set(ctx.aio_cancel(p[0], victim));
            second.set(ctx.aio_cancel(q[0], null));
            counts.incrementAndGet(0);
        }, null);
        assertEquals(0, ctx.aio_read(trigger));
        assertCounts(counts, 1, 1, 1, 1);
        assertEquals(AIO_CANCELED, first.get());
        assertEquals(AIO_CANCELED, second.get());
        assertEquals(3, ctx.aio_return(trigger));
        for (Aiocb c : new Aiocb[] {victim, qa, qb}) {
            assertEquals(ECANCELED, ctx.aio_error(c));
            assertEquals(-1, ctx.aio_return(c));
        }
    }

    // ---------------------------------------------------------------- aio_return / aio_error

    /**
     * aio_error and aio_return at every point of a block's life: never submitted, in progress (both, repeatedly, and
     * the result is not taken by them), done (aio_error repeatable, aio_return once), resubmitted after the return
     * with another buffer (works again), and with its buffer field reassigned while in flight (the request runs with
     * the buffer it was submitted with; the new one is untouched).
     */
    @Test
    void statusCalls_atEveryPointOfABlocksLife() {
        Aiocb never = new Aiocb();
        for (int i = 0; i < 2; i++) {
            assertEquals(EINVAL, ctx.aio_error(never));
            assertEquals(-1, ctx.aio_return(never));
            assertEquals(EINVAL, ctx.errno());
        }
        assertEquals(-1, ctx.aio_return(null));
        assertEquals(EINVAL, ctx.errno());
        int[] p = pipe();
        Aiocb cb = readCb(p[0], 0, 4);
        ByteBuffer original = cb.aio_buf;
        assertEquals(0, ctx.aio_read(cb));
        ByteBuffer replacement = ByteBuffer.allocateDirect(4);
        cb.aio_buf = replacement; // reassigned while in flight: the request keeps the one it was submitted with
        for (int i = 0; i < 3; i++) {
            assertEquals(EINPROGRESS, ctx.aio_error(cb));
            assertEquals(-1, ctx.aio_return(cb));
            assertEquals(EINPROGRESS, ctx.errno());
        }
        writeTo(p[1], "data");
        awaitDone(ctx, cb);
        assertEquals(0, ctx.aio_error(cb));
        assertEquals(0, ctx.aio_error(cb));
        assertEquals(4, ctx.aio_return(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(cb));
        assertEquals("data", text(original, 4));
        assertEquals(0, replacement.get(0), "the buffer assigned while in flight was written");
        assertTrue(cb.aio_buf == replacement, "the facade wrote the aio_buf field");

        // Reused after its return: the new buffer now, on another descriptor.
        int src = tempFileWith("src", "second");
        cb.aio_fildes = src;
        cb.aio_nbytes = 4;
        cb.aio_offset = 2;
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(4, ctx.aio_return(cb));
        assertEquals("cond", text(replacement, 4));
        assertEquals("data", text(original, 4));
        // And once more, as a write through lio_listio, then an fsync on the same block.
        cb.aio_lio_opcode = LIO_WRITE;
        cb.aio_offset = 0;
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {cb}, 1, null));
        assertEquals(4, ctx.aio_return(cb));
        assertEquals(0, ctx.aio_fsync(O_DSYNC, cb));
        awaitDone(ctx, cb);
        assertEquals(0, ctx.aio_return(cb));
        assertEquals(-1, ctx.aio_return(cb));
    }

    // ---------------------------------------------------------------- SIGEV_THREAD / SIGEV_SIGNAL callbacks

    /**
     * A block that resubmits itself from its own SIGEV_THREAD notification, five times, reading a file chunk by chunk:
     * each run is notified once, sees its own final status in the callback, and the chunks arrive in order.
     */
    @Test
    void sigevThread_resubmittingTheSameBlockFromItsCallback_runsEachTimeOnce() {
        int src = tempFileWith("src", "aaaabbbbccccddddeeee");
        Aiocb cb = readCb(src, 0, 4);
        StringBuilder chunks = new StringBuilder();
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicInteger runs = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(1);
        cb.aio_sigevent = SigEvent.thread(v -> {
            Aiocb self = (Aiocb) v;
            int e = ctx.aio_error(self);
            if (e != 0) {
                problems.add("error " + e);
            }
            // aio_suspend on its own request: final, so it returns at once.
            if (ctx.aio_suspend(new Aiocb[] {self}, 1, new Timespec(0, 0)) != 0) {
                problems.add("suspend on own request: " + ctx.errno());
            }
            long n = ctx.aio_return(self);
            if (n != 4) {
                problems.add("return " + n);
            }
            synchronized (chunks) {
                chunks.append(text(self.aio_buf, 4)).append('|');
            }
            if (runs.incrementAndGet() < 5) {
                self.aio_offset += 4;
                if (ctx.aio_read(self) != 0) {
                    problems.add("resubmit: " + ctx.errno());
                }
            } else {
                done.countDown();
            }
        }, null);
        cb.aio_sigevent.sigev_value = cb;
        assertEquals(0, ctx.aio_read(cb));
        awaitTrue("five runs", () -> done.getCount() == 0);
        sleepMillis(QUIET_MILLIS);
        assertEquals(5, runs.get());
        assertEquals(List.of(), List.copyOf(problems));
        synchronized (chunks) {
            assertEquals("aaaa|bbbb|cccc|dddd|eeee|", chunks.toString());
        }
    }

    /**
     * SIGEV_THREAD functions that throw, or block for ever (on a facade thread and on a direct executor), stall no
     * other request: the rest complete and are notified, each once.
     */
    @Test
    void sigevThread_throwingOrBlockingCallbacks_stallNoOtherRequest() throws Exception {
        int src = tempFileWith("src", "0123456789");
        CountDownLatch blocked = new CountDownLatch(2);
        java.util.function.Consumer<Object> block = v -> {
            blocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        Aiocb throwing = readCb(src, 0, 1);
        throwing.aio_sigevent = SigEvent.thread(v -> {
            throw new OutOfMemoryError("hostile callback");
        }, null);
        Aiocb blocking = readCb(src, 1, 1);
        blocking.aio_sigevent = SigEvent.thread(block, null);
        Aiocb blockingDirect = readCb(src, 2, 1);
        blockingDirect.aio_sigevent = SigEvent.thread(block, null);
        blockingDirect.aio_sigevent.sigev_notify_attributes = Runnable::run;
        for (Aiocb c : new Aiocb[] {throwing, blocking, blockingDirect}) {
            assertEquals(0, ctx.aio_read(c));
        }
        awaitDone(ctx, throwing, blocking, blockingDirect);
        assertTrue(blocked.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        Aiocb[] later = new Aiocb[30];
        for (int i = 0; i < later.length; i++) {
            later[i] = readCb(src, i % 10, 1);
            later[i].aio_sigevent = countInto(counts, 0);
            assertEquals(0, ctx.aio_read(later[i]));
        }
        awaitDone(ctx, later);
        for (int i = 0; i < later.length; i++) {
            assertEquals(1, ctx.aio_return(later[i]));
            assertEquals((char) ('0' + i % 10), (char) later[i].aio_buf.get(0));
        }
        assertCounts(counts, later.length);
    }

    /**
     * A SIGEV_THREAD function that closes its own request's descriptor while another request of that descriptor is
     * pending: the close returns 0, the pending one ends ECANCELED (the close canceled it) and is notified once; the
     * bystanders, on other descriptors, are untouched. (Reads of one pipe are not ordered among themselves, so the
     * second read is submitted only once the first has its byte; the function waits for that.)
     */
    @Test
    void sigevThread_closingItsOwnDescriptor_cancelsOnlyThatDescriptorsRequests() throws Exception {
        int[] p = pipe();
        AtomicIntegerArray counts = new AtomicIntegerArray(2);
        Aiocb pending = readCb(p[0], 0, 8);
        pending.aio_sigevent = countInto(counts, 1);
        Aiocb first = readCb(p[0], 0, 1);
        AtomicInteger closeRc = new AtomicInteger(99);
        CountDownLatch pendingSubmitted = new CountDownLatch(1);
        first.aio_sigevent = SigEvent.thread(v -> {
            try {
                pendingSubmitted.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closeRc.set(Unistd.close(p[0]));
            counts.incrementAndGet(0);
        }, null);
        assertEquals(0, ctx.aio_read(first));
        writeTo(p[1], "x");
        awaitDone(ctx, first);
        assertEquals(0, ctx.aio_read(pending));
        pendingSubmitted.countDown();
        assertCounts(counts, 1, 1);
        assertEquals(0, closeRc.get());
        assertEquals(1, ctx.aio_return(first));
        assertEquals("x", text(first.aio_buf, 1));
        assertEquals(ECANCELED, ctx.aio_error(pending));
        assertTrue(fdsToCloseForget(p[0]));
    }

    /** The test closed this descriptor itself: the cleanup must not close the number again (another file may own it). */
    private boolean fdsToCloseForget(int fd) {
        try {
            java.lang.reflect.Field f = PosixTestSupport.class.getDeclaredField("fdsToClose");
            f.setAccessible(true);
            @SuppressWarnings("unchecked")
            List<Integer> l = (List<Integer>) f.get(this);
            return l.remove(Integer.valueOf(fd));
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * SIGEV_SIGNAL: a handler that takes the result and resubmits the block once, from the delivery thread: each run is
     * delivered once with SI_ASYNCIO and the value, the status is final at delivery.
     */
    @Test
    void sigevSignal_handlerThatResubmitsTheBlock_isDeliveredOncePerRun() {
        int signo = Signals.SIGRTMIN + 7;
        int src = tempFileWith("src", "firstsecond");
        Aiocb cb = readCb(src, 0, 5);
        cb.aio_sigevent = SigEvent.signal(signo, cb);
        ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
        assertEquals(0, Signals.sigaction(signo, info -> {
            Aiocb self = (Aiocb) info.si_value();
            int err = ctx.aio_error(self);
            long n = ctx.aio_return(self);
            seen.add(info.si_signo() + ":" + info.si_code() + ":" + err + ":" + n + ":" + text(self.aio_buf, 5));
            if (self.aio_offset == 0) {
                self.aio_offset = 5;
                seen.add("resubmit " + ctx.aio_read(self));
            }
        }));
        try {
            assertEquals(0, ctx.aio_read(cb));
            awaitTrue("two deliveries", () -> seen.size() >= 3);
            sleepMillis(QUIET_MILLIS);
            String prefix = signo + ":" + Signals.SI_ASYNCIO + ":0:5:";
            assertEquals(List.of(prefix + "first", "resubmit 0", prefix + "secon"), List.copyOf(seen));
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    // ---------------------------------------------------------------- aio_fsync

    /**
     * aio_fsync with any op other than O_SYNC or O_DSYNC: -1/EINVAL, that errno the block's status (and aio_return -1
     * once), no notification, even on a descriptor that is not open (op is checked first, as glibc does), and for a
     * block whose earlier result was not yet returned.
     */
    @Test
    void fsync_opOtherThanSyncOrDsync_isEINVAL_asItsStatus_andNotifiesNothing() {
        int fd = openTemp("f", 0);
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        int[] ops = {0, -1, O_RDONLY, Fcntl.O_RDWR, Fcntl.O_WRONLY, O_SYNC | Fcntl.O_APPEND, O_DSYNC | Fcntl.O_CREAT,
                Integer.MIN_VALUE, Integer.MAX_VALUE, O_SYNC << 1, Fcntl.O_DIRECT};
        int closed = closedNumber();
        for (int op : ops) {
            for (int target : new int[] {fd, closed}) {
                Aiocb cb = aiocb(target, 0, null, 0);
                cb.aio_sigevent = countInto(counts, 0);
                assertEquals(-1, ctx.aio_fsync(op, cb), "op " + op);
                assertEquals(EINVAL, ctx.errno(), "op " + op);
                assertEquals(EINVAL, ctx.aio_error(cb));
                assertEquals(-1, ctx.aio_return(cb));
            }
        }
        int src = tempFileWith("src", "abc");
        Aiocb held = readCb(src, 0, 3);
        assertEquals(0, ctx.aio_read(held));
        awaitDone(ctx, held);
        assertEquals(-1, ctx.aio_fsync(12345, held));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(held), "a refused fsync left the block's earlier result as its status");
        assertEquals(-1, ctx.aio_return(held));
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, counts.get(0), "a refused fsync notified");
    }

    /**
     * aio_fsync on descriptor kinds: a read-only file (glibc accepts it and fsync(2) succeeds: 0), a directory (0),
     * a pipe (queued, then EINVAL from the kernel, after an earlier read of the pipe that is still in progress), a
     * closed descriptor (-1/EBADF synchronously, as its status, no notification).
     */
    @Test
    void fsync_onReadOnlyFileDirectoryPipeAndClosedDescriptor() throws Exception {
        tempFileWith("ro", "data");
        int ro = Fcntl.open(dir.resolve("ro").toString(), O_RDONLY, 0);
        assertTrue(ro >= 0);
        int d = Fcntl.open(dir.toString(), O_RDONLY, 0);
        assertTrue(d >= 0);
        try {
            for (int op : new int[] {O_SYNC, O_DSYNC}) {
                Aiocb cb = aiocb(ro, 0, null, 0);
                assertEquals(0, ctx.aio_fsync(op, cb));
                awaitDone(ctx, cb);
                assertEquals(0, ctx.aio_error(cb), "fsync of a read-only descriptor");
                assertEquals(0, ctx.aio_return(cb));
                Aiocb dc = aiocb(d, 0, null, 0);
                assertEquals(0, ctx.aio_fsync(op, dc));
                awaitDone(ctx, dc);
                assertEquals(0, ctx.aio_error(dc), "fsync of a directory");
            }
            // A read of the directory fails with the kernel's EISDIR, asynchronously.
            Aiocb dr = readCb(d, 0, 8);
            assertEquals(0, ctx.aio_read(dr));
            awaitDone(ctx, dr);
            assertEquals(EISDIR, ctx.aio_error(dr));
            assertEquals(-1, ctx.aio_return(dr));
        } finally {
            Unistd.close(ro);
            Unistd.close(d);
        }
        int[] p = pipe();
        Aiocb earlier = readCb(p[0], 0, 2);
        assertEquals(0, ctx.aio_read(earlier));
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        Aiocb fs = aiocb(p[0], 0, null, 0);
        fs.aio_sigevent = countInto(counts, 0);
        assertEquals(0, ctx.aio_fsync(O_SYNC, fs));
        assertStaysInProgress(ctx, fs); // behind the pipe read, which has no data yet
        writeTo(p[1], "ok");
        awaitDone(ctx, earlier, fs);
        assertEquals(2, ctx.aio_return(earlier));
        assertEquals(EINVAL, ctx.aio_error(fs));
        assertEquals(-1, ctx.aio_return(fs));
        Aiocb closed = aiocb(closedNumber(), 0, null, 0);
        closed.aio_sigevent = countInto(counts, 0);
        assertEquals(-1, ctx.aio_fsync(O_DSYNC, closed));
        assertEquals(EBADF, ctx.errno());
        assertEquals(EBADF, ctx.aio_error(closed));
        assertCounts(counts, 1);
    }

    /**
     * aio_fsync after writes of every kind on one descriptor (single writes, a lio_listio batch, an overlapping write
     * whose later call wins): when its notification runs, every earlier write is final; the file holds the writes in
     * call order; a write on another descriptor is not waited for.
     */
    @Test
    void fsync_afterWritesOfEveryKind_completesAfterAllOfThem() throws Exception {
        int fd = openTemp("f", 0);
        Aiocb otherFd = pipeBystander; // in flight on another descriptor all along
        Aiocb[] writes = new Aiocb[8];
        for (int i = 0; i < 4; i++) {
            writes[i] = writeCb(fd, i * 4L, "" + (char) ('a' + i) + (char) ('a' + i) + (char) ('a' + i)
                    + (char) ('a' + i));
            assertEquals(0, ctx.aio_write(writes[i]));
        }
        for (int i = 4; i < 8; i++) {
            writes[i] = lioCb(LIO_WRITE, writeCb(fd, (i - 4) * 4L + 2, "" + i + i));
        }
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, java.util.Arrays.copyOfRange(writes, 4, 8), 4, null));
        ConcurrentLinkedQueue<String> atNotify = new ConcurrentLinkedQueue<>();
        Aiocb fs = aiocb(fd, 0, null, 0);
        fs.aio_sigevent = SigEvent.thread(v -> {
            for (Aiocb w : writes) {
                if (ctx.aio_error(w) != 0) {
                    atNotify.add("write not final: " + ctx.aio_error(w));
                }
            }
            atNotify.add("fsync " + ctx.aio_error(fs) + " other " + ctx.aio_error(otherFd));
        }, null);
        assertEquals(0, ctx.aio_fsync(O_SYNC, fs));
        awaitDone(ctx, fs);
        awaitTrue("the fsync's notification", () -> !atNotify.isEmpty());
        assertEquals(List.of("fsync 0 other " + EINPROGRESS), List.copyOf(atNotify));
        assertEquals("aa44bb55cc66dd77", fileContent("f"));
        for (Aiocb w : writes) {
            assertTrue(ctx.aio_return(w) > 0);
        }
    }

    // ---------------------------------------------------------------- writes to a pipe larger than it holds

    /**
     * A write to a blocking pipe is complete when all of it was written, as write(2) on a blocking pipe is ("on normal
     * completion it shall return nbyte", POSIX; glibc's aio_write is such a write(2)): a write larger than the pipe's
     * capacity, whose reader drains it meanwhile, returns its whole count, from a direct or a heap buffer, through
     * aio_write and lio_listio; a second write queued behind it lands after all of it. The kernel (io_uring, and the
     * thread-pool backend, which mirrors it) ends such a write short at what the pipe took, and the facade returned
     * that count: 65536 of 262144.
     */
    @Test
    void pipeWrite_largerThanThePipe_isWrittenWhole_inCallOrder() throws Exception {
        int n = 256 * 1024;
        for (int variant = 0; variant < 4; variant++) {
            int[] p = pipe();
            ByteBuffer big = variant % 2 == 0 ? ByteBuffer.allocateDirect(n) : ByteBuffer.allocate(n);
            for (int i = 0; i < n; i++) {
                big.put(i, (byte) (i * 31 + 7));
            }
            Aiocb whole = lioCb(LIO_WRITE, aiocb(p[1], 0, big, n));
            Aiocb after = lioCb(LIO_WRITE, writeCb(p[1], 0, "tail"));
            AtomicIntegerArray counts = new AtomicIntegerArray(1);
            whole.aio_sigevent = countInto(counts, 0);
            Drainer drainer = new Drainer(p[0], n + 4);
            drainer.start();
            if (variant < 2) {
                assertEquals(0, ctx.aio_write(whole));
                assertEquals(0, ctx.aio_write(after));
            } else {
                assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {whole, after}, 2, null), "variant " + variant);
            }
            awaitDone(ctx, whole, after);
            assertEquals(0, ctx.aio_error(whole));
            assertEquals(n, ctx.aio_return(whole), "variant " + variant + ": a short write to a blocking pipe");
            assertEquals(4, ctx.aio_return(after));
            join(drainer);
            assertEquals(n + 4, drainer.total, "variant " + variant);
            assertEquals(0, drainer.mismatches, "variant " + variant + ": bytes out of order");
            assertEquals("tail", drainer.tail());
            assertCounts(counts, 1);
        }
    }

    /**
     * A write larger than the pipe, with nobody reading: part of it is in the pipe, the rest cannot go. aio_cancel's
     * answer agrees with the final status and with the bytes in the pipe: AIO_CANCELED with ECANCELED (nothing of it
     * written), or AIO_NOTCANCELED with a count that is what the reader then finds; a close of the write end returns
     * and leaves the request final.
     */
    @Test
    void pipeWrite_largerThanThePipe_cancelAndCloseAgreeWithTheBytesWritten() throws Exception {
        int n = 256 * 1024;
        for (boolean byClose : new boolean[] {false, true}) {
            int[] p = pipe();
            Aiocb big = aiocb(p[1], 0, ByteBuffer.allocateDirect(n), n);
            AtomicIntegerArray counts = new AtomicIntegerArray(1);
            big.aio_sigevent = countInto(counts, 0);
            assertEquals(0, ctx.aio_write(big));
            assertStaysInProgress(ctx, big); // blocked on the full pipe (or its rest is)
            int answer = -2;
            if (byClose) {
                closeNow(p[1]);
            } else {
                answer = ctx.aio_cancel(p[1], big);
            }
            awaitDone(ctx, big);
            int err = ctx.aio_error(big);
            long ret = ctx.aio_return(big);
            if (!byClose) {
                closeNow(p[1]);
            }
            Drainer drainer = new Drainer(p[0], n);
            drainer.run();
            if (err == ECANCELED) {
                assertTrue(byClose || answer == AIO_CANCELED, "ECANCELED but the cancel answered " + answer);
                assertEquals(-1, ret);
                assertEquals(0, drainer.total, "canceled, yet " + drainer.total + " bytes were written");
            } else {
                assertEquals(0, err);
                assertTrue(byClose || answer == Aio.AIO_NOTCANCELED, "not canceled but the cancel answered " + answer);
                assertEquals(drainer.total, ret, "the count returned is not what the pipe got");
            }
            assertCounts(counts, 1);
        }
    }

    /**
     * A context closed while its write larger than the pipe is blocked (part of it in the pipe, nobody reading): the
     * close returns, and the request is final with the bytes the pipe got (or ECANCELED when none), notified once; a
     * rest of the write is never started after the engine closed.
     */
    @Test
    void pipeWrite_largerThanThePipe_contextCloseEndsIt() throws Exception {
        int n = 256 * 1024;
        int[] p = pipe();
        Aiocb big = aiocb(p[1], 0, ByteBuffer.allocateDirect(n), n);
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        big.aio_sigevent = countInto(counts, 0);
        AioContext other = new AioContext();
        try {
            assertEquals(0, other.aio_write(big));
            assertStaysInProgress(other, big);
        } finally {
            other.close();
        }
        assertNotEquals(EINPROGRESS, other.aio_error(big), "in progress after its context closed");
        int err = other.aio_error(big);
        long ret = other.aio_return(big);
        closeNow(p[1]);
        Drainer drainer = new Drainer(p[0], n);
        drainer.run();
        if (err == ECANCELED) {
            assertEquals(0, drainer.total);
        } else {
            assertEquals(0, err);
            assertEquals(drainer.total, ret);
        }
        assertCounts(counts, 1);
    }

    /**
     * Writes larger than their pipe, drained slowly by a reader, closed by another thread mid-way (between two parts or
     * inside one): the close returns with the request final, its count what the reader got (or ECANCELED and nothing),
     * and the file that takes the closed number next never receives a byte of it.
     */
    @Test
    void pipeWrite_largerThanThePipe_closedMidway_noPartReachesTheFileThatReusesTheNumber() throws Exception {
        int n = 256 * 1024;
        for (int round = 0; round < 12; round++) {
            int[] p = pipe();
            Aiocb big = aiocb(p[1], 0, ByteBuffer.allocateDirect(n), n);
            for (int i = 0; i < n; i++) {
                big.aio_buf.put(i, (byte) (i * 31 + 7));
            }
            Drainer drainer = new Drainer(p[0], n);
            assertEquals(0, ctx.aio_write(big));
            drainer.start();
            sleepMillis(round % 4); // the close lands at different points of the write
            int number = p[1];
            closeNow(number);
            assertNotEquals(EINPROGRESS, ctx.aio_error(big), "round " + round + ": in progress after its close");
            int reuse = Fcntl.open(dir.resolve("reuse" + round).toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
            assertTrue(reuse >= 0);
            try {
                join(drainer);
                int err = ctx.aio_error(big);
                long ret = ctx.aio_return(big);
                assertEquals(0, drainer.mismatches);
                if (err == ECANCELED) {
                    assertEquals(0, drainer.total, "round " + round);
                } else {
                    assertEquals(0, err, "round " + round);
                    assertEquals(drainer.total, ret, "round " + round + ": the count is not what the reader got");
                }
                sleepMillis(20);
                assertEquals(0, java.nio.file.Files.size(dir.resolve("reuse" + round)),
                        "round " + round + ": a part of the write reached the file that took number " + number
                                + (reuse == number ? " (reused)" : " (not reused: " + reuse + ")"));
            } finally {
                Unistd.close(reuse);
            }
        }
    }

    /**
     * Two threads cancel one write larger than its pipe at once, while a reader drains the pipe (so the cancels find
     * it inside a part or between two): the answers agree with each other and with the final status: ECANCELED only
     * after an AIO_CANCELED answer and with nothing of it in the pipe; a count only after no AIO_CANCELED answer, and
     * it is what the reader got. The result is taken once; the notification fires once.
     */
    @Test
    void pipeWrite_largerThanThePipe_twoCancelsRacingItsParts_agreeWithTheFinalStatus() throws Exception {
        int n = 256 * 1024;
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        int rounds = 10;
        for (int round = 0; round < rounds; round++) {
            int[] p = pipe();
            Aiocb big = aiocb(p[1], 0, ByteBuffer.allocateDirect(n), n);
            for (int i = 0; i < n; i++) {
                big.aio_buf.put(i, (byte) (i * 31 + 7));
            }
            big.aio_sigevent = countInto(counts, 0);
            Drainer drainer = new Drainer(p[0], n);
            assertEquals(0, ctx.aio_write(big));
            drainer.start();
            java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
            int[] answers = new int[2];
            Thread[] ts = new Thread[2];
            for (int k = 0; k < 2; k++) {
                int me = k;
                ts[k] = new Thread(() -> {
                    try {
                        go.await();
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                    answers[me] = ctx.aio_cancel(p[1], big);
                });
                ts[k].start();
            }
            for (Thread t : ts) {
                join(t);
            }
            awaitDone(ctx, big);
            int err = ctx.aio_error(big);
            long ret = ctx.aio_return(big);
            assertEquals(-1, ctx.aio_return(big));
            closeNow(p[1]);
            join(drainer);
            int canceled = (answers[0] == AIO_CANCELED ? 1 : 0) + (answers[1] == AIO_CANCELED ? 1 : 0);
            String what = "round " + round + ": answers " + answers[0] + "," + answers[1] + " status " + err + " count "
                    + ret + " drained " + drainer.total;
            assertEquals(0, drainer.mismatches, what);
            if (err == ECANCELED) {
                assertEquals(1, canceled, what);
                assertEquals(0, drainer.total, what);
            } else {
                assertEquals(0, err, what);
                assertEquals(0, canceled, what);
                assertEquals(drainer.total, ret, what);
            }
        }
        assertCounts(counts, rounds);
    }

    /**
     * Four threads write to one pipe (writes of 1 byte to three times the pipe's size, each of its own byte value) while
     * a reader drains it and another thread closes the write end at some point: every request is final when the close
     * returns; the pipe holds each write's bytes as one unbroken run (writes to a stream land whole and in call order),
     * of exactly the count its aio_return gives (none for ECANCELED), no write twice; the file that takes the number
     * next gets nothing.
     */
    @Test
    void pipeWrites_fromFourThreads_againstAClose_landWholeOnceAndNeverAfterIt() throws Exception {
        for (int round = 0; round < 6; round++) {
            int[] p = pipe();
            int writers = 4;
            int perWriter = 40; // 160 writes: byte values 1..160
            Aiocb[] all = new Aiocb[writers * perWriter];
            for (int i = 0; i < all.length; i++) {
                int size = switch (i % 4) {
                    case 0 -> 1;
                    case 1 -> 4096;
                    case 2 -> 70_000;
                    default -> 200_000;
                };
                ByteBuffer b = (i % 2 == 0) ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
                for (int k = 0; k < size; k++) {
                    b.put(k, (byte) (i + 1));
                }
                all[i] = aiocb(p[1], 0, b, size);
            }
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            Thread reader = new Thread(() -> {
                ByteBuffer r = ByteBuffer.allocateDirect(65536);
                byte[] chunk = new byte[65536];
                while (true) {
                    long k = Unistd.read(p[0], r, 65536);
                    if (k <= 0) {
                        break;
                    }
                    r.get(0, chunk, 0, (int) k);
                    got.write(chunk, 0, (int) k);
                }
            });
            reader.start();
            CountDownLatch started = new CountDownLatch(writers);
            AtomicInteger refused = new AtomicInteger();
            Thread[] ts = new Thread[writers];
            for (int w = 0; w < writers; w++) {
                int me = w;
                ts[w] = new Thread(() -> {
                    started.countDown();
                    for (int j = 0; j < perWriter; j++) {
                        if (ctx.aio_write(all[me * perWriter + j]) != 0) {
                            refused.incrementAndGet();
                        }
                    }
                });
                ts[w].start();
            }
            assertTrue(started.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
            sleepMillis(round * 3);
            int number = p[1];
            for (Thread t : ts) {
                join(t);
            }
            closeNow(number);
            for (Aiocb cb : all) {
                assertNotEquals(EINPROGRESS, ctx.aio_error(cb), "round " + round + ": in progress after the close");
            }
            int reuse = Fcntl.open(dir.resolve("reuse" + round).toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
            assertTrue(reuse >= 0);
            try {
                join(reader);
                assertEquals(0, refused.get());
                byte[] bytes = got.toByteArray();
                long[] runOf = new long[all.length + 1];
                int i = 0;
                while (i < bytes.length) {
                    int v = bytes[i] & 0xff;
                    int j = i;
                    while (j < bytes.length && bytes[j] == bytes[i]) {
                        j++;
                    }
                    assertTrue(v >= 1 && v <= all.length, "round " + round + ": a byte no write wrote: " + v);
                    assertEquals(0, runOf[v], "round " + round + ": write " + (v - 1) + " is in the pipe twice");
                    runOf[v] = j - i;
                    i = j;
                }
                for (int k = 0; k < all.length; k++) {
                    int err = ctx.aio_error(all[k]);
                    long ret = ctx.aio_return(all[k]);
                    if (err == ECANCELED) {
                        assertEquals(0, runOf[k + 1], "round " + round + ": canceled write " + k + " is in the pipe");
                    } else {
                        assertEquals(0, err, "round " + round + " write " + k);
                        assertEquals(runOf[k + 1], ret, "round " + round + ": write " + k + "'s count");
                    }
                }
                sleepMillis(10);
                assertEquals(0, java.nio.file.Files.size(dir.resolve("reuse" + round)),
                        "round " + round + ": bytes reached the file that took number " + number);
            } finally {
                Unistd.close(reuse);
            }
        }
    }

    /**
     * glibc's aio_read of an empty O_NONBLOCK pipe is a read(2) that fails at once with EAGAIN, and its aio_write to a
     * full one likewise; a ported C program that polls such a descriptor expects that status. io_uring arms a poll for
     * a pipe whatever its O_NONBLOCK (and the thread-pool backend mirrored it), so the facade waited for data: the
     * request stayed in progress. A blocking pipe still waits (the bystander), and the descriptor works once it has
     * data or room.
     */
    @Test
    void nonblockingPipe_readOfEmptyAndWriteOfFull_areEAGAIN_asUnderGlibc() {
        int[] p = pipe();
        assertEquals(0, Fcntl.fcntl(p[0], Fcntl.F_SETFL, Fcntl.O_NONBLOCK));
        assertEquals(0, Fcntl.fcntl(p[1], Fcntl.F_SETFL, Fcntl.O_NONBLOCK));
        AtomicIntegerArray counts = new AtomicIntegerArray(1);
        Aiocb r = readCb(p[0], 0, 4);
        r.aio_sigevent = countInto(counts, 0);
        assertEquals(0, ctx.aio_read(r));
        ctx.aio_suspend(new Aiocb[] {r}, 1, new Timespec(5, 0));
        assertEquals(EAGAIN, ctx.aio_error(r), "a read of an empty O_NONBLOCK pipe");
        assertEquals(-1, ctx.aio_return(r));
        // Fill the pipe (a non-blocking write(2) takes what fits), then one more write: EAGAIN.
        ByteBuffer chunk = ByteBuffer.allocateDirect(65536);
        long filled = 0;
        while (true) {
            long k = Unistd.write(p[1], chunk, chunk.capacity());
            if (k < 0) {
                assertEquals(EAGAIN, ctx.errno());
                break;
            }
            filled += k;
        }
        Aiocb w = writeCb(p[1], 0, "more");
        w.aio_sigevent = countInto(counts, 0);
        assertEquals(0, ctx.aio_write(w));
        ctx.aio_suspend(new Aiocb[] {w}, 1, new Timespec(5, 0));
        assertEquals(EAGAIN, ctx.aio_error(w), "a write to a full O_NONBLOCK pipe");
        assertEquals(-1, ctx.aio_return(w));
        // With data and room, both work.
        Aiocb r2 = readCb(p[0], 0, 4);
        assertEquals(0, ctx.aio_read(r2));
        awaitDone(ctx, r2);
        assertEquals(4, ctx.aio_return(r2));
        ByteBuffer drain = ByteBuffer.allocateDirect(65536);
        while (Unistd.read(p[0], drain, drain.capacity()) > 0) {
            // empty the pipe
        }
        assertEquals(0, ctx.aio_write(w));
        awaitDone(ctx, w);
        assertEquals(4, ctx.aio_return(w));
        assertTrue(filled > 0);
        assertCounts(counts, 3); // the read, the refused write and the same block's write that went
    }

    /** Reads a pipe until EOF or {@code expect} bytes, checking the pattern of the big writes; keeps the last bytes. */
    private static final class Drainer extends Thread {
        private final int fd;
        private final int expect;
        volatile long total;
        volatile long mismatches;
        private final byte[] last = new byte[4];

        Drainer(int fd, int expect) {
            this.fd = fd;
            this.expect = expect;
        }

        @Override
        public void run() {
            ByteBuffer r = ByteBuffer.allocateDirect(65536);
            long t = 0;
            long bad = 0;
            while (t < expect) {
                long k = Unistd.read(fd, r, Math.min(65536, expect - t));
                if (k <= 0) {
                    break;
                }
                for (int i = 0; i < k; i++) {
                    long pos = t + i;
                    if (pos < expect - 4 && r.get(i) != (byte) (pos * 31 + 7)) {
                        bad++;
                    }
                    if (pos >= expect - 4) {
                        last[(int) (pos - (expect - 4))] = r.get(i);
                    }
                }
                t += k;
            }
            total = t;
            mismatches = bad;
        }

        String tail() {
            return new String(last, java.nio.charset.StandardCharsets.ISO_8859_1);
        }
    }
}
