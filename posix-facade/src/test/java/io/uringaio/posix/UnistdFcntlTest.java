package io.uringaio.posix;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.*;
import static io.uringaio.posix.Unistd.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;

import org.junit.jupiter.api.Test;

/**
 * {@code Fcntl.open} and the {@code Unistd} functions on real file descriptors, their interplay with the AIO functions,
 * and the constant tables (Linux x86-64 values) with {@code strerror}.
 */
class UnistdFcntlTest extends PosixTestSupport {

    private String path(String name) {
        return dir.resolve(name).toString();
    }

    @Test
    void openCreateExcl_thenEEXIST_thenENOENT() {
        int fd = open(path("x"), O_RDWR | O_CREAT | O_EXCL, 0600);
        assertTrue(fd >= 0);
        assertEquals(0, close(fd));
        assertEquals(-1, open(path("x"), O_RDWR | O_CREAT | O_EXCL, 0600));
        assertEquals(17, errno()); // EEXIST
        assertEquals(-1, open(path("missing"), O_RDONLY, 0));
        assertEquals(2, errno()); // ENOENT
    }

    @Test
    void pwriteThenPread_byAbsoluteIndex() {
        int fd = openTemp("f", 0);
        ByteBuffer out = bytes("abcdefgh");
        out.position(6).limit(7);
        assertEquals(8, pwrite(fd, out, 8, 100));
        assertEquals(6, out.position());
        assertEquals(7, out.limit());
        ByteBuffer in = ByteBuffer.allocate(16);
        in.position(3);
        assertEquals(8, pread(fd, in, 16, 100)); // short read at EOF
        assertEquals("abcdefgh", text(in, 8));
        assertEquals(3, in.position());
        assertEquals(0, pread(fd, in, 16, 5000));
        ByteBuffer hole = ByteBuffer.allocate(4);
        assertEquals(4, pread(fd, hole, 4, 0));
        assertEquals(0, hole.get(0)); // the hole before offset 100 reads as zeros
    }

    @Test
    void readWrite_useAndAdvanceTheFilePosition() throws Exception {
        int fd = openTemp("f", 0);
        assertEquals(3, write(fd, bytes("one"), 3));
        assertEquals(3, write(fd, bytes("two"), 3));
        assertEquals("onetwo", fileContent("f"));
        int rd = open(path("f"), O_RDONLY, 0);
        try {
            ByteBuffer b = ByteBuffer.allocateDirect(4);
            assertEquals(4, read(rd, b, 4));
            assertEquals("onet", text(b, 4));
            assertEquals(2, read(rd, b, 4));
            assertEquals("wo", text(b, 2));
            assertEquals(0, read(rd, b, 4));
        } finally {
            close(rd);
        }
    }

    @Test
    void appendFlag_writesAtTheEnd() throws Exception {
        int fd = openTemp("f", O_APPEND);
        assertEquals(3, pwrite(fd, bytes("abc"), 3, 0));
        assertEquals(3, write(fd, bytes("def"), 3));
        assertEquals("abcdef", fileContent("f"));
    }

    @Test
    void ftruncateFsyncUnlink() throws Exception {
        int fd = openTemp("f", 0);
        assertEquals(0, ftruncate(fd, 12345));
        assertEquals(12345, Files.size(dir.resolve("f")));
        assertEquals(0, ftruncate(fd, 3));
        assertEquals(3, Files.size(dir.resolve("f")));
        assertEquals(0, fsync(fd));
        assertEquals(0, unlink(path("f")));
        assertFalse(Files.exists(dir.resolve("f")));
        assertEquals(-1, unlink(path("f")));
        assertEquals(2, errno()); // ENOENT
        assertEquals(-1, ftruncate(fd, -1));
        assertEquals(EINVAL, errno());
    }

    @Test
    void closedFd_isEBADF_everywhere() {
        int fd = open(path("c"), O_RDWR | O_CREAT, 0644);
        assertTrue(fd >= 0);
        assertEquals(0, close(fd));
        int bad = 1_000_000;
        assertEquals(-1, close(bad));
        assertEquals(EBADF, errno());
        ByteBuffer b = ByteBuffer.allocate(1);
        assertEquals(-1, read(bad, b, 1));
        assertEquals(EBADF, errno());
        assertEquals(-1, write(bad, b, 1));
        assertEquals(EBADF, errno());
        assertEquals(-1, pread(bad, b, 1, 0));
        assertEquals(EBADF, errno());
        assertEquals(-1, pwrite(bad, b, 1, 0));
        assertEquals(EBADF, errno());
        assertEquals(-1, fsync(bad));
        assertEquals(EBADF, errno());
        assertEquals(-1, ftruncate(bad, 0));
        assertEquals(EBADF, errno());
    }

    @Test
    void pipe_roundTrip_andPreadOnAPipeIsESPIPE() {
        int[] p = pipe();
        assertNotEquals(p[0], p[1]);
        assertEquals(5, write(p[1], bytes("piped"), 5));
        ByteBuffer b = ByteBuffer.allocate(10);
        assertEquals(5, read(p[0], b, 10));
        assertEquals("piped", text(b, 5));
        assertEquals(-1, pread(p[0], b, 1, 0));
        assertEquals(ESPIPE, errno());
    }

