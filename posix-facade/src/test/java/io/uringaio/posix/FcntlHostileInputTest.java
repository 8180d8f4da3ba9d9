package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;

import org.junit.jupiter.api.Test;

/**
 * Hostile input to {@link Fcntl#fcntl}: each case asserts the errno, and that nothing else changed: the file's flags
 * and bytes, the facade's kept flags (no extra {@code F_GETFL} after a call that changed nothing), a bystander
 * descriptor's O_APPEND call order.
 */
class FcntlHostileInputTest extends PrivateContextSupport {

    /**
     * {@code F_SETFL} with bits it does not take ({@code O_TRUNC}, {@code O_CREAT}, {@code O_EXCL}, an undefined high
     * bit) next to {@code O_APPEND}: the kernel takes O_APPEND and ignores the rest. The file is not truncated, the
     * access mode stays, and the next writes are appends in call order.
     */
    @Test
    void setflWithJunkBits_changesOnlyWhatTheKernelTakes() throws Exception {
        int fd = tempFileWith("junk", "HELLO");
        assertFalse(write(fd, "A", 0).append);
        int before = Fcntl.fcntl(fd, Fcntl.F_GETFL, 0);
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_SETFL,
                Fcntl.O_APPEND | Fcntl.O_TRUNC | Fcntl.O_CREAT | Fcntl.O_EXCL | 0x40000000));
        assertEquals(before | Fcntl.O_APPEND, Fcntl.fcntl(fd, Fcntl.F_GETFL, 0), "only O_APPEND was taken");
        assertEquals("AELLO", fileContent("junk"), "not truncated");
        assertTrue(write(fd, "B", 0).append);
        assertTrue(write(fd, "C", 0).append);
        assertEquals("AELLOBC", fileContent("junk"));
    }

    /**
     * Calls that fail (unknown or negative command, a closed, negative or huge descriptor) set EINVAL or EBADF and
     * change nothing: not the file's flags, not what the facade keeps of them (the next write asks no
     * {@code F_GETFL}), not a bystander's appends.
     */
    @Test
    void failedCalls_setTheErrno_andChangeNothing() throws Exception {
        int fd = tempFileWith("target", "0123");
        int bystander = openTemp("bystander", Fcntl.O_APPEND);
        assertTrue(write(bystander, "x", 0).append);
        assertFalse(write(fd, "a", 0).append);
        int[] closed = pipe();
        closeNow(closed[1]);
        long asked = ctx.flagQueries(fd);
        int flags = Fcntl.fcntl(fd, Fcntl.F_GETFL, 0);
        int fdFlags = Fcntl.fcntl(fd, Fcntl.F_GETFD, 0);

        assertFails(Errno.EINVAL, Fcntl.fcntl(fd, 9999, Fcntl.O_APPEND));
        assertFails(Errno.EINVAL, Fcntl.fcntl(fd, -1, Fcntl.O_APPEND));
        assertFails(Errno.EINVAL, Fcntl.fcntl(fd, 0 /* F_DUPFD */, 0));
        assertFails(Errno.EBADF, Fcntl.fcntl(closed[1], Fcntl.F_SETFL, Fcntl.O_APPEND));
        assertFails(Errno.EBADF, Fcntl.fcntl(-5, Fcntl.F_SETFL, Fcntl.O_APPEND));
        assertFails(Errno.EBADF, Fcntl.fcntl(Integer.MIN_VALUE, Fcntl.F_GETFL, 0));
        assertFails(Errno.EBADF, Fcntl.fcntl(Integer.MAX_VALUE, Fcntl.F_SETFD, Fcntl.FD_CLOEXEC));

        assertEquals(flags, Fcntl.fcntl(fd, Fcntl.F_GETFL, 0));
        assertEquals(fdFlags, Fcntl.fcntl(fd, Fcntl.F_GETFD, 0));
        assertFalse(write(fd, "b", 1).append);
        assertEquals(asked, ctx.flagQueries(fd), "the kept flags were not forgotten by calls that failed");
        assertEquals("ab23", fileContent("target"));
        assertTrue(write(bystander, "y", 0).append);
        assertTrue(write(bystander, "z", 0).append);
        assertEquals("xyz", fileContent("bystander"));
    }

    private static void assertFails(int errno, int res) {
        assertEquals(-1, res);
        assertEquals(errno, Aio.errno());
    }

    private Aiocb write(int fd, String s, long offset) {
        return write(ctx, fd, s, offset);
    }

    private static Aiocb write(AioContext context, int fd, String s, long offset) {
        ByteBuffer data = bytes(s);
        Aiocb cb = aiocb(fd, offset, data, data.capacity());
        assertEquals(0, context.aio_write(cb));
        awaitDone(context, cb);
        assertEquals(data.capacity(), context.aio_return(cb));
        return cb;
    }

    /**
     * A number whose O_APPEND file both of two live contexts have written (each keeps its flags) is closed with
     * {@link Unistd#close} and taken by {@link Fcntl#open} for a plain file, then by {@link Unistd#pipe}: each context
     * sees each new file's own flags (plain writes land where they are put; the pipe's writes are one stream, ordered
     * as appends are, which the plain file's kept flags would deny).
     * Holds: every live context forgets the number's flags.
     */
    @Test
    void aNumberReusedThroughTheFacade_isANewFileInEveryLiveContext() throws Exception {
        try (AioContext other = new AioContext()) {
            int fd = openTemp("first", Fcntl.O_APPEND);
            assertTrue(write(ctx, fd, "a", 0).append);
            assertTrue(write(other, fd, "b", 0).append);
            closeNow(fd);
            int again = openTemp("second", 0);
            org.junit.jupiter.api.Assumptions.assumeTrue(again == fd,
                    () -> "the kernel gave " + again + ", not the closed " + fd + ": the reuse cannot be tested");
            assertFalse(write(ctx, again, "xx", 2).append);
            assertFalse(write(other, again, "yy", 0).append);
            assertEquals("yyxx", fileContent("second"));
            closeNow(again);
            int[] p = pipe();
            org.junit.jupiter.api.Assumptions.assumeTrue(p[1] == fd || p[0] == fd,
                    () -> "the pipe did not take " + fd + ": the reuse cannot be tested");
            assertTrue(write(ctx, p[1], "p", 0).append);
            assertTrue(write(other, p[1], "q", 0).append);
            ByteBuffer got = ByteBuffer.allocateDirect(2);
            assertEquals(2, Unistd.read(p[0], got, 2));
            assertEquals("pq", text(got, 2));
        }
    }
}
