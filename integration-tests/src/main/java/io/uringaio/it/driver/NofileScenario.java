package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.posix.Aio;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.errnoName;
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
 * Under a low {@code --ulimit nofile}: the driver opens {@code /dev/null} until {@code open} fails with EMFILE, so that
 * the descriptor table is full. Then: the engine's open of a file fails with a {@link UringIOException} EMFILE naming
 * the file, the facade's {@code open} returns -1 with EMFILE, a new engine opens (on some backend) or refuses with a
 * typed exception, and the bystanders (a file and a descriptor opened before) still read and write. After the
 * descriptors are released, everything opens again.
 */
final class NofileScenario {
    private static final long SEED = 0x5EED_0008L;
    private static final int SIZE = 64 << 10;
    private static final long WAIT_SECONDS = 10;

    private NofileScenario() {
    }

    static void run(Path dir) throws Exception {
        ByteBuffer data = ByteBuffer.allocateDirect(SIZE).put(patternBytes(SEED, 0, 0, SIZE)).flip();
        RingEngine engine = RingEngine.open();
        backend(engine);
        AsyncFile bystander = join(engine.open(dir.resolve("bystander.dat"), READ, WRITE, CREATE));
        AioContext context = new AioContext();
        int fd = Fcntl.open(dir.resolve("facade.dat").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
        check(fd >= 0, "nofile-facade-open-before", "fd " + fd);
        facadeWrite(context, fd, data, "nofile-facade-before"); // starts the context's engine

        List<Integer> ballast = exhaust();
        line("NOFILE ballast=" + ballast.size() + " descriptors opened before EMFILE");

        Path path = dir.resolve("nofile.dat");
        CompletableFuture<AsyncFile> refused = engine.open(path, READ, WRITE, CREATE);
        try {
            refused.get(WAIT_SECONDS, TimeUnit.SECONDS).close();
            throw new CheckFailed("nofile-engine-open: opened with no descriptor free");
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof UringIOException u)) {
                throw new CheckFailed("nofile-engine-open: failed with " + e.getCause());
            }
            line("ERRNO nofile-engine-open " + u.errnoName() + " " + u.getMessage());
            check(u.errno() == Errno.EMFILE && u.getMessage().contains(path.toString()), "nofile-engine-open-errno",
                    "EMFILE naming the file");
        } catch (TimeoutException e) {
            throw new CheckFailed("nofile-engine-open: no completion within " + WAIT_SECONDS + " s");
        }
        int facadeFd = Fcntl.open(path.toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
        line("ERRNO nofile-facade-open " + errnoName(facadeFd < 0 ? Aio.errno() : 0) + " open returned "
                + facadeFd);
        check(facadeFd == -1 && Aio.errno() == Errno.EMFILE, "nofile-facade-open-errno", "-1, EMFILE");

        exhaust(ballast);
        try (RingEngine fresh = RingEngine.open()) {
            backend(fresh);
        } catch (RuntimeException e) {
            line("REFUSED nofile-new-engine " + e);
        } catch (Error e) {
            throw new CheckFailed("nofile-new-engine: RingEngine.open threw " + e);
        }

        exhaust(ballast);
        check(join(bystander.write(data.duplicate(), 0)) == SIZE, "nofile-bystander-write", SIZE + " bytes");
        ByteBuffer back = ByteBuffer.allocateDirect(SIZE);
        check(join(bystander.read(back, 0)) == SIZE && back.flip().equals(data), "nofile-bystander-read",
                SIZE + " bytes intact");
        facadeWrite(context, fd, data, "nofile-facade-bystander");

        for (int b : ballast) {
            Unistd.close(b);
        }
        line("NOFILE released");
        AsyncFile file = join(engine.open(path, READ, WRITE, CREATE));
        check(join(file.write(data.duplicate(), 0)) == SIZE, "nofile-recovers-engine", "open and write");
        file.close();
        try (RingEngine fresh = RingEngine.open()) {
            backend(fresh);
        }
        facadeWrite(context, fd, data, "nofile-recovers-facade");
        bystander.close();
        engine.close();
        Unistd.close(fd);
        context.close();
        line("CHECK nofile-closed ok");
    }

    private static void facadeWrite(AioContext context, int fd, ByteBuffer data, String name) {
        Aiocb w = cb(fd, 0, data.duplicate(), SIZE, 0);
        check(context.aio_write(w) == 0, name + "-queued", "aio_write 0");
        waitFor(context, w);
        expect(context, w, SIZE, name);
    }

    /** Opens /dev/null until EMFILE; the descriptors, to close later. */
    private static List<Integer> exhaust() {
        List<Integer> fds = new ArrayList<>();
        exhaust(fds);
        return fds;
    }

    /** Takes the descriptors freed meanwhile too. */
    private static void exhaust(List<Integer> fds) {
        while (true) {
            int fd = Fcntl.open("/dev/null", Fcntl.O_RDONLY, 0);
            if (fd < 0) {
                check(Aio.errno() == Errno.EMFILE, "nofile-exhaust", "EMFILE");
                return;
            }
            fds.add(fd);
        }
    }
}
