package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A read's path (page cache on the submitting thread, or a ring for O_DIRECT) is decided by one {@code fcntl} per run
 * of outstanding requests on its descriptor ({@link FdState#readsInline}). A descriptor number that is closed and
 * reused for a file with the other O_DIRECT flag, with nothing outstanding in between, gets the new file's path: the
 * decision is not kept past the requests it was made for.
 */
class ReadPathCacheTest extends PrivateContextSupport {
    private static final int SIZE = 4096;

    private final List<Integer> open = new ArrayList<>();

    @Test
    void reusedNumber_bufferedThenDirect_readsThroughTheRing() {
        int buffered = fileOfOnePage("buffered", 0);
        readTriesPageCache(buffered, true);
        closeOwn(buffered);
        int direct = reopenedOnSameNumber("direct", Fcntl.O_DIRECT, buffered);
        readTriesPageCache(direct, false);
    }

    @Test
    void reusedNumber_directThenBuffered_triesThePageCache() {
        int direct = fileOfOnePage("direct", Fcntl.O_DIRECT);
        readTriesPageCache(direct, false);
        closeOwn(direct);
        int buffered = reopenedOnSameNumber("buffered", 0, direct);
        readTriesPageCache(buffered, true);
    }

    @Test
    void manyReadsOfOneDescriptor_keepTheirPath_andNumberReuseAfterThemIsSeen() {
        int buffered = fileOfOnePage("buffered", 0);
        Aiocb[] cbs = new Aiocb[16];
        for (int i = 0; i < cbs.length; i++) {
            cbs[i] = aiocb(buffered, 0, alignedPage(), SIZE);
            assertEquals(0, ctx.aio_read(cbs[i]));
        }
        awaitDone(ctx, cbs);
        for (Aiocb cb : cbs) {
            assertEquals(SIZE, ctx.aio_return(cb));
            assertTrue(cb.request.pageCacheFirst(), "a buffered file's read tries the page cache");
        }
        closeOwn(buffered);
        int direct = reopenedOnSameNumber("direct", Fcntl.O_DIRECT, buffered);
        readTriesPageCache(direct, false);
    }

    /** A file of one page of {@code 'x'}, open with {@code extraFlags}; skips when the file system refuses them. */
    private int fileOfOnePage(String name, int extraFlags) {
        int fd = Fcntl.open(dir.resolve(name).toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC | extraFlags,
                0644);
        assumeTrue(fd >= 0, () -> "open " + name + " with flags " + extraFlags + " refused by the temp dir's file"
                + " system (errno " + Aio.errno() + "): O_DIRECT unsupported there");
        open.add(fd);
        ByteBuffer page = alignedPage();
        for (int i = 0; i < SIZE; i++) {
            page.put(i, (byte) 'x');
        }
        assertEquals(SIZE, Unistd.pwrite(fd, page, SIZE, 0));
        return fd;
    }

    /** Opens {@code name} and skips unless the kernel gave it {@code expectedFd} (closed just before). */
    private int reopenedOnSameNumber(String name, int extraFlags, int expectedFd) {
        int fd = fileOfOnePage(name, extraFlags);
        assumeTrue(fd == expectedFd, () -> "the kernel gave the new file descriptor " + fd + ", not the closed "
                + expectedFd + " (another thread opened one in between): the reuse cannot be tested this run");
        return fd;
    }

    /** Closes {@code fd} now, while nothing is outstanding on it. */
    private void closeOwn(int fd) {
        assertTrue(open.remove(Integer.valueOf(fd)));
        assertEquals(0, Unistd.close(fd));
    }

    @AfterEach
    void closeOpen() {
        for (int fd : open) {
            Unistd.close(fd);
        }
        open.clear();
    }

    private void readTriesPageCache(int fd, boolean expected) {
        Aiocb cb = aiocb(fd, 0, alignedPage(), SIZE);
        assertEquals(0, ctx.aio_read(cb));
        awaitDone(ctx, cb);
        assertEquals(SIZE, ctx.aio_return(cb), "the read itself is right on either path");
        if (expected) {
            assertTrue(cb.request.pageCacheFirst(), "a buffered file's read tries the page cache");
        } else {
            assertFalse(cb.request.pageCacheFirst(), "an O_DIRECT file's read goes to the ring");
        }
        assertEquals('x', cb.aio_buf.get(SIZE - 1));
    }

    private static ByteBuffer alignedPage() {
        return ByteBuffer.allocateDirect(2 * SIZE).alignedSlice(SIZE).limit(SIZE).slice();
    }
}
