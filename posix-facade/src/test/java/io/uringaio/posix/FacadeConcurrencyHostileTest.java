package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_ALLDONE;
import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.AIO_NOTCANCELED;
import static io.uringaio.posix.Aio.LIO_NOP;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.EAGAIN;
import static io.uringaio.posix.Errno.EBADF;
import static io.uringaio.posix.Errno.EBUSY;
import static io.uringaio.posix.Errno.ECANCELED;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static io.uringaio.posix.Errno.EINVAL;
import static io.uringaio.posix.Errno.EIO;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/**
 * The second hostile pass over the facade: concurrency and lifecycle abuse, as a C programmer porting code would
 * commit it and as a hostile one would. Every case asserts the errno or result it provokes and that the bystanders
 * (other control blocks, other descriptors, other threads' requests) are untouched. Runs on both backends.
 */
class FacadeConcurrencyHostileTest extends PrivateContextSupport {

    // ---------------------------------------------------------------- one control block abused while in flight

    /**
     * A caller that rewrites every field of an Aiocb while its read is in flight (the buffer, the count, the offset,
     * the descriptor, the priority, the sigevent) changes nothing of the request: it reads its own pipe into its own
     * buffer, notifies the sigevent it was submitted with, and the new buffer and the new descriptor's data are
     * untouched. aio_error/aio_return read the request's status throughout.
     */
    @Test
    void fieldsRewrittenWhileInFlight_theRequestRunsAsSubmitted() {
        int[] p = pipe();
        int[] q = pipe();
        ByteBuffer submitted = ByteBuffer.allocateDirect(8);
        Aiocb r = aiocb(p[0], 0, submitted, 8);
        AtomicInteger firstSig = new AtomicInteger();
        AtomicInteger secondSig = new AtomicInteger();
        r.aio_sigevent = SigEvent.thread(v -> firstSig.incrementAndGet(), null);
        assertEquals(0, ctx.aio_read(r));

        ByteBuffer other = ByteBuffer.allocate(16);
        r.aio_buf = other;
        r.aio_nbytes = 16;
        r.aio_offset = 12345;
        r.aio_fildes = q[0];
        r.aio_reqprio = 99; // out of range: would be EINVAL at a submission
        r.aio_sigevent = SigEvent.thread(v -> secondSig.incrementAndGet(), null);
        assertEquals(EINPROGRESS, ctx.aio_error(r));
        assertEquals(-1, ctx.aio_return(r));
        assertEquals(EINPROGRESS, ctx.errno());
        assertEquals(-1, ctx.aio_read(r), "still in flight, whatever its fields say now");
        assertEquals(EBUSY, ctx.errno());

        writeTo(q[1], "QQQQ"); // the descriptor the block names now is not the request's
        assertStaysInProgress(ctx, r);
        writeTo(p[1], "hello");
        awaitDone(ctx, r);
        assertEquals(0, ctx.aio_error(r));
        assertEquals(5, ctx.aio_return(r));
        assertEquals("hello", text(submitted, 5));
        for (int i = 0; i < other.capacity(); i++) {
            assertEquals(0, other.get(i), "the buffer put in while in flight was written at " + i);
        }
        awaitTrue("the submitted sigevent", () -> firstSig.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, firstSig.get());
        assertEquals(0, secondSig.get(), "the sigevent put in while in flight fired");
        ByteBuffer left = ByteBuffer.allocateDirect(4);
        assertEquals(4, Unistd.read(q[0], left, 4));
        assertEquals("QQQQ", text(left, 4), "the other pipe lost its data");
    }

    /**
     * The same for a write held back by the per-descriptor order (it overlaps an older write stuck on a full pipe):
     * its buffer is copied (heap) or used (direct) only when it is released, long after the call; rewriting the
     * block's fields meanwhile must not change what it writes or how much.
     */
    @Test
    void fieldsRewrittenWhileHeldBack_theWriteWritesWhatItWasSubmittedWith() throws Exception {
        int[] p = pipe();
        int full = fillPipe(p[1]);
        Aiocb blocked = writeCb(p[1], 0, "B");
        assertEquals(0, ctx.aio_write(blocked));
        ByteBuffer heap = ByteBuffer.allocate(5);
        heap.put(0, "held!".getBytes());
        Aiocb held = aiocb(p[1], 0, heap, 5);
        assertEquals(0, ctx.aio_write(held));
        held.aio_buf = ByteBuffer.wrap("XXXXXXXXXX".getBytes());
        held.aio_nbytes = 10;
        held.aio_fildes = -1;
        assertStaysInProgress(ctx, held);

        drain(p[0], full);
        awaitDone(ctx, blocked, held);
        assertEquals(1, ctx.aio_return(blocked));
        assertEquals(5, ctx.aio_return(held));
        ByteBuffer got = ByteBuffer.allocateDirect(6);
        assertEquals(6, readFully(p[0], got, 6));
        assertEquals("Bheld!", text(got, 6));
    }

    /**
     * An Aiocb reused after aio_return for another descriptor belongs to that descriptor only: a cancel of every
     * request of the old descriptor, and its close, leave it alone; aio_cancel with the old number and the block is
     * EINVAL. Reused again with a bad descriptor, and again with a good one, it reports each time what that submission
     * did.
     */
    @Test
    void reusedForAnotherDescriptor_theOldOnesCancelAndCloseDoNotReachIt() {
        int a = tempFileWith("a", "AAAA");
        int[] p = pipe();
        Aiocb cb = readCb(a, 0, 4);
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(4, ctx.aio_return(cb));

        Aiocb neighbour = readCb(a, 0, 4); // a bystander still on the old descriptor... finished
        cb.aio_fildes = p[0];
        assertEquals(0, ctx.aio_read(cb));
        assertEquals(AIO_ALLDONE, ctx.aio_cancel(a, null));
        assertEquals(-1, ctx.aio_cancel(a, cb));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(0, ctx.aio_read(neighbour));
        awaitDone(ctx, neighbour);
        closeNow(a);
        assertStaysInProgress(ctx, cb);
        writeTo(p[1], "pp");
        awaitDone(ctx, cb);
        assertEquals(0, ctx.aio_error(cb));
        assertEquals(2, ctx.aio_return(cb));
        assertEquals(4, ctx.aio_return(neighbour));

        cb.aio_fildes = -1;
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(EBADF, ctx.aio_error(cb));
        assertEquals(-1, ctx.aio_return(cb));

        int b = tempFileWith("b", "bbbb");
        cb.aio_fildes = b;
        assertEquals(0, ctx.aio_fsync(Fcntl.O_DSYNC, cb));
        awaitDone(ctx, cb);
        assertEquals(0, ctx.aio_return(cb));
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(4, ctx.aio_return(cb));
        assertEquals("bbbb", text(cb.aio_buf, 4));
    }

