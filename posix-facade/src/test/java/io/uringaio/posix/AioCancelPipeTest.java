package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Errno.ECANCELED;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.engine.internal.sys.Libc;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests waiting on a pipe, canceled through the facade on both backends (issue 11, items 3 and 4):
 * {@code aio_cancel(fd, NULL)} of thousands of pending reads is quick, and closing a context whose write waits on a
 * full pipe returns, the write ending ECANCELED.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AioCancelPipeTest extends PosixTestSupport {
    private static final int F_GETPIPE_SZ = 1032;

    /**
     * Before the fix the thread pool noticed each cancel of a polling read only at the end of its 20 ms poll slice:
     * 2,000 reads took over 30 s. The bound is generous for a loaded machine; the fix takes well under a second.
     */
    @Test
    void cancelOfAllPendingPipeReadsIsQuick() {
        int n = 2000;
        int[] p = pipe();
        try (AioContext ctx = new AioContext()) {
            Aiocb[] reads = new Aiocb[n];
            for (int i = 0; i < n; i++) {
                reads[i] = readCb(p[0], 0, 16);
                assertEquals(0, ctx.aio_read(reads[i]), "aio_read " + i);
            }
            long started = System.nanoTime();
            assertEquals(AIO_CANCELED, ctx.aio_cancel(p[0], null));
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
            assertTrue(seconds < 10, "aio_cancel(fd, NULL) of " + n + " pending reads took " + seconds + " s");
            for (int i = 0; i < n; i++) {
                awaitDone(ctx, reads[i]);
                assertEquals(ECANCELED, ctx.aio_error(reads[i]), "read " + i);
                assertEquals(-1, ctx.aio_return(reads[i]));
            }
            // Nothing was consumed: the next read gets what is written now.
            writeTo(p[1], "after");
            Aiocb next = readCb(p[0], 0, 16);
            assertEquals(0, ctx.aio_read(next));
            awaitDone(ctx, next);
            assertEquals(5, ctx.aio_return(next));
        }
    }

    @Test
    void closingAContextEndsAWriteBlockedOnAFullPipe() throws Exception {
        int[] p = pipe();
        int capacity = Libc.fcntl(p[1], F_GETPIPE_SZ, 0);
        assertTrue(capacity > 0, "F_GETPIPE_SZ: " + capacity);
        ByteBuffer fill = ByteBuffer.allocateDirect(capacity);
        assertEquals(capacity, Unistd.write(p[1], fill, capacity));
        AioContext ctx = new AioContext();
        Aiocb w = writeCb(p[1], 0, repeat('w', 4096));
        assertEquals(0, ctx.aio_write(w));
        assertStaysInProgress(ctx, w);
        CompletableFuture<Void> closing = CompletableFuture.runAsync(ctx::close);
        try {
            closing.get(DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            Unistd.read(p[0], ByteBuffer.allocateDirect(1 << 20), 1 << 20); // unblock it, so only this test fails
            fail("AioContext.close() did not return within " + DEADLINE_MILLIS + " ms");
        }
        int status = ctx.aio_error(w);
        assertTrue(status != EINPROGRESS, "the write is final after close");
        assertEquals(ECANCELED, status);
    }
}
