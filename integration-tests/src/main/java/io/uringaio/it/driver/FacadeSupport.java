package io.uringaio.it.driver;

import io.uringaio.posix.Aio;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;

import java.nio.ByteBuffer;

import static io.uringaio.it.driver.DriverSupport.line;

/** The scenarios' dealings with the POSIX facade's control blocks: build one, wait for it, check its result. */
final class FacadeSupport {
    private FacadeSupport() {
    }

    static Aiocb cb(int fd, long offset, ByteBuffer buf, int nbytes, int opcode) {
        Aiocb cb = new Aiocb();
        cb.aio_fildes = fd;
        cb.aio_offset = offset;
        cb.aio_buf = buf;
        cb.aio_nbytes = nbytes;
        cb.aio_lio_opcode = opcode;
        return cb;
    }

    /** Waits with {@code aio_suspend} until {@code aio_error} is no longer EINPROGRESS. */
    static void waitFor(Aiocb cb) {
        while (Aio.aio_error(cb) == Errno.EINPROGRESS) {
            Aio.aio_suspend(new Aiocb[] {cb}, 1, null);
        }
    }

    /** {@link #waitFor(Aiocb)} on an explicit context. */
    static void waitFor(AioContext context, Aiocb cb) {
        while (context.aio_error(cb) == Errno.EINPROGRESS) {
            context.aio_suspend(new Aiocb[] {cb}, 1, null);
        }
    }

    /** {@link #expect(Aiocb, long, String)} on an explicit context. */
    static void expect(AioContext context, Aiocb cb, long nbytes, String name) {
        int err = context.aio_error(cb);
        long ret = context.aio_return(cb);
        if (err != 0 || ret != nbytes) {
            throw new CheckFailed(name + ": aio_error " + err + ", aio_return " + ret + " (expected " + nbytes + ")");
        }
        line("CHECK " + name + " ok " + nbytes);
    }

    /** Fails the check {@code name} unless {@code cb} completed with {@code aio_error} 0 and {@code nbytes}. */
    static void expect(Aiocb cb, long nbytes, String name) {
        int err = Aio.aio_error(cb);
        long ret = Aio.aio_return(cb);
        if (err != 0 || ret != nbytes) {
            throw new CheckFailed(name + ": aio_error " + err + ", aio_return " + ret + " (expected " + nbytes + ")");
        }
    }

    /** {@link #expect} for every entry, each its whole {@code aio_nbytes}, then one {@code CHECK name-results} line. */
    static void expectAll(Aiocb[] list, String name) {
        for (Aiocb cb : list) {
            expect(cb, cb.aio_nbytes, name);
        }
        line("CHECK " + name + "-results ok every aio_error 0, aio_return " + list[0].aio_nbytes);
    }
}
