package io.uringaio.posix;

import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.O_SYNC;
import static io.uringaio.posix.Signals.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

/**
 * Notification modes on a private context: SIGEV_NONE, SIGEV_SIGNAL through {@code Signals.sigaction}, SIGEV_THREAD
 * on a facade thread or a given executor. Exactly once, never before the status is final, for success, failure and
 * cancel alike.
 */
class NotificationTest extends PrivateContextSupport {

    /** What one notification saw. */
    private record Seen(Object value, Thread thread, int status, SigInfo info) {
    }

    @Test
    void sigevNone_andNullSigevent_completeWithoutNotification() {
        int fd = tempFileWith("f", "none");
        Aiocb a = readCb(fd, 0, 4);
        a.aio_sigevent = SigEvent.none();
        Aiocb b = readCb(fd, 0, 4);
        b.aio_sigevent = null;
        assertEquals(SIGEV_NONE, SigEvent.none().sigev_notify);
        assertEquals(0, ctx.aio_read(a));
        assertEquals(0, ctx.aio_read(b));
        awaitDone(ctx, a, b);
        assertEquals(4, ctx.aio_return(a));
        assertEquals(4, ctx.aio_return(b));
    }

    @Test
    void factories_fillTheFields() {
        Object v = new Object();
        SigEvent s = SigEvent.signal(SIGUSR2, v);
        assertEquals(SIGEV_SIGNAL, s.sigev_notify);
        assertEquals(SIGUSR2, s.sigev_signo);
        assertSame(v, s.sigev_value);
        java.util.function.Consumer<Object> f = x -> { };
        SigEvent t = SigEvent.thread(f, v);
        assertEquals(SIGEV_THREAD, t.sigev_notify);
        assertSame(f, t.sigev_notify_function);
        assertSame(v, t.sigev_value);
        assertEquals(null, t.sigev_notify_attributes);
    }

