package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Errno.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A second hostile pass over the facade, as a C programmer porting POSIX AIO code would use it: each case asserts the
 * spec's answer and that nothing ran twice or stalled. Private context; both backends (the pom runs the suite twice).
 */
class FacadeSecondPassTest extends PosixTestSupport {

    private AioContext ctx;
    private final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void start() {
        ctx = new AioContext();
    }

    @AfterEach
    void stop() {
        ctx.close();
    }

    private void assertNotifications(int expected) {
        awaitTrue(expected + " notifications", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
    }

    // ---------------------------------------------------------------- Unistd

    @Test
    void unistd_writeFromAReadOnlyHeapBuffer_writesIt() throws Exception {
        int fd = openTemp("ro", 0);
        ByteBuffer ro = ByteBuffer.wrap("xxabcdef".getBytes(StandardCharsets.ISO_8859_1), 2, 6).slice()
                .asReadOnlyBuffer();
        assertEquals(6, Unistd.pwrite(fd, ro, 6, 0));
        assertEquals(3, Unistd.write(fd, ro, 3)); // at the descriptor's position, 0: overwrites "abc"
        assertEquals("abcdef", fileContent("ro"));
        assertEquals(0, ro.position());
    }

    // ---------------------------------------------------------------- lio_listio duplicates

    @Test
    void lio_oneAiocbListedTwice_withABadOpcode_failsAndIsNotifiedOnce() {
        Aiocb cb = readCb(openTemp("d", 0), 0, 4);
        cb.aio_lio_opcode = 99;
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {cb, cb}, 2, null));
        assertEquals(EINVAL, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertNotifications(1);
    }

