package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.AIO_LISTIO_MAX;
import static io.uringaio.posix.Aio.LIO_NOP;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import io.uringaio.engine.EngineStats;
import org.junit.jupiter.api.Test;

/**
 * {@code lio_listio} on a private context: both modes, null and LIO_NOP entries, entries that fail on their own, the
 * list-level errors that start nothing, the list notification, and one kernel batch per call (engine counters).
 */
class LioListioTest extends PrivateContextSupport {

    private final AtomicInteger listNotified = new AtomicInteger();

    private SigEvent countingList() {
        return SigEvent.thread(v -> listNotified.incrementAndGet(), "list");
    }

    private void assertListNotifiedExactlyOnce() {
        awaitTrue("list notification", () -> listNotified.get() >= 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, listNotified.get(), "list notification count");
    }

    @Test
    void waitMode_writesThenReads_returnZero() throws Exception {
        int fd = openTemp("f", 0);
        Aiocb[] w = new Aiocb[10];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 10; i++) {
            String part = repeat((char) ('0' + i), 100);
            expected.append(part);
            w[i] = lioCb(LIO_WRITE, writeCb(fd, i * 100L, part));
        }
        assertEquals(0, ctx.lio_listio(LIO_WAIT, w, 10, null));
        for (Aiocb cb : w) {
            assertEquals(0, ctx.aio_error(cb), "LIO_WAIT returned with an entry not final");
            assertEquals(100, ctx.aio_return(cb));
        }
        assertEquals(expected.toString(), fileContent("f"));