    @Test
    void realFds_interoperateWithAio() {
        int fd = openTemp("f", 0);
        assertEquals(11, pwrite(fd, bytes("from pwrite"), 11, 0));
        Aiocb r = readCb(fd, 5, 6);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(6, aio_return(r));
        assertEquals("pwrite", text(r.aio_buf, 6));

        Aiocb w = writeCb(fd, 20, "from aio");
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(8, aio_return(w));
        ByteBuffer b = ByteBuffer.allocate(8);
        assertEquals(8, pread(fd, b, 8, 20));
        assertEquals("from aio", text(b, 8));

        int[] p = pipe();
        Aiocb pr = readCb(p[0], 0, 8);
        assertEquals(0, aio_read(pr));
        assertEquals(3, write(p[1], bytes("c2j"), 3));
        awaitDone(pr);
        assertEquals(3, aio_return(pr));
    }

    @Test
    void badArguments_areEINVALorEFAULT_notExceptions() {
        int fd = openTemp("f", 0);
        assertEquals(-1, pwrite(fd, ByteBuffer.allocate(2), 3, 0));
        assertEquals(EINVAL, errno());
        assertEquals(-1, pread(fd, ByteBuffer.allocate(2), -1, 0));
        assertEquals(EINVAL, errno());
        assertEquals(-1, pread(fd, ByteBuffer.allocate(2), 1, -1));
        assertEquals(EINVAL, errno());
        assertEquals(-1, pwrite(fd, null, 1, 0));
        assertEquals(EFAULT, errno());
    }

    @Test
    void errnoIsPerThread() throws Exception {
        assertEquals(-1, close(1_000_000));
        assertEquals(EBADF, errno());
        int[] other = new int[1];
        Thread t = new Thread(() -> {
            open(path("missing"), O_RDONLY, 0);
            other[0] = errno();
        });
        t.start();
        join(t);
        assertEquals(2, other[0]);
        assertEquals(EBADF, errno(), "another thread's failure does not change this thread's errno");
    }

    @Test
    void constants_haveLinuxValues() {
        assertEquals(1, EPERM);
        assertEquals(4, EINTR);
        assertEquals(5, EIO);
        assertEquals(9, EBADF);
        assertEquals(11, EAGAIN);
        assertEquals(14, EFAULT);
        assertEquals(16, EBUSY);
        assertEquals(22, EINVAL);
        assertEquals(27, EFBIG);
        assertEquals(28, ENOSPC);
        assertEquals(29, ESPIPE);
        assertEquals(75, EOVERFLOW);
        assertEquals(115, EINPROGRESS);
        assertEquals(125, ECANCELED);

        assertEquals(0, O_RDONLY);
        assertEquals(1, O_WRONLY);
        assertEquals(2, O_RDWR);
        assertEquals(0100, O_CREAT);
        assertEquals(0200, O_EXCL);
        assertEquals(01000, O_TRUNC);
        assertEquals(02000, O_APPEND);
        assertEquals(040000, O_DIRECT);
        assertEquals(04010000, O_SYNC);
        assertEquals(010000, O_DSYNC);
        assertEquals(02000000, O_CLOEXEC);

        assertEquals(0, AIO_CANCELED);
        assertEquals(1, AIO_NOTCANCELED);
        assertEquals(2, AIO_ALLDONE);
        assertEquals(0, LIO_READ);
        assertEquals(1, LIO_WRITE);
        assertEquals(2, LIO_NOP);
        assertEquals(0, LIO_WAIT);
        assertEquals(1, LIO_NOWAIT);
        assertEquals(20, AIO_PRIO_DELTA_MAX);
        assertTrue(AIO_LISTIO_MAX >= 2, "POSIX minimum _POSIX_AIO_LISTIO_MAX");
        assertTrue(AIO_MAX >= 1, "POSIX minimum _POSIX_AIO_MAX");

        assertEquals(0, Signals.SIGEV_SIGNAL);
        assertEquals(1, Signals.SIGEV_NONE);
        assertEquals(2, Signals.SIGEV_THREAD);
        assertEquals(-4, Signals.SI_ASYNCIO);
        assertEquals(10, Signals.SIGUSR1);
        assertEquals(12, Signals.SIGUSR2);
        assertEquals(34, Signals.SIGRTMIN);
        assertEquals(64, Signals.SIGRTMAX);
    }

    @Test
    void strerror_matchesGlibc() {
        assertEquals("Success", strerror(0));
        assertEquals("Operation not permitted", strerror(EPERM));
        assertEquals("Interrupted system call", strerror(EINTR));
        assertEquals("Input/output error", strerror(EIO));
        assertEquals("Bad file descriptor", strerror(EBADF));
        assertEquals("Resource temporarily unavailable", strerror(EAGAIN));
        assertEquals("Bad address", strerror(EFAULT));
        assertEquals("Device or resource busy", strerror(EBUSY));
        assertEquals("Invalid argument", strerror(EINVAL));
        assertEquals("File too large", strerror(EFBIG));
        assertEquals("No space left on device", strerror(ENOSPC));
        assertEquals("Illegal seek", strerror(ESPIPE));
        assertEquals("Value too large for defined data type", strerror(EOVERFLOW));
        assertEquals("Operation now in progress", strerror(EINPROGRESS));
        assertEquals("Operation canceled", strerror(ECANCELED));
        String unknown = strerror(9999);
        assertNotNull(unknown);
        assertTrue(unknown.contains("9999"), unknown);
        assertTrue(strerror(-1).contains("-1"), strerror(-1));
    }
}