    /**
     * One block submitted from four threads at once through the four entry points, round after round: a call takes it
     * only when it is not in flight (the others are EBUSY), each accepted submission runs and notifies once, and a
     * bystander read of the same descriptor submitted before each round completes with its own data.
     */
    @Test
    void oneBlockFromFourThroughEveryEntryPoint_oneRunsPerRound() throws Exception {
        int fd = tempFileWith("f", "0123456789");
        Aiocb cb = readCb(fd, 0, 4);
        cb.aio_lio_opcode = LIO_READ;
        AtomicInteger notified = new AtomicInteger();
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        int rounds = 200;
        CyclicBarrier start = new CyclicBarrier(4);
        AtomicIntegerArray accepted = new AtomicIntegerArray(rounds);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        CyclicBarrier end = new CyclicBarrier(4, () -> { });
        List<Thread> threads = new ArrayList<>();
        Aiocb[] bystanders = new Aiocb[rounds];
        for (int i = 0; i < rounds; i++) {
            bystanders[i] = readCb(fd, 6, 4);
        }
        for (int t = 0; t < 4; t++) {
            int kind = t;
            threads.add(new Thread(() -> {
                try {
                    for (int i = 0; i < rounds; i++) {
                        if (kind == 0) {
                            if (ctx.aio_read(bystanders[i]) != 0) {
                                wrong.add("bystander refused, errno " + ctx.errno());
                            }
                        }
                        start.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                        int res = switch (kind) {
                            case 0 -> ctx.aio_read(cb);
                            case 1 -> ctx.aio_write(cb);
                            case 2 -> ctx.aio_fsync(Fcntl.O_SYNC, cb);
                            // LIO_WAIT: a list's EBUSY entry fails on its own (-1/EIO), while LIO_NOWAIT would
                            // return 0 for it and leave nothing to count.
                            default -> ctx.lio_listio(LIO_WAIT, new Aiocb[] {cb}, 1, null);
                        };
                        if (res == 0) {
                            accepted.incrementAndGet(i);
                        } else if (ctx.errno() != (kind == 3 ? EIO : EBUSY)) {
                            wrong.add("kind " + kind + " round " + i + ": errno " + ctx.errno());
                        }
                        end.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                        if (kind == 0) {
                            awaitDone(ctx, cb);
                            long n = ctx.aio_return(cb);
                            if (n != 4 && n != 0) {
                                wrong.add("round " + i + ": aio_return " + n + " errno " + ctx.errno());
                            }
                        }
                        start.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                    }
                } catch (Exception e) {
                    wrong.add(e.toString());
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            join(t);
        }
        assertTrue(wrong.isEmpty(), wrong.toString());
        // A call that comes after the winner's request completed (a cached read completes inside its call) takes
        // the block again, legitimately: at least one per round, and each accepted submission notified once.
        int total = 0;
        for (int i = 0; i < rounds; i++) {
            assertTrue(accepted.get(i) >= 1, "round " + i + ": no call took the block");
            total += accepted.get(i);
        }
        int expected = total;
        awaitTrue("every accepted submission's notification (" + expected + ")", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
        for (Aiocb b : bystanders) {
            awaitDone(ctx, b);
            assertEquals(4, ctx.aio_return(b));
            assertEquals("6789", text(b.aio_buf, 4));
        }
        // The write rounds wrote the buffer's own bytes ("0123" read earlier, or zeros) at offset 0 only.
        ByteBuffer tail = ByteBuffer.allocateDirect(6);
        assertEquals(6, Unistd.pread(fd, tail, 6, 4));
        assertEquals("456789", text(tail, 6));
    }

    // ---------------------------------------------------------------- cancel racing submission

    /**
     * aio_cancel(fd, NULL) in a loop on one thread while another writes distinct blocks of the same file (some held
     * back behind an overlapping write) and a third writes another file: every write ends exactly once; one that ended
     * ECANCELED wrote nothing, one that did not wrote all of its block; nothing on the other file is canceled; and a
     * cancel that answered AIO_ALLDONE each time canceled nothing.
     */
    @Test
    void cancelAllRacingWritesOfAnotherThread_endsEachOnce_andCancelsNoBystander() throws Exception {
        int fd = openTemp("target", 0);
        int other = openTemp("other", 0);
        int blocks = 600;
        int block = 64;
        Aiocb[] writes = new Aiocb[blocks];
        Aiocb[] firsts = new Aiocb[blocks];
        Aiocb[] others = new Aiocb[blocks];
        AtomicIntegerArray notified = new AtomicIntegerArray(blocks * 3);
        for (int i = 0; i < blocks; i++) {
            int id = i;
            // Two writes per block: the first writes 'a's, the second (held back behind it: it overlaps) the final
            // pattern, so the second is often still in the facade when a cancel comes.
            firsts[i] = aiocb(fd, (long) i * block, filled(block, (byte) 'a'), block);
            firsts[i].aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(id), null);
            writes[i] = aiocb(fd, (long) i * block, filled(block, pattern(i)), block);
            writes[i].aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(blocks + id), null);
            others[i] = aiocb(other, (long) i * block, filled(block, pattern(i)), block);
            others[i].aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(2 * blocks + id), null);
        }
        AtomicInteger canceledAnswers = new AtomicInteger();
        AtomicInteger notCanceledAnswers = new AtomicInteger();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        CountDownLatch go = new CountDownLatch(1);
        AtomicInteger writersLeft = new AtomicInteger(2);
        Thread writer = new Thread(() -> {
            awaitLatch(go);
            for (int i = 0; i < blocks; i++) {
                if (ctx.aio_write(firsts[i]) != 0 || ctx.aio_write(writes[i]) != 0) {
                    wrong.add("write " + i + " refused: errno " + ctx.errno());
                }
            }
            writersLeft.decrementAndGet();
        });
        Thread bystander = new Thread(() -> {
            awaitLatch(go);
            for (int i = 0; i < blocks; i++) {
                if (ctx.aio_write(others[i]) != 0) {
                    wrong.add("other write " + i + " refused: errno " + ctx.errno());
                }
            }
            writersLeft.decrementAndGet();
        });
        Thread canceller = new Thread(() -> {
            awaitLatch(go);
            do {
                int r = ctx.aio_cancel(fd, null);
                switch (r) {
                    case AIO_CANCELED -> canceledAnswers.incrementAndGet();
                    case AIO_NOTCANCELED -> notCanceledAnswers.incrementAndGet();
                    case AIO_ALLDONE -> { }
                    default -> wrong.add("aio_cancel: " + r + " errno " + ctx.errno());
                }
            } while (writersLeft.get() > 0);
        });
        writer.start();
        bystander.start();
        canceller.start();
        go.countDown();
        join(writer);
        join(bystander);
        join(canceller);
        assertTrue(wrong.isEmpty(), wrong.toString());

        int canceled = 0;
        for (int i = 0; i < blocks; i++) {
            awaitDone(ctx, firsts[i], writes[i], others[i]);
            assertEquals(0, ctx.aio_error(others[i]), "bystander write " + i);
            assertEquals(block, ctx.aio_return(others[i]));
            int firstErr = ctx.aio_error(firsts[i]);
            long first = ctx.aio_return(firsts[i]);
            long second = ctx.aio_return(writes[i]);
            ByteBuffer got = ByteBuffer.allocateDirect(block);
            long n = Unistd.pread(fd, got, block, (long) i * block);
            if (second == block) {
                assertEquals(block, n);
                assertEquals(repeat((char) pattern(i), block), text(got, block), "block " + i);
            } else {
                assertEquals(-1, second, "block " + i);
                canceled++;
                if (first == block) {
                    assertEquals(repeat('a', block), text(got, block), "block " + i + ": its write was canceled");
                } else {
                    assertEquals(-1, first);
                    canceled++;
                    assertTrue(n <= 0 || text(got, (int) n).chars().allMatch(c -> c == 0),
                            "block " + i + ": both writes canceled, yet it holds data");
                }
            }
            assertTrue(firstErr == 0 || firstErr == ECANCELED, "first write " + i + " errno " + firstErr);
        }
        if (canceledAnswers.get() == 0 && notCanceledAnswers.get() == 0) {
            assertEquals(0, canceled, "requests ended ECANCELED, yet every cancel answered AIO_ALLDONE");
        }
        awaitTrue("every notification", () -> sum(notified) == blocks * 3);
        sleepMillis(QUIET_MILLIS);
        for (int i = 0; i < blocks * 3; i++) {
            assertEquals(1, notified.get(i), "notifications of request " + i);
        }
        ByteBuffer otherFile = ByteBuffer.allocateDirect(blocks * block);
        assertEquals(blocks * block, Unistd.pread(other, otherFile, blocks * block, 0));
        for (int i = 0; i < blocks; i++) {
            assertEquals(pattern(i), otherFile.get(i * block), "bystander file block " + i);
        }
    }

    // ---------------------------------------------------------------- aio_suspend from two threads

    /**
     * Two threads suspend on one list of three pipe reads (no timeout); one read completes: both return 0, the other
     * two reads stay in progress and untouched, and the result is taken once.
     */
    @Test
    void suspendFromTwoThreadsOnOneList_bothReturn_othersStayInProgress() throws Exception {
        int[][] pipes = {pipe(), pipe(), pipe()};
        Aiocb[] list = new Aiocb[3];
        for (int i = 0; i < 3; i++) {
            list[i] = readCb(pipes[i][0], 0, 3);
            assertEquals(0, ctx.aio_read(list[i]));
        }
        int[][] results = new int[2][2];
        List<Thread> waiters = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            int me = t;
            waiters.add(new Thread(() -> {
                results[me][0] = ctx.aio_suspend(list, 3, null);
                results[me][1] = ctx.errno();
            }));
        }
        waiters.forEach(Thread::start);
        for (Thread w : waiters) {
            waitUntilParked(w);
        }
        writeTo(pipes[1][1], "one");
        for (Thread w : waiters) {
            join(w);
        }
        for (int t = 0; t < 2; t++) {
            assertEquals(0, results[t][0], "waiter " + t + " errno " + results[t][1]);
        }
        assertEquals(3, ctx.aio_return(list[1]));
        assertEquals(-1, ctx.aio_return(list[1]));
        assertEquals(EINVAL, ctx.errno());
        assertStaysInProgress(ctx, list[0]);
        assertEquals(EINPROGRESS, ctx.aio_error(list[2]));
        writeTo(pipes[0][1], "zer");
        writeTo(pipes[2][1], "two");
        awaitDone(ctx, list[0], list[2]);
        assertEquals("zer", text(list[0].aio_buf, 3));
        assertEquals("two", text(list[2].aio_buf, 3));
    }

    // ---------------------------------------------------------------- lio_listio abuse

    /**
     * LIO_WAIT on a list holding one block twice, nulls, a LIO_NOP entry that is in flight elsewhere, an entry with a
     * bad opcode, one on a closed descriptor and a good one: -1/EIO; the good and duplicated blocks ran once each
     * with their data, the bad ones hold their own errno and were notified once, the NOP entry is untouched. A nent
     * beyond AIO_LISTIO_MAX, or Integer.MAX_VALUE, starts nothing.
     */
    @Test
    void lioWait_duplicatesNullsNopsAndFailingEntries_eachEndsOnItsOwn() {
        int fd = tempFileWith("f", "abcdefgh");
        int[] p = pipe();
        int closed = closedHighNumber();
        AtomicIntegerArray notified = new AtomicIntegerArray(4);
        Aiocb dup = lioCb(LIO_READ, readCb(fd, 0, 4));
        dup.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(0), null);
        Aiocb good = lioCb(LIO_READ, readCb(fd, 4, 4));
        good.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(1), null);
        Aiocb badOp = lioCb(77, readCb(fd, 0, 4));
        badOp.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(2), null);
        Aiocb badFd = lioCb(LIO_READ, readCb(closed, 0, 4));
        badFd.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(3), null);
        Aiocb nopInFlight = readCb(p[0], 0, 2);
        assertEquals(0, ctx.aio_read(nopInFlight));
        nopInFlight.aio_lio_opcode = LIO_NOP;

        Aiocb[] list = {null, dup, nopInFlight, badOp, dup, null, badFd, good, dup};
        // nent beyond the limits: nothing starts.
        Aiocb[] huge = new Aiocb[Aio.AIO_LISTIO_MAX + 1];
        java.util.Arrays.fill(huge, dup);
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, huge, huge.length, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, Integer.MAX_VALUE, null));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(-1, ctx.lio_listio(LIO_NOWAIT, list, Integer.MIN_VALUE, SigEvent.none()));
        assertEquals(EINVAL, ctx.errno());
        assertEquals(EINVAL, ctx.aio_error(dup), "a refused list started its entry");

        assertEquals(-1, ctx.lio_listio(LIO_WAIT, list, list.length, SigEvent.thread(v -> { }, null)));
        assertEquals(EIO, ctx.errno());
        assertEquals(0, ctx.aio_error(dup));
        assertEquals(4, ctx.aio_return(dup));
        assertEquals("abcd", text(dup.aio_buf, 4));
        assertEquals(0, ctx.aio_error(good));
        assertEquals(4, ctx.aio_return(good));
        assertEquals("efgh", text(good.aio_buf, 4));
        assertEquals(EINVAL, ctx.aio_error(badOp));
        awaitDone(ctx, badFd);
        assertEquals(EBADF, ctx.aio_error(badFd));
        awaitTrue("the entries' notifications", () -> sum(notified) == 4);
        sleepMillis(QUIET_MILLIS);
        for (int i = 0; i < 4; i++) {
            assertEquals(1, notified.get(i), "entry " + i);
        }
        assertEquals(EINPROGRESS, ctx.aio_error(nopInFlight));
        writeTo(p[1], "ok");
        awaitDone(ctx, nopInFlight);
        assertEquals(2, ctx.aio_return(nopInFlight));
        assertEquals("ok", text(nopInFlight.aio_buf, 2));
    }

    // ---------------------------------------------------------------- notifications that call back

    /**
     * A SIGEV_THREAD function (on a facade thread, and on a direct executor) that calls back into the facade: cancels
     * its own request (AIO_ALLDONE, the status stays), waits in aio_suspend for another request, runs a LIO_WAIT and
     * an aio_read of its own. While it waits, a bystander request completes and is notified; when the awaited request
     * completes, the function finishes and everything it started ended once.
     */
    @Test
    void sigevThread_thatCallsBackAndWaitsInside_stallsNothing() throws Exception {
        for (boolean direct : new boolean[] {false, true}) {
            int fd = tempFileWith("f" + direct, "notified");
            int[] p = pipe();
            int[] bystanderPipe = pipe();
            Aiocb awaited = readCb(p[0], 0, 4);
            assertEquals(0, ctx.aio_read(awaited));
            Aiocb self = readCb(fd, 0, 8);
            Aiocb inner = readCb(fd, 0, 3);
            Aiocb innerLio = lioCb(LIO_READ, readCb(fd, 3, 5));
            ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
            CountDownLatch finished = new CountDownLatch(1);
            CountDownLatch insideSuspend = new CountDownLatch(1);
            self.aio_sigevent = SigEvent.thread(v -> {
                seen.add("cancel:" + ctx.aio_cancel(fd, self));
                seen.add("error:" + ctx.aio_error(self));
                seen.add("read:" + ctx.aio_read(inner));
                seen.add("lio:" + ctx.lio_listio(LIO_WAIT, new Aiocb[] {innerLio}, 1, null));
                insideSuspend.countDown();
                seen.add("suspend:" + ctx.aio_suspend(new Aiocb[] {awaited}, 1, null));
                finished.countDown();
            }, null);
            if (direct) {
                self.aio_sigevent.sigev_notify_attributes = Runnable::run;
            }
            assertEquals(0, ctx.aio_read(self));
            assertTrue(insideSuspend.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));

            AtomicInteger bystanderNotified = new AtomicInteger();
            Aiocb bystander = readCb(bystanderPipe[0], 0, 2);
            bystander.aio_sigevent = SigEvent.thread(v -> bystanderNotified.incrementAndGet(), null);
            assertEquals(0, ctx.aio_read(bystander));
            writeTo(bystanderPipe[1], "by");
            awaitDone(ctx, bystander);
            awaitTrue("the bystander's notification while another waits inside its own", () ->
                    bystanderNotified.get() == 1);
            assertEquals(1, finished.getCount(), "the function returned before its awaited request completed");

            writeTo(p[1], "wait");
            assertTrue(finished.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
            assertEquals(List.of("cancel:" + AIO_ALLDONE, "error:0", "read:0", "lio:0", "suspend:0"),
                    List.copyOf(seen), "direct executor: " + direct);
            assertEquals(8, ctx.aio_return(self));
            awaitDone(ctx, inner);
            assertEquals(3, ctx.aio_return(inner));
            assertEquals("not", text(inner.aio_buf, 3));
            assertEquals(5, ctx.aio_return(innerLio));
            assertEquals("ified", text(innerLio.aio_buf, 5));
            assertEquals(4, ctx.aio_return(awaited));
            assertEquals(2, ctx.aio_return(bystander));
            assertEquals(1, bystanderNotified.get());
        }
    }

    /**
     * A SIGEV_SIGNAL handler that runs a LIO_WAIT of a request whose own notification is the same signal (delivered
     * on the same, busy, delivery thread), then throws: the LIO_WAIT returns (the status is final before its signal is
     * queued), the nested signal is delivered once after the handler returned, and the handler keeps receiving.
     */
    @Test
    void sigevSignal_handlerThatWaitsForARequestOfItsOwnSignal_andThrows() throws Exception {
        int signo = Signals.SIGRTMIN + 7;
        int fd = tempFileWith("f", "signal");
        ConcurrentLinkedQueue<Object> delivered = new ConcurrentLinkedQueue<>();
        AtomicInteger nestedResult = new AtomicInteger(Integer.MIN_VALUE);
        Aiocb nested = lioCb(LIO_READ, readCb(fd, 0, 3));
        nested.aio_sigevent = SigEvent.signal(signo, "nested");
        assertEquals(0, Signals.sigaction(signo, info -> {
            delivered.add(info.si_value());
            if ("outer".equals(info.si_value())) {
                nestedResult.set(ctx.lio_listio(LIO_WAIT, new Aiocb[] {nested}, 1, null));
                throw new IllegalStateException("hostile handler");
            }
        }));
        try {
            Aiocb outer = readCb(fd, 3, 3);
            outer.aio_sigevent = SigEvent.signal(signo, "outer");
            assertEquals(0, ctx.aio_read(outer));
            awaitTrue("both signals", () -> delivered.size() == 2);
            assertEquals(0, nestedResult.get());
            assertEquals(List.of("outer", "nested"), List.copyOf(delivered));
            assertEquals(3, ctx.aio_return(nested));
            assertEquals(3, ctx.aio_return(outer));
            assertEquals("sig", text(nested.aio_buf, 3));
            Aiocb after = readCb(fd, 0, 1);
            after.aio_sigevent = SigEvent.signal(signo, "after");
            assertEquals(0, ctx.aio_read(after));
            awaitTrue("a later signal", () -> delivered.size() == 3);
            sleepMillis(QUIET_MILLIS);
            assertEquals(List.of("outer", "nested", "after"), List.copyOf(delivered));
        } finally {
            Signals.sigaction(signo, null);
        }
    }

    // ---------------------------------------------------------------- a context closed under load

    /**
     * A context closed while three threads submit (aio_write, one-entry LIO_NOWAIT lists, and now and then a pipe read
     * that stays in flight), one thread waits in aio_suspend and one in a LIO_WAIT: every call that returned 0 ended
     * exactly once by the time close returned (a write wrote its block or ended ECANCELED having written nothing; a
     * pipe read ECANCELED), with one notification; every call refused is -1/EAGAIN with EAGAIN as its status and no
     * notification; the waiters return; a notification that calls back into the closed context gets EAGAIN.
     */
    @Test
    void contextClosedUnderSubmittersAndWaiters_everyAcceptedRequestEndsOnce_refusedOnesAreEAGAIN() throws Exception {
        int fd = openTemp("f", 0);
        int[] p = pipe();
        int[] suspendPipe = pipe();
        int[] lioPipe = pipe();
        int threads = 3;
        int max = 4000;
        int block = 16;
        Aiocb[][] cbs = new Aiocb[threads][max];
        int[][] outcome = new int[threads][max]; // 1 accepted, 2 refused
        AtomicIntegerArray notified = new AtomicIntegerArray(threads * max);
        AtomicIntegerArray acceptedCount = new AtomicIntegerArray(threads);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicInteger callbackResult = new AtomicInteger(Integer.MIN_VALUE);
        AtomicInteger callbackErrno = new AtomicInteger();
        AioContext c = new AioContext();
        try {
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                all.add(new Thread(() -> {
                    int refusals = 0;
                    for (int i = 0; i < max && refusals < 20; i++) {
                        int id = me * max + i;
                        boolean pipeRead = i % 97 == 5;
                        Aiocb cb = pipeRead ? readCb(p[0], 0, 1)
                                : aiocb(fd, (long) id * block, filled(block, pattern(id)), block);
                        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(id), null);
                        if (pipeRead && me == 0 && i == 5) {
                            cb.aio_sigevent = SigEvent.thread(v -> {
                                notified.incrementAndGet(id);
                                callbackResult.set(c.aio_read(readCb(fd, 0, 1)));
                                callbackErrno.set(c.errno());
                            }, null);
                        }
                        cbs[me][i] = cb;
                        int r;
                        if (pipeRead) {
                            r = c.aio_read(cb);
                        } else if (i % 2 == 0) {
                            r = c.aio_write(cb);
                        } else {
                            cb.aio_lio_opcode = LIO_WRITE;
                            r = c.lio_listio(LIO_NOWAIT, new Aiocb[] {cb}, 1, null);
                        }
                        if (r == 0) {
                            outcome[me][i] = 1;
                            acceptedCount.incrementAndGet(me);
                        } else {
                            outcome[me][i] = 2;
                            refusals++;
                            int e = c.errno();
                            int status = c.aio_error(cb);
                            if (e != EAGAIN || status != EAGAIN) { // a refused list entry too: its status is EAGAIN
                                wrong.add("refused " + id + ": errno " + e + ", status " + status);
                            }
                        }
                        if (i % 64 == 63) {
                            Thread.yield();
                        }
                    }
                }));
            }
            Aiocb suspended = readCb(suspendPipe[0], 0, 1);
            assertEquals(0, c.aio_read(suspended));
            int[] suspendResult = {Integer.MIN_VALUE, 0};
            Thread suspender = new Thread(() -> {
                suspendResult[0] = c.aio_suspend(new Aiocb[] {suspended}, 1, null);
                suspendResult[1] = c.errno();
            });
            Aiocb listed = lioCb(LIO_READ, readCb(lioPipe[0], 0, 1));
            int[] lioResult = {Integer.MIN_VALUE, 0};
            Thread lioWaiter = new Thread(() -> {
                lioResult[0] = c.lio_listio(LIO_WAIT, new Aiocb[] {listed}, 1, null);
                lioResult[1] = c.errno();
            });
            suspender.start();
            lioWaiter.start();
            all.forEach(Thread::start);
            awaitTrue("every submitter under way", () -> acceptedCount.get(0) > 50 && acceptedCount.get(1) > 50
                    && acceptedCount.get(2) > 50);
            waitUntilParked(suspender);
            waitUntilParked(lioWaiter);
            c.close();
            // Everything accepted is final once close returned.
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < max; i++) {
                    if (outcome[t][i] == 1 && c.aio_error(cbs[t][i]) == EINPROGRESS) {
                        // A call racing close may still be between its acceptance and this read: settle below.
                        assertTrue(all.get(t).isAlive(), "request " + (t * max + i) + " still in progress after close");
                    }
                }
            }
            for (Thread t : all) {
                join(t);
            }
            join(suspender);
            join(lioWaiter);
            assertTrue(wrong.isEmpty(), wrong.toString());
            assertEquals(0, suspendResult[0], "aio_suspend errno " + suspendResult[1]);
            assertEquals(-1, lioResult[0]);
            assertEquals(EIO, lioResult[1]);
            assertEquals(ECANCELED, c.aio_error(suspended));
            assertEquals(ECANCELED, c.aio_error(listed));

            int accepted = 0;
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < max; i++) {
                    int id = t * max + i;
                    if (outcome[t][i] != 1) {
                        continue;
                    }
                    accepted++;
                    Aiocb cb = cbs[t][i];
                    awaitDone(c, cb);
                    int err = c.aio_error(cb);
                    long res = c.aio_return(cb);
                    if (cb.aio_fildes == p[0]) {
                        assertEquals(ECANCELED, err, "pipe read " + id);
                        continue;
                    }
                    ByteBuffer got = ByteBuffer.allocateDirect(block);
                    long n = Unistd.pread(fd, got, block, (long) id * block);
                    if (err == 0) {
                        assertEquals(block, res);
                        assertEquals(repeat((char) pattern(id), block), text(got, block), "write " + id);
                    } else {
                        assertEquals(ECANCELED, err, "write " + id);
                        assertTrue(n <= 0 || text(got, (int) n).chars().allMatch(ch -> ch == 0),
                                "write " + id + " ended ECANCELED yet wrote");
                    }
                }
            }
            int expected = accepted;
            awaitTrue("one notification per accepted request", () -> sum(notified) >= expected);
            sleepMillis(QUIET_MILLIS);
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < max; i++) {
                    assertEquals(outcome[t][i] == 1 ? 1 : 0, notified.get(t * max + i),
                            "notifications of request " + (t * max + i) + " (outcome " + outcome[t][i] + ")");
                }
            }
            assertEquals(-1, callbackResult.get(), "a notification's call into the closed context");
            assertEquals(EAGAIN, callbackErrno.get());
            Aiocb late = readCb(fd, 0, 1);
            assertEquals(-1, c.aio_read(late));
            assertEquals(EAGAIN, c.errno());
            assertEquals(EAGAIN, c.aio_error(late));
            assertEquals(AIO_ALLDONE, c.aio_cancel(fd, null));
            assertEquals(0, c.aio_suspend(new Aiocb[] {late}, 1, null));
        } finally {
            c.close();
        }
        // The pipe is untouched by what the closed context canceled; the process-wide context still works on it.
        writeTo(p[1], "z");
        Aiocb after = readCb(p[0], 0, 1);
        assertEquals(0, ctx.aio_read(after));
        awaitDone(ctx, after);
        assertEquals(1, ctx.aio_return(after));
        assertEquals("z", text(after.aio_buf, 1));
    }

    // ---------------------------------------------------------------- aio_init limits under concurrency

    /**
     * aio_num = 2 and aio_threads = 1 while four threads keep up to 16 requests each in flight (single requests and
     * LIO_WAIT lists of 8): submissions beyond the bound queue (or are EAGAIN, and then retried), nothing is lost or
     * doubled, every write lands and every read sees it.
     */
    @Test
    void aioNumAndThreadsExceededByFourThreads_nothingLostNorDoubled() throws Exception {
        AioInit init = new AioInit();
        init.aio_num = 2;
        init.aio_threads = 1;
        try (AioContext c = new AioContext()) {
            c.aio_init(init);
            int fd = openTemp("f", 0);
            int threads = 4;
            int perThread = 240;
            int block = 128;
            AtomicIntegerArray notified = new AtomicIntegerArray(threads * perThread * 2);
            AtomicInteger eagain = new AtomicInteger();
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            List<Thread> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                all.add(new Thread(() -> {
                    try {
                        List<Aiocb> inFlight = new ArrayList<>();
                        Aiocb[] writes = new Aiocb[perThread];
                        for (int i = 0; i < perThread; i += 8) {
                            Aiocb[] batch = new Aiocb[8];
                            for (int k = 0; k < 8; k++) {
                                int id = me * perThread + i + k;
                                Aiocb w = lioCb(LIO_WRITE, aiocb(fd, (long) id * block, filled(block, pattern(id)),
                                        block));
                                w.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(id), null);
                                writes[i + k] = w;
                                batch[k] = w;
                            }
                            if ((i / 8) % 3 == 0) {
                                int r = c.lio_listio(LIO_WAIT, batch, 8, null);
                                if (r != 0) {
                                    wrong.add("LIO_WAIT: errno " + c.errno());
                                }
                            } else {
                                for (Aiocb w : batch) {
                                    while (c.aio_write(w) != 0) {
                                        if (c.errno() != EAGAIN) {
                                            wrong.add("aio_write: errno " + c.errno());
                                            break;
                                        }
                                        eagain.incrementAndGet();
                                        Thread.yield();
                                    }
                                    inFlight.add(w);
                                }
                            }
                            while (inFlight.size() > 16) {
                                awaitDone(c, inFlight.remove(0));
                            }
                        }
                        for (Aiocb w : inFlight) {
                            awaitDone(c, w);
                        }
                        for (int i = 0; i < perThread; i++) {
                            int id = me * perThread + i;
                            long n = c.aio_return(writes[i]);
                            if (n != block) {
                                wrong.add("write " + id + ": " + n + ", status " + c.aio_error(writes[i]));
                            }
                            Aiocb r = readCb(fd, (long) id * block, block);
                            int slot = threads * perThread + id;
                            r.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(slot), null);
                            while (c.aio_read(r) != 0) {
                                eagain.incrementAndGet();
                                Thread.yield();
                            }
                            awaitDone(c, r);
                            if (c.aio_return(r) != block
                                    || !text(r.aio_buf, block).equals(repeat((char) pattern(id), block))) {
                                wrong.add("read back " + id + ": " + text(r.aio_buf, 8));
                            }
                        }
                    } catch (Throwable e) {
                        wrong.add(e.toString());
                    }
                }));
            }
            all.forEach(Thread::start);
            for (Thread t : all) {
                join(t);
            }
            assertTrue(wrong.isEmpty(), wrong.toString());
            int total = threads * perThread * 2;
            awaitTrue("every notification", () -> sum(notified) >= total);
            sleepMillis(QUIET_MILLIS);
            for (int i = 0; i < total; i++) {
                assertEquals(1, notified.get(i), "notifications of request " + i);
            }
            System.out.println("aio_num=2 run: " + eagain.get() + " EAGAIN retries, " + c.engineStats());
        }
    }

    // ---------------------------------------------------------------- aio_fsync against another thread's writes

    /**
     * One thread writes distinct blocks of a file; another takes the count of writes whose aio_write returned and
     * calls aio_fsync (O_SYNC and O_DSYNC in turn): when each fsync's notification runs, every one of those writes is
     * complete. Every fsync returns 0, every write its count, each notified once.
     */
    @Test
    void fsyncOfAnotherThreadsWrites_completesAfterEveryWriteCalledBeforeIt() throws Exception {
        int fd = openTemp("f", Fcntl.O_DSYNC);
        int writes = 400;
        int block = 512;
        Aiocb[] w = new Aiocb[writes];
        for (int i = 0; i < writes; i++) {
            w[i] = aiocb(fd, (long) i * block, filled(block, pattern(i)), block);
        }
        AtomicInteger returned = new AtomicInteger();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        List<Aiocb> fsyncs = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger fsyncNotified = new AtomicInteger();
        Thread writer = new Thread(() -> {
            for (int i = 0; i < writes; i++) {
                if (ctx.aio_write(w[i]) != 0) {
                    wrong.add("write " + i + ": errno " + ctx.errno());
                }
                returned.set(i + 1);
            }
        });
        Thread syncer = new Thread(() -> {
            int round = 0;
            while (returned.get() < writes) {
                int before = returned.get();
                Aiocb f = new Aiocb();
                f.aio_fildes = fd;
                f.aio_sigevent = SigEvent.thread(v -> {
                    for (int i = 0; i < before; i++) {
                        if (ctx.aio_error(w[i]) == EINPROGRESS) {
                            wrong.add("fsync after " + before + " writes notified while write " + i + " ran");
                            break;
                        }
                    }
                    fsyncNotified.incrementAndGet();
                }, null);
                if (ctx.aio_fsync(round++ % 2 == 0 ? Fcntl.O_SYNC : Fcntl.O_DSYNC, f) != 0) {
                    wrong.add("fsync: errno " + ctx.errno());
                } else {
                    fsyncs.add(f);
                }
                Thread.yield();
            }
        });
        writer.start();
        syncer.start();
        join(writer);
        join(syncer);
        for (Aiocb f : fsyncs) {
            awaitDone(ctx, f);
            assertEquals(0, ctx.aio_return(f));
        }
        for (int i = 0; i < writes; i++) {
            awaitDone(ctx, w[i]);
            assertEquals(block, ctx.aio_return(w[i]));
        }
        awaitTrue("every fsync's notification", () -> fsyncNotified.get() >= fsyncs.size());
        sleepMillis(QUIET_MILLIS);
        assertEquals(fsyncs.size(), fsyncNotified.get());
        assertTrue(wrong.isEmpty(), wrong.toString());
    }

    // ---------------------------------------------------------------- close and number reuse under load

    /**
     * Bounded stress (3 s, four threads): each thread opens a fresh file (its own marker), reads and writes it
     * (aio_read, a LIO_NOWAIT list, two overlapping writes of which the second is held back, an fsync behind them;
     * now and then it cancels its held-back write), then either waits for
     * everything or Unistd.close-s the descriptor at once, while the other threads take the freed numbers for their
     * own files. When close returns, every request on it is final; a read that succeeded read its own file's
     * marker, never another file's; a write that ended ECANCELED wrote nothing and one that succeeded wrote its own
     * file; nothing that was waited for before its close ended ECANCELED unless its owner canceled it (AIO_CANCELED,
     * and then it did); every request notified once.
     */
    @Test
    void closeAndNumberReuseUnderLoad_noRequestReachesAnotherFile() throws Exception {
        int threads = 4;
        long runNanos = TimeUnit.SECONDS.toNanos(3);
        int markerLen = 256;
        int block = 64;
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong requests = new AtomicLong();
        AtomicLong notifications = new AtomicLong();
        AtomicLong canceled = new AtomicLong();
        AtomicLong rounds = new AtomicLong();
        // The process-wide context starts before the clock does (its engine's start is not what is measured).
        Aiocb warmUp = readCb(tempFileWith("warm-up", "w"), 0, 1);
        assertEquals(0, Aio.aio_read(warmUp));
        awaitDone(warmUp);
        assertEquals(1, Aio.aio_return(warmUp));
        long end = System.nanoTime() + runNanos;
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            all.add(new Thread(() -> {
                try {
                    for (int round = 0; System.nanoTime() - end < 0 && wrong.isEmpty(); round++) {
                        String name = dir.resolve("t" + me + "-" + round).toString();
                        int fd = Fcntl.open(name, Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
                        if (fd < 0) {
                            wrong.add("open: errno " + Aio.errno());
                            return;
                        }
                        String marker = ("<" + me + ":" + round + ">").repeat(64).substring(0, markerLen);
                        ByteBuffer m = bytes(marker);
                        if (Unistd.pwrite(fd, m, markerLen, 0) != markerLen) {
                            wrong.add("pwrite: errno " + Aio.errno());
                        }
                        // An fsync every fourth round only: each is a journal commit on a shared disk.
                        boolean syncs = round % 4 == 3;
                        CountDownLatch mine = new CountDownLatch(syncs ? 5 : 4);
                        Aiocb r1 = readCb(fd, 0, markerLen);
                        Aiocb r2 = lioCb(LIO_READ, readCb(fd, 0, markerLen));
                        Aiocb w1 = writeCb(fd, markerLen, marker.substring(0, block));
                        Aiocb w2 = writeCb(fd, markerLen, marker.substring(0, block));
                        Aiocb sync = new Aiocb();
                        sync.aio_fildes = fd;
                        Aiocb[] cbs = syncs ? new Aiocb[] {r1, r2, w1, w2, sync} : new Aiocb[] {r1, r2, w1, w2};
                        for (Aiocb cb : cbs) {
                            cb.aio_sigevent = SigEvent.thread(v -> {
                                notifications.incrementAndGet();
                                mine.countDown();
                            }, null);
                        }
                        int rc = Aio.aio_read(r1) | Aio.aio_write(w1) | Aio.aio_write(w2)
                                | Aio.lio_listio(LIO_NOWAIT, new Aiocb[] {r2}, 1, null)
                                | (syncs ? Aio.aio_fsync(round % 8 < 4 ? Fcntl.O_SYNC : Fcntl.O_DSYNC, sync) : 0);
                        if (rc != 0) {
                            wrong.add("a submission was refused: errno " + Aio.errno());
                        }
                        requests.addAndGet(cbs.length);
                        // Now and then the owner cancels its held-back write itself: only then may it end ECANCELED
                        // in a round that waits before its close (and the fsync behind it goes on).
                        boolean canceledByMe = round % 3 == 1 && Aio.aio_cancel(fd, w2) == AIO_CANCELED;
                        boolean waitFirst = round % 2 == 0;
                        if (waitFirst) {
                            awaitDone(cbs);
                        }
                        if (Unistd.close(fd) != 0) {
                            wrong.add("close: errno " + Aio.errno());
                        }
                        for (Aiocb cb : cbs) {
                            int err = Aio.aio_error(cb);
                            if (err == EINPROGRESS) {
                                wrong.add("in progress after its descriptor's close returned");
                            } else if (err == ECANCELED) {
                                canceled.incrementAndGet();
                                if (waitFirst && !(cb == w2 && canceledByMe)) {
                                    wrong.add("a request nobody canceled ended ECANCELED");
                                }
                            } else if (err != 0) {
                                wrong.add("unexpected status " + err);
                            }
                        }
                        for (Aiocb r : new Aiocb[] {r1, r2}) {
                            if (Aio.aio_error(r) == 0) {
                                long n = Aio.aio_return(r);
                                String got = text(r.aio_buf, Math.max(0, n));
                                if (n != markerLen || !got.equals(marker)) {
                                    wrong.add("read " + n + " bytes of another file: " + got.substring(0,
                                            Math.min(12, got.length())) + " instead of " + marker.substring(0, 12));
                                }
                            }
                        }
                        boolean anyWrote = Aio.aio_error(w1) == 0 || Aio.aio_error(w2) == 0;
                        for (Aiocb w : new Aiocb[] {w1, w2}) {
                            if (Aio.aio_error(w) == 0 && Aio.aio_return(w) != block) {
                                wrong.add("short write");
                            }
                        }
                        if (canceledByMe && Aio.aio_error(w2) != ECANCELED) {
                            wrong.add("AIO_CANCELED, yet the write ended " + Aio.aio_error(w2));
                        }
                        if (Aio.aio_error(sync) == 0 && Aio.aio_return(sync) != 0) {
                            wrong.add("fsync returned nonzero");
                        }
                        byte[] onDisk = java.nio.file.Files.readAllBytes(java.nio.file.Path.of(name));
                        String expect = anyWrote ? marker + marker.substring(0, block) : marker;
                        String actual = new String(onDisk, java.nio.charset.StandardCharsets.ISO_8859_1);
                        if (!actual.equals(expect)) {
                            wrong.add("file " + name + " holds " + actual.length() + " bytes, not what its own"
                                    + " writes wrote (any wrote: " + anyWrote + ")");
                        }
                        if (!mine.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS)) {
                            wrong.add("a notification of round " + round + " never came");
                        }
                        Unistd.unlink(name);
                        rounds.incrementAndGet();
                    }
                } catch (Throwable e) {
                    wrong.add(e.toString());
                }
            }));
        }
        all.forEach(Thread::start);
        for (Thread t : all) {
            join(t);
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " violations, first: " + wrong.peek());
        awaitTrue("every notification", () -> notifications.get() >= requests.get());
        sleepMillis(QUIET_MILLIS);
        assertEquals(requests.get(), notifications.get());
        assertTrue(rounds.get() >= threads, "rounds " + rounds.get());
        System.out.println("close/reuse stress: " + rounds.get() + " rounds, " + requests.get() + " requests, "
                + canceled.get() + " canceled by close");
    }

    // ---------------------------------------------------------------- cancels of a block that resubmits itself

    /**
     * A block whose SIGEV_THREAD function (sigev_value: the block) collects its result and resubmits it at once, for
     * ever, while another thread calls aio_cancel(fd, block) and aio_cancel(fd, NULL) in a loop: every submission
     * ends exactly once; a submission ends ECANCELED only when a cancel answered AIO_CANCELED (then the loop stops),
     * never otherwise; a read that was not canceled read its data; and a bystander loop on another descriptor is
     * never canceled.
     */
    @Test
    void cancelsOfABlockThatResubmitsItselfFromItsNotification_answerWhatHappened() throws Exception {
        int fd = tempFileWith("f", "loop-data");
        int other = tempFileWith("o", "bystander");
        for (int attempt = 0; attempt < 3; attempt++) {
            ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
            AtomicInteger submissions = new AtomicInteger();
            AtomicInteger ended = new AtomicInteger();
            AtomicInteger endedCanceled = new AtomicInteger();
            AtomicInteger bystanderRuns = new AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            CountDownLatch loopOver = new CountDownLatch(2);
            Aiocb loop = readCb(fd, 0, 9);
            loop.aio_sigevent = SigEvent.thread(v -> {
                Aiocb self = (Aiocb) v;
                int err = ctx.aio_error(self);
                long n = ctx.aio_return(self);
                ended.incrementAndGet();
                if (err == ECANCELED) {
                    endedCanceled.incrementAndGet();
                } else if (n != 9 || !text(self.aio_buf, 9).equals("loop-data")) {
                    wrong.add("loop read " + n + " (" + err + ")");
                }
                if (err == ECANCELED || stop.get()) {
                    loopOver.countDown();
                } else if (ctx.aio_read(self) == 0) {
                    submissions.incrementAndGet();
                } else {
                    wrong.add("resubmission refused: errno " + ctx.errno());
                    loopOver.countDown();
                }
            }, loop);
            Aiocb by = readCb(other, 0, 9);
            by.aio_sigevent = SigEvent.thread(v -> {
                Aiocb self = (Aiocb) v;
                int err = ctx.aio_error(self);
                if (ctx.aio_return(self) != 9 || err != 0) {
                    wrong.add("bystander ended " + err);
                }
                bystanderRuns.incrementAndGet();
                if (stop.get() || ctx.aio_read(self) != 0) {
                    loopOver.countDown();
                }
            }, by);
            submissions.incrementAndGet();
            assertEquals(0, ctx.aio_read(loop));
            assertEquals(0, ctx.aio_read(by));
            int canceledAnswers = 0;
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(700);
            while (System.nanoTime() - until < 0 && canceledAnswers == 0) {
                int r = (canceledAnswers & 1) == 0 && System.nanoTime() % 2 == 0 ? ctx.aio_cancel(fd, loop)
                        : ctx.aio_cancel(fd, null);
                if (r == AIO_CANCELED) {
                    canceledAnswers++;
                } else if (r != AIO_ALLDONE && r != AIO_NOTCANCELED) {
                    wrong.add("aio_cancel: " + r + " errno " + ctx.errno());
                }
            }
            stop.set(true);
            assertTrue(loopOver.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS), "the loops did not end");
            awaitTrue("every submission ended", () -> ended.get() == submissions.get());
            assertTrue(wrong.isEmpty(), wrong.toString());
            assertEquals(canceledAnswers, endedCanceled.get(), "AIO_CANCELED answers vs submissions that ended "
                    + "ECANCELED (" + submissions.get() + " submissions)");
            assertTrue(bystanderRuns.get() > 0);
        }
    }

    // ---------------------------------------------------------------- a caller ring whose owner is busy elsewhere

    /**
     * A thread submits a pipe read (on io_uring it goes into that thread's own caller ring) and then blocks on
     * something that is not the facade. Another thread waits for it with a timeout (EAGAIN), then cancels it: the
     * cancel is AIO_CANCELED and the request ECANCELED at once, without the owner's help; a second read of the same
     * owner, left alone, completes when its data comes; the owner, released, finds both statuses final.
     */
    @Test
    void requestOfAThreadBlockedElsewhere_isWaitedForAndCanceledWithoutIt() throws Exception {
        int[] p = pipe();
        int[] q = pipe();
        Aiocb first = readCb(p[0], 0, 2);
        Aiocb second = readCb(q[0], 0, 2);
        CountDownLatch submitted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        int[] ownerSaw = new int[4];
        CountDownLatch secondGate = new CountDownLatch(1);
        Thread owner = new Thread(() -> {
            ownerSaw[0] = ctx.aio_read(first);
            ownerSaw[1] = ctx.aio_read(second);
            submitted.countDown();
            awaitLatch(release);
            ownerSaw[2] = ctx.aio_error(first);
            ownerSaw[3] = ctx.aio_error(second);
            secondGate.countDown();
        });
        owner.start();
        awaitLatch(submitted);
        assertEquals(0, ownerSaw[0]);
        assertEquals(0, ownerSaw[1]);
        assertEquals(-1, ctx.aio_suspend(new Aiocb[] {first}, 1, new Timespec(0, 30_000_000)));
        assertEquals(EAGAIN, ctx.errno());
        assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], first));
        assertEquals(ECANCELED, ctx.aio_error(first));
        assertEquals(-1, ctx.aio_return(first));
        assertEquals(EINPROGRESS, ctx.aio_error(second));
        writeTo(q[1], "ok");
        assertEquals(0, ctx.aio_suspend(new Aiocb[] {second}, 1, new Timespec(DEADLINE_MILLIS / 1000, 0)));
        assertEquals(0, ctx.aio_error(second));
        writeTo(p[1], "pp"); // nobody reads this pipe now: the canceled read took nothing
        release.countDown();
        awaitLatch(secondGate);
        join(owner);
        assertEquals(EINVAL, ownerSaw[2], "first was returned already");
        assertEquals(0, ownerSaw[3]);
        assertEquals(2, ctx.aio_return(second));
        assertEquals("ok", text(second.aio_buf, 2));
        ByteBuffer left = ByteBuffer.allocateDirect(2);
        assertEquals(2, Unistd.read(p[0], left, 2));
        assertEquals("pp", text(left, 2));
    }

    // ---------------------------------------------------------------- fields written by another thread during the call

    /**
     * A hostile thread flips aio_nbytes between a valid count (the buffer's 4 bytes) and one past the buffer while
     * another thread submits the block again and again. Each call validates the count it runs with: a call either
     * refuses (EINVAL) or transfers at most the buffer's capacity; the kernel never writes past the buffer (here a
     * 4-byte slice of a larger direct buffer, whose bytes after the slice must stay untouched). A check that read the
     * field once and a snapshot that read it again let a call run with a count it never checked.
     */
    @Test
    void countFlippedByAnotherThreadDuringTheCall_neverTransfersPastTheBuffer() throws Exception {
        int fd = openTemp("big", 0);
        int size = 1 << 16;
        assertEquals(size, Unistd.pwrite(fd, filled(size, (byte) 'x'), size, 0));
        ByteBuffer parent = ByteBuffer.allocateDirect(size);
        ByteBuffer window = parent.slice(0, 4);
        for (boolean lio : new boolean[] {false, true}) {
            Aiocb cb = aiocb(fd, 0, window, 4);
            cb.aio_lio_opcode = LIO_READ;
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread flipper = new Thread(() -> {
                // A volatile read between the stores keeps both (and gives each value its time); a yield now and
                // then leaves the submitter its share of a small, loaded machine.
                for (int flips = 0; ; flips++) {
                    cb.aio_nbytes = size;
                    if (stop.get()) {
                        break;
                    }
                    cb.aio_nbytes = 4;
                    if (stop.get()) {
                        break;
                    }
                    if ((flips & 63) == 0) {
                        Thread.yield();
                    }
                }
            });
            flipper.start();
            int accepted = 0;
            int refused = 0;
            String violation = null;
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(3000);
            try {
                while (System.nanoTime() - until < 0 && violation == null && accepted + refused < 20_000) {
                    int r = lio ? ctx.lio_listio(LIO_WAIT, new Aiocb[] {cb}, 1, null) : ctx.aio_read(cb);
                    if (!lio && r != 0) {
                        assertEquals(EINVAL, ctx.errno());
                    }
                    awaitDone(ctx, cb);
                    int err = ctx.aio_error(cb);
                    long n = ctx.aio_return(cb);
                    if (err == EINVAL) {
                        refused++;
                    } else {
                        accepted++;
                        if (n > 4 || n < 0) {
                            violation = "a read of a 4-byte buffer returned " + n;
                        }
                    }
                    if (parent.get(4) != 0 || parent.get(size - 1) != 0) {
                        violation = "the kernel wrote past the 4-byte buffer";
                    }
                }
            } finally {
                stop.set(true);
                join(flipper);
            }
            assertEquals(null, violation, (lio ? "lio_listio" : "aio_read") + " after " + accepted + " accepted, "
                    + refused + " refused");
            assertTrue(accepted > 0, "no call was accepted: " + refused + " refused");
        }
    }

    /**
     * The spec: a buffer's position and limit "are never read or changed", so a program may move a direct buffer's
     * position while a request uses the buffer (by absolute index). Another thread flipping the position while blocks
     * naming that buffer are submitted (each a new block: its first use of the buffer) and while Unistd.pread uses it:
     * every transfer lands at index 0 of the buffer, never before or after it (the buffer is a window of a larger
     * direct buffer, whose other bytes must stay zero). An address taken as "the segment at the position, minus the
     * position" read the position twice, and a change in between moved the transfer by that much.
     */
    @Test
    void positionMovedByAnotherThread_transfersStillLandAtIndexZero() throws Exception {
        int fd = tempFileWith("f", "ABCDEFGH");
        ByteBuffer parent = ByteBuffer.allocateDirect(3 * 4096);
        ByteBuffer window = parent.slice(4096, 8);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread mover = new Thread(() -> {
            for (int moves = 0; !stop.get(); moves++) {
                window.position(8);
                window.position(0);
                if ((moves & 63) == 0) {
                    Thread.yield();
                }
            }
        });
        mover.start();
        String violation = null;
        int rounds = 0;
        try {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
            while (System.nanoTime() - until < 0 && violation == null && rounds < 10_000) {
                rounds++;
                boolean viaAio = (rounds & 1) == 0;
                long n;
                if (viaAio) {
                    Aiocb cb = aiocb(fd, 0, window, 8);
                    assertEquals(0, ctx.aio_read(cb));
                    awaitDone(ctx, cb);
                    n = ctx.aio_return(cb);
                } else {
                    n = Unistd.pread(fd, window, 8, 0);
                }
                if (n != 8 || !text(window, 8).equals("ABCDEFGH")) {
                    violation = (viaAio ? "aio_read" : "pread") + " read " + n + " bytes: " + text(window, 8);
                }
                for (int i = 0; i < parent.capacity() && violation == null; i++) {
                    if ((i < 4096 || i >= 4104) && parent.get(i) != 0) {
                        violation = (viaAio ? "aio_read" : "pread") + " wrote outside its buffer, at "
                                + (i - 4096);
                    }
                }
                for (int i = 0; i < 8; i++) {
                    window.put(i, (byte) 0);
                }
            }
        } finally {
            stop.set(true);
            join(mover);
        }
        assertEquals(null, violation, "after " + rounds + " rounds");
    }

    /**
     * With aio_num = 1 a pipe read holds the context's only slot and a second read waits in the engine's queue; a
     * third thread waits for the queued one in aio_suspend with no timeout. aio_cancel of the queued read (the
     * engine completes it on the canceling thread, not in a completion batch of a ring) is AIO_CANCELED and must wake
     * that waiter; the slot's holder is untouched and completes with its data.
     */
    @Test
    void cancelOfARequestQueuedBehindAioNum_wakesAThirdThreadsSuspend() throws Exception {
        AioInit init = new AioInit();
        init.aio_num = 1;
        init.aio_threads = 1;
        try (AioContext c = new AioContext()) {
            c.aio_init(init);
            int[] p = pipe();
            int[] q = pipe();
            Aiocb holder = readCb(p[0], 0, 3);
            assertEquals(0, c.aio_read(holder));
            Aiocb queued = readCb(q[0], 0, 3);
            assertEquals(0, c.aio_read(queued));
            int[] result = {Integer.MIN_VALUE, 0};
            Thread waiter = new Thread(() -> {
                result[0] = c.aio_suspend(new Aiocb[] {queued}, 1, null);
                result[1] = c.errno();
            });
            waiter.start();
            waitUntilParked(waiter);
            assertEquals(AIO_CANCELED, c.aio_cancel(q[0], queued));
            waiter.join(5_000);
            boolean stuck = waiter.isAlive();
            if (stuck) {
                writeTo(p[1], "end"); // any completion wakes it: let the class go on
                join(waiter);
            }
            assertTrue(!stuck, "aio_suspend was not woken by the cancel of the request it waited for");
            assertEquals(0, result[0], "errno " + result[1]);
            assertEquals(ECANCELED, c.aio_error(queued));
            assertEquals(EINPROGRESS, c.aio_error(holder));
            writeTo(p[1], "pip");
            awaitDone(c, holder);
            assertEquals(3, c.aio_return(holder));
            assertEquals("pip", text(holder.aio_buf, 3));
        }
    }

    /**
     * Another thread writes the entries of the list an aio_suspend is looking at (an in-flight block, then null, over
     * and over): each call returns 0 (it saw no entry, or a complete one) or -1/EAGAIN (its poll timed out), never
     * throws. A list entry read twice (once for null, once for its state) met a null the second time.
     */
    @Test
    void suspendListRewrittenByAnotherThread_neverThrows() throws Exception {
        int[] p = pipe();
        Aiocb pending = readCb(p[0], 0, 1);
        assertEquals(0, ctx.aio_read(pending));
        Aiocb[] list = {pending, pending};
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread writer = new Thread(() -> {
            for (int flips = 0; !stop.get(); flips++) {
                list[0] = null;
                list[1] = null;
                if (stop.get()) {
                    break;
                }
                list[0] = pending;
                list[1] = pending;
                if ((flips & 63) == 0) {
                    Thread.yield();
                }
            }
        });
        writer.start();
        String violation = null;
        int calls = 0;
        try {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1000);
            while (System.nanoTime() - until < 0 && violation == null) {
                calls++;
                try {
                    int r = ctx.aio_suspend(list, 2, new Timespec(0, 0));
                    if (r != 0 && ctx.errno() != EAGAIN) {
                        violation = "aio_suspend: " + r + " errno " + ctx.errno();
                    }
                } catch (Throwable t) {
                    violation = "aio_suspend threw " + t;
                }
            }
        } finally {
            stop.set(true);
            join(writer);
        }
        assertEquals(null, violation, "after " + calls + " calls");
        assertEquals(EINPROGRESS, ctx.aio_error(pending));
        writeTo(p[1], "x");
        awaitDone(ctx, pending);
        assertEquals(1, ctx.aio_return(pending));
    }

    /**
     * Four threads each call LIO_WAIT, round after round, on lists that share blocks (each list holds its own block
     * and the block of the next thread): while in flight a shared block belongs to one list (its entry in the other is
     * EBUSY on its own, so that list is -1/EIO); every accepted submission of it runs and is notified exactly once;
     * every list returns; each block read its own data every round.
     */
    @Test
    void lioWaitFromFourThreadsOnListsSharingBlocks_eachBlockRunsOncePerTaking() throws Exception {
        int fd = tempFileWith("f", "0123456789abcdef");
        int threads = 4;
        int rounds = 150;
        Aiocb[] blocks = new Aiocb[threads];
        AtomicIntegerArray notified = new AtomicIntegerArray(threads);
        for (int t = 0; t < threads; t++) {
            int id = t;
            blocks[t] = lioCb(LIO_READ, readCb(fd, t * 4L, 4));
            blocks[t].aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(id), null);
        }
        AtomicIntegerArray taken = new AtomicIntegerArray(threads);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        CyclicBarrier barrier = new CyclicBarrier(threads);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int me = t;
            int next = (t + 1) % threads;
            all.add(new Thread(() -> {
                try {
                    for (int i = 0; i < rounds; i++) {
                        barrier.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                        Aiocb mine = blocks[me];
                        Aiocb theirs = blocks[next];
                        int r = ctx.lio_listio(LIO_WAIT, new Aiocb[] {mine, theirs}, 2, null);
                        int e = ctx.errno();
                        if (r != 0 && e != EIO) {
                            wrong.add("thread " + me + ": " + r + " errno " + e);
                        }
                        barrier.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                        // Between the barriers nobody submits: collect this thread's own block once per round.
                        awaitDone(ctx, mine);
                        int err = ctx.aio_error(mine);
                        long n = ctx.aio_return(mine);
                        if (err == 0) {
                            taken.incrementAndGet(me);
                            String want = "0123456789abcdef".substring(me * 4, me * 4 + 4);
                            if (n != 4 || !text(mine.aio_buf, 4).equals(want)) {
                                wrong.add("block " + me + " read " + n + ": " + text(mine.aio_buf, 4));
                            }
                        } else if (err != EINVAL) { // EINVAL: its result was taken in an earlier round
                            wrong.add("block " + me + " ended " + err);
                        }
                        barrier.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                    }
                } catch (Exception ex) {
                    wrong.add(ex.toString());
                }
            }));
        }
        all.forEach(Thread::start);
        for (Thread t : all) {
            join(t);
        }
        assertTrue(wrong.isEmpty(), wrong.toString());
        // A block that completed inside its first list's call (a cached read) may be taken again by the other list in
        // the same round: its accepted submissions (the block's submission count) are what must each be notified once.
        for (int t = 0; t < threads; t++) {
            int id = t;
            long accepted = blocks[t].submission;
            assertEquals(rounds, taken.get(t), "block " + t + " is taken at least once per round");
            assertTrue(accepted >= rounds && accepted <= 2L * rounds, "block " + t + " accepted " + accepted);
            awaitTrue("block " + t + "'s notifications", () -> notified.get(id) >= accepted);
        }
        sleepMillis(QUIET_MILLIS);
        for (int t = 0; t < threads; t++) {
            assertEquals(blocks[t].submission, notified.get(t), "notifications of block " + t);
        }
    }

    /**
     * Blocks in flight in a context that is closed move on to another: each one's notification (fired by the close's
     * ECANCELED) resubmits it at once to a second context while the first is still closing, and a block that
     * completed normally in the first is reused in the second too. Every resubmission runs there with its data, each
     * submission is notified once, and the second context is not disturbed by the first one's close.
     */
    @Test
    void blocksMoveFromAClosingContextToAnother_fromTheirOwnNotifications() throws Exception {
        int fd = tempFileWith("f", "moved-on");
        int[] p = pipe();
        int n = 40;
        AtomicIntegerArray firstEnds = new AtomicIntegerArray(n);
        AtomicIntegerArray secondEnds = new AtomicIntegerArray(n);
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        try (AioContext second = new AioContext()) {
            Aiocb[] cbs = new Aiocb[n];
            AioContext first = new AioContext();
            try {
                Aiocb done = readCb(fd, 0, 5);
                assertEquals(0, first.aio_read(done));
                awaitDone(first, done);
                assertEquals(5, first.aio_return(done));
                for (int i = 0; i < n; i++) {
                    int id = i;
                    Aiocb cb = readCb(p[0], 0, 8);
                    cbs[i] = cb;
                    cb.aio_sigevent = SigEvent.thread(v -> {
                        if (firstEnds.incrementAndGet(id) != 1) {
                            secondEnds.incrementAndGet(id); // the second submission's notification
                            return;
                        }
                        int err = first.aio_error(cb);
                        if (err != ECANCELED) {
                            wrong.add("block " + id + " ended " + err + " in the closing context");
                        }
                        first.aio_return(cb);
                        cb.aio_fildes = fd;
                        if (second.aio_read(cb) != 0) {
                            wrong.add("block " + id + " refused by the second context: errno " + second.errno());
                        }
                    }, null);
                    assertEquals(0, first.aio_read(cb));
                }
                // The block that completed in the first context, reused in the second while the first still runs.
                done.aio_offset = 6;
                done.aio_nbytes = 2;
                assertEquals(0, second.aio_read(done));
                awaitDone(second, done);
                assertEquals(2, second.aio_return(done));
                assertEquals("on", text(done.aio_buf, 2));
            } finally {
                first.close();
            }
            for (int i = 0; i < n; i++) {
                int id = i;
                awaitTrue("block " + i + " resubmitted and ended in the second context",
                        () -> secondEnds.get(id) == 1);
                assertEquals(0, second.aio_error(cbs[i]), "block " + i);
                assertEquals(8, second.aio_return(cbs[i]));
                assertEquals("moved-on", text(cbs[i].aio_buf, 8));
            }
            sleepMillis(QUIET_MILLIS);
            for (int i = 0; i < n; i++) {
                assertEquals(2, firstEnds.get(i), "notifications of block " + i);
            }
            assertTrue(wrong.isEmpty(), wrong.toString());
            // The pipe lost nothing to the canceled reads, and the second context still works on it.
            writeTo(p[1], "after");
            Aiocb after = readCb(p[0], 0, 5);
            assertEquals(0, second.aio_read(after));
            awaitDone(second, after);
            assertEquals("after", text(after.aio_buf, 5));
        }
    }

    /**
     * Unistd's reads into a heap buffer go by absolute index like everything else: a heap buffer whose limit (and
     * position) say nothing is left to read into still receives bytes [0, n) (the spec: position and limit are neither
     * read nor changed), for pread and read, and a write from such a buffer writes [0, n). No exception leaves the call.
     */
    @Test
    void unistd_heapBufferWithAClosedWindow_isUsedByAbsoluteIndex() {
        int fd = tempFileWith("f", "window!!");
        for (int limit : new int[] {0, 3}) {
            ByteBuffer in = ByteBuffer.allocate(8);
            in.limit(limit);
            long n;
            try {
                n = Unistd.pread(fd, in, 8, 0);
            } catch (RuntimeException e) {
                throw new AssertionError("pread into a heap buffer with limit " + limit + " threw " + e, e);
            }
            assertEquals(8, n, "errno " + Aio.errno());
            assertEquals("window!!", new String(in.array(), 0, 8, java.nio.charset.StandardCharsets.ISO_8859_1));
            assertEquals(0, in.position());
            assertEquals(limit, in.limit());

            ByteBuffer seq = ByteBuffer.allocate(8);
            seq.position(limit).limit(limit);
            assertEquals(0, Unistd.pread(fd, ByteBuffer.allocate(0), 0, 0));
            int other = Fcntl.open(dir.resolve("f").toString(), Fcntl.O_RDONLY, 0);
            try {
                long r;
                try {
                    r = Unistd.read(other, seq, 8);
                } catch (RuntimeException e) {
                    throw new AssertionError("read into a heap buffer with limit " + limit + " threw " + e, e);
                }
                assertEquals(8, r, "errno " + Aio.errno());
                assertEquals("window!!", new String(seq.array(), 0, 8, java.nio.charset.StandardCharsets.ISO_8859_1));
                assertEquals(limit, seq.position());
            } finally {
                Unistd.close(other);
            }
        }
        ByteBuffer out = ByteBuffer.wrap("OVERWRIT".getBytes());
        out.position(8);
        assertEquals(8, Unistd.pwrite(fd, out, 8, 0));
        ByteBuffer back = ByteBuffer.allocateDirect(8);
        assertEquals(8, Unistd.pread(fd, back, 8, 0));
        assertEquals("OVERWRIT", text(back, 8));
    }

    // ---------------------------------------------------------------- helpers

    static void waitUntilParked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (t.getState() != Thread.State.WAITING && t.getState() != Thread.State.TIMED_WAITING) {
            assertTrue(t.isAlive(), "the thread ended before it waited");
            assertTrue(System.nanoTime() - deadline < 0, "the thread never parked");
            sleepMillis(1);
        }
    }

    static void awaitLatch(CountDownLatch latch) {
        try {
            assertTrue(latch.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * A descriptor number that was open and is closed, 5000 or above (F_DUPFD): the kernel hands out the lowest free
     * number, so no other thread of the JVM takes it back during the test.
     */
    int closedHighNumber() {
        int low = tempFileWith("gone", "x");
        int high = io.uringaio.engine.internal.sys.Libc.fcntl(low, F_DUPFD, 5000);
        assertTrue(high >= 5000, "F_DUPFD: " + high);
        assertEquals(0, Unistd.close(high));
        return high;
    }

    static ByteBuffer filled(int n, byte b) {
        ByteBuffer buf = ByteBuffer.allocateDirect(n);
        for (int i = 0; i < n; i++) {
            buf.put(i, b);
        }
        return buf;
    }

    static byte pattern(int i) {
        return (byte) ('A' + i % 26);
    }

    static int sum(AtomicIntegerArray a) {
        int s = 0;
        for (int i = 0; i < a.length(); i++) {
            s += a.get(i);
        }
        return s;
    }

    private static final int F_GETPIPE_SZ = 1032;
    private static final int F_DUPFD = 0;

    /** Fills a pipe to its capacity ({@code F_GETPIPE_SZ}): the next write to it blocks. Returns the capacity. */
    static int fillPipe(int writeEnd) {
        int cap = io.uringaio.engine.internal.sys.Libc.fcntl(writeEnd, F_GETPIPE_SZ, 0);
        assertTrue(cap > 0, "F_GETPIPE_SZ: " + cap);
        ByteBuffer junk = filled(cap, (byte) '.');
        assertEquals(cap, Unistd.write(writeEnd, junk, cap));
        return cap;
    }

    static void drain(int readEnd, int n) {
        ByteBuffer b = ByteBuffer.allocateDirect(n);
        int got = 0;
        while (got < n) {
            ByteBuffer slice = b.slice(got, n - got);
            long r = Unistd.read(readEnd, slice, n - got);
            assertTrue(r > 0, "drain: " + r + " errno " + Aio.errno());
            got += (int) r;
        }
    }

    static int readFully(int fd, ByteBuffer b, int n) {
        int got = 0;
        while (got < n) {
            long r = Unistd.read(fd, b.slice(got, n - got), n - got);
            if (r <= 0) {
                break;
            }
            got += (int) r;
        }
        return got;
    }

}