        Aiocb[] r = new Aiocb[10];
        for (int i = 0; i < 10; i++) {
            r[i] = lioCb(LIO_READ, readCb(fd, i * 100L, 100));
        }
        assertEquals(0, ctx.lio_listio(LIO_WAIT, r, 10, null));
        for (int i = 0; i < 10; i++) {
            assertEquals(100, ctx.aio_return(r[i]));
            assertEquals(repeat((char) ('0' + i), 100), text(r[i].aio_buf, 100));
        }
    }

    @Test
    void waitMode_shortReadIsSuccess() {
        int fd = tempFileWith("f", "short");
        Aiocb r = lioCb(LIO_READ, readCb(fd, 0, 100));
        Aiocb eof = lioCb(LIO_READ, readCb(fd, 1000, 100));
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {r, eof}, 2, null));
        assertEquals(5, ctx.aio_return(r));
        assertEquals(0, ctx.aio_return(eof));
    }

    @Test
    void nullAndNopEntries_areIgnored() {
        int fd = tempFileWith("f", "abc");
        Aiocb nop = lioCb(LIO_NOP, readCb(fd, 0, 3));
        AtomicInteger nopNotified = new AtomicInteger();
        nop.aio_sigevent = SigEvent.thread(v -> nopNotified.incrementAndGet(), null);
        Aiocb r = lioCb(LIO_READ, readCb(fd, 0, 3));
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {null, nop, r, null}, 4, null));
        assertEquals(3, ctx.aio_return(r));
        assertEquals(EINVAL, ctx.aio_error(nop), "a NOP entry's status does not change (never submitted)");
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, nopNotified.get(), "a NOP entry is not notified");

        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {null, nop, null}, 3, countingList()));
        assertListNotifiedExactlyOnce();
        assertEquals(EINVAL, ctx.aio_error(nop));
    }

    @Test
    void nopEntry_inFlightElsewhere_isNotTouched() {
        // A NOP entry is not even looked at: a block in flight used as a NOP is neither EBUSY nor changed.
        int[] p = pipe();
        Aiocb pending = readCb(p[0], 0, 8);
        assertEquals(0, ctx.aio_read(pending));
        pending.aio_lio_opcode = LIO_NOP;
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {pending}, 1, null));
        assertStaysInProgress(ctx, pending);
        writeTo(p[1], "x");
        awaitDone(ctx, pending);
        assertEquals(1, ctx.aio_return(pending));
    }

    @Test
    void waitMode_oneFailedEntry_isEIO_andTheOthersComplete() {
        int fd = tempFileWith("f", "0123456789");
        Aiocb good1 = lioCb(LIO_READ, readCb(fd, 0, 4));
        Aiocb badFd = lioCb(LIO_READ, readCb(-1, 0, 4));
        Aiocb good2 = lioCb(LIO_READ, readCb(fd, 6, 4));
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {good1, badFd, good2}, 3, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(0, ctx.aio_error(good1));
        assertEquals(4, ctx.aio_return(good1));
        assertEquals(EBADF, ctx.aio_error(badFd));
        assertEquals(-1, ctx.aio_return(badFd));
        assertEquals(0, ctx.aio_error(good2));
        assertEquals("6789", text(good2.aio_buf, 4));
        assertEquals(4, ctx.aio_return(good2));
    }

    @Test
    void badOpcodeEntry_failsOnItsOwnWithEINVAL() {
        int fd = tempFileWith("f", "0123456789");
        Aiocb good = lioCb(LIO_READ, readCb(fd, 0, 4));
        Aiocb bad = lioCb(7, readCb(fd, 0, 4));
        Aiocb bad2 = lioCb(-1, readCb(fd, 0, 4));
        AtomicInteger badNotified = new AtomicInteger();
        bad.aio_sigevent = SigEvent.thread(v -> badNotified.incrementAndGet(), null);
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {good, bad, bad2}, 3, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(4, ctx.aio_return(good));
        assertEquals(EINVAL, ctx.aio_error(bad));
        assertEquals(-1, ctx.aio_return(bad));
        assertEquals(EINVAL, ctx.aio_error(bad2));

        Aiocb good3 = lioCb(LIO_READ, readCb(fd, 0, 4));
        Aiocb bad3 = lioCb(42, readCb(fd, 0, 4));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {bad3, good3}, 2, countingList()));
        awaitDone(ctx, good3, bad3);
        assertEquals(EINVAL, ctx.aio_error(bad3));
        assertEquals(4, ctx.aio_return(good3));
        assertListNotifiedExactlyOnce();
    }

    @Test
    void entryWithInvalidFields_failsOnItsOwn() {
        int fd = tempFileWith("f", "0123456789");
        Aiocb prio = lioCb(LIO_READ, readCb(fd, 0, 4));
        prio.aio_reqprio = AIO_PRIO_DELTA_MAX_PLUS_ONE;
        Aiocb nbytes = lioCb(LIO_READ, aiocb(fd, 0, ByteBuffer.allocateDirect(2), 4));
        Aiocb nullBuf = lioCb(LIO_WRITE, aiocb(fd, 0, null, 4));
        Aiocb badSig = lioCb(LIO_READ, readCb(fd, 0, 4));
        badSig.aio_sigevent = SigEvent.signal(0, null);
        Aiocb good = lioCb(LIO_READ, readCb(fd, 2, 4));
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {prio, nbytes, nullBuf, badSig, good}, 5, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(prio));
        assertEquals(EINVAL, ctx.aio_error(nbytes));
        assertEquals(EFAULT, ctx.aio_error(nullBuf));
        assertEquals(EINVAL, ctx.aio_error(badSig));
        assertEquals(-1, ctx.aio_return(prio));
        assertEquals(4, ctx.aio_return(good));
        assertEquals("2345", text(good.aio_buf, 4));
    }

    private static final int AIO_PRIO_DELTA_MAX_PLUS_ONE = Aio.AIO_PRIO_DELTA_MAX + 1;

    @Test
    void waitMode_ignoresSig_butEntriesAreNotified() {
        int fd = tempFileWith("f", "abcdef");
        AtomicInteger entryNotified = new AtomicInteger();
        Aiocb a = lioCb(LIO_READ, readCb(fd, 0, 3));
        a.aio_sigevent = SigEvent.thread(v -> entryNotified.incrementAndGet(), null);
        Aiocb b = lioCb(LIO_READ, readCb(fd, 3, 3));
        b.aio_sigevent = SigEvent.thread(v -> entryNotified.incrementAndGet(), null);
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {a, b}, 2, countingList()));
        awaitTrue("entry notifications", () -> entryNotified.get() == 2);
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, listNotified.get(), "LIO_WAIT must ignore sig");
        assertEquals(2, entryNotified.get());
    }

    @Test
    void noWait_sigFiresOnceWhenAllComplete_withStatusesFinal() {
        int[] p = pipe();
        int fd = tempFileWith("f", "file-data");
        Aiocb fileRead = lioCb(LIO_READ, readCb(fd, 0, 9));
        Aiocb pipeRead = lioCb(LIO_READ, readCb(p[0], 0, 9));
        Aiocb[] list = {fileRead, pipeRead};
        ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
        SigEvent sig = SigEvent.thread(v -> {
            seen.add(v + ":" + ctx.aio_error(fileRead) + "," + ctx.aio_error(pipeRead));
            listNotified.incrementAndGet();
        }, "L");
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, list, 2, sig));
        awaitDone(ctx, fileRead);
        assertStaysInProgress(ctx, pipeRead);
        assertEquals(0, listNotified.get(), "sig fired before every entry was complete");
        writeTo(p[1], "pipe-data");
        awaitDone(ctx, pipeRead);
        assertListNotifiedExactlyOnce();
        assertEquals("L:0,0", seen.peek());
        assertEquals(9, ctx.aio_return(fileRead));
        assertEquals(9, ctx.aio_return(pipeRead));
    }

    @Test
    void noWait_failingEntries_failLater_andSigStillFiresOnce() {
        int fd = tempFileWith("f", "0123");
        Aiocb bad = lioCb(LIO_READ, readCb(1_000_000, 0, 4));
        Aiocb good = lioCb(LIO_READ, readCb(fd, 0, 4));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {bad, good}, 2, countingList()));
        awaitDone(ctx, bad, good);
        assertEquals(EBADF, ctx.aio_error(bad));
        assertEquals(-1, ctx.aio_return(bad));
        assertEquals(4, ctx.aio_return(good));
        assertListNotifiedExactlyOnce();
    }

    @Test
    void noWait_canceledEntryCountsAsComplete() {
        int[] p = pipe();
        Aiocb r = lioCb(LIO_READ, readCb(p[0], 0, 4));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {r}, 1, countingList()));
        assertStaysInProgress(ctx, r);
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], r));
        awaitDone(ctx, r);
        assertEquals(ECANCELED, ctx.aio_error(r));
        assertListNotifiedExactlyOnce();
    }

    @Test
    void noWait_emptyList_sigFiresAtOnce() {
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[0], 0, countingList()));
        assertListNotifiedExactlyOnce();
        listNotified.set(0);
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {null, null}, 2, countingList()));
        assertListNotifiedExactlyOnce();
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[0], 0, null), "null sig: no notification");
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[0], 0, null));
    }

    @Test
    void noWait_sigevSignal_deliversSiAsyncio() {
        int signo = Signals.SIGRTMIN + 7;
        ConcurrentLinkedQueue<SigInfo> infos = new ConcurrentLinkedQueue<>();
        assertEquals(0, Signals.sigaction(signo, infos::add));
        try {
            int fd = tempFileWith("f", "x");
            Aiocb r = lioCb(LIO_READ, readCb(fd, 0, 1));
            Object value = new Object();
            assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {r}, 1, SigEvent.signal(signo, value)));
            awaitTrue("signal", () -> !infos.isEmpty());
            sleepMillis(QUIET_MILLIS);
            assertEquals(1, infos.size());
            SigInfo si = infos.peek();
            assertEquals(signo, si.si_signo());
            assertEquals(Signals.SI_ASYNCIO, si.si_code());
            assertTrue(si.si_value() == value);
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    @Test
    void badMode_orNent_isEINVAL_andNothingStarted() throws Exception {
        int fd = openTemp("f", 0);
        for (int[] args : new int[][] {{-1, 1}, {2, 1}, {99, 1}, {LIO_WAIT, -1}, {LIO_NOWAIT, -1}, {LIO_WAIT, 2},
                {LIO_NOWAIT, 2}}) {
            Aiocb w = lioCb(LIO_WRITE, writeCb(fd, 0, "never"));
            AtomicInteger entryNotified = new AtomicInteger();
            w.aio_sigevent = SigEvent.thread(v -> entryNotified.incrementAndGet(), null);
            assertEquals(-1, ctx.lio_listio(args[0], new Aiocb[] {w}, args[1], countingList()),
                    "mode " + args[0] + " nent " + args[1]);
            assertEquals(EINVAL, ctx.errno());
            assertEquals(EINVAL, ctx.aio_error(w), "the entry was never submitted");
            sleepMillis(20);
            assertEquals(0, entryNotified.get());
        }
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, listNotified.get(), "a rejected list fires no sig");
        assertEquals("", fileContent("f"));
    }

    @Test
    void nentBeyondAioListioMax_isEINVAL_andNothingStarted() throws Exception {
        assumeTrue(AIO_LISTIO_MAX > 0 && AIO_LISTIO_MAX < 1 << 20, "AIO_LISTIO_MAX " + AIO_LISTIO_MAX);
        int fd = openTemp("f", 0);
        Aiocb[] list = new Aiocb[AIO_LISTIO_MAX + 1];
        list[0] = lioCb(LIO_WRITE, writeCb(fd, 0, "never"));
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, AIO_LISTIO_MAX + 1, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.lio_listio(LIO_NOWAIT, list, AIO_LISTIO_MAX + 1, countingList()));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(list[0]));
        sleepMillis(QUIET_MILLIS);
        assertEquals(0, listNotified.get());
        assertEquals("", fileContent("f"));

        // Exactly AIO_LISTIO_MAX is allowed (mostly nulls, so it stays cheap).
        assertEquals(0, ctx.lio_listio(LIO_WAIT, list, AIO_LISTIO_MAX, null));
        assertEquals(5, ctx.aio_return(list[0]));
    }

    @Test
    void inFlightEntry_isEBUSYOnItsOwn() {
        int[] p = pipe();
        int fd = tempFileWith("f", "abcd");
        Aiocb pending = readCb(p[0], 0, 4);
        assertEquals(0, ctx.aio_read(pending));
        pending.aio_lio_opcode = LIO_READ;
        Aiocb good = lioCb(LIO_READ, readCb(fd, 0, 4));
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {pending, good}, 2, null));
        awaitDone(ctx, good);
        assertEquals(4, ctx.aio_return(good));
        assertStaysInProgress(ctx, pending); // the in-flight request is untouched
        writeTo(p[1], "zz");
        awaitDone(ctx, pending);
        assertEquals(2, ctx.aio_return(pending));
    }

    @Test
    void allEntriesReachTheKernelInOneBatch() {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                ctx.engine().backend() == io.uringaio.engine.Backend.IO_URING,
                () -> "io_uring_enter batches exist on the IO_URING backend only; this context runs on "
                        + ctx.engine().backend());
        int fd = tempFileWith("f", repeat('b', 64 * 1024));
        int n = 16;
        Aiocb[] list = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            list[i] = lioCb(LIO_READ, readCb(fd, i * 4096L, 4096));
        }
        // Quiesce: nothing of this context in flight (earlier tests' pipes are closed).
        awaitTrue("idle context", () -> {
            EngineStats s = ctx.engineStats();
            return s.inFlight() == 0 && s.queued() == 0;
        });
        EngineStats before = ctx.engineStats();
        assertEquals(0, ctx.lio_listio(LIO_WAIT, list, n, null));
        EngineStats delta = ctx.engineStats().since(before);
        for (Aiocb cb : list) {
            assertEquals(4096, ctx.aio_return(cb));
        }
        assertEquals(n, delta.submitted(), "requests submitted");
        assertEquals(n, delta.sqesSubmitted(), "SQEs");
        assertEquals(1, delta.enterCalls(), "io_uring_enter batches for one lio_listio: " + delta);
    }

    @Test
    void manyLists_concurrently_allCompleteAndNotifyOnce() throws Exception {
        int fd = tempFileWith("f", repeat('c', 8192));
        int lists = 8;
        List<Thread> threads = new ArrayList<>();
        AtomicInteger failures = new AtomicInteger();
        for (int t = 0; t < lists; t++) {
            Thread th = new Thread(() -> {
                Aiocb[] l = new Aiocb[8];
                for (int i = 0; i < l.length; i++) {
                    l[i] = lioCb(LIO_READ, readCb(fd, i * 1024L, 1024));
                }
                if (ctx.lio_listio(LIO_NOWAIT, l, l.length, countingList()) != 0) {
                    failures.incrementAndGet();
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            join(th);
        }
        assertEquals(0, failures.get());
        awaitTrue("all list notifications", () -> listNotified.get() >= lists);
        sleepMillis(QUIET_MILLIS);
        assertEquals(lists, listNotified.get());
    }

    /**
     * Issue 11 item 8: an entry that fails its own checks is a request that fails, so its own notification fires once
     * (it never did), and the list notification fires once, after every entry, the failed ones included, is final.
     */
    @Test
    void invalidEntries_areNotifiedOnce_andTheListNotificationCountsThem() throws Exception {
        int fd = tempFileWith("f", "abcdefgh");
        AtomicInteger[] seen = new AtomicInteger[6];
        Aiocb[] list = new Aiocb[6];
        for (int i = 0; i < list.length; i++) {
            AtomicInteger count = seen[i] = new AtomicInteger();
            list[i] = lioCb(LIO_READ, readCb(fd, i, 2));
            list[i].aio_sigevent = SigEvent.thread(v -> count.incrementAndGet(), i);
        }
        list[1].aio_lio_opcode = 7;                 // bad opcode
        list[2].aio_reqprio = -1;                   // bad priority
        list[3].aio_nbytes = 3;                     // more than the buffer holds
        list[4].aio_lio_opcode = LIO_WRITE;
        list[4].aio_buf = null;                     // EFAULT
        List<Integer> pendingAtListNotification = new ArrayList<>();
        SigEvent listSig = SigEvent.thread(v -> {
            for (Aiocb cb : list) {
                if (ctx.aio_error(cb) == EINPROGRESS) {
                    synchronized (pendingAtListNotification) {
                        pendingAtListNotification.add(ctx.aio_error(cb));
                    }
                }
            }
            listNotified.incrementAndGet();
        }, "list");
        assertEquals(0, ctx.lio_listio(LIO_NOWAIT, list, list.length, listSig));
        awaitDone(ctx, list);
        assertEquals(0, ctx.aio_error(list[0]));
        assertEquals(EINVAL, ctx.aio_error(list[1]));
        assertEquals(EINVAL, ctx.aio_error(list[2]));
        assertEquals(EINVAL, ctx.aio_error(list[3]));
        assertEquals(EFAULT, ctx.aio_error(list[4]));
        assertEquals(0, ctx.aio_error(list[5]));
        for (int i = 0; i < seen.length; i++) {
            AtomicInteger count = seen[i];
            awaitTrue("notification of entry " + i, () -> count.get() >= 1);
        }
        assertListNotifiedExactlyOnce();
        for (int i = 0; i < seen.length; i++) {
            assertEquals(1, seen[i].get(), "notifications of entry " + i);
        }
        synchronized (pendingAtListNotification) {
            assertTrue(pendingAtListNotification.isEmpty(), "list notified before its entries were final");
        }
        for (int i = 1; i <= 4; i++) {
            assertEquals(-1, ctx.aio_return(list[i]));
        }
        assertEquals(2, ctx.aio_return(list[0]));
        assertEquals("ab", text(list[0].aio_buf, 2));
        assertEquals("fg", text(list[5].aio_buf, 2));
    }

    /** LIO_WAIT: an invalid entry is notified too, and the call reports -1/EIO while the valid ones run. */
    @Test
    void invalidEntry_underLioWait_isNotifiedOnce_andTheCallIsEIO() throws Exception {
        int fd = openTemp("f", 0);
        AtomicInteger badSeen = new AtomicInteger();
        Aiocb bad = lioCb(9, writeCb(fd, 0, "no"));
        bad.aio_sigevent = SigEvent.thread(v -> badSeen.incrementAndGet(), "bad");
        Aiocb good = lioCb(LIO_WRITE, writeCb(fd, 0, "yes"));
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, new Aiocb[] {bad, good}, 2, null));
        assertEquals(EIO, ctx.errno());
        assertEquals(3, ctx.aio_return(good));
        assertEquals(EINVAL, ctx.aio_error(bad));
        awaitTrue("notification of the bad entry", () -> badSeen.get() >= 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, badSeen.get());
        assertEquals("yes", fileContent("f"));
    }
}
