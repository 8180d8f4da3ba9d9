package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Errno.ECANCELED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.RingEngineConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code aio_cancel(fd, aiocbp)} reaches only {@code aiocbp} (issue 11, item 1): two threads write and at once cancel
 * their own request on one file while three threads write another file and never cancel. A bystander never ends
 * ECANCELED, and AIO_CANCELED is only ever returned for a request that then ends ECANCELED.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AioCancelTargetTest extends PosixTestSupport {
    private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(3);
    private static final int LEN = 512;

    @Test
    void cancelReachesOnlyItsOwnRequest() throws Exception {
        int fdA = openTemp("a", 0);
        int fdB = openTemp("b", 0);
        ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
        AtomicLong bystanderWrites = new AtomicLong();
        AtomicLong canceled = new AtomicLong();
        // One ring: every request shares one slot table, as the cancels and bystanders of a busy ring do.
        try (AioContext ctx = new AioContext(new RingEngineConfig().rings(1))) {
            long deadline = System.nanoTime() + RUN_NANOS;
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Aiocb cb = writeCb(fdA, (long) t * LEN, repeat((char) ('a' + t), LEN));
                threads.add(Thread.ofPlatform().name("canceler-" + t).start(() -> {
                    awaitLatch(start);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        if (ctx.aio_write(cb) != 0) {
                            problems.add("aio_write failed, errno " + ctx.errno());
                            return;
                        }
                        int answer = ctx.aio_cancel(fdA, cb);
                        awaitDone(ctx, cb);
                        int status = ctx.aio_error(cb);
                        ctx.aio_return(cb);
                        if (answer == AIO_CANCELED) {
                            canceled.incrementAndGet();
                            if (status != ECANCELED) {
                                problems.add("aio_cancel returned AIO_CANCELED for a request that ended " + status);
                            }
                        }
                    }
                }));
            }
            for (int t = 0; t < 3; t++) {
                Aiocb cb = writeCb(fdB, (long) t * LEN, repeat((char) ('x' + t), LEN));
                threads.add(Thread.ofPlatform().name("bystander-" + t).start(() -> {
                    awaitLatch(start);
                    while (System.nanoTime() < deadline && problems.isEmpty()) {
                        if (ctx.aio_write(cb) != 0) {
                            problems.add("aio_write failed, errno " + ctx.errno());
                            return;
                        }
                        awaitDone(ctx, cb);
                        int status = ctx.aio_error(cb);
                        long res = ctx.aio_return(cb);
                        bystanderWrites.incrementAndGet();
                        if (status != 0 || res != LEN) {
                            problems.add("a write nobody canceled ended with status " + status + ", " + res);
                        }
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) {
                join(t);
            }
        }
        assertEquals(List.of(), List.copyOf(problems),
                () -> "after " + bystanderWrites + " bystander writes and " + canceled + " AIO_CANCELED answers");
        assertTrue(bystanderWrites.get() > 0, "the bystanders ran");
        assertEquals(repeat('x', LEN) + repeat('y', LEN) + repeat('z', LEN), fileContent("b"));
    }

    private static void awaitLatch(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
