package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.posix.Aio;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.errnoName;
import static io.uringaio.it.driver.DriverSupport.firstDifference;
import static io.uringaio.it.driver.DriverSupport.join;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.DriverSupport.pattern;
import static io.uringaio.it.driver.DriverSupport.patternBytes;
import static io.uringaio.it.driver.DriverSupport.readAll;
import static io.uringaio.it.driver.DriverSupport.require;
import static io.uringaio.it.driver.FacadeSupport.cb;
import static io.uringaio.it.driver.FacadeSupport.expect;
import static io.uringaio.it.driver.FacadeSupport.waitFor;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * On a small tmpfs: the facade fills one file with {@code aio_write}s until {@code aio_error} says ENOSPC and reads
 * everything back; then, with that file removed, the engine fills another until its write fails with a
 * {@link UringIOException} carrying ENOSPC, and reads everything back. The space is reported first.
 */
final class EnospcScenario {
    /** Not a divisor of the space: the last write that fits is short. */
    private static final int CHUNK = 1_000_000;
    /** A bound on the writes, should the file system never fill. */
    private static final int MAX_WRITES = 1000;
    private static final long SEED = 0x5EED_0003L;
    /** The content generations of the facade's file and the engine's. */
    private static final long FACADE_GEN = 0;
    private static final long ENGINE_GEN = 1;
    private static final int VERIFY_CHUNK = 1 << 20;

    private EnospcScenario() {
    }

    static void run(Path dir) throws IOException {
        FileStore store = Files.getFileStore(dir);
        line("SPACE total=" + store.getTotalSpace() + " usable=" + store.getUsableSpace());
        long facadeBytes = facadeFillsTheDisk(dir);
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            long engineBytes = engineFillsTheDisk(engine, dir.resolve("engine.dat"));
            line("RESULT enospc facade=" + facadeBytes + " engine=" + engineBytes);
        }
    }

    /** One chunk of a file's content from {@code offset}, ready to write. */
    private static ByteBuffer chunk(long gen, long offset) {
        return ByteBuffer.allocateDirect(CHUNK).put(patternBytes(SEED, gen, offset, CHUNK)).flip();
    }

    // ---------------------------------------------------------------- the facade

    /** How far a file got: the bytes written before the error, and the error. */
    private record Filled(long bytes, int errno) {
    }

    /** The facade's half: returns the bytes written before ENOSPC, all verified, the file removed again. */
    private static long facadeFillsTheDisk(Path dir) {
        String path = dir.resolve("facade.dat").toString();
        int fd = Fcntl.open(path, Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
        check(fd >= 0, "enospc-facade-open", "fd " + fd);
        backend(Aio.context());
        Filled filled = aioWriteUntilError(fd);
        line("ERRNO enospc-facade " + filled.errno() + " " + errnoName(filled.errno()) + " after " + filled.bytes()
                + " bytes");
        check(filled.errno() == Errno.ENOSPC, "enospc-facade-errno", "aio_error = ENOSPC");
        check(filled.bytes() > 0, "enospc-facade-written", filled.bytes() + " bytes before ENOSPC");
        verifyWithAioRead(fd, filled.bytes(), "enospc-facade-verify");
        check(Unistd.close(fd) == 0, "enospc-facade-close", "fd " + fd);
        check(Unistd.unlink(path) == 0, "enospc-facade-unlink", path);
        Aio.context().close();
        return filled.bytes();
    }

    /** Appends chunks with {@code aio_write}, one at a time, until {@code aio_error} reports an error. */
    private static Filled aioWriteUntilError(int fd) {
        long written = 0;
        int error = 0;
        for (int i = 0; i < MAX_WRITES && error == 0; i++) {
            Aiocb cb = cb(fd, written, chunk(FACADE_GEN, written), CHUNK, Aio.LIO_WRITE);
            require(Aio.aio_write(cb) == 0, "enospc-facade-queued", "errno " + Aio.errno());
            waitFor(cb);
            error = Aio.aio_error(cb);
            long ret = Aio.aio_return(cb);
            if (error == 0) {
                if (ret < CHUNK) {
                    line("SHORT enospc-facade " + ret + " of " + CHUNK + " at " + written);
                }
                written += ret; // a short write at the edge: the next one fails
            } else {
                check(ret == -1, "enospc-facade-return", "aio_return " + ret);
            }
        }
        return new Filled(written, error);
    }

    /** Reads {@code length} bytes back with {@code aio_read}, a chunk at a time, each checked against the content. */
    private static void verifyWithAioRead(int fd, long length, String name) {
        for (long off = 0; off < length; off += VERIFY_CHUNK) {
            int len = (int) Math.min(VERIFY_CHUNK, length - off);
            Aiocb cb = cb(fd, off, ByteBuffer.allocateDirect(len), len, Aio.LIO_READ);
            require(Aio.aio_read(cb) == 0, name, "aio_read queued");
            waitFor(cb);
            expect(cb, len, name);
            for (int i = 0; i < len; i++) {
                if (cb.aio_buf.get(i) != pattern(SEED, FACADE_GEN, off + i)) {
                    throw new CheckFailed(name + ": differs at " + (off + i));
                }
            }
        }
        line("CHECK " + name + " ok " + length + " bytes intact");
    }

    // ---------------------------------------------------------------- the engine

    /** The engine's half: returns the bytes written before ENOSPC, all verified. */
    private static long engineFillsTheDisk(RingEngine engine, Path path) throws IOException {
        AsyncFile file = join(engine.open(path, READ, WRITE, CREATE, TRUNCATE_EXISTING));
        long written = writeUntilFailure(file);
        durableWriteFailsToo(file, written);
        check(join(file.size()) == written, "enospc-engine-size", written + " bytes");
        byte[] back = readAll(file, 0, (int) written, VERIFY_CHUNK);
        int diff = firstDifference(back, patternBytes(SEED, ENGINE_GEN, 0, (int) written), (int) written);
        if (diff >= 0) {
            throw new CheckFailed("enospc-engine-verify: differs at " + diff);
        }
        line("CHECK enospc-engine-verify ok " + written + " bytes intact");
        file.close();
        return written;
    }

    /** Appends chunks until a write fails; checks that it fails with ENOSPC and returns the bytes written before. */
    private static long writeUntilFailure(AsyncFile file) throws IOException {
        long written = 0;
        UringIOException failure = null;
        for (int i = 0; i < MAX_WRITES && failure == null; i++) {
            try {
                int n = join(file.write(chunk(ENGINE_GEN, written), written));
                if (n < CHUNK) {
                    line("SHORT enospc-engine " + n + " of " + CHUNK + " at " + written);
                }
                written += n;
            } catch (UringIOException e) {
                failure = e;
            }
        }
        check(failure != null, "enospc-engine-failed", "a write failed after " + written + " bytes");
        line("ERRNO enospc-engine " + failure.errno() + " " + failure.errnoName() + " " + failure.getMessage());
        check(failure.errno() == Errno.ENOSPC, "enospc-engine-errno", "UringIOException.errno() = ENOSPC");
        return written;
    }

    /** A durable write past the space fails the same way. */
    private static void durableWriteFailsToo(AsyncFile file, long written) throws IOException {
        try {
            join(file.writeDurable(chunk(ENGINE_GEN, written), written));
            throw new CheckFailed("enospc-engine-durable: a durable write past the space succeeded");
        } catch (UringIOException e) {
            line("ERRNO enospc-engine-durable " + e.errno() + " " + e.errnoName() + " " + e.getMessage());
            check(e.errno() == Errno.ENOSPC, "enospc-engine-durable-errno", "ENOSPC");
        }
    }
}
