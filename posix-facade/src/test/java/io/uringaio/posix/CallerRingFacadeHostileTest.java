package io.uringaio.posix;

import static io.uringaio.posix.Errno.ECANCELED;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The facade on caller rings, attacked: requests submitted by threads that exit at once (the kernel cancels what an
 * exiting thread left unstarted), waited for by another thread, some of them canceled by a third; each completes
 * exactly once, with its data unless it was canceled, and notifies once. Runs on the no-argument context (caller
 * rings on, where the kernel gives them; on the thread pool the same contract holds without them).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingFacadeHostileTest extends PosixTestSupport {

    @Test
    void readsOfExitedSubmittersCompleteOnceWithTheirDataUnlessCanceled() throws Exception {
        int threads = 64;
        try (AioContext ctx = new AioContext()) {
            List<int[]> pipes = new ArrayList<>();
            List<Aiocb> cbs = new ArrayList<>();
            ConcurrentHashMap<Integer, AtomicInteger> notified = new ConcurrentHashMap<>();
            for (int t = 0; t < threads; t++) {
                int[] p = pipe();
                pipes.add(p);
                Aiocb cb = readCb(p[0], 0, 32);
                int id = t;
                notified.put(id, new AtomicInteger());
                cb.aio_sigevent = SigEvent.thread(v -> notified.get((Integer) v).incrementAndGet(), id);
                cbs.add(cb);
            }
            List<Thread> submitters = new ArrayList<>();
            AtomicInteger refused = new AtomicInteger();
            for (Aiocb cb : cbs) {
                submitters.add(Thread.ofPlatform().start(() -> {
                    if (ctx.aio_read(cb) != 0) {
                        refused.incrementAndGet();
                    }
                }));
            }
            for (Thread s : submitters) {
                join(s);
            }
            assertEquals(0, refused.get());
            if (ctx.backend() == io.uringaio.engine.Backend.IO_URING) {
                assertTrue(ctx.engine().callerRingCount() > 0, "the no-argument context runs caller rings");
            }
            // Every other request is canceled by this thread; the rest get data, waited for by a third thread.
            int[] answers = new int[threads];
            for (int t = 0; t < threads; t += 2) {
                answers[t] = ctx.aio_cancel(pipes.get(t)[0], cbs.get(t));
            }
            for (int t = 0; t < threads; t++) {
                if (t % 2 == 1 || answers[t] == Aio.AIO_NOTCANCELED) {
                    assertEquals(EINPROGRESS, ctx.aio_error(cbs.get(t)), "an uncanceled read before its data");
                    writeTo(pipes.get(t)[1], "x".repeat(1 + t % 20));
                }
            }
            Thread waiter = Thread.ofPlatform().start(() -> awaitDone(ctx, cbs.toArray(Aiocb[]::new)));
            join(waiter);
            for (int t = 0; t < threads; t++) {
                Aiocb cb = cbs.get(t);
                int id = t;
                if (t % 2 == 0 && answers[t] != Aio.AIO_NOTCANCELED) {
                    assertEquals(Aio.AIO_CANCELED, answers[t], () -> "aio_cancel of unread pipe read " + id);
                    assertEquals(ECANCELED, ctx.aio_error(cb), () -> "canceled read " + id);
                    assertEquals(-1, ctx.aio_return(cb));
                } else {
                    assertEquals(0, ctx.aio_error(cb), () -> "read " + id + " nobody canceled");
                    assertEquals(1 + t % 20, ctx.aio_return(cb), () -> "bytes of read " + id);
                }
            }
            awaitTrue("every notification", () -> notified.values().stream().allMatch(n -> n.get() >= 1));
            sleepMillis(QUIET_MILLIS);
            for (int t = 0; t < threads; t++) {
                assertEquals(1, notified.get(t).get(), "notifications of request " + t);
            }
        }
    }

    /**
     * A thread waits in aio_suspend for another thread's pipe read (inside the caller ring holding it); the context
     * closes: the waiter returns 0 promptly, the read ends ECANCELED once, and a second waiter on the closed context
     * returns at once.
     */
    @Test
    void closeWithACrossThreadWaiterInsideTheRing() throws Exception {
        int[] p = pipe();
        AioContext ctx = new AioContext();
        Aiocb cb = readCb(p[0], 0, 16);
        AtomicInteger notified = new AtomicInteger();
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), null);
        Thread submitter = Thread.ofPlatform().start(() -> assertEquals(0, ctx.aio_read(cb)));
        join(submitter);
        AtomicInteger suspendResult = new AtomicInteger(Integer.MIN_VALUE);
        Thread waiter = Thread.ofPlatform().start(
                () -> suspendResult.set(ctx.aio_suspend(new Aiocb[] {cb}, 1, null)));
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (!waitsInCallerRing(waiter) && waiter.getState() != Thread.State.WAITING) {
            assertTrue(System.nanoTime() < deadline, "the waiter never waited");
            sleepMillis(1);
        }
        Thread closer = Thread.ofPlatform().start(ctx::close);
        join(closer);
        join(waiter);
        assertEquals(0, suspendResult.get());
        assertEquals(ECANCELED, ctx.aio_error(cb));
        assertEquals(0, ctx.aio_suspend(new Aiocb[] {cb}, 1, null));
        awaitTrue("the notification", () -> notified.get() == 1);
        sleepMillis(QUIET_MILLIS);
        assertEquals(1, notified.get());
    }

    /**
     * Virtual threads (which never wait inside a ring: that would pin their carrier) write, wait, read back and wait,
     * many at once on the no-argument context: every block round-trips, each request completes once.
     */
    @Test
    void virtualThreadsWriteWaitAndReadBack() throws Exception {
        int threads = 200;
        int block = 512;
        try (AioContext ctx = new AioContext()) {
            int fd = openTemp("virtual", 0);
            List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> vts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                vts.add(Thread.ofVirtual().start(() -> {
                    String data = String.valueOf((char) ('a' + id % 26)).repeat(block);
                    Aiocb w = writeCb(fd, (long) id * block, data);
                    if (ctx.aio_write(w) != 0) {
                        problems.add("aio_write " + id + ": errno " + ctx.errno());
                        return;
                    }
                    awaitDone(ctx, w);
                    if (ctx.aio_return(w) != block) {
                        problems.add("write " + id);
                    }
                    Aiocb r = readCb(fd, (long) id * block, block);
                    if (ctx.aio_read(r) != 0) {
                        problems.add("aio_read " + id + ": errno " + ctx.errno());
                        return;
                    }
                    awaitDone(ctx, r);
                    if (ctx.aio_return(r) != block || !text(r.aio_buf, block).equals(data)) {
                        problems.add("read back " + id);
                    }
                }));
            }
            for (Thread vt : vts) {
                join(vt);
            }
            assertEquals(List.of(), problems);
        }
    }

    /** A closed context (and its engine) is not kept alive by the thread that used it (its caller ring, errno). */
    @Test
    void aClosedContextIsNotKeptAliveByTheThreadThatUsedIt() throws Exception {
        java.lang.ref.WeakReference<AioContext> ref = useAndClose(tempFileWith("leak", "0123456789"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        assertTrue(ref.get() == null, "the closed context is still reachable");
    }

    private static java.lang.ref.WeakReference<AioContext> useAndClose(int fd) {
        AioContext ctx = new AioContext();
        Aiocb cb = readCb(fd, 0, 10);
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(10, ctx.aio_return(cb));
        Aiocb bad = readCb(-1, 0, 1);
        ctx.aio_read(bad); // sets this thread's errno in the context, or fails asynchronously
        awaitDone(ctx, bad);
        ctx.close();
        return new java.lang.ref.WeakReference<>(ctx);
    }

    /**
     * Bounded storm (about 2 s): submitter threads keep a pipe read each in flight and feed each other's pipes; waiter
     * threads aio_suspend on single entries of other threads' requests (waiting inside the rings holding them, several
     * at once in one ring) with timeouts 0, tiny and 50 ms, while a chaos thread interrupts the waiters. aio_suspend
     * answers only 0, EAGAIN or EINTR; nothing is canceled: every read ends
     * once, with its data, and notifies once.
     */
    @Test
    void crossThreadWaitersUnderInterruptsSeeEveryReadOnce() throws Exception {
        int submitters = 4;
        int waitersCount = 3;
        long runNanos = TimeUnit.SECONDS.toNanos(2);
        try (AioContext ctx = new AioContext()) {
            int[][] pipes = new int[submitters][];
            for (int i = 0; i < submitters; i++) {
                pipes[i] = pipe();
            }
            java.util.concurrent.atomic.AtomicReferenceArray<Aiocb> current =
                    new java.util.concurrent.atomic.AtomicReferenceArray<>(submitters);
            java.util.concurrent.ConcurrentLinkedQueue<String> problems = new java.util.concurrent.ConcurrentLinkedQueue<>();
            AtomicInteger reads = new AtomicInteger();
            AtomicInteger eintr = new AtomicInteger();
            long deadline = System.nanoTime() + runNanos;
            java.util.concurrent.CountDownLatch start = new java.util.concurrent.CountDownLatch(1);
            List<Thread> all = new ArrayList<>();
            for (int i = 0; i < submitters; i++) {
                int me = i;
                all.add(Thread.ofPlatform().name("storm-submitter-" + i).start(() -> {
                    awaitLatch(start);
                    java.util.Random random = new java.util.Random(me);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        Aiocb cb = readCb(pipes[me][0], 0, 8);
                        AtomicInteger notes = new AtomicInteger();
                        cb.aio_sigevent = SigEvent.thread(v -> notes.incrementAndGet(), null);
                        if (ctx.aio_read(cb) != 0) {
                            problems.add("aio_read: errno " + ctx.errno());
                            return;
                        }
                        current.set(me, cb);
                        int n = 1 + random.nextInt(8);
                        writeTo(pipes[me][1], "y".repeat(n));
                        awaitDone(ctx, cb);
                        if (ctx.aio_error(cb) != 0 || ctx.aio_return(cb) != n) {
                            problems.add("read of " + n + ": error " + ctx.aio_error(cb) + " return "
                                    + ctx.aio_return(cb));
                        }
                        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
                        while (notes.get() == 0 && System.nanoTime() < until) {
                            Thread.onSpinWait();
                        }
                        if (notes.get() != 1) {
                            problems.add("notifications: " + notes.get());
                        }
                        reads.incrementAndGet();
                    }
                }));
            }
            List<Thread> waiters = new ArrayList<>();
            for (int w = 0; w < waitersCount; w++) {
                int me = w;
                Thread t = Thread.ofPlatform().name("storm-waiter-" + w).start(() -> {
                    awaitLatch(start);
                    java.util.Random random = new java.util.Random(100 + me);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        Aiocb cb = current.get(random.nextInt(submitters));
                        if (cb == null) {
                            Thread.onSpinWait();
                            continue;
                        }
                        Timespec timeout = switch (random.nextInt(3)) {
                            case 0 -> new Timespec(0, 0);
                            case 1 -> new Timespec(0, 1 + random.nextInt(100_000));
                            default -> new Timespec(0, 50_000_000);
                        };
                        int res = ctx.aio_suspend(new Aiocb[] {cb}, 1, timeout);
                        if (res == -1) {
                            int e = ctx.errno();
                            if (e == Errno.EINTR) {
                                // (Status cleared is AioSuspendTest's: here the interrupter may strike again at once.)
                                eintr.incrementAndGet();
                            } else if (e != Errno.EAGAIN) {
                                problems.add("aio_suspend errno " + e);
                            }
                        } else if (res != 0) {
                            problems.add("aio_suspend returned " + res);
                        }
                    }
                    Thread.interrupted();
                });
                waiters.add(t);
                all.add(t);
            }
            Thread chaos = Thread.ofPlatform().name("storm-interrupter").start(() -> {
                awaitLatch(start);
                java.util.Random random = new java.util.Random(7);
                while (System.nanoTime() < deadline) {
                    waiters.get(random.nextInt(waitersCount)).interrupt();
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                }
            });
            all.add(chaos);
            start.countDown();
            for (Thread t : all) {
                join(t);
            }
            assertEquals(List.of(), List.copyOf(problems), () -> reads + " reads, " + eintr + " EINTR");
            System.out.println("STORM " + ctx.backend() + ": " + reads + " reads, " + eintr + " EINTR");
            assertTrue(reads.get() > 0, "reads ran");
        }
    }

    /**
     * Unistd.close of a pipe's read end whose aio_read sits in the caller ring of a thread that is still alive (and
     * waits in that ring for a bystander read of another pipe): the closed one ends ECANCELED once, the bystander is
     * untouched and still completes with its data, and its waiter returns.
     */
    @Test
    void unistdCloseCancelsTheRequestInACallerRingAndNotItsRingNeighbour() throws Exception {
        int[] closing = new int[2];
        assertEquals(0, Unistd.pipe(closing));
        int[] bystanderPipe = pipe();
        try (AioContext ctx = new AioContext()) {
            Aiocb victim = readCb(closing[0], 0, 8);
            Aiocb bystander = readCb(bystanderPipe[0], 0, 8);
            AtomicInteger victimNotes = new AtomicInteger();
            victim.aio_sigevent = SigEvent.thread(v -> victimNotes.incrementAndGet(), null);
            java.util.concurrent.CountDownLatch submitted = new java.util.concurrent.CountDownLatch(1);
            AtomicInteger waitResult = new AtomicInteger(Integer.MIN_VALUE);
            Thread owner = Thread.ofPlatform().start(() -> {
                assertEquals(0, ctx.aio_read(victim));
                assertEquals(0, ctx.aio_read(bystander));
                submitted.countDown();
                int r;
                do {
                    r = ctx.aio_suspend(new Aiocb[] {bystander}, 1, null);
                } while (r != 0 && ctx.errno() == Errno.EINTR);
                waitResult.set(r);
            });
            assertTrue(submitted.await(DEADLINE_MILLIS, TimeUnit.MILLISECONDS));
            assertEquals(0, Unistd.close(closing[0]));
            awaitDone(ctx, victim);
            assertEquals(ECANCELED, ctx.aio_error(victim));
            assertEquals(EINPROGRESS, ctx.aio_error(bystander), "the bystander in the same ring was touched");
            assertTrue(owner.isAlive(), "the owner still waits for its bystander");
            writeTo(bystanderPipe[1], "abc");
            join(owner);
            assertEquals(0, waitResult.get());
            assertEquals(3, ctx.aio_return(bystander));
            assertEquals(-1, ctx.aio_return(victim));
            awaitTrue("the victim's notification", () -> victimNotes.get() == 1);
            sleepMillis(QUIET_MILLIS);
            assertEquals(1, victimNotes.get());
        } finally {
            Unistd.close(closing[1]);
        }
    }

    private static void awaitLatch(java.util.concurrent.CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while {@code t} waits inside a caller ring's {@code io_uring_enter} (a native wait: it shows RUNNABLE). */
    private static boolean waitsInCallerRing(Thread t) {
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().equals("io.uringaio.engine.CallerRing") && e.getMethodName().equals("await")) {
                return true;
            }
        }
        return false;
    }
}
