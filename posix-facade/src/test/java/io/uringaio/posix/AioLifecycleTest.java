package io.uringaio.posix;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

/**
 * The status life cycle of one request through the process-wide context: EINPROGRESS → result → EINVAL, data
 * correctness, absolute buffer indices, fields never written, pipes ignoring the offset, and the asynchronous errors.
 */
class AioLifecycleTest extends PosixTestSupport {

    @Test
    void neverSubmitted_errorIsEINVAL_returnIsMinusOneEINVAL() {
        Aiocb cb = new Aiocb();
        assertEquals(EINVAL, aio_error(cb));
        assertEquals(-1, aio_return(cb));
        assertEquals(EINVAL, errno());
    }

    @Test
    void writeThenRead_fullLifeCycle() {
        int fd = openTemp("f", 0);
        Aiocb w = writeCb(fd, 0, "hello, world");
        assertEquals(0, aio_write(w));
        int e = aio_error(w);
        assertTrue(e == EINPROGRESS || e == 0, "status right after submit: " + e);
        awaitDone(w);
        assertEquals(0, aio_error(w));
        assertEquals(12, aio_return(w));
        // Taken once: the second call fails, and the status is gone.
        assertEquals(-1, aio_return(w));
        assertEquals(EINVAL, errno());
        assertEquals(EINVAL, aio_error(w));

        Aiocb r = readCb(fd, 7, 100);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(0, aio_error(r));
        assertEquals(5, aio_return(r)); // a short read at EOF is a success
        assertEquals("world", text(r.aio_buf, 5));
    }

    @Test
    void inProgress_errorIsEINPROGRESS_returnIsMinusOneEINPROGRESS_thenResult() {
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 64);
        assertEquals(0, aio_read(r));
        assertStaysInProgress(null, r);
        assertEquals(-1, aio_return(r));
        assertEquals(EINPROGRESS, errno());
        assertEquals(EINPROGRESS, aio_error(r)); // aio_return while in progress took nothing

