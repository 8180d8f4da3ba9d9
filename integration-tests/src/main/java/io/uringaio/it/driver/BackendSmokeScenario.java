package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.join;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.DriverSupport.patternBytes;
import static io.uringaio.it.driver.FacadeSupport.cb;
import static io.uringaio.it.driver.FacadeSupport.expect;
import static io.uringaio.it.driver.FacadeSupport.waitFor;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * A short check of whatever backend AUTO picks here, for the seccomp profiles that refuse only part of io_uring: an
 * engine with a caller ring (AUTO) writes, syncs and reads back a file; a facade context (caller rings on, its
 * default) does the same with {@code aio_write}/{@code aio_fsync}/{@code aio_read}; an engine that asks for
 * {@code IO_URING} explicitly either runs or is refused with an {@link UnsupportedOperationException} naming the
 * reason ({@code REFUSED io_uring ...}). Prints {@code BACKEND} lines, {@code CALLER-RINGS n} and {@code CPUS} (the
 * processors the JVM sees, the engine's rings, the default pool size).
 */
final class BackendSmokeScenario {
    private static final long SEED = 0x5EED_0007L;
    private static final int SIZE = 256 << 10;

    private BackendSmokeScenario() {
    }

    static void run(Path dir) throws IOException {
        ByteBuffer data = ByteBuffer.allocateDirect(SIZE).put(patternBytes(SEED, 0, 0, SIZE)).flip();
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().callerRings(1))) {
            backend(engine);
            line("CALLER-RINGS " + engine.callerRingCount());
            line("CPUS available=" + Runtime.getRuntime().availableProcessors() + " rings=" + engine.ringCount()
                    + " pool=" + new RingEngineConfig().poolThreads());
            AsyncFile file = join(engine.open(dir.resolve("smoke-engine.dat"), READ, WRITE, CREATE));
            check(join(file.write(data.duplicate(), 0)) == SIZE, "smoke-engine-write", SIZE + " bytes");
            join(file.fsync());
            ByteBuffer back = ByteBuffer.allocateDirect(SIZE);
            check(join(file.read(back, 0)) == SIZE && back.flip().equals(data), "smoke-engine-read",
                    SIZE + " bytes intact");
            file.close();
        }
        facade(dir, data);
        try (RingEngine asked = RingEngine.open(new RingEngineConfig().backend(Backend.IO_URING))) {
            backend(asked);
        } catch (UnsupportedOperationException e) {
            line("REFUSED io_uring " + e.getMessage());
        }
    }

    private static void facade(Path dir, ByteBuffer data) {
        try (AioContext context = new AioContext()) {
            int fd = Fcntl.open(dir.resolve("smoke-facade.dat").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
            check(fd >= 0, "smoke-facade-open", "fd " + fd);
            Aiocb w = cb(fd, 0, data.duplicate(), SIZE, 0);
            check(context.aio_write(w) == 0, "smoke-facade-aio_write", "queued");
            waitFor(context, w);
            expect(context, w, SIZE, "smoke-facade-write");
            Aiocb sync = cb(fd, 0, null, 0, 0);
            check(context.aio_fsync(Fcntl.O_SYNC, sync) == 0, "smoke-facade-aio_fsync", "queued");
            waitFor(context, sync);
            expect(context, sync, 0, "smoke-facade-fsync");
            Aiocb r = cb(fd, 0, ByteBuffer.allocateDirect(SIZE), SIZE, 0);
            check(context.aio_read(r) == 0, "smoke-facade-aio_read", "queued");
            waitFor(context, r);
            expect(context, r, SIZE, "smoke-facade-read");
            check(r.aio_buf.equals(data), "smoke-facade-read-data", SIZE + " bytes intact");
            backend(context);
            Unistd.close(fd);
        }
    }
}
