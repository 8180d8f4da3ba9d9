package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A write's O_APPEND (and a read's O_DIRECT) comes from one {@code fcntl(F_GETFL)} per run of outstanding requests on
 * its descriptor ({@link FdState#flags}), not one per request; an answer is dropped when the last outstanding request
 * leaves, so a flag changed with {@code F_SETFL} while the descriptor is idle is seen by the next request.
 */
class FlagCacheTest extends PrivateContextSupport {
    private int fd = -1;

    @AfterEach
    void closeFile() {
        if (fd >= 0) {
            Unistd.close(fd);
        }
    }

    @Test
    void writesOfOneBusyRun_askTheKernelOnce_andAgainAfterTheDescriptorWasIdle() throws Exception {
        fd = open("busy", 0);
        FdState state = new FdState(false);
        Aiocb[] run = new Aiocb[10];
        for (int i = 0; i < run.length; i++) {
            run[i] = write(i * 4096L);
            assertTrue(state.add(run[i]), "non-overlapping plain writes go at once");
            assertFalse(run[i].append);
        }
        assertEquals(1, state.flagQueries(), "one fcntl for the whole run, not one per write");
        for (Aiocb cb : run) {
            state.remove(cb);
        }
        assertTrue(state.isEmpty());
        // Idle: the flags may change now, and the next run must see them.
        assertEquals(0, Libc.fcntl(fd, Libc.F_SETFL, Fcntl.O_APPEND));
        Aiocb first = write(0);
        assertTrue(state.add(first));
        assertTrue(first.append, "O_APPEND set while idle is seen by the next write");
        Aiocb second = write(8192);
        assertFalse(state.add(second), "an append waits for every older write");
        assertTrue(second.append);
        assertEquals(2, state.flagQueries(), "asked again once after the idle point, not per write");
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
        assertEquals(2, state.flagQueries(), "an error answer is asked again, never kept for the run");
    }

    @Test
    void throughTheFacade_oAppendSetWhileIdle_appends_andClearedWhileIdle_writesAtTheOffset() throws Exception {
        Path file = dir.resolve("toggled");
        fd = open("toggled", 0);
        submitAndWait(bytes("AAAA"), 0);
        assertEquals(0, Libc.fcntl(fd, Libc.F_SETFL, Fcntl.O_APPEND));
        submitAndWait(bytes("BBBB"), 0); // appended: the kernel ignores the offset of an O_APPEND write
        submitAndWait(bytes("CCCC"), 0);
        assertEquals("AAAABBBBCCCC", Files.readString(file));
        assertEquals(0, Libc.fcntl(fd, Libc.F_SETFL, 0));
        submitAndWait(bytes("DD"), 2);
        assertEquals("AADDBBBBCCCC", Files.readString(file));
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

    private void submitAndWait(ByteBuffer data, long offset) {
        Aiocb cb = aiocb(fd, offset, data, data.remaining());
        assertEquals(0, ctx.aio_write(cb));
        awaitDone(ctx, cb);
        assertEquals(data.remaining(), ctx.aio_return(cb));
    }
}