        writeTo(p[1], "abc");
        awaitDone(r);
        assertEquals(0, aio_error(r));
        assertEquals(3, aio_return(r)); // pipe: what was there, a short read
        assertEquals("abc", text(r.aio_buf, 3));
        assertEquals(-1, aio_return(r));
        assertEquals(EINVAL, errno());
    }

    @Test
    void resubmittedAfterReturn_worksAgain() {
        int fd = tempFileWith("f", "0123456789");
        Aiocb r = readCb(fd, 0, 4);
        for (int round = 0; round < 3; round++) {
            r.aio_offset = round * 3;
            assertEquals(0, aio_read(r));
            awaitDone(r);
            assertEquals(0, aio_error(r));
            assertEquals(4, aio_return(r));
            assertEquals("0123456789".substring(round * 3, round * 3 + 4), text(r.aio_buf, 4));
            assertEquals(EINVAL, aio_error(r));
        }
        // Resubmitted without taking the previous result first: also allowed once it is complete.
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(4, aio_return(r));
    }

    @Test
    void readAtOrBeyondEof_returnsZero() {
        int fd = tempFileWith("f", "abc");
        Aiocb r = readCb(fd, 3, 10);
        Aiocb r2 = readCb(fd, 1000, 10);
        assertEquals(0, aio_read(r));
        assertEquals(0, aio_read(r2));
        awaitDone(r, r2);
        assertEquals(0, aio_error(r));
        assertEquals(0, aio_return(r));
        assertEquals(0, aio_error(r2));
        assertEquals(0, aio_return(r2));
    }

    @Test
    void zeroBytes_withNullBuffer_isAllowed() {
        int fd = tempFileWith("f", "abc");
        Aiocb r = aiocb(fd, 0, null, 0);
        assertEquals(0, aio_read(r));
        Aiocb w = aiocb(fd, 0, null, 0);
        assertEquals(0, aio_write(w));
        awaitDone(r, w);
        assertEquals(0, aio_return(r));
        assertEquals(0, aio_return(w));
    }

    @Test
    void heapAndDirectBuffers_bothTransfer() {
        int fd = openTemp("f", 0);
        ByteBuffer heap = ByteBuffer.allocate(6);
        heap.put(0, (byte) 'h').put(1, (byte) 'e').put(2, (byte) 'a').put(3, (byte) 'p').put(4, (byte) '!')
                .put(5, (byte) '?');
        Aiocb w = aiocb(fd, 0, heap, 5);
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(5, aio_return(w));

        ByteBuffer heapIn = ByteBuffer.allocate(16);
        Aiocb r = aiocb(fd, 0, heapIn, 16);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(5, aio_return(r));
        assertEquals("heap!", text(heapIn, 5));
    }

    @Test
    void bufferPositionAndLimit_areNeitherReadNorChanged() throws Exception {
        int fd = openTemp("f", 0);
        ByteBuffer out = bytes("0123456789");
        out.position(3).limit(5);
        Aiocb w = aiocb(fd, 0, out, 10);
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(10, aio_return(w));
        assertEquals("0123456789", fileContent("f"));
        assertEquals(3, out.position());
        assertEquals(5, out.limit());

        ByteBuffer in = ByteBuffer.allocateDirect(10);
        in.position(7).limit(8);
        Aiocb r = aiocb(fd, 2, in, 6);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(6, aio_return(r));
        assertEquals("234567", text(in, 6)); // from index 0, not from the position
        assertEquals(0, in.get(6));          // nothing beyond aio_nbytes
        assertEquals(7, in.position());
        assertEquals(8, in.limit());
    }

    @Test
    void aiocbFields_areNeverWrittenByTheFacade() {
        int fd = tempFileWith("f", "some content here");
        ByteBuffer buf = ByteBuffer.allocateDirect(32);
        SigEvent sev = SigEvent.none();
        Aiocb cb = aiocb(fd, 5, buf, 7);
        cb.aio_reqprio = 3;
        cb.aio_sigevent = sev;
        cb.aio_lio_opcode = LIO_NOP;
        assertEquals(0, aio_read(cb));
        assertFieldsUnchanged(cb, fd, 5, buf, 7, 3, sev, LIO_NOP);
        awaitDone(cb);
        assertFieldsUnchanged(cb, fd, 5, buf, 7, 3, sev, LIO_NOP);
        assertEquals(7, aio_return(cb));
        assertFieldsUnchanged(cb, fd, 5, buf, 7, 3, sev, LIO_NOP);
        assertEquals(Signals.SIGEV_NONE, sev.sigev_notify);

        assertEquals(0, aio_fsync(O_SYNC, cb));
        awaitDone(cb);
        assertEquals(0, aio_return(cb));
        assertFieldsUnchanged(cb, fd, 5, buf, 7, 3, sev, LIO_NOP);
    }

    private static void assertFieldsUnchanged(Aiocb cb, int fd, long off, ByteBuffer buf, long n, int prio,
                                              SigEvent sev, int op) {
        assertEquals(fd, cb.aio_fildes);
        assertEquals(off, cb.aio_offset);
        assertSame(buf, cb.aio_buf);
        assertEquals(0, buf.position());
        assertEquals(buf.capacity(), buf.limit());
        assertEquals(n, cb.aio_nbytes);
        assertEquals(prio, cb.aio_reqprio);
        assertSame(sev, cb.aio_sigevent);
        assertEquals(op, cb.aio_lio_opcode);
    }

    @Test
    void lioOpcode_isIgnoredByAioReadAndAioWrite() throws Exception {
        int fd = openTemp("f", 0);
        Aiocb w = writeCb(fd, 0, "written");
        w.aio_lio_opcode = LIO_READ;
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(7, aio_return(w));
        assertEquals("written", fileContent("f"));

        Aiocb r = readCb(fd, 0, 7);
        r.aio_lio_opcode = 99;
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(7, aio_return(r));
        assertEquals("written", text(r.aio_buf, 7));
    }

    @Test
    void pipe_ignoresAioOffset() {
        int[] p = pipe();
        Aiocb w = writeCb(p[1], 123_456, "xyz");
        assertEquals(0, aio_write(w));
        awaitDone(w);
        assertEquals(3, aio_return(w));

        Aiocb r = readCb(p[0], -7, 8); // a negative offset too: a pipe has no offset
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(0, aio_error(r));
        assertEquals(3, aio_return(r));
        assertEquals("xyz", text(r.aio_buf, 3));
    }

    @Test
    void fsync_bothOps_returnZero() {
        int fd = openTemp("f", 0);
        Aiocb w = writeCb(fd, 0, "durable");
        assertEquals(0, aio_write(w));
        Aiocb s1 = new Aiocb();
        s1.aio_fildes = fd;
        Aiocb s2 = new Aiocb();
        s2.aio_fildes = fd;
        assertEquals(0, aio_fsync(O_SYNC, s1));
        assertEquals(0, aio_fsync(O_DSYNC, s2));
        awaitDone(w, s1, s2);
        assertEquals(7, aio_return(w));
        assertEquals(0, aio_error(s1));
        assertEquals(0, aio_return(s1));
        assertEquals(0, aio_error(s2));
        assertEquals(0, aio_return(s2));
    }

    @Test
    void fsync_readsOnlyFildesAndSigevent() {
        int fd = openTemp("f", 0);
        Aiocb s = aiocb(fd, -1, null, -1); // offset, buffer and nbytes are nonsense: ignored
        s.aio_reqprio = 1000;
        s.aio_lio_opcode = 77;
        assertEquals(0, aio_fsync(O_SYNC, s));
        awaitDone(s);
        assertEquals(0, aio_error(s));
        assertEquals(0, aio_return(s));
    }

    // ---- errors reported asynchronously: the call returns 0 ----

    @Test
    void badFildes_onReadAndWrite_isAsyncEBADF() {
        for (int badFd : new int[] {-1, 1_000_000}) {
            Aiocb r = readCb(badFd, 0, 8);
            assertEquals(0, aio_read(r));
            Aiocb w = writeCb(badFd, 0, "x");
            assertEquals(0, aio_write(w));
            awaitDone(r, w);
            assertEquals(EBADF, aio_error(r));
            assertEquals(-1, aio_return(r));
            assertEquals(EBADF, aio_error(w));
            assertEquals(-1, aio_return(w));
        }
    }

    @Test
    void writeToReadOnlyFd_isAsyncEBADF() {
        tempFileWith("ro", "data");
        int fd = Fcntl.open(dir.resolve("ro").toString(), O_RDONLY, 0);
        assertTrue(fd >= 0);
        try {
            Aiocb w = writeCb(fd, 0, "x");
            assertEquals(0, aio_write(w));
            awaitDone(w);
            assertEquals(EBADF, aio_error(w));
            assertEquals(-1, aio_return(w));
        } finally {
            Unistd.close(fd);
        }
    }

    @Test
    void negativeOffset_onAFile_isAsyncEINVAL_andNothingIsTransferred() throws Exception {
        int fd = tempFileWith("f", "0123456789");
        Unistd.read(fd, ByteBuffer.allocateDirect(4), 4); // move the file position: offset -1 must not mean "here"
        Aiocb r = readCb(fd, -1, 4);
        Aiocb w = writeCb(fd, -1, "XY");
        Aiocb w2 = writeCb(fd, Long.MIN_VALUE, "XY");
        assertEquals(0, aio_read(r));
        assertEquals(0, aio_write(w));
        assertEquals(0, aio_write(w2));
        awaitDone(r, w, w2);
        for (Aiocb cb : new Aiocb[] {r, w, w2}) {
            assertEquals(EINVAL, aio_error(cb));
            assertEquals(-1, aio_return(cb));
        }
        assertEquals("0123456789", fileContent("f"));
    }

    @Test
    void fsyncOnAPipe_isAsyncEINVAL() {
        int[] p = pipe();
        Aiocb s = new Aiocb();
        s.aio_fildes = p[1];
        assertEquals(0, aio_fsync(O_SYNC, s));
        awaitDone(s);
        assertEquals(EINVAL, aio_error(s));
        assertEquals(-1, aio_return(s));
    }

    @Test
    void readIntoBufferOfFd_withDataAtOffset_matchesPwrite() {
        int fd = openTemp("f", 0);
        ByteBuffer b = bytes("interop");
        assertEquals(7, Unistd.pwrite(fd, b, 7, 4096));
        Aiocb r = readCb(fd, 4096, 7);
        assertEquals(0, aio_read(r));
        awaitDone(r);
        assertEquals(7, aio_return(r));
        assertEquals("interop", text(r.aio_buf, 7));
    }
}
