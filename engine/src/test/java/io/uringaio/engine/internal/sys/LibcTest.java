package io.uringaio.engine.internal.sys;

import static io.uringaio.engine.internal.sys.Libc.O_CLOEXEC;
import static io.uringaio.engine.internal.sys.Libc.O_CREAT;
import static io.uringaio.engine.internal.sys.Libc.O_EXCL;
import static io.uringaio.engine.internal.sys.Libc.O_RDWR;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LibcTest {

    @TempDir
    Path dir;

    @Test
    void pipeWriteReadRoundTrip() {
        int[] fds = {-1, -1};
        assertEquals(0, Libc.pipe(fds));
        assertTrue(fds[0] >= 0 && fds[1] >= 0 && fds[0] != fds[1]);
        try (Arena arena = Arena.ofConfined()) {
            byte[] hello = "hello, ring".getBytes(StandardCharsets.US_ASCII);
            MemorySegment out = arena.allocate(hello.length);
            MemorySegment.copy(hello, 0, out, JAVA_BYTE, 0, hello.length);
            assertEquals(hello.length, Libc.write(fds[1], out.address(), hello.length));

            MemorySegment in = arena.allocate(64);
            assertEquals(hello.length, Libc.read(fds[0], in.address(), in.byteSize()));
            assertArrayEquals(hello, in.asSlice(0, hello.length).toArray(JAVA_BYTE));

            assertEquals(-ErrnoTable.ESPIPE, Libc.lseek(fds[0], 0, Libc.SEEK_SET));
            assertEquals(0, Libc.close(fds[1]));
            assertEquals(0, Libc.read(fds[0], in.address(), in.byteSize()), "end of file once the writer closed");
        } finally {
            Libc.close(fds[0]);
        }
    }

    @Test
    void fileOpenPwritePreadTruncateUnlink() throws Exception {
        String path = dir.resolve("data").toString();
        int fd = Libc.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assertTrue(fd >= 0, () -> "open: " + ErrnoTable.describe(-fd));
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(O_RDWR, Libc.fcntl(fd, Libc.F_GETFL, 0) & Libc.O_ACCMODE);
            assertEquals(Libc.FD_CLOEXEC, Libc.fcntl(fd, Libc.F_GETFD, 0) & Libc.FD_CLOEXEC);

            MemorySegment out = arena.allocate(8);
            for (int i = 0; i < 8; i++) {
                out.set(JAVA_BYTE, i, (byte) ('a' + i));
            }
            assertEquals(8, Libc.pwrite(fd, out.address(), 8, 4096));
            assertEquals(0, Libc.lseek(fd, 0, Libc.SEEK_CUR), "pwrite leaves the position alone");
            assertEquals(4104, Libc.lseek(fd, 0, Libc.SEEK_END));
            assertEquals(0, Libc.fdatasync(fd));
            assertEquals(0, Libc.fsync(fd));

            MemorySegment in = arena.allocate(16);
            assertEquals(8, Libc.pread(fd, in.address(), 16, 4096), "short read at end of file");
            assertArrayEquals(out.toArray(JAVA_BYTE), in.asSlice(0, 8).toArray(JAVA_BYTE));
            assertEquals(16, Libc.pread(fd, in.address(), 16, 0));
            assertArrayEquals(new byte[16], in.toArray(JAVA_BYTE), "the hole reads as zeros");
            assertEquals(-ErrnoTable.EINVAL, Libc.pread(fd, in.address(), 16, -1));

            assertEquals(0, Libc.ftruncate(fd, 100));
            assertEquals(100, Files.size(Path.of(path)));
            assertEquals(0, Libc.pread(fd, in.address(), 16, 4096));

            int res = Libc.fallocate(fd, 0, 0, 8192);
            assertTrue(res == 0 || res == -ErrnoTable.EOPNOTSUPP, () -> "fallocate: " + ErrnoTable.describe(-res));
            if (res == 0) {
                assertEquals(8192, Files.size(Path.of(path)));
            }
        } finally {
            assertEquals(0, Libc.close(fd));
        }
        assertEquals(-ErrnoTable.EEXIST, Libc.open(path, O_RDWR | O_CREAT | O_EXCL, 0644));
        assertEquals(0, Libc.unlink(path));
        assertEquals(-ErrnoTable.ENOENT, Libc.unlink(path));
        assertEquals(-ErrnoTable.ENOENT, Libc.open(path, O_RDWR, 0));
        assertEquals(-ErrnoTable.EINVAL, Libc.open(path + "\0x", O_RDWR, 0));
    }

    @Test
    void closeOfABadDescriptorIsMinusEbadf() {
        assertEquals(-9, Libc.close(-1));
        assertEquals(-ErrnoTable.EBADF, Libc.fsync(-1));
        assertEquals(-ErrnoTable.EBADF, Libc.read(-1, 0, 0));
    }

    @Test
    void errnoDoesNotLeakBetweenCalls() throws Exception {
        assertEquals(-ErrnoTable.EBADF, Libc.close(-1));
        int[] fds = new int[2];
        assertEquals(0, Libc.pipe(fds), "a success after a failure is a success");
        assertTrue(Libc.fcntl(fds[0], Libc.F_GETFL, 0) >= 0);
        assertEquals(-ErrnoTable.ESPIPE, Libc.lseek(fds[0], 0, Libc.SEEK_SET));
        assertEquals(-ErrnoTable.ENOENT, Libc.unlink(dir.resolve("missing").toString()));
        assertEquals(0, Libc.close(fds[0]));
        assertEquals(0, Libc.close(fds[1]));

        // Two threads failing at once, with different errnos, each see their own.
        int rounds = 20_000;
        String missing = dir.resolve("missing").toString();
        AtomicReference<String> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        Thread ebadf = Thread.ofPlatform().start(() -> {
            awaitQuietly(start);
            for (int i = 0; i < rounds && failure.get() == null; i++) {
                int res = Libc.close(-1);
                if (res != -ErrnoTable.EBADF) {
                    failure.compareAndSet(null, "close(-1) gave " + res + " in round " + i);
                }
            }
        });
        Thread enoent = Thread.ofPlatform().start(() -> {
            awaitQuietly(start);
            for (int i = 0; i < rounds && failure.get() == null; i++) {
                int res = Libc.unlink(missing);
                if (res != -ErrnoTable.ENOENT) {
                    failure.compareAndSet(null, "unlink(missing) gave " + res + " in round " + i);
                }
            }
        });
        start.countDown();
        ebadf.join(60_000);
        enoent.join(60_000);
        assertEquals(null, failure.get());
    }

    @Test
    void strerrorMatchesTheErrnoTable() {
        assertEquals("Bad file descriptor", Libc.strerror(9));
        for (int errno = 1; errno <= ErrnoTable.MAX_ERRNO; errno++) {
            assertEquals(ErrnoTable.message(errno), Libc.strerror(errno), "errno " + errno);
        }
        assertEquals("Unknown error 999", Libc.strerror(999));
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
