package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.AIO_CANCELED;
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
import static io.uringaio.posix.Fcntl.O_SYNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * The spec's pinned behaviours that no other class held to, read line by line against {@code spec/posix-facade.md}
 * and, where it leaves a case open, POSIX and aio(7); each case asserts the return value, the errno and that nothing
 * else changed. Private context; both backends (the pom runs the suite twice).
 */
class SpecConformanceTest extends PrivateContextSupport {

    // ---------------------------------------------------------------- aio_suspend

    /**
     * POSIX: "If any of the aiocb structures in the list correspond to completed asynchronous I/O operations ... at the
     * time of the call, the function shall return without suspending the calling thread" and returns 0; the spec: "0
     * ... immediately if one already is", "nent == 0 or an all-null list returns 0 at once". The timeout is about how
     * long to wait, so a call that does not wait returns 0 whatever it holds (glibc does not look at it either).
     */
    @Test
    void suspend_withOneEntryComplete_returnsZero_whateverTheTimeout() {
        int fd = tempFileWith("f", "done");
        int[] p = pipe();
        Aiocb pending = readCb(p[0], 0, 4);
        assertEquals(0, ctx.aio_read(pending));
        Aiocb done = readCb(fd, 0, 4);
        assertEquals(0, ctx.aio_read(done));
        awaitDone(ctx, done);
        Timespec[] odd = {new Timespec(-1, 0), new Timespec(Long.MIN_VALUE, 0), new Timespec(0, -1),
            new Timespec(0, 1_000_000_000L), new Timespec(-5, Long.MAX_VALUE)};
        for (Timespec t : odd) {
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {pending, done}, 2, t), "timeout " + t);
            assertEquals(0, ctx.aio_suspend(new Aiocb[0], 0, t), "nent 0, timeout " + t);
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {null, null}, 2, t), "all null, timeout " + t);
        }
        // With nothing complete, the pinned answers hold.
        assertEquals(-1, ctx.aio_suspend(new Aiocb[] {pending}, 1, new Timespec(-1, 0)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(-1, ctx.aio_suspend(new Aiocb[] {pending}, 1, new Timespec(0, 1_000_000_000L)));
        assertEquals(EINVAL, ctx.errno());
        // The calls consumed nothing.
        assertEquals(0, ctx.aio_error(done));
        assertEquals(4, ctx.aio_return(done));
        assertEquals("done", text(done.aio_buf, 4));
        assertEquals(EINPROGRESS, ctx.aio_error(pending));
        writeTo(p[1], "pend");
        awaitDone(ctx, pending);
        assertEquals(4, ctx.aio_return(pending));
    }

    /**
     * aio_error and aio_return read any Aiocb, whichever context ran it; aio_suspend must then also return when the
     * request of another context it waits for completes (a program that submits on its own AioContext and waits with
     * the static Aio.aio_suspend), never park until a completion of its own context that may never come.
     */
    @Test
    void suspend_onARequestOfAnotherContext_returnsWhenItCompletes() throws Exception {
        try (AioContext other = new AioContext()) {
            int[] p = pipe();
            Aiocb r = readCb(p[0], 0, 5);
            assertEquals(0, other.aio_read(r));
            int[] result = {Integer.MIN_VALUE, 0};
            Thread waiter = new Thread(() -> {
                result[0] = ctx.aio_suspend(new Aiocb[] {r}, 1, null);
                result[1] = ctx.errno();
            });
            waiter.start();
            waitUntilParked(waiter);
            writeTo(p[1], "other");
            waiter.join(10_000);
            boolean stuck = waiter.isAlive();
            if (stuck) {
                waiter.interrupt(); // EINTR ends it, so the class can go on
                waiter.join(DEADLINE_MILLIS);
            }
            assertTrue(!stuck, "aio_suspend of a request of another context was never woken by its completion");
            assertEquals(0, result[0], "errno " + result[1]);
            assertEquals(5, ctx.aio_return(r));
            assertEquals("other", text(r.aio_buf, 5));
        }
    }

    /**
     * A waiter that finds an entry in the middle of another thread's submission (claimed, not yet checked) must
     * return once that submission is refused: the refusal is the entry's final status (spec: "Every other synchronous
     * rejection leaves that errno as the Aiocb's status"), so the entry is no longer in progress. Hostile: one thread
     * submits a block over and over with a refused fsync (a closed descriptor: EBADF after a system call), another
     * waits for it with no timeout each time; after the submitter stops, the waiter must return.
     */
    @Test
    void suspend_onABlockWhoseConcurrentSubmissionIsRefused_returns() throws Exception {
        Aiocb cb = new Aiocb();
        cb.aio_fildes = closedHighFd();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger waits = new AtomicInteger();
        int[] bad = {0, 0};
        Thread waiter = new Thread(() -> {
            while (!stop.get()) {
                int r = ctx.aio_suspend(new Aiocb[] {cb}, 1, null);
                if (r != 0) {
                    bad[0] = r;
                    bad[1] = ctx.errno();
                    return;
                }
                waits.incrementAndGet();
            }
        });
        waiter.start();
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
        int refusals = 0;
        while (System.nanoTime() - end < 0) {
            assertEquals(-1, ctx.aio_fsync(O_SYNC, cb));
            assertEquals(EBADF, ctx.errno());
            refusals++;
        }
        stop.set(true);
        waiter.join(5_000);
        boolean stuck = waiter.isAlive();
        String where = stuck ? Arrays.toString(waiter.getStackTrace()) : "";
        if (stuck) {
            waiter.interrupt();
            waiter.join(DEADLINE_MILLIS);
        }
        assertTrue(!stuck, "aio_suspend stayed parked on a block whose submission was refused (" + waits.get()
                + " waits returned over " + refusals + " refusals), at " + where);
        assertEquals(0, bad[0], "aio_suspend failed, errno " + bad[1]);
        assertEquals(EBADF, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
    }

    /** An interrupt pending when aio_suspend need not wait is left alone: the call returns 0 and keeps the status. */
    @Test
    void suspend_withOneEntryComplete_andAnInterruptPending_returnsZero_andKeepsTheStatus() {
        int fd = tempFileWith("f", "ok");
        Aiocb done = readCb(fd, 0, 2);
        assertEquals(0, ctx.aio_read(done));
        awaitDone(ctx, done);
        Thread.currentThread().interrupt();
        try {
            assertEquals(0, ctx.aio_suspend(new Aiocb[] {done}, 1, null));
            assertTrue(Thread.currentThread().isInterrupted(), "aio_suspend consumed an interrupt it did not act on");
        } finally {
            Thread.interrupted();
        }
        assertEquals(2, ctx.aio_return(done));
    }

    /**
     * Two threads in aio_suspend on the same in-flight block both return 0 when it completes; neither takes its
     * result (aio_return works once after).
     */
    @Test
    void suspend_fromTwoThreadsOnOneBlock_bothReturn_andTheResultIsTakenOnce() throws Exception {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 3);
        assertEquals(0, ctx.aio_read(r));
        int[][] got = new int[2][2];
        Thread[] ts = new Thread[2];
        for (int i = 0; i < 2; i++) {
            int k = i;
            ts[i] = new Thread(() -> {
                got[k][0] = ctx.aio_suspend(new Aiocb[] {r}, 1, null);
                got[k][1] = ctx.errno();
            });
            ts[i].start();
        }
        for (Thread t : ts) {
            waitUntilParked(t);
        }
        writeTo(p[1], "two");
        for (int i = 0; i < 2; i++) {
            join(ts[i]);
            assertEquals(0, got[i][0], "waiter " + i + " errno " + got[i][1]);
        }
        assertEquals(0, ctx.aio_error(r));
        assertEquals(3, ctx.aio_return(r));
        assertEquals(-1, ctx.aio_return(r));
        assertEquals(EINVAL, ctx.errno());
        assertEquals("two", text(r.aio_buf, 3));
    }

    // ---------------------------------------------------------------- aio_cancel

    /**
     * aio_cancel answers AIO_ALLDONE only "when none was outstanding". A request of another context is outstanding
     * (aio_error reads EINPROGRESS through this context too): canceling it here cancels it, it does not answer
     * "all done" while it runs on.
     */
    @Test
    void cancel_ofARequestOfAnotherContext_cancelsIt() {
        try (AioContext other = new AioContext()) {
            int[] p = pipe();
            Aiocb r = readCb(p[0], 0, 5);
            Aiocb bystander = readCb(p[0], 0, 5);
            assertEquals(0, other.aio_read(r));
            assertEquals(0, other.aio_read(bystander));
            assertEquals(EINPROGRESS, ctx.aio_error(r));
            assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], r));
            assertEquals(ECANCELED, ctx.aio_error(r));
            assertEquals(-1, ctx.aio_return(r));
            assertEquals(EINPROGRESS, other.aio_error(bystander), "only the one asked for was canceled");
            assertEquals(AIO_ALLDONE, ctx.aio_cancel(p[0], r));
            writeTo(p[1], "after");
            awaitDone(other, bystander);
            assertEquals(5, other.aio_return(bystander));
        }
    }

    // ---------------------------------------------------------------- notifications

    /**
     * A SIGEV_THREAD function that blocks for ever (on a facade thread: no executor given) and one that throws stall
     * nothing else: later requests complete, their own notifications fire once each, and an aio_suspend of another
     * thread on one of them returns. The blocked function is released at the end.
     */
    @Test
    void notifications_thatBlockForEverOrThrow_stallNoOtherCompletionNotificationOrSuspend() throws Exception {
        int fd = tempFileWith("f", "0123456789");
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        AtomicInteger thrown = new AtomicInteger();
        try {
            Aiocb blocker = readCb(fd, 0, 2);
            blocker.aio_sigevent = SigEvent.thread(v -> {
                blocked.countDown();
                awaitUninterruptibly(release);
            }, null);
            Aiocb thrower = readCb(fd, 2, 2);
            thrower.aio_sigevent = SigEvent.thread(v -> {
                thrown.incrementAndGet();
                throw new IllegalStateException("hostile notification");
            }, null);
            assertEquals(0, ctx.aio_read(blocker));
            assertEquals(0, ctx.aio_read(thrower));
            assertTrue(blocked.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
            awaitTrue("the throwing function ran", () -> thrown.get() == 1);

            int[] p = pipe();
            AtomicInteger[] counts = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
            Aiocb[] later = new Aiocb[3];
            for (int i = 0; i < 3; i++) {
                AtomicInteger c = counts[i];
                later[i] = readCb(p[0], 0, 1);
                later[i].aio_sigevent = SigEvent.thread(v -> c.incrementAndGet(), i);
                assertEquals(0, ctx.aio_read(later[i]));
            }
            int[] suspended = {Integer.MIN_VALUE};
            Thread waiter = new Thread(() -> suspended[0] = ctx.aio_suspend(new Aiocb[] {later[2]}, 1, null));
            waiter.start();
            writeTo(p[1], "abc");
            join(waiter);
            assertEquals(0, suspended[0]);
            awaitDone(ctx, later);
            for (int i = 0; i < 3; i++) {
                assertEquals(1, ctx.aio_return(later[i]));
            }
            sleepMillis(QUIET_MILLIS);
            for (AtomicInteger c : counts) {
                assertEquals(1, c.get(), "each later request notified exactly once");
            }
            assertEquals(1, thrown.get(), "a function that threw is not called again");
            assertEquals(2, ctx.aio_return(blocker), "the status of the blocked notification's request is final");
            assertEquals(2, ctx.aio_return(thrower));
            assertEquals("23", text(thrower.aio_buf, 2));
        } finally {
            release.countDown();
        }
    }

    /**
     * A SIGEV_THREAD function that calls back into the facade for its own block: aio_error and aio_suspend see the
     * final status, aio_return takes the result once (a second call is -1/EINVAL), and an aio_read of the same block
     * from inside the function runs and is notified exactly once more.
     */
    @Test
    void sigevThread_reentrantCallsOnItsOwnBlock_seeAFinalStatus_andAResubmissionIsNotifiedOnce() {
        int fd = tempFileWith("f", "abcdef");
        ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
        AtomicInteger calls = new AtomicInteger();
        AtomicInteger resubmitted = new AtomicInteger(Integer.MIN_VALUE);
        Aiocb cb = readCb(fd, 0, 3);
        cb.aio_sigevent = SigEvent.thread(v -> {
            int n = calls.incrementAndGet();
            int err = ctx.aio_error(cb);
            int sus = ctx.aio_suspend(new Aiocb[] {cb}, 1, new Timespec(0, 0));
            long ret = ctx.aio_return(cb);
            long again = ctx.aio_return(cb);
            int againErrno = ctx.errno();
            String data = text(cb.aio_buf, 3);
            seen.add(n + ":" + err + "/" + sus + "/" + ret + "/" + again + "/" + againErrno + "/" + data);
            if (n == 1) {
                cb.aio_offset = 3;
                resubmitted.set(ctx.aio_read(cb)); // may complete and notify before this line returns
            }
        }, "v");
        assertEquals(0, ctx.aio_read(cb));
        awaitTrue("two notifications", () -> calls.get() >= 2);
        sleepMillis(QUIET_MILLIS);
        assertEquals(2, calls.get(), "one notification per completion");
        assertEquals(List.of("1:0/0/3/-1/" + EINVAL + "/abc", "2:0/0/3/-1/" + EINVAL + "/def"), List.copyOf(seen));
        assertEquals(0, resubmitted.get());
        assertEquals(EINVAL, ctx.aio_error(cb), "the function took the result");
    }

    // ---------------------------------------------------------------- lio_listio

    /**
     * One valid block listed twice in one call runs once: on an O_APPEND file its data lands once, its own
     * notification fires once and the list's once; the second listing is the block in flight (EBUSY), an entry that
     * failed on its own, so LIO_WAIT answers -1/EIO while the block itself succeeded.
     */
    @Test
    void lio_oneValidBlockListedTwice_runsOnce_andIsNotifiedOnce() throws Exception {
        int fd = openTemp("app", Fcntl.O_APPEND);
        AtomicInteger own = new AtomicInteger();
        AtomicInteger list = new AtomicInteger();
        Aiocb w = lioCb(LIO_WRITE, writeCb(fd, 0, "once|"));
        w.aio_sigevent = SigEvent.thread(v -> own.incrementAndGet(), null);
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {w, w}, 2, SigEvent.thread(v -> list.incrementAndGet(),
                null)));
        awaitDone(ctx, w);
        awaitTrue("the list's notification", () -> list.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, own.get());
        assertEquals(1, list.get());
        assertEquals(5, ctx.aio_return(w));
        assertEquals("once|", fileContent("app"));

        Aiocb w2 = lioCb(LIO_WRITE, writeCb(fd, 0, "twice?|"));
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {w2, null, w2}, 3, null));
        assertEquals(Errno.EIO, ctx.errno());
        assertEquals(0, ctx.aio_error(w2));
        assertEquals(7, ctx.aio_return(w2));
        assertEquals("once|twice?|", fileContent("app"));
    }

    /**
     * The list's sigevent is read when lio_listio is called, as C copies its struct sigevent and as the SigEvent class
     * says ("the facade reads it once, when the request is submitted"): a caller that reuses one SigEvent for its next
     * list, changing the function, the kind or the value, does not change the notification of a list already queued.
     */
    @Test
    void lioNoWait_theListSigeventIsReadAtTheCall_notWhenTheListCompletes() {
        int[] p = pipe();
        ConcurrentLinkedQueue<String> fired = new ConcurrentLinkedQueue<>();
        SigEvent sig = SigEvent.thread(v -> fired.add("first:" + v), "a");
        Aiocb r = lioCb(LIO_READ, readCb(p[0], 0, 1));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {r}, 1, sig));
        // The caller reuses its SigEvent for something else while the list is in flight.
        sig.sigev_notify_function = v -> fired.add("second:" + v);
        sig.sigev_value = "b";
        writeTo(p[1], "x");
        awaitDone(ctx, r);
        awaitTrue("the list's notification", () -> !fired.isEmpty());
        sig.sigev_notify = Signals.SIGEV_NONE;
        Aiocb r2 = lioCb(LIO_READ, readCb(p[0], 0, 1));
        SigEvent sig2 = SigEvent.thread(v -> fired.add("third:" + v), "c");
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {r2}, 1, sig2));
        sig2.sigev_notify = 12345; // not a kind at all: the queued list must still notify as it was asked to
        writeTo(p[1], "y");
        awaitDone(ctx, r2);
        awaitTrue("the second list's notification", () -> fired.size() >= 2);
        sleepMillis(QUIET_MILLIS);
        assertEquals(List.of("first:a", "third:c"), List.copyOf(fired));
        assertEquals(1, ctx.aio_return(r));
        assertEquals(1, ctx.aio_return(r2));
    }

    /**
     * LIO_WAIT with one entry canceled by another thread while the call waits: -1/EIO once every entry is complete,
     * the canceled one reads ECANCELED/-1, the others complete with their data.
     */
    @Test
    void lioWait_anEntryCanceledMeanwhile_isEIO_andTheOthersComplete() throws Exception {
        int[] p = pipe();
        int[] q = pipe();
        int fd = tempFileWith("f", "file");
        Aiocb victim = lioCb(LIO_READ, readCb(p[0], 0, 4));
        Aiocb slow = lioCb(LIO_READ, readCb(q[0], 0, 4));
        Aiocb quick = lioCb(LIO_READ, readCb(fd, 0, 4));
        int[] got = {Integer.MIN_VALUE, 0};
        Thread caller = new Thread(() -> {
            got[0] = ctx.lio_listio(LIO_WAIT, new Aiocb[] {victim, slow, quick}, 3, null);
            got[1] = ctx.errno();
        });
        caller.start();
        waitUntilParked(caller);
        assertEquals(EINPROGRESS, ctx.aio_error(victim));
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], victim));
        assertTrue(caller.isAlive(), "LIO_WAIT returned with an entry still in progress");
        writeTo(q[1], "slow");
        join(caller);
        assertEquals(-1, got[0]);
        assertEquals(Errno.EIO, got[1]);
        assertEquals(ECANCELED, ctx.aio_error(victim));
        assertEquals(-1, ctx.aio_return(victim));
        assertEquals(4, ctx.aio_return(slow));
        assertEquals("slow", text(slow.aio_buf, 4));
        assertEquals(4, ctx.aio_return(quick));
        assertEquals("file", text(quick.aio_buf, 4));
    }

    /**
     * Two threads cancel the same in-flight request at once: it is canceled once (ECANCELED/-1, one notification), and
     * neither answer contradicts that: each is AIO_CANCELED or AIO_ALLDONE, never AIO_NOTCANCELED ("could not be
     * canceled") for a request that ends canceled. Bounded rounds on a pipe read.
     */
    @Test
    void cancel_fromTwoThreadsAtOnce_cancelsOnce_andNeitherAnswerContradictsIt() throws Exception {
        int[] p = pipe();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        AtomicInteger notified = new AtomicInteger();
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            int rounds = 0;
            while (System.nanoTime() - end < 0 && rounds < 500) {
                Aiocb r = readCb(p[0], 0, 1);
                r.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
                assertEquals(0, ctx.aio_read(r));
                CyclicBarrier both = new CyclicBarrier(2);
                Callable<Integer> cancel = () -> {
                    both.await();
                    return ctx.aio_cancel(p[0], r);
                };
                Future<Integer> a = pool.submit(cancel);
                Future<Integer> b = pool.submit(cancel);
                int ra = a.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                int rb = b.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                awaitDone(ctx, r);
                assertEquals(ECANCELED, ctx.aio_error(r), "round " + rounds);
                assertEquals(-1, ctx.aio_return(r));
                for (int answer : new int[] {ra, rb}) {
                    assertTrue(answer == AIO_CANCELED || answer == AIO_ALLDONE,
                            "round " + rounds + ": answers " + ra + " and " + rb + " for a request that ended canceled");
                }
                assertTrue(ra == AIO_CANCELED || rb == AIO_CANCELED, "round " + rounds + ": nobody canceled it");
                rounds++;
            }
            int total = rounds;
            awaitTrue("one notification per request", () -> notified.get() >= total);
            sleepMillis(QUIET_MILLIS);
            assertEquals(total, notified.get());
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- AioContext.close

    /**
     * close() "cancels what is outstanding, waits for it, releases the engine": a thread in LIO_WAIT on that context
     * returns -1/EIO (its entries were canceled), one in aio_suspend returns 0, every request reads ECANCELED (or its
     * own result) and is notified once, a LIO_NOWAIT list's notification fires once, and later calls fail with EAGAIN.
     */
    @Test
    void contextClose_endsLioWaitAndSuspend_notifiesEachOnce_andRefusesLaterCalls() throws Exception {
        AioContext c = new AioContext();
        int[] p = pipe();
        AtomicInteger entries = new AtomicInteger();
        AtomicInteger lists = new AtomicInteger();
        Aiocb[] waited = new Aiocb[3];
        for (int i = 0; i < waited.length; i++) {
            waited[i] = lioCb(LIO_READ, readCb(p[0], 0, 4));
            waited[i].aio_sigevent = SigEvent.thread(v -> entries.incrementAndGet(), null);
        }
        Aiocb listed = lioCb(LIO_READ, readCb(p[0], 0, 4));
        listed.aio_sigevent = SigEvent.thread(v -> entries.incrementAndGet(), null);
        Aiocb single = readCb(p[0], 0, 4);
        single.aio_sigevent = SigEvent.thread(v -> entries.incrementAndGet(), null);
        assertEquals(0, c.lio_listio(LIO_NOWAIT, new Aiocb[] {listed}, 1,
                SigEvent.thread(v -> lists.incrementAndGet(), null)));
        assertEquals(0, c.aio_read(single));
        int[] lio = {Integer.MIN_VALUE, 0};
        Thread lioWaiter = new Thread(() -> {
            lio[0] = c.lio_listio(LIO_WAIT, waited, waited.length, null);
            lio[1] = c.errno();
        });
        int[] sus = {Integer.MIN_VALUE};
        Thread suspender = new Thread(() -> sus[0] = c.aio_suspend(new Aiocb[] {single}, 1, null));
        lioWaiter.start();
        suspender.start();
        waitUntilParked(lioWaiter);
        waitUntilParked(suspender);
        c.close();
        join(lioWaiter);
        join(suspender);
        assertEquals(-1, lio[0]);
        assertEquals(Errno.EIO, lio[1]);
        assertEquals(0, sus[0]);
        for (Aiocb cb : new Aiocb[] {waited[0], waited[1], waited[2], listed, single}) {
            assertEquals(ECANCELED, c.aio_error(cb));
            assertEquals(-1, c.aio_return(cb));
        }
        awaitTrue("five entry notifications and one list notification", () -> entries.get() >= 5 && lists.get() >= 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(5, entries.get());
        assertEquals(1, lists.get());
        Aiocb late = readCb(p[0], 0, 4);
        assertEquals(-1, c.aio_read(late));
        assertEquals(EAGAIN, c.errno());
        assertEquals(EAGAIN, c.aio_error(late));
        assertEquals(-1, c.lio_listio(LIO_WAIT, new Aiocb[] {lioCb(LIO_READ, readCb(p[0], 0, 4))}, 1, null));
        assertEquals(EAGAIN, c.errno());
        // The pipe is untouched: data written now is all there for a plain read.
        writeTo(p[1], "kept");
        ByteBuffer b = ByteBuffer.allocate(4);
        assertEquals(4, Unistd.read(p[0], b, 4));
        assertEquals("kept", text(b, 4));
    }

    /**
     * aio_cancel racing AioContext.close on another thread: the close cancels every request, so the request ends
     * ECANCELED, and the cancel's answer must agree: AIO_CANCELED or AIO_ALLDONE, never AIO_NOTCANCELED ("could not be
     * canceled") for a request that ended canceled. Bounded rounds, a context each.
     */
    @Test
    void cancel_racingTheContextsClose_neverAnswersNotCanceledForACanceledRequest() throws Exception {
        int[] p = pipe();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            for (int round = 0; round < 100 && System.nanoTime() - end < 0; round++) {
                AioContext c = new AioContext();
                AtomicInteger notified = new AtomicInteger();
                Aiocb r = readCb(p[0], 0, 1);
                r.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
                assertEquals(0, c.aio_read(r));
                CyclicBarrier both = new CyclicBarrier(2);
                Future<Integer> cancel = pool.submit(() -> {
                    both.await();
                    return c.aio_cancel(p[0], r);
                });
                Future<?> close = pool.submit(() -> {
                    both.await();
                    c.close();
                    return null;
                });
                int answer = cancel.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                close.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                assertEquals(ECANCELED, c.aio_error(r), "round " + round);
                assertTrue(answer == AIO_CANCELED || answer == AIO_ALLDONE,
                        "round " + round + ": aio_cancel answered " + answer + " for a request that ended canceled");
                awaitTrue("one notification", () -> notified.get() >= 1);
                assertEquals(1, notified.get());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---------------------------------------------------------------- aio_init

    /**
     * "aio_init: takes effect only before the first request of its context; later calls change nothing." A first
     * request that the facade completes itself (a bad descriptor: asynchronous EBADF) is still the first request.
     */
    @Test
    void aioInit_afterAFirstRequestThatNeverReachedTheKernel_changesNothing() {
        try (AioContext fresh = new AioContext()) {
            Aiocb first = readCb(-1, 0, 4);
            assertEquals(0, fresh.aio_read(first));
            awaitDone(fresh, first);
            assertEquals(EBADF, fresh.aio_error(first));
            assertEquals(-1, fresh.aio_return(first));

            AioInit oneSlot = new AioInit();
            oneSlot.aio_num = 1;
            oneSlot.aio_threads = 1;
            fresh.aio_init(oneSlot); // too late: must change nothing

            int[] p = pipe();
            int[] q = pipe();
            writeTo(q[1], "free");
            Aiocb blocker = readCb(p[0], 0, 4);
            assertEquals(0, fresh.aio_read(blocker));
            Aiocb notHeld = readCb(q[0], 0, 4); // would wait behind blocker if aio_num were 1
            assertEquals(0, fresh.aio_read(notHeld));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (fresh.aio_error(notHeld) == EINPROGRESS && System.nanoTime() - deadline < 0) {
                fresh.aio_suspend(new Aiocb[] {notHeld}, 1, new Timespec(0, 50_000_000));
            }
            assertEquals(0, fresh.aio_error(notHeld), "a late aio_init bounded the context to one request");
            assertEquals(4, fresh.aio_return(notHeld));
            assertEquals(EINPROGRESS, fresh.aio_error(blocker));
            writeTo(p[1], "done");
            awaitDone(fresh, blocker);
            assertEquals(4, fresh.aio_return(blocker));
        }
    }

    // ---------------------------------------------------------------- aio_error

    /**
     * aio_return takes a result "exactly once" also when two threads ask at the same moment: one gets the count, the
     * other -1/EINVAL; never both, never neither. Bounded rounds.
     */
    @Test
    void return_fromTwoThreadsAtOnce_givesTheResultToExactlyOne() throws Exception {
        int fd = tempFileWith("f", "abcd");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
            int rounds = 0;
            while (System.nanoTime() - end < 0 && rounds < 2000) {
                Aiocb r = readCb(fd, 0, 4);
                assertEquals(0, ctx.aio_read(r));
                awaitDone(ctx, r);
                CyclicBarrier both = new CyclicBarrier(2);
                Callable<long[]> take = () -> {
                    both.await();
                    long v = ctx.aio_return(r);
                    return new long[] {v, ctx.errno()};
                };
                Future<long[]> a = pool.submit(take);
                Future<long[]> b = pool.submit(take);
                long[] ra = a.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                long[] rb = b.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                long[] winner = ra[0] == 4 ? ra : rb;
                long[] loser = ra[0] == 4 ? rb : ra;
                assertEquals(4, winner[0], "round " + rounds + ": nobody got the result");
                assertEquals(-1, loser[0], "round " + rounds + ": both got the result");
                assertEquals(EINVAL, loser[1]);
                assertEquals(EINVAL, ctx.aio_error(r));
                rounds++;
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** "For an Aiocb never submitted, or whose result aio_return already took, it returns EINVAL" (errno too, as C's). */
    @Test
    void error_ofNeverSubmittedOrReturned_isEINVAL_andSetsErrno() {
        Aiocb never = new Aiocb();
        assertEquals(EINVAL, ctx.aio_error(never));
        assertEquals(EINVAL, ctx.errno());
        int fd = tempFileWith("f", "ab");
        Aiocb r = readCb(fd, 0, 2);
        assertEquals(0, ctx.aio_read(r));
        awaitDone(ctx, r);
        assertEquals(2, ctx.aio_return(r));
        assertEquals(EINVAL, ctx.aio_error(r));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.aio_return(r));
        assertEquals(EINVAL, ctx.errno());
    }

    // ---------------------------------------------------------------- Unistd

    /** read/write of zero bytes with no buffer still check the descriptor, as read(2)/write(2) with (NULL, 0) do. */
    @Test
    void unistd_zeroBytesWithNoBuffer_onABadDescriptor_isEBADF() {
        int fd = tempFileWith("z", "keep");
        int closed = closedHighFd();
        for (int bad : new int[] {-1, closed, 1_000_000}) {
            assertEquals(-1, Unistd.read(bad, null, 0), "read fd " + bad);
            assertEquals(EBADF, Aio.errno());
            assertEquals(-1, Unistd.write(bad, null, 0), "write fd " + bad);
            assertEquals(EBADF, Aio.errno());
        }
        assertEquals(0, Unistd.read(fd, null, 0));
        assertEquals(0, Unistd.write(fd, null, 0));
        assertEquals(0, Unistd.pread(fd, null, 0, 0));
        assertEquals(0, Unistd.pwrite(fd, null, 0, 0));
        ByteBuffer b = ByteBuffer.allocate(4);
        assertEquals(4, Unistd.pread(fd, b, 4, 0));
        assertEquals("keep", text(b, 4));
    }

    // ---------------------------------------------------------------- helpers

    /**
     * A descriptor number that was open and is closed, at 5000 or above (F_DUPFD): the kernel hands out the lowest
     * free number, so no other thread of this JVM (an engine's eventfd, a pipe) takes it back during the test.
     */
    private int closedHighFd() {
        int low = openTemp("gone" + System.nanoTime(), 0);
        int high = io.uringaio.engine.internal.sys.Libc.fcntl(low, 0 /* F_DUPFD */, 5000);
        assertTrue(high >= 5000, "F_DUPFD: " + high);
        assertEquals(0, Unistd.close(high));
        return high;
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        while (true) {
            try {
                latch.await();
                return;
            } catch (InterruptedException e) {
                // a hostile notification: it ignores interrupts and waits on
            }
        }
    }

    private static void waitUntilParked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive(), "the waiter returned before the request completed");
            assertTrue(System.nanoTime() - deadline < 0, "the waiter never parked");
            sleepMillis(1);
        }
    }
}
