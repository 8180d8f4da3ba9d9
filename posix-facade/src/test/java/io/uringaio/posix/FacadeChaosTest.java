package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static io.uringaio.posix.Errno.ECANCELED;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

/**
 * A seeded, time-bounded mix of aio_read, aio_write, aio_fsync, lio_listio and aio_cancel from several threads on
 * several descriptors of one context, checked against a model (issue 11, test suite):
 * <ul>
 * <li>every request, and every list, is notified exactly once (SIGEV_THREAD counters, some on a direct executor);</li>
 * <li>a request nobody canceled never ends in ECANCELED: only the owner cancels its own requests, except on file 0,
 * where a thread may also cancel every request of the descriptor ({@code aio_cancel(fd, NULL)});</li>
 * <li>every transfer that succeeded moved all its bytes, and the files end as the model says: each thread owns every
 * T-th block of each file, and a block holds the latest successful write its owner called (writes to one range of one
 * descriptor land in call order).</li>
 * </ul>
 * The seed is printed; rerun one with {@code -Dchaos.seed=...} ({@code -Dchaos.millis=...} for a longer run).
 */
class FacadeChaosTest extends PosixTestSupport {

    private static final int THREADS = 4;
    private static final int FILES = 3;
    private static final int BLOCK = 512;
    private static final int BLOCKS = 64;
    private static final int SLOTS_PER_THREAD = 12;
    private static final int MAX_REQUESTS = 1 << 20;
    private static final long RUN_MILLIS = Long.getLong("chaos.millis", 4_000);

    private final AtomicIntegerArray notifications = new AtomicIntegerArray(MAX_REQUESTS);
    private final AtomicIntegerArray listNotifications = new AtomicIntegerArray(MAX_REQUESTS);
    private final AtomicInteger nextId = new AtomicInteger();
    private final AtomicInteger nextList = new AtomicInteger();
    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

    /** One request slot of a thread: its control block and what it was asked to do. */
    private static final class Slot {
        final Aiocb cb = new Aiocb();
        boolean busy;
        int id;
        int file;
        int block;
        byte kind; // 'r', 'w', 's'
        byte pattern;
        long callSeq;
        boolean canceledByMe;
    }