    @Test
    void lio_oneAiocbListedTwice_onABadFildes_runsOnce() {
        Aiocb cb = lioCb(LIO_READ, readCb(-1, 0, 4));
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {cb, cb}, 2, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(EBADF, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- notifications on the completion thread

    @Test
    void cancel_fromADirectExecutorNotification_ofAnotherRequest_isPrompt() throws Exception {
        int[] blocked = pipe();
        int[] trigger = pipe();
        Aiocb victim = readCb(blocked[0], 0, 4);
        assertEquals(0, ctx.aio_read(victim));
        AtomicInteger answer = new AtomicInteger(-99);
        CountDownLatch ran = new CountDownLatch(1);
        Aiocb a = readCb(trigger[0], 0, 4);
        Executor direct = Runnable::run;
        a.aio_sigevent = SigEvent.thread(v -> {
            answer.set(ctx.aio_cancel(blocked[0], victim));
            ran.countDown();
        }, null);
        a.aio_sigevent.sigev_notify_attributes = direct;
        assertEquals(0, ctx.aio_read(a));
        writeTo(trigger[1], "go");
        assertTrue(ran.await(5, TimeUnit.SECONDS), "aio_cancel inside the notification did not return in 5 s");
        assertEquals(AIO_CANCELED, answer.get());
        assertEquals(ECANCELED, ctx.aio_error(victim));
    }

    @Test
    void aNotificationExecutorThatBlocks_doesNotStallOtherCompletions() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try {
            int[] p = pipe();
            Aiocb stuck = readCb(p[0], 0, 4);
            stuck.aio_sigevent = SigEvent.thread(v -> { }, null);
            stuck.aio_sigevent.sigev_notify_attributes = r -> {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                r.run();
            };
            assertEquals(0, ctx.aio_read(stuck));
            writeTo(p[1], "x");
            awaitDone(ctx, stuck);
            // Every later request completes while that executor still blocks.
            int[] q = pipe();
            for (int i = 0; i < 8; i++) {
                Aiocb later = readCb(q[0], 0, 1);
                assertEquals(0, ctx.aio_read(later));
                writeTo(q[1], "y");
                awaitDone(ctx, later);
                assertEquals(1, ctx.aio_return(later));
            }
        } finally {
            release.countDown();
        }
    }

    // ---------------------------------------------------------------- aio_cancel's answer agrees with the status

    @Test
    void cancel_withTheInterruptStatusSet_answersWhatHappened_andKeepsTheInterrupt() {
        int[] p = pipe();
        Aiocb target = readCb(p[0], 0, 4);
        target.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        assertEquals(0, ctx.aio_read(target));
        int answer;
        Thread.currentThread().interrupt();
        try {
            answer = ctx.aio_cancel(p[0], target);
        } finally {
            assertTrue(Thread.interrupted(), "the interrupt status was lost");
        }
        awaitDone(ctx, target);
        int status = ctx.aio_error(target);
        if (answer == AIO_CANCELED) {
            assertEquals(ECANCELED, status);
        } else {
            assertEquals(Aio.AIO_NOTCANCELED, answer);
            assertTrue(status != ECANCELED, "aio_cancel said AIO_NOTCANCELED, yet the request was canceled");
        }
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- after close

    @Test
    void afterClose_noEngineIsStarted_andSubmissionsAreEAGAIN() {
        AioContext fresh = new AioContext(); // closed before its engine ever started
        fresh.close();
        assertThrows(io.uringaio.engine.EngineRejectedException.class, fresh::engine,
                "a closed context started a new engine (never closed: a leak)");
        Aiocb cb = readCb(openTemp("ac", 0), 0, 4);
        assertEquals(-1, fresh.aio_read(cb));
        assertEquals(EAGAIN, fresh.errno());
        assertEquals(EAGAIN, fresh.aio_error(cb));
        assertEquals(-1, fresh.aio_return(cb));
        fresh.close(); // twice: nothing
        assertThrows(io.uringaio.engine.EngineRejectedException.class, fresh::engine);
    }

    // ---------------------------------------------------------------- aio_suspend boundaries

    @Test
    void suspend_hugeTimeout_waits_andInterruptOnEntry_isEINTR() throws Exception {
        int[] p = pipe();
        Aiocb cb = readCb(p[0], 0, 4);
        assertEquals(0, ctx.aio_read(cb));
        Aiocb[] list = {cb, cb};
        // Set on entry: EINTR at once, cleared.
        Thread.currentThread().interrupt();
        assertEquals(-1, ctx.aio_suspend(list, 2, new Timespec(Long.MAX_VALUE, 999_999_999)));
        assertEquals(EINTR, ctx.errno());
        assertTrue(!Thread.currentThread().isInterrupted());
        assertEquals(-1, ctx.aio_suspend(list, 2, new Timespec(0, 0)));
        assertEquals(EAGAIN, ctx.errno());
        // Long.MAX_VALUE seconds must not overflow into an immediate return.
        AtomicInteger rc = new AtomicInteger(-99);
        Thread waiter = new Thread(() -> rc.set(ctx.aio_suspend(list, 2, new Timespec(Long.MAX_VALUE, 999_999_999))));
        waiter.start();
        waiter.join(QUIET_MILLIS);
        assertTrue(waiter.isAlive(), "aio_suspend with Long.MAX_VALUE seconds returned " + rc.get());
        writeTo(p[1], "ok");
        waiter.join(DEADLINE_MILLIS);
        assertEquals(0, rc.get());
        assertEquals(2, ctx.aio_return(cb));
        assertEquals(0, ctx.aio_suspend(list, 2, new Timespec(0, 0)), "a returned request still counts as complete");
    }

    // ---------------------------------------------------------------- O_APPEND across lio_listio and aio_write

    @Test
    void append_mixedAioWriteAndLioListio_landInCallOrder() throws Exception {
        int fd = openTemp("app", Fcntl.O_APPEND);
        StringBuilder expected = new StringBuilder();
        java.util.List<Aiocb> all = new java.util.ArrayList<>();
        for (int round = 0; round < 50; round++) {
            String a = "a" + round + ";";
            Aiocb w = writeCb(fd, 0, a);
            assertEquals(0, ctx.aio_write(w));
            all.add(w);
            expected.append(a);
            Aiocb[] lio = new Aiocb[3];
            for (int k = 0; k < 3; k++) {
                String t = "l" + round + "." + k + ";";
                lio[k] = lioCb(Aio.LIO_WRITE, writeCb(fd, 0, t));
                all.add(lio[k]);
                expected.append(t);
            }
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, lio, 3, null));
        }
        awaitDone(ctx, all.toArray(new Aiocb[0]));
        for (Aiocb cb : all) {
            assertEquals(cb.aio_nbytes, ctx.aio_return(cb));
        }
        assertEquals(expected.toString(), fileContent("app"));
    }

