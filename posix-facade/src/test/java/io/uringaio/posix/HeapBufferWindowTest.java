package io.uringaio.posix;

import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Aio.LIO_WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * The transfer uses {@code aio_buf[0, aio_nbytes)} by absolute index whatever the buffer's position and limit, for heap
 * buffers too (copied through a bounce buffer), and neither is changed (issue 11 item 7: a read of 200 bytes into a
 * heap buffer with position 5 and limit 50 stayed EINPROGRESS forever, the copy back having thrown on the completion
 * path).
 */
class HeapBufferWindowTest extends PrivateContextSupport {

    private final AtomicInteger notified = new AtomicInteger();

    private SigEvent counting() {
        return SigEvent.thread(v -> notified.incrementAndGet(), "v");
    }

    private static String pattern(int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append((char) ('a' + i % 26));
        }
        return s.toString();
    }

    private static ByteBuffer heapWindow(int capacity, int position, int limit) {
        ByteBuffer b = ByteBuffer.allocate(capacity);
        b.limit(limit).position(position);
        return b;
    }

    /** The first n bytes of a heap buffer by array index (get(i) would check the limit). */
    private static String absolute(ByteBuffer b, int n) {
        return new String(b.array(), b.arrayOffset(), n, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static void assertWindowUntouched(ByteBuffer b, int position, int limit) {
        assertEquals(position, b.position(), "position changed");
        assertEquals(limit, b.limit(), "limit changed");
    }

    @Test
    void read_intoHeapBufferWhosePositionAndLimitDoNotCoverTheTransfer_completes() {
        int fd = tempFileWith("f", pattern(256));
        for (int[] window : new int[][] {{5, 50}, {0, 0}, {200, 200}, {255, 256}, {100, 120}}) {
            ByteBuffer b = heapWindow(256, window[0], window[1]);
            Aiocb r = aiocb(fd, 0, b, 200);
            r.aio_sigevent = counting();
            assertEquals(0, ctx.aio_read(r));
            awaitDone(ctx, r);
            assertEquals(0, ctx.aio_error(r));
            assertEquals(200, ctx.aio_return(r));
            assertEquals(pattern(200), absolute(b, 200));
            assertWindowUntouched(b, window[0], window[1]);
        }
        awaitTrue("notifications", () -> notified.get() == 5);
        sleepMillis(QUIET_MILLIS);
        assertEquals(5, notified.get());
    }

    @Test
    void write_fromHeapBufferWhosePositionAndLimitDoNotCoverTheTransfer_writesIndicesZeroToN() throws Exception {
        int fd = openTemp("f", 0);
        ByteBuffer b = heapWindow(256, 5, 50);
        String data = pattern(256);
        for (int i = 0; i < 256; i++) {
            b.array()[i] = (byte) data.charAt(i); // by array: put(i) would check the limit
        }
        Aiocb w = aiocb(fd, 0, b, 200);
        w.aio_sigevent = counting();
        assertEquals(0, ctx.aio_write(w));
        awaitDone(ctx, w);
        assertEquals(200, ctx.aio_return(w));
        assertEquals(data.substring(0, 200), fileContent("f"));
        assertWindowUntouched(b, 5, 50);

        // A read-only view (no accessible array), also with a narrow window.
        ByteBuffer ro = b.asReadOnlyBuffer();
        ro.limit(3).position(1);
        Aiocb w2 = aiocb(fd, 200, ro, 56);
        w2.aio_sigevent = counting();
        assertEquals(0, ctx.aio_write(w2));
        awaitDone(ctx, w2);
        assertEquals(56, ctx.aio_return(w2));
        assertEquals(data.substring(0, 200) + data.substring(0, 56), fileContent("f"));
        assertWindowUntouched(ro, 1, 3);
        awaitTrue("notifications", () -> notified.get() == 2);
    }

    @Test
    void lioListio_heapBuffersWithNarrowWindows() throws Exception {
        int fd = openTemp("f", 0);
        String data = pattern(100);
        ByteBuffer src = heapWindow(100, 90, 95);
        for (int i = 0; i < 100; i++) {
            src.array()[i] = (byte) data.charAt(i);
        }
        Aiocb w = lioCb(LIO_WRITE, aiocb(fd, 0, src, 100));
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {w}, 1, null));
        assertEquals(100, ctx.aio_return(w));
        ByteBuffer dst = heapWindow(128, 7, 9);
        Aiocb r = lioCb(LIO_READ, aiocb(fd, 0, dst, 100));
        assertEquals(0, ctx.lio_listio(LIO_WAIT, new Aiocb[] {r}, 1, null));
        assertEquals(100, ctx.aio_return(r));
        assertEquals(data, absolute(dst, 100));
        assertWindowUntouched(dst, 7, 9);
        assertWindowUntouched(src, 90, 95);
    }

    /**
     * The bounce buffer's size for a heap transfer up to {@code Integer.MAX_VALUE} bytes: a power of two while that
     * fits with the alignment slack, then the exact size, then "cannot" (the submission fails with EAGAIN rather than
     * an exception out of aio_read). A 2 GiB heap buffer does not fit the test JVM, so the sizing is checked alone.
     */
    @Test
    void bounceCapacity_neverWraps() {
        assertEquals(4096, Bounce.capacity(0));
        assertEquals(4096, Bounce.capacity(1));
        assertEquals(4096, Bounce.capacity(4096));
        assertEquals(8192, Bounce.capacity(4097));
        assertEquals(1 << 30, Bounce.capacity(1 << 30));
        assertEquals((1 << 30) + 1, Bounce.capacity((1 << 30) + 1));
        assertEquals(Integer.MAX_VALUE - 4096, Bounce.capacity(Integer.MAX_VALUE - 4096));
        assertEquals(-1, Bounce.capacity(Integer.MAX_VALUE - 4095));
        assertEquals(-1, Bounce.capacity(Integer.MAX_VALUE));
    }
}
