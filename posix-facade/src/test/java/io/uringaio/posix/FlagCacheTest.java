package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A write's O_APPEND (and a read's O_DIRECT) comes from one {@code fcntl(F_GETFL)} per descriptor number, kept
 * ({@link FdState#flags}) until the facade sees the number change hands or flags: {@link Unistd#close},
 * {@link Fcntl#open}, {@link Unistd#pipe}, {@link Fcntl#fcntl} with {@code F_SETFL}. Not one per request: on this
 * kind of machine a system call costs more than the rest of a submission.
 */
class FlagCacheTest extends PrivateContextSupport {
    private int fd = -1;

    @AfterEach
    void closeFile() {
        if (fd >= 0) {
            Unistd.close(fd);
            fd = -1;
        }
    }

    @Test
    void theFlagsAreAskedOnce_forARunAndAfterIt_andAgainOnlyOnceForgotten() {
        fd = open("busy", 0);
        FdState state = new FdState(false);
        Aiocb[] run = new Aiocb[10];
        for (int i = 0; i < run.length; i++) {
            run[i] = write(i * 4096L);
            assertTrue(state.add(run[i]), "non-overlapping plain writes go at once");
            assertFalse(run[i].append);
        }
        for (Aiocb cb : run) {
            state.remove(cb);
            state.published(); // as a completion does once the status is final
        }
        assertTrue(state.isEmpty());
        Aiocb afterIdle = write(0);
        assertTrue(state.add(afterIdle));
        state.remove(afterIdle);
        state.published();
        assertEquals(1, state.flagQueries(), "one fcntl for the number, not one per write nor per busy run");
        assertEquals(0, Libc.fcntl(fd, Libc.F_SETFL, Fcntl.O_APPEND));
        state.forgetFlags();
        Aiocb first = write(0);
        assertTrue(state.add(first));
        assertTrue(first.append, "after a forget, the current O_APPEND is seen");
        Aiocb second = write(8192);
        assertFalse(state.add(second), "an append waits for every older write");
        assertTrue(second.append);
        assertEquals(2, state.flagQueries());
    }

    @Test
    void anUnknownDescriptorsErrorIsNotKept() {
        FdState state = new FdState(false);
        Aiocb cb = new Aiocb();
        cb.op = Aiocb.OP_WRITE;
        cb.fd = Integer.MAX_VALUE - 7; // no such descriptor: F_GETFL fails with EBADF
        cb.nbytes = 1;
        assertTrue(state.add(cb));
        assertFalse(cb.append);
        Aiocb next = new Aiocb();
        next.op = Aiocb.OP_WRITE;
        next.fd = cb.fd;
        next.offset = 100;
        next.nbytes = 1;
        state.add(next);
        assertEquals(2, state.flagQueries(), "an error answer is asked again, never kept");
    }

    @Test
    void queueDepthOne_asksOnceForManyRequests() {
        fd = open("qd1", 0);
        long before = ctx.flagQueries(fd); // the class's context may have a state for this number from another test
        for (int i = 0; i < 20; i++) {
            submitAndWait(i % 2 == 1, bytes("abcd"), 0); // a write, then reads and writes in turn
        }
        assertEquals(1, ctx.flagQueries(fd) - before, "one fcntl for 20 requests one after another");
    }

    @Test
    void fcntlSetflThroughTheFacade_isSeenByTheNextWrite() throws Exception {
        Path file = dir.resolve("toggled");
        fd = open("toggled", 0);
        Aiocb plain = submitAndWait(false, bytes("AAAA"), 0);
        assertFalse(plain.append);
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_SETFL, Fcntl.O_APPEND));
        assertTrue((Fcntl.fcntl(fd, Fcntl.F_GETFL, 0) & Fcntl.O_APPEND) != 0);
        assertTrue(submitAndWait(false, bytes("BBBB"), 0).append, "F_SETFL through the facade is seen at once");
        submitAndWait(false, bytes("CCCC"), 0);
        assertEquals("AAAABBBBCCCC", Files.readString(file));
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_SETFL, 0));
        assertFalse(submitAndWait(false, bytes("DD"), 2).append);
        assertEquals("AADDBBBBCCCC", Files.readString(file));
    }

    @Test
    void aNumberClosedBehindTheFacadesBack_andReopenedByIt_getsTheNewFilesFlags() {
        fd = open("first", 0);
        assertFalse(submitAndWait(false, bytes("1"), 0).append);
        int old = fd;
        assertEquals(0, Libc.close(fd)); // native close: the facade is not told
        fd = -1;
        int again = open("second", Fcntl.O_APPEND);
        fd = again;
        org.junit.jupiter.api.Assumptions.assumeTrue(again == old, () -> "the kernel gave " + again + ", not the closed "
                + old + " (another thread opened one in between): the reuse cannot be tested this run");
        assertTrue(submitAndWait(false, bytes("2"), 0).append, "Fcntl.open forgot the old file's flags");
    }

    @Test
    void fcntlRefusesOtherCommands_andBadDescriptors() {
        fd = open("cmds", 0);
        assertEquals(-1, Fcntl.fcntl(fd, 1030 /* F_DUPFD_CLOEXEC */, 0));
        assertEquals(Errno.EINVAL, Aio.errno());
        assertEquals(-1, Fcntl.fcntl(-1, Fcntl.F_GETFL, 0));
        assertEquals(Errno.EBADF, Aio.errno());
        assertEquals(-1, Fcntl.fcntl(Integer.MAX_VALUE, Fcntl.F_SETFL, Fcntl.O_APPEND));
        assertEquals(Errno.EBADF, Aio.errno());
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_SETFD, Fcntl.FD_CLOEXEC));
        assertEquals(Fcntl.FD_CLOEXEC, Fcntl.fcntl(fd, Fcntl.F_GETFD, 0));
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_GETFL, 0) & Fcntl.O_APPEND, "the file is untouched");
    }

    private int open(String name, int flags) {
        int f = Fcntl.open(dir.resolve(name).toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC | flags, 0644);
        assertTrue(f >= 0, "open " + name + ": errno " + Aio.errno());
        return f;
    }

    private Aiocb write(long offset) {
        Aiocb cb = new Aiocb();
        cb.op = Aiocb.OP_WRITE;
        cb.fd = fd;
        cb.offset = offset;
        cb.nbytes = 4096;
        return cb;
    }

    private Aiocb submitAndWait(boolean read, ByteBuffer data, long offset) {
        Aiocb cb = aiocb(fd, offset, data, data.capacity());
        assertEquals(0, read ? ctx.aio_read(cb) : ctx.aio_write(cb));
        awaitDone(ctx, cb);
        assertEquals(data.capacity(), ctx.aio_return(cb));
        return cb;
    }
}
