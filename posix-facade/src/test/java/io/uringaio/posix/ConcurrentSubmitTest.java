package io.uringaio.posix;

import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Errno.EBUSY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

/**
 * One {@code Aiocb} handed to two submitting calls at once (issue 11 item 10: an IllegalStateException escaped
 * {@code aio_read} in a few of 10,000 rounds, and once both calls returned 0 and the notifier threw): exactly one call
 * wins, the other returns -1/EBUSY and changes nothing, no exception ever leaves a facade function, and the request
 * completes and notifies once.
 */
class ConcurrentSubmitTest extends PrivateContextSupport {

    private static final int MAX_ROUNDS = 10_000;
    private static final long MAX_MILLIS = 4_000;

    /** How a thread submits the shared control block. */
    private interface Submit {
        int call(Aiocb cb);
    }

    @Test
    void twoThreads_oneAiocb_aio_read() throws Exception {
        race(true, true, (cb) -> ctx.aio_read(cb), (cb) -> ctx.aio_read(cb));
    }

    @Test
    void twoThreads_oneAiocb_readAgainstListio() throws Exception {
        // lio_listio leaves an in-flight entry alone and still returns 0: the notification count tells who started.
        race(false, false, (cb) -> ctx.aio_read(cb), (cb) -> ctx.lio_listio(LIO_NOWAIT, new Aiocb[] {cb}, 1, null));
    }

    @Test
    void twoThreads_oneAiocb_writeAgainstRead() throws Exception {
        // The write fails at once (EBADF: the read end of a pipe); only while the read is in flight is it EBUSY.
        race(false, true, (cb) -> ctx.aio_read(cb), (cb) -> ctx.aio_write(cb));
    }

    /**
     * Rounds of: both threads submit the same control block, a read of an empty pipe, at once; then the main thread
     * writes to the pipe, waits for the request, collects the result and checks the calls' results; at the end, one
     * notification per round. A read that won stays in flight until the main thread writes, so the other call always
     * meets it in flight. Bounded by rounds and by time. {@code oneReturnsZero}: exactly one call returns 0 (both are
     * reads that stay in flight). {@code zeroMeansStarted}: b returns 0 only when it started the request (lio_listio
     * returns 0 also for a busy entry: then exactly one of the two started it, the read staying in flight).
     */
    private void race(boolean oneReturnsZero, boolean zeroMeansStarted, Submit a, Submit b) throws Exception {
        int[] p = pipe();
        AtomicInteger notified = new AtomicInteger();
        Aiocb cb = lioCb(LIO_READ, readCb(p[0], 0, 16));
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), "v");
        CyclicBarrier start = new CyclicBarrier(3);
        CyclicBarrier end = new CyclicBarrier(3);
        AtomicInteger rounds = new AtomicInteger();
        AtomicReference<Throwable> escaped = new AtomicReference<>();
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        int[] rcs = new int[2];
        int[] errnos = new int[2];
        boolean[] stop = new boolean[1];
        List<Thread> threads = new ArrayList<>();
        Submit[] submit = {a, b};
        for (int t = 0; t < 2; t++) {
            int me = t;
            threads.add(Thread.ofPlatform().name("submitter-" + t).start(() -> {
                try {
                    while (true) {
                        start.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                        if (stop[0]) {
                            return;
                        }
                        try {
                            rcs[me] = submit[me].call(cb);
                            errnos[me] = rcs[me] == -1 ? ctx.errno() : 0;
                        } catch (Throwable x) {
                            escaped.compareAndSet(null, x);
                            rcs[me] = Integer.MIN_VALUE;
                        }
                        end.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                    }
                } catch (Exception barrierBrokenOrTimedOut) {
                    // the main thread failed or finished: stop
                }
            }));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MAX_MILLIS);
        int wins = 0;
        int expectedNotifications = 0;
        try {
            for (int round = 0; round < MAX_ROUNDS && System.nanoTime() - deadline < 0; round++) {
                start.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                end.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
                rounds.incrementAndGet();
                if (escaped.get() != null) {
                    break;
                }
                int started = 0;
                for (int t = 0; t < 2; t++) {
                    if (rcs[t] == 0) {
                        started++;
                    } else if (rcs[t] != -1 || errnos[t] != EBUSY) {
                        wrong.add("round " + round + ": thread " + t + " got " + rcs[t] + "/errno " + errnos[t]);
                    }
                }
                expectedNotifications += zeroMeansStarted ? started : 1;
                boolean bIsTheWrite = zeroMeansStarted && !oneReturnsZero;
                if (bIsTheWrite && rcs[0] != 0) { // only the write started (it fails: EBADF on a read end)
                    awaitDone(ctx, cb);
                    if (ctx.aio_error(cb) != Errno.EBADF) {
                        wrong.add("round " + round + ": write status " + ctx.aio_error(cb));
                    }
                    ctx.aio_return(cb);
                    wins++;
                    continue;
                }
                writeTo(p[1], "0123456789abcdef");
                awaitDone(ctx, cb);
                if (ctx.aio_error(cb) != 0) {
                    wrong.add("round " + round + ": status " + ctx.aio_error(cb));
                }
                long ret = ctx.aio_return(cb);
                if (ret != 16) {
                    wrong.add("round " + round + ": aio_return " + ret);
                }
                wins++;
                if (started == 0 || (oneReturnsZero && started != 1)) {
                    wrong.add("round " + round + ": " + started + " calls returned 0");
                }
                if (!wrong.isEmpty()) {
                    break;
                }
            }
        } finally {
            stop[0] = true;
            for (Thread t : threads) {
                t.interrupt(); // ends a submitter waiting at (or about to wait at) a barrier
            }
            for (Thread t : threads) {
                join(t);
            }
        }
        if (escaped.get() != null) {
            throw new AssertionError("an exception left a facade function after " + rounds.get() + " rounds",
                    escaped.get());
        }
        if (!wrong.isEmpty()) {
            fail(String.join("\n", wrong));
        }
        int expected = expectedNotifications;
        awaitTrue("one notification per request started", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get(), "notifications over " + wins + " rounds");
        assertTrue(wins > 0);
    }
}