    // ---------------------------------------------------------------- lio_listio at AIO_LISTIO_MAX

    @Test
    void lio_aFullListOfRealEntries_completesEachOnce_evenWithASmallAioNum() {
        int fd = tempFileWith("full", "0123456789");
        for (int aioNum : new int[] {0, 4}) {
            try (AioContext c = new AioContext()) {
                if (aioNum > 0) {
                    AioInit init = new AioInit();
                    init.aio_num = aioNum;
                    c.aio_init(init);
                }
                AtomicInteger each = new AtomicInteger();
                Aiocb[] list = new Aiocb[Aio.AIO_LISTIO_MAX];
                for (int i = 0; i < list.length; i++) {
                    list[i] = lioCb(LIO_READ, readCb(fd, i % 10, 1));
                    list[i].aio_sigevent = SigEvent.thread(v -> each.incrementAndGet(), null);
                }
                assertEquals(0, c.lio_listio(LIO_WAIT, list, list.length, null), "errno " + c.errno());
                for (int i = 0; i < list.length; i++) {
                    assertEquals(1, c.aio_return(list[i]));
                    assertEquals((char) ('0' + i % 10), (char) list[i].aio_buf.get(0));
                }
                awaitTrue("every entry notified", () -> each.get() >= list.length);
                sleepMillis(QUIET_MILLIS);
                assertEquals(list.length, each.get());
            }
        }
    }

    // ---------------------------------------------------------------- close from a notification

    @Test
    void close_fromANotification_withARequestBlockedOnAPipe_isBounded() throws Exception {
        int[] trigger = pipe();
        int[] blocked = pipe();
        Aiocb stuckRead = readCb(blocked[0], 0, 4);
        stuckRead.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        assertEquals(0, ctx.aio_read(stuckRead));
        // A write that fills the pipe and then blocks (64 KiB pipe buffer, 1 MiB write).
        int[] full = pipe();
        Aiocb stuckWrite = aiocb(full[1], 0, ByteBuffer.allocateDirect(1 << 20), 1 << 20);
        assertEquals(0, ctx.aio_write(stuckWrite));
        CountDownLatch closed = new CountDownLatch(1);
        Aiocb closer = readCb(trigger[0], 0, 1);
        closer.aio_sigevent = SigEvent.thread(v -> {
            ctx.close();
            closed.countDown();
        }, null);
        assertEquals(0, ctx.aio_read(closer));
        writeTo(trigger[1], "c");
        assertTrue(closed.await(10, TimeUnit.SECONDS), "close() from a notification did not return in 10 s");
        assertEquals(ECANCELED, ctx.aio_error(stuckRead));
        int w = ctx.aio_error(stuckWrite);
        assertTrue(w == ECANCELED || w == 0, "the blocked write: " + w);
        assertNotifications(1);
        assertEquals(-1, ctx.aio_read(readCb(trigger[0], 0, 1)));
        assertEquals(EAGAIN, ctx.errno());
    }

    // ---------------------------------------------------------------- buffer shapes

