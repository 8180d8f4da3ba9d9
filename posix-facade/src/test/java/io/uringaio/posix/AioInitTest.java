package io.uringaio.posix;

import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.RingEngineConfig;


import org.junit.jupiter.api.Test;

/**
 * {@code aio_init}: it takes effect only before the first request of its context; later calls change nothing and
 * report no error. Observed through {@code aio_num} (requests in flight before submissions queue): with one slot held
 * by a blocked pipe read, a second request waits. With that one slot, queued requests also show the
 * {@code aio_reqprio} order: lowest value first.
 */
class AioInitTest extends PosixTestSupport {

    private static AioInit oneSlot() {
        AioInit init = new AioInit();
        init.aio_threads = 1;
        init.aio_num = 1;
        init.aio_idle_time = 1;
        return init;
    }

    @Test
    void beforeFirstUse_aioNumBoundsInFlight() {
        try (AioContext ctx = new AioContext()) {
            ctx.aio_init(oneSlot());
            int[] p = pipe();
            int[] q = pipe();
            writeTo(q[1], "held");
            Aiocb blocker = readCb(p[0], 0, 8);
            assertEquals(0, ctx.aio_read(blocker));
            Aiocb held = readCb(q[0], 0, 4); // data ready, but it needs the kernel, and the only slot is taken
            assertEquals(0, ctx.aio_read(held));
            assertStaysInProgress(ctx, held);
            // A read of page-cached file data needs no slot: the page-cache fast path serves it in aio_read itself.
            int fd = tempFileWith("f", "fast");
            Aiocb cached = readCb(fd, 0, 4);
            assertEquals(0, ctx.aio_read(cached));
            assertEquals(0, ctx.aio_error(cached));
            assertEquals("fast", text(cached.aio_buf, 4));
            assertEquals(EINPROGRESS, ctx.aio_error(held));
            writeTo(p[1], "free");
            awaitDone(ctx, blocker, held);
            assertEquals(4, ctx.aio_return(blocker));
            assertEquals(4, ctx.aio_return(held));
            assertEquals("held", text(held.aio_buf, 4));
        }
    }

    @Test
    void twoContextsFromOneConfig_neitherTakesTheOthersAioInit_andTheCallersConfigIsNotWritten() {
        RingEngineConfig shared = AioContext.defaultConfig();
        int rings = shared.rings();
        int callerRings = shared.callerRings();
        int maxInFlight = shared.maxInFlightPerRing();
        try (AioContext limited = new AioContext(shared); AioContext free = new AioContext(shared)) {
            limited.aio_init(oneSlot());
            int[] p = pipe();
            Aiocb limitedBlocker = readCb(p[0], 0, 8);
            assertEquals(0, limited.aio_read(limitedBlocker)); // starts limited's engine: one slot, taken
            assertEquals(rings, shared.rings(), "the caller's config is not written");
            assertEquals(callerRings, shared.callerRings());
            assertEquals(maxInFlight, shared.maxInFlightPerRing());
            assertNull(shared.afterCompletionBatch(), "the context's hook is on its own copy");

            // free had no aio_init: a blocked read does not hold back a second request that needs the kernel.
            int[] q = pipe();
            int[] r = pipe();
            writeTo(r[1], "runs");
            Aiocb freeBlocker = readCb(q[0], 0, 8);
            assertEquals(0, free.aio_read(freeBlocker));
            Aiocb runs = readCb(r[0], 0, 4);
            assertEquals(0, free.aio_read(runs));
            awaitDone(free, runs);
            assertEquals(4, free.aio_return(runs));
            assertEquals("runs", text(runs.aio_buf, 4));

            writeTo(p[1], "free");
            writeTo(q[1], "free");
            awaitDone(limited, limitedBlocker);
            awaitDone(free, freeBlocker);
            assertEquals(4, limited.aio_return(limitedBlocker));
            assertEquals(4, free.aio_return(freeBlocker));
        }
    }