    @Test
    void seededChaos_exactlyOnce_noStrayCancel_contentMatchesTheModel() throws Exception {
        long seed = Long.getLong("chaos.seed", System.nanoTime());
        System.out.println("FacadeChaosTest seed " + seed + " (rerun with -Dchaos.seed=" + seed + ")");
        int[] fds = new int[FILES];
        for (int f = 0; f < FILES; f++) {
            fds[f] = openTemp("file" + f, 0);
            ByteBuffer zeros = ByteBuffer.allocateDirect(BLOCK * BLOCKS);
            assertEquals(BLOCK * BLOCKS, Unistd.pwrite(fds[f], zeros, BLOCK * BLOCKS, 0));
        }
        // model[f][b]: the pattern of the latest successful write the owner called (0: never written), and its seq.
        byte[][] model = new byte[FILES][BLOCKS];
        long[][] modelSeq = new long[FILES][BLOCKS];
        int[] submitted = new int[THREADS];
        int[] lists = new int[THREADS];
        try (AioContext ctx = new AioContext()) {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int me = t;
                Random random = new Random(seed + 31L * t);
                threads.add(Thread.ofPlatform().name("chaos-" + t).start(() -> {
                    try {
                        runThread(ctx, me, random, fds, deadline, model, modelSeq, submitted, lists);
                    } catch (Throwable e) {
                        violations.add("thread " + me + " threw: " + e);
                        e.printStackTrace();
                    }
                }));
            }
            for (Thread t : threads) {
                t.join(RUN_MILLIS + DEADLINE_MILLIS);
                assertTrue(!t.isAlive(), "a chaos thread did not finish (seed " + seed + ")");
            }
            if (!violations.isEmpty()) {
                fail("seed " + seed + ":\n" + String.join("\n", violations.stream().limit(20).toList()));
            }
            int requests = nextId.get();
            int listCount = nextList.get();
            awaitTrue("every notification (seed " + seed + ")", () -> {
                for (int i = 0; i < requests; i++) {
                    if (notifications.get(i) == 0) {
                        return false;
                    }
                }
                for (int i = 0; i < listCount; i++) {
                    if (listNotifications.get(i) == 0) {
                        return false;
                    }
                }
                return true;
            });
            sleepMillis(QUIET_MILLIS);
            for (int i = 0; i < requests; i++) {
                assertEquals(1, notifications.get(i), "notifications of request " + i + " (seed " + seed + ")");
            }
            for (int i = 0; i < listCount; i++) {
                assertEquals(1, listNotifications.get(i), "notifications of list " + i + " (seed " + seed + ")");
            }
            int total = 0;
            for (int n : submitted) {
                total += n;
            }
            assertEquals(requests, total);
            assertTrue(total > 100, "too few requests to mean anything: " + total);
            System.out.println("FacadeChaosTest: " + total + " requests, " + listCount + " lists, backend "
                    + ctx.engine().backend());
        }
        for (int f = 0; f < FILES; f++) {
            ByteBuffer content = ByteBuffer.allocateDirect(BLOCK * BLOCKS);
            assertEquals(BLOCK * BLOCKS, Unistd.pread(fds[f], content, BLOCK * BLOCKS, 0));
            for (int b = 0; b < BLOCKS; b++) {
                for (int i = 0; i < BLOCK; i++) {
                    byte got = content.get(b * BLOCK + i);
                    if (got != model[f][b]) {
                        fail("file " + f + " block " + b + " byte " + i + ": " + got + ", model " + model[f][b]
                                + " (seed " + seed + ")");
                    }
                }
            }
        }
    }

    private void runThread(AioContext ctx, int me, Random random, int[] fds, long deadline, byte[][] model,
            long[][] modelSeq, int[] submitted, int[] lists) {
        Slot[] slots = new Slot[SLOTS_PER_THREAD];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot();
        }
        long callSeq = 0;
        while (System.nanoTime() - deadline < 0) {
            reap(ctx, me, slots, model, modelSeq);
            int op = random.nextInt(100);
            if (op < 8) {
                cancelOne(ctx, slots, random, fds);
                continue;
            }
            if (op < 10) {
                // Cancel everything on file 0, where every thread's requests may be canceled by anyone.
                int rc = ctx.aio_cancel(fds[0], null);
                if (rc < 0) {
                    violations.add("aio_cancel(fd, NULL) = -1, errno " + ctx.errno());
                }
                continue;
            }
            if (op < 22) {
                int n = 1 + random.nextInt(4);
                List<Slot> entries = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    Slot s = freeSlot(slots);
                    if (s == null) {
                        break;
                    }
                    s.busy = true; // reserved for this list
                    entries.add(s);
                }
                if (entries.isEmpty()) {
                    awaitOne(ctx, slots);
                    continue;
                }
                Aiocb[] list = new Aiocb[entries.size()];
                for (int i = 0; i < list.length; i++) {
                    Slot s = entries.get(i);
                    prepareTransfer(s, me, random, fds, ++callSeq, random.nextBoolean() ? 'w' : 'r');
                    s.cb.aio_lio_opcode = s.kind == 'w' ? LIO_WRITE : LIO_READ;
                    list[i] = s.cb;
                }
                int listId = nextList.getAndIncrement();
                SigEvent sig = SigEvent.thread(v -> listNotifications.incrementAndGet((Integer) v), listId);
                if (ctx.lio_listio(LIO_NOWAIT, list, list.length, sig) != 0) {
                    violations.add("lio_listio = -1, errno " + ctx.errno());
                }
                lists[me]++;
                submitted[me] += list.length;
                continue;
            }
            Slot s = freeSlot(slots);
            if (s == null) {
                awaitOne(ctx, slots);
                continue;
            }
            s.busy = true;
            int rc;
            if (op < 30) {
                s.kind = 's';
                s.file = random.nextInt(FILES);
                s.callSeq = ++callSeq;
                s.canceledByMe = false;
                s.cb.aio_fildes = fds[s.file];
                s.cb.aio_sigevent = notification(s, random);
                rc = ctx.aio_fsync(random.nextBoolean() ? Fcntl.O_SYNC : Fcntl.O_DSYNC, s.cb);
            } else {
                prepareTransfer(s, me, random, fds, ++callSeq, op < 65 ? 'w' : 'r');
                rc = s.kind == 'w' ? ctx.aio_write(s.cb) : ctx.aio_read(s.cb);
            }
            if (rc != 0) {
                violations.add("submit " + (char) s.kind + " = " + rc + ", errno " + ctx.errno());
                s.busy = false;
            } else {
                submitted[me]++;
            }
        }
        // Drain: everything this thread started completes.
        for (Slot s : slots) {
            if (s.busy) {
                awaitDone(ctx, s.cb);
            }
        }
        reap(ctx, me, slots, model, modelSeq);
    }

    private void prepareTransfer(Slot s, int me, Random random, int[] fds, long callSeq, char kind) {
        s.kind = (byte) kind;
        s.file = random.nextInt(FILES);
        s.block = me + THREADS * random.nextInt(BLOCKS / THREADS); // a block this thread owns
        s.callSeq = callSeq;
        s.canceledByMe = false;
        s.pattern = (byte) (1 + random.nextInt(255));
        ByteBuffer buf = random.nextInt(4) == 0 ? ByteBuffer.allocate(BLOCK) : ByteBuffer.allocateDirect(BLOCK);
        if (kind == 'w') {
            for (int i = 0; i < BLOCK; i++) {
                buf.put(i, s.pattern);
            }
        }
        s.cb.aio_fildes = fds[s.file];
        s.cb.aio_offset = (long) s.block * BLOCK;
        s.cb.aio_buf = buf;
        s.cb.aio_nbytes = BLOCK;
        s.cb.aio_reqprio = random.nextInt(3);
        s.cb.aio_sigevent = notification(s, random);
    }

    private SigEvent notification(Slot s, Random random) {
        s.id = nextId.getAndIncrement();
        SigEvent e = SigEvent.thread(v -> notifications.incrementAndGet((Integer) v), s.id);
        if (random.nextInt(4) == 0) {
            e.sigev_notify_attributes = Runnable::run; // on the completing thread
        }
        return e;
    }

    private void cancelOne(AioContext ctx, Slot[] slots, Random random, int[] fds) {
        Slot s = slots[random.nextInt(slots.length)];
        if (!s.busy) {
            return;
        }
        int rc = ctx.aio_cancel(fds[s.file], s.cb);
        if (rc < 0) {
            violations.add("aio_cancel = -1, errno " + ctx.errno());
        }
        // Whatever it answered, the request may now end canceled (an answer of AIO_NOTCANCELED or AIO_ALLDONE means it
        // will not; that is checked below only for AIO_ALLDONE's case, already complete).
        s.canceledByMe = true;
        if (rc == AIO_CANCELED && ctx.aio_error(s.cb) != ECANCELED) {
            violations.add("AIO_CANCELED but the status is " + ctx.aio_error(s.cb));
        }
    }

    private static Slot freeSlot(Slot[] slots) {
        for (Slot s : slots) {
            if (!s.busy) {
                return s;
            }
        }
        return null;
    }

    private static void awaitOne(AioContext ctx, Slot[] slots) {
        Aiocb[] list = new Aiocb[slots.length];
        for (int i = 0; i < slots.length; i++) {
            list[i] = slots[i].busy ? slots[i].cb : null;
        }
        int rc = ctx.aio_suspend(list, list.length, new Timespec(1, 0));
        assertTrue(rc == 0 || ctx.errno() == Errno.EAGAIN, "aio_suspend errno " + ctx.errno());
    }

    /** Collects every finished request of this thread and checks it against what was asked. */
    private void reap(AioContext ctx, int me, Slot[] slots, byte[][] model, long[][] modelSeq) {
        for (Slot s : slots) {
            if (!s.busy) {
                continue;
            }
            int err = ctx.aio_error(s.cb);
            if (err == EINPROGRESS) {
                continue;
            }
            long ret = ctx.aio_return(s.cb);
            s.busy = false;
            String what = "thread " + me + " " + (char) s.kind + " #" + s.id + " file " + s.file + " block " + s.block;
            if (err == ECANCELED) {
                if (!s.canceledByMe && s.file != 0) {
                    violations.add(what + ": ECANCELED, but nobody canceled it");
                }
                continue;
            }
            if (err != 0) {
                violations.add(what + ": errno " + err);
                continue;
            }
            long expected = s.kind == 's' ? 0 : BLOCK;
            if (ret != expected) {
                violations.add(what + ": aio_return " + ret + ", expected " + expected);
                continue;
            }
            if (s.kind == 'w' && s.callSeq > modelSeq[s.file][s.block]) {
                // Only this thread writes this block: no lock needed; the main thread reads after join.
                modelSeq[s.file][s.block] = s.callSeq;
                model[s.file][s.block] = s.pattern;
            }
        }
    }
}