    /** Writes bytes [0, 10) of {@code src} at 0 and reads them back into {@code dst}, through aio_write/aio_read. */
    private void roundTrip(String what, ByteBuffer src, ByteBuffer dst) throws Exception {
        int fd = openTemp(what, 0);
        for (int i = 0; i < 10; i++) {
            if (!src.isReadOnly()) {
                src.duplicate().clear().put(i, (byte) ('a' + i)); // put(i) alone checks the limit
            }
        }
        int srcPos = src.position();
        int srcLim = src.limit();
        Aiocb w = aiocb(fd, 0, src, 10);
        assertEquals(0, ctx.aio_write(w), what);
        awaitDone(ctx, w);
        assertEquals(10, ctx.aio_return(w), what);
        assertEquals("abcdefghij", fileContent(what), what);
        int dstPos = dst.position();
        int dstLim = dst.limit();
        Aiocb r = aiocb(fd, 0, dst, 10);
        assertEquals(0, ctx.aio_read(r), what);
        awaitDone(ctx, r);
        assertEquals(10, ctx.aio_return(r), what);
        assertEquals("abcdefghij", text(dst, 10), what);
        assertEquals(srcPos, src.position(), what);
        assertEquals(srcLim, src.limit(), what);
        assertEquals(dstPos, dst.position(), what);
        assertEquals(dstLim, dst.limit(), what);
    }