    @Test
    void afterFirstUse_changesNothing() {
        try (AioContext ctx = new AioContext()) {
            int fd = tempFileWith("f", "free");
            Aiocb first = readCb(fd, 0, 4);
            assertEquals(0, ctx.aio_read(first));
            awaitDone(ctx, first);
            assertEquals(4, ctx.aio_return(first));

            ctx.aio_init(oneSlot()); // too late: no effect, no error
            ctx.aio_init(oneSlot());

            int[] p = pipe();
            Aiocb blocker1 = readCb(p[0], 0, 8);
            Aiocb blocker2 = readCb(p[0], 0, 8);
            assertEquals(0, ctx.aio_read(blocker1));
            assertEquals(0, ctx.aio_read(blocker2));
            Aiocb notHeld = readCb(fd, 0, 4);
            assertEquals(0, ctx.aio_read(notHeld));
            awaitDone(ctx, notHeld);
            assertEquals(4, ctx.aio_return(notHeld));
            assertEquals(EINPROGRESS, ctx.aio_error(blocker1));
        }
    }

    @Test
    void processWideContext_lateInitChangesNothing() {
        int fd = tempFileWith("f", "global");
        Aiocb first = readCb(fd, 0, 6);
        assertEquals(0, Aio.aio_read(first)); // the process-wide context is in use now (if it was not already)
        awaitDone(first);
        assertEquals(6, Aio.aio_return(first));

        Aio.aio_init(oneSlot());

        int[] p = pipe();
        Aiocb blocker1 = readCb(p[0], 0, 8);
        Aiocb blocker2 = readCb(p[0], 0, 8);
        assertEquals(0, Aio.aio_read(blocker1));
        assertEquals(0, Aio.aio_read(blocker2));
        Aiocb notHeld = readCb(fd, 0, 6);
        assertEquals(0, Aio.aio_read(notHeld));
        awaitDone(notHeld);
        assertEquals(6, Aio.aio_return(notHeld));
    }

    @Test
    void queuedRequests_goLowestReqprioFirst() {
        // Everything on one pipe: the blocker holds the only slot; then each byte written completes exactly one read,
        // and the next one dispatched is the lowest aio_reqprio (FIFO among equals).
        try (AioContext ctx = new AioContext()) {
            ctx.aio_init(oneSlot());
            int[] p = pipe();
            Aiocb blocker = readCb(p[0], 0, 1);
            assertEquals(0, ctx.aio_read(blocker));
            int[] prios = {20, 5, 10, 0, 15, 5};
            Aiocb[] queued = new Aiocb[prios.length];
            for (int i = 0; i < prios.length; i++) {
                queued[i] = readCb(p[0], 0, 1);
                queued[i].aio_reqprio = prios[i];
                assertEquals(0, ctx.aio_read(queued[i]));
            }
            writeTo(p[1], "B");
            Aiocb[] all = new Aiocb[prios.length + 1];
            all[0] = blocker;
            System.arraycopy(queued, 0, all, 1, prios.length);
            assertEquals(0, ctx.aio_suspend(all, all.length, new Timespec(DEADLINE_MILLIS / 1000, 0)));
            for (int i = 0; i < prios.length; i++) {
                assertEquals(EINPROGRESS, ctx.aio_error(queued[i]),
                        "the first byte went to queued[" + i + "]: it was in flight beside the blocker (aio_num=1)");
            }
            awaitDone(ctx, blocker);
            assertEquals("B", text(blocker.aio_buf, 1));
            StringBuilder order = new StringBuilder();
            boolean[] done = new boolean[prios.length];
            for (int step = 0; step < prios.length; step++) {
                writeTo(p[1], String.valueOf((char) ('a' + step)));
                int got = -1;
                long deadline = System.nanoTime() + DEADLINE_MILLIS * 1_000_000L;
                while (got < 0) {
                    assertTrue(System.nanoTime() - deadline < 0, "no read took byte " + step);
                    ctx.aio_suspend(queued, queued.length, new Timespec(0, 10_000_000));
                    for (int i = 0; i < prios.length; i++) {
                        if (!done[i] && ctx.aio_error(queued[i]) != EINPROGRESS) {
                            assertEquals(-1, got, "one byte completed two reads");
                            got = i;
                        }
                    }
                }
                done[got] = true;
                assertEquals(1, ctx.aio_return(queued[got]));
                order.append("p").append(prios[got]).append("#").append(got).append(' ');
            }
            assertEquals("p0#3 p5#1 p5#5 p10#2 p15#4 p20#0 ", order.toString());
        }
    }
}