    @Test
    void sigevThread_runsOnceOffTheSubmitter_withValue_afterStatusIsFinal() {
        int[] p = pipe();
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        Aiocb r = readCb(p[0], 0, 8);
        Object value = "the-value";
        r.aio_sigevent = SigEvent.thread(
                v -> seen.add(new Seen(v, Thread.currentThread(), ctx.aio_error(r), null)), value);
        assertEquals(0, ctx.aio_read(r));
        assertStaysInProgress(ctx, r);
        assertTrue(seen.isEmpty(), "notified before completion");
        writeTo(p[1], "done");
        awaitTrue("notification", () -> !seen.isEmpty());
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, seen.size());
        Seen s = seen.peek();
        assertSame(value, s.value());
        assertNotEquals(Thread.currentThread(), s.thread());
        assertEquals(0, s.status(), "status inside the notification");
        assertEquals(4, ctx.aio_return(r));
    }

    @Test
    void sigevThread_onGivenExecutor() throws Exception {
        ExecutorService exec = Executors.newSingleThreadExecutor(task -> new Thread(task, "user-notify-exec"));
        try {
            int fd = tempFileWith("f", "exec");
            ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
            Aiocb r = readCb(fd, 0, 4);
            SigEvent sev = SigEvent.thread(v -> seen.add(new Seen(v, Thread.currentThread(), ctx.aio_error(r), null)),
                    r);
            sev.sigev_notify_attributes = exec;
            r.aio_sigevent = sev;
            assertEquals(0, ctx.aio_read(r));
            awaitTrue("notification", () -> !seen.isEmpty());
            sleepMillis(QUIET_MILLIS);
            assertEquals(1, seen.size());
            assertEquals("user-notify-exec", seen.peek().thread().getName());
            assertSame(r, seen.peek().value());
            assertEquals(0, seen.peek().status());
        } finally {
            exec.shutdown();
            assertTrue(exec.awaitTermination(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
        }
    }

    @Test
    void sigevThread_firesOnceForFailureAndCancel() {
        int[] p = pipe();
        AtomicInteger count = new AtomicInteger();
        ConcurrentLinkedQueue<Integer> statuses = new ConcurrentLinkedQueue<>();
        Aiocb bad = readCb(1_000_000, 0, 4);
        bad.aio_sigevent = SigEvent.thread(v -> {
            statuses.add(ctx.aio_error(bad));
            count.incrementAndGet();
        }, null);
        Aiocb canceled = readCb(p[0], 0, 4);
        canceled.aio_sigevent = SigEvent.thread(v -> {
            statuses.add(ctx.aio_error(canceled));
            count.incrementAndGet();
        }, null);
        assertEquals(0, ctx.aio_read(bad));
        assertEquals(0, ctx.aio_read(canceled));
        assertEquals(Aio.AIO_CANCELED, ctx.aio_cancel(p[0], canceled));
        awaitTrue("two notifications", () -> count.get() >= 2);
        sleepMillis(QUIET_MILLIS);
        assertEquals(2, count.get());
        assertTrue(statuses.contains(EBADF), statuses.toString());
        assertTrue(statuses.contains(ECANCELED), statuses.toString());
    }

    @Test
    void sigevThread_functionMaySubmitAgain() {
        // Completion callbacks run outside the engine's completion drain: a chain of reads from the callbacks works.
        int fd = tempFileWith("f", "0123456789");
        AtomicInteger reads = new AtomicInteger();
        Aiocb r = readCb(fd, 0, 1);
        r.aio_sigevent = SigEvent.thread(v -> {
            long n = ctx.aio_return(r);
            if (n == 1 && reads.incrementAndGet() < 10) {
                r.aio_offset++;
                ctx.aio_read(r);
            }
        }, null);
        assertEquals(0, ctx.aio_read(r));
        awaitTrue("ten chained reads", () -> reads.get() == 10);
    }

    @Test
    void sigevThread_onFsync() {
        int fd = openTemp("f", 0);
        AtomicReference<Seen> seen = new AtomicReference<>();
        Aiocb s = new Aiocb();
        s.aio_fildes = fd;
        s.aio_sigevent = SigEvent.thread(v -> seen.set(new Seen(v, Thread.currentThread(), ctx.aio_error(s), null)),
                42);
        assertEquals(0, ctx.aio_fsync(O_SYNC, s));
        awaitTrue("fsync notification", () -> seen.get() != null);
        assertEquals(42, seen.get().value());
        assertEquals(0, seen.get().status());
        assertEquals(0, ctx.aio_return(s));
    }

    @Test
    void sigevSignal_handlerGetsSigInfo_once_statusFinal() {
        int signo = SIGRTMIN + 3;
        int[] p = pipe();
        ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
        Aiocb r = readCb(p[0], 0, 8);
        assertEquals(0, Signals.sigaction(signo,
                si -> seen.add(new Seen(si.si_value(), Thread.currentThread(), ctx.aio_error(r), si))));
        try {
            r.aio_sigevent = SigEvent.signal(signo, r);
            assertEquals(0, ctx.aio_read(r));
            assertStaysInProgress(ctx, r);
            assertTrue(seen.isEmpty());
            writeTo(p[1], "sig");
            awaitTrue("signal handler", () -> !seen.isEmpty());
            sleepMillis(QUIET_MILLIS);
            assertEquals(1, seen.size());
            Seen s = seen.peek();
            assertEquals(new SigInfo(signo, SI_ASYNCIO, r), s.info());
            assertEquals(-4, SI_ASYNCIO);
            assertNotEquals(Thread.currentThread(), s.thread());
            assertEquals(0, s.status());
            assertEquals(3, ctx.aio_return(r));
        } finally {
            assertEquals(0, Signals.sigaction(signo, null));
        }
    }

    @Test
    void sigevSignal_forEachRequest_andForFailures() {
        int signo = SIGRTMIN + 4;
        ConcurrentLinkedQueue<SigInfo> infos = new ConcurrentLinkedQueue<>();
        assertEquals(0, Signals.sigaction(signo, infos::add));
        try {
            int fd = tempFileWith("f", "abc");
            Aiocb[] cbs = new Aiocb[5];
            for (int i = 0; i < cbs.length; i++) {
                cbs[i] = readCb(i == 4 ? -1 : fd, i % 3, 1);
                cbs[i].aio_sigevent = SigEvent.signal(signo, i);
                assertEquals(0, ctx.aio_read(cbs[i]));
            }
            awaitTrue("five signals", () -> infos.size() >= 5);
            sleepMillis(QUIET_MILLIS);
            assertEquals(5, infos.size());
            boolean[] got = new boolean[5];
            for (SigInfo si : infos) {
                assertEquals(signo, si.si_signo());
                assertEquals(SI_ASYNCIO, si.si_code());
                got[(Integer) si.si_value()] = true;
            }
            for (boolean g : got) {
                assertTrue(g, "each request's value delivered once");
            }
            assertEquals(EBADF, ctx.aio_error(cbs[4]));
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    @Test
    void sigevSignal_handlerReplacedAndRemoved() {
        int signo = SIGRTMIN + 5;
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        int fd = tempFileWith("f", "x");
        try {
            assertEquals(0, Signals.sigaction(signo, si -> first.incrementAndGet()));
            assertEquals(0, Signals.sigaction(signo, si -> second.incrementAndGet()));
            Aiocb r = readCb(fd, 0, 1);
            r.aio_sigevent = SigEvent.signal(signo, null);
            assertEquals(0, ctx.aio_read(r));
            awaitTrue("second handler", () -> second.get() == 1);
            assertEquals(0, first.get(), "a replaced handler is not called");

            assertEquals(0, Signals.sigaction(signo, null));
            long droppedBefore = Signals.droppedSignals();
            Aiocb r2 = readCb(fd, 0, 1);
            r2.aio_sigevent = SigEvent.signal(signo, null);
            assertEquals(0, ctx.aio_read(r2));
            awaitDone(ctx, r2);
            assertEquals(1, ctx.aio_return(r2));
            awaitTrue("the dropped signal is counted", () -> Signals.droppedSignals() > droppedBefore);
            assertEquals(1, second.get());
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    @Test
    void sigevSignal_withNoHandler_isDroppedNotFatal() {
        int signo = SIGRTMIN + 20; // no test installs a handler for it
        int fd = tempFileWith("f", "abc");
        for (int i = 0; i < 3; i++) {
            Aiocb r = readCb(fd, 0, 3);
            r.aio_sigevent = SigEvent.signal(signo, i);
            assertEquals(0, ctx.aio_read(r));
            awaitDone(ctx, r);
            assertEquals(3, ctx.aio_return(r));
        }
        // The context keeps working, and a handler installed later works.
        AtomicInteger got = new AtomicInteger();
        assertEquals(0, Signals.sigaction(signo, si -> got.incrementAndGet()));
        try {
            Aiocb r = readCb(fd, 0, 3);
            r.aio_sigevent = SigEvent.signal(signo, "late");
            assertEquals(0, ctx.aio_read(r));
            awaitTrue("late handler", () -> got.get() == 1);
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    @Test
    void sigaction_badSigno_isEINVAL_andRemovingAbsentHandlerIsZero() {
        for (int signo : new int[] {0, -1, SIGRTMAX + 1, Integer.MAX_VALUE}) {
            assertEquals(-1, Signals.sigaction(signo, si -> { }), "signo " + signo);
            assertEquals(EINVAL, Aio.errno());
            assertEquals(-1, Signals.sigaction(signo, null), "signo " + signo);
            assertEquals(EINVAL, Aio.errno());
        }
        assertEquals(0, Signals.sigaction(SIGRTMIN + 21, null));
        assertEquals(0, Signals.sigaction(SIGRTMAX, null));
    }

    @Test
    void handlerThatThrows_doesNotStopLaterDeliveries() {
        int signo = SIGRTMIN + 6;
        AtomicInteger calls = new AtomicInteger();
        assertEquals(0, Signals.sigaction(signo, si -> {
            calls.incrementAndGet();
            throw new IllegalStateException("handler failure (expected by the test)");
        }));
        try {
            int fd = tempFileWith("f", "ab");
            for (int i = 0; i < 2; i++) {
                Aiocb r = readCb(fd, 0, 2);
                r.aio_sigevent = SigEvent.signal(signo, i);
                assertEquals(0, ctx.aio_read(r));
                int want = i + 1;
                awaitTrue("delivery " + want, () -> calls.get() >= want);
            }
            // And a SIGEV_THREAD function that throws does not break the context either.
            AtomicInteger threadCalls = new AtomicInteger();
            Aiocb t = readCb(fd, 0, 2);
            t.aio_sigevent = SigEvent.thread(v -> {
                threadCalls.incrementAndGet();
                throw new IllegalStateException("function failure (expected by the test)");
            }, null);
            assertEquals(0, ctx.aio_read(t));
            awaitTrue("thread function", () -> threadCalls.get() == 1);
            Aiocb after = readCb(fd, 0, 2);
            assertEquals(0, ctx.aio_read(after));
            awaitDone(ctx, after);
            assertEquals(2, ctx.aio_return(after));
            assertNotNull(ctx.engineStats());
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    /**
     * Issue 11 item 9: with a direct executor the function runs inside {@code execute}; its throw is the function's,
     * not a rejection by the executor, so it must not be run a second time on a facade thread.
     */
    @Test
    void sigevThread_directExecutor_throwingFunction_runsOnce() {
        int fd = tempFileWith("f", "boom");
        AtomicInteger runs = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            Aiocb r = readCb(fd, 0, 4);
            SigEvent sev = SigEvent.thread(v -> {
                runs.incrementAndGet();
                throw new IllegalStateException("the function's own failure");
            }, "v");
            sev.sigev_notify_attributes = Runnable::run;
            r.aio_sigevent = sev;
            assertEquals(0, ctx.aio_read(r));
            awaitDone(ctx, r);
            int expected = i + 1;
            awaitTrue("notification", () -> runs.get() >= expected);
            assertEquals(4, ctx.aio_return(r));
        }
        sleepMillis(QUIET_MILLIS);
        assertEquals(3, runs.get(), "a throwing function ran more than once");
    }

    /** An executor that rejects: the function still runs exactly once, on a facade thread. */
    @Test
    void sigevThread_rejectingExecutor_runsOnceOnAFacadeThread() {
        int fd = tempFileWith("f", "nope");
        ConcurrentLinkedQueue<Thread> ranOn = new ConcurrentLinkedQueue<>();
        Aiocb r = readCb(fd, 0, 4);
        SigEvent sev = SigEvent.thread(v -> ranOn.add(Thread.currentThread()), "v");
        sev.sigev_notify_attributes = task -> {
            throw new java.util.concurrent.RejectedExecutionException("full");
        };
        r.aio_sigevent = sev;
        assertEquals(0, ctx.aio_read(r));
        awaitTrue("notification", () -> !ranOn.isEmpty());
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, ranOn.size());
        assertEquals("uring-aio-sigev-thread", ranOn.peek().getName());
        assertEquals(4, ctx.aio_return(r));
    }

    /**
     * An executor that runs the task and then throws (a broken executor, not a rejection): once, not again on a
     * facade thread.
     */
    @Test
    void sigevThread_executorThatRunsThenThrows_runsOnce() {
        int fd = tempFileWith("f", "twic");
        AtomicInteger runs = new AtomicInteger();
        Aiocb r = readCb(fd, 0, 4);
        SigEvent sev = SigEvent.thread(v -> runs.incrementAndGet(), "v");
        sev.sigev_notify_attributes = task -> {
            task.run();
            throw new java.util.concurrent.RejectedExecutionException("after running it");
        };
        r.aio_sigevent = sev;
        assertEquals(0, ctx.aio_read(r));
        awaitTrue("notification", () -> runs.get() >= 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, runs.get());
    }
}