    @Test
    void buffers_slicesWithAnOffset_readOnlyViews_andSegmentBacked() throws Exception {
        ByteBuffer heap = ByteBuffer.allocate(64);
        ByteBuffer heapSlice = heap.slice(7, 20).position(3).limit(5);
        assertEquals(7, heapSlice.arrayOffset());
        roundTrip("heapSlice", heapSlice, ByteBuffer.allocate(64).slice(11, 30).position(29));
        ByteBuffer roSource = ByteBuffer.allocate(64).slice(13, 20);
        for (int i = 0; i < 10; i++) {
            roSource.put(i, (byte) ('a' + i));
        }
        roundTrip("readOnlySlice", roSource.asReadOnlyBuffer().position(4), ByteBuffer.allocate(10));
        ByteBuffer direct = ByteBuffer.allocateDirect(128);
        roundTrip("directSlice", direct.slice(33, 40).position(2).limit(4), direct.slice(77, 40).position(39));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            ByteBuffer seg = arena.allocate(64).asSlice(5).asByteBuffer();
            roundTrip("segment", seg, arena.allocate(64).asSlice(9).asByteBuffer().position(3));
        }
        ByteBuffer heapSeg = java.lang.foreign.MemorySegment.ofArray(new byte[64]).asSlice(8).asByteBuffer();
        roundTrip("heapSegment", heapSeg, java.lang.foreign.MemorySegment.ofArray(new byte[64]).asSlice(3)
                .asByteBuffer());
    }

    // ---------------------------------------------------------------- LIO_WAIT interrupted

    @Test
    void lioWait_interrupted_isEINTR_clearsTheStatus_andCancelsNothing() throws Exception {
        int[] p = pipe();
        Aiocb entry = lioCb(LIO_READ, readCb(p[0], 0, 4));
        entry.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        // Interrupt status set on entry.
        Thread.currentThread().interrupt();
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {entry}, 1, null));
        assertEquals(EINTR, ctx.errno());
        assertTrue(!Thread.currentThread().isInterrupted(), "the interrupt status was not cleared");
        assertEquals(EINPROGRESS, ctx.aio_error(entry));
        // Interrupted while parked.
        int[] q = pipe();
        Aiocb second = lioCb(LIO_READ, readCb(q[0], 0, 4));
        AtomicInteger rc = new AtomicInteger(-99);
        AtomicInteger err = new AtomicInteger();
        AtomicInteger stillInterrupted = new AtomicInteger(-1);
        Thread waiter = new Thread(() -> {
            rc.set(ctx.lio_listio(LIO_WAIT, new Aiocb[] {second}, 1, null));
            err.set(ctx.errno());
            stillInterrupted.set(Thread.currentThread().isInterrupted() ? 1 : 0);
        });
        waiter.start();
        interruptWhenParked(waiter);
        join(waiter);
        assertEquals(-1, rc.get());
        assertEquals(EINTR, err.get());
        assertEquals(0, stillInterrupted.get());
        assertEquals(EINPROGRESS, ctx.aio_error(second));
        writeTo(p[1], "one");
        writeTo(q[1], "two");
        awaitDone(ctx, entry, second);
        assertEquals(3, ctx.aio_return(entry));
        assertEquals(3, ctx.aio_return(second));
        assertEquals("two", text(second.aio_buf, 3));
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- first request from an interrupted thread

    @Test
    void firstRequest_fromAThreadWithTheInterruptStatusSet_runs_andKeepsTheStatus() {
        int fd = tempFileWith("first", "hello");
        Aiocb cb = readCb(fd, 0, 5);
        Thread.currentThread().interrupt(); // the engine starts inside this aio_read
        int rc;
        boolean kept;
        try {
            rc = ctx.aio_read(cb);
        } finally {
            kept = Thread.interrupted();
        }
        assertEquals(0, rc);
        assertTrue(kept, "aio_read consumed the caller's interrupt status");
        awaitDone(ctx, cb);
        assertEquals(0, ctx.aio_error(cb), "the first request failed because its thread was interrupted");
        assertEquals(5, ctx.aio_return(cb));
        assertEquals("hello", text(cb.aio_buf, 5));
    }

    @Test
    void close_fromAThreadWithTheInterruptStatusSet_stillWaitsForEverything() {
        int[] p = pipe();
        Aiocb blocked = readCb(p[0], 0, 4);
        blocked.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        assertEquals(0, ctx.aio_read(blocked));
        Thread.currentThread().interrupt();
        boolean kept;
        try {
            ctx.close();
        } finally {
            kept = Thread.interrupted();
        }
        assertTrue(kept, "close() consumed the caller's interrupt status");
        assertEquals(ECANCELED, ctx.aio_error(blocked), "close() returned before its requests were final");
        assertNotifications(1);
    }

    // ---------------------------------------------------------------- cancel racing completion

    /** For 2 s: a pipe read, a byte written to its pipe by another thread, and a cancel, racing; the answers agree. */
    @Test
    void cancel_racingCompletion_answerAgreesWithTheFinalStatus() throws Exception {
        int[] p = pipe();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        int rounds = 0;
        int canceled = 0;
        int notCanceledOrDone = 0;
        Aiocb cb = readCb(p[0], 0, 1);
        AtomicInteger each = new AtomicInteger();
        cb.aio_sigevent = SigEvent.thread(v -> each.incrementAndGet(), null);
        java.util.concurrent.ExecutorService writer = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            while (System.nanoTime() - end < 0) {
                assertEquals(0, ctx.aio_read(cb));
                java.util.concurrent.Future<?> w = writer.submit(() -> writeTo(p[1], "z"));
                int answer = ctx.aio_cancel(p[0], cb);
                w.get();
                awaitDone(ctx, cb);
                int status = ctx.aio_error(cb);
                long ret = ctx.aio_return(cb);
                switch (answer) {
                    case AIO_CANCELED -> {
                        assertEquals(ECANCELED, status, "AIO_CANCELED but the status is " + status);
                        assertEquals(-1, ret);
                        canceled++;
                        // the byte written for this round is still in the pipe: drain it
                        assertEquals(1, Unistd.read(p[0], ByteBuffer.allocateDirect(1), 1));
                    }
                    case Aio.AIO_NOTCANCELED, Aio.AIO_ALLDONE -> {
                        assertEquals(0, status, "answer " + answer + " but the status is " + status);
                        assertEquals(1, ret);
                        notCanceledOrDone++;
                    }
                    default -> throw new AssertionError("aio_cancel answered " + answer + ", errno " + ctx.errno());
                }
                rounds++;
            }
        } finally {
            writer.shutdownNow();
        }
        final int total = rounds;
        awaitTrue("one notification per round", () -> each.get() >= total);
        sleepMillis(QUIET_MILLIS);
        assertEquals(total, each.get());
        assertTrue(canceled + notCanceledOrDone == rounds);
    }

    // ---------------------------------------------------------------- fsync ordering per fildes

    @Test
    void fsync_waitsForTheWritesOfItsFildesOnly() throws Exception {
        int[] p = pipe();
        ByteBuffer fill = ByteBuffer.allocateDirect(1 << 16);
        assertEquals(1 << 16, Unistd.write(p[1], fill, 1 << 16)); // the pipe is full: the next write waits
        Aiocb blockedWrite = writeCb(p[1], 0, "w");
        assertEquals(0, ctx.aio_write(blockedWrite));
        Aiocb pipeSync = aiocb(p[1], 0, null, 0);
        assertEquals(0, ctx.aio_fsync(Fcntl.O_SYNC, pipeSync));
        Aiocb fileSync = aiocb(openTemp("other", 0), 0, null, 0);
        assertEquals(0, ctx.aio_fsync(Fcntl.O_DSYNC, fileSync));
        awaitDone(ctx, fileSync); // not behind the other descriptor's blocked write
        assertEquals(0, ctx.aio_return(fileSync));
        assertEquals(EINPROGRESS, ctx.aio_error(blockedWrite), "the blocked write");
        assertStaysInProgress(ctx, pipeSync); // behind its own descriptor's write
        ByteBuffer sink = ByteBuffer.allocateDirect(1 << 16);
        long drained = 0;
        while (drained < (1 << 16) + 1) {
            long n = Unistd.read(p[0], sink, sink.capacity());
            assertTrue(n > 0, "read " + n);
            drained += n;
        }
        awaitDone(ctx, blockedWrite, pipeSync);
        assertEquals(1, ctx.aio_return(blockedWrite));
        assertEquals(EINVAL, ctx.aio_error(pipeSync)); // fsync on a pipe: the kernel's EINVAL, reported late
    }

    // ---------------------------------------------------------------- signal handlers

    @Test
    void signalHandler_thatThrows_keepsReceiving_andOneThatBlocks_stallsNoCompletion() throws Exception {
        int throwing = Signals.SIGRTMIN + 7;
        int blocking = Signals.SIGRTMIN + 8;
        AtomicInteger got = new AtomicInteger();
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch inBlocked = new CountDownLatch(1);
        assertEquals(0, Signals.sigaction(throwing, info -> {
            got.incrementAndGet();
            throw new IllegalStateException("handler throws");
        }));
        assertEquals(0, Signals.sigaction(blocking, info -> {
            inBlocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        try {
            int fd = tempFileWith("sig", "abc");
            for (int i = 0; i < 3; i++) {
                Aiocb cb = readCb(fd, 0, 3);
                cb.aio_sigevent = SigEvent.signal(throwing, i);
                assertEquals(0, ctx.aio_read(cb));
                awaitDone(ctx, cb);
                assertEquals(3, ctx.aio_return(cb));
            }
            awaitTrue("three signals", () -> got.get() == 3);
            Aiocb b = readCb(fd, 0, 3);
            b.aio_sigevent = SigEvent.signal(blocking, null);
            assertEquals(0, ctx.aio_read(b));
            assertTrue(inBlocked.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
            for (int i = 0; i < 5; i++) { // completions (and SIGEV_THREAD) go on while that handler blocks
                Aiocb c = readCb(fd, 0, 3);
                c.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
                assertEquals(0, ctx.aio_read(c));
                awaitDone(ctx, c);
                assertEquals(3, ctx.aio_return(c));
            }
            assertNotifications(5);
        } finally {
            release.countDown();
            Signals.sigaction(throwing, null);
            Signals.sigaction(blocking, null);
        }
        assertEquals(-1, Signals.sigaction(0, null));
        assertEquals(EINVAL, Aio.errno());
        assertEquals(-1, Signals.sigaction(Signals.SIGRTMAX + 1, info -> { }));
        assertEquals(EINVAL, Aio.errno());
        assertEquals(-1, Signals.sigaction(Integer.MIN_VALUE, null));
        assertEquals(0, Signals.sigaction(Signals.SIGRTMAX, null)); // removing what is not installed
    }
}
