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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.errnoName;
import static io.uringaio.it.driver.DriverSupport.fill;
import static io.uringaio.it.driver.DriverSupport.join;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.DriverSupport.readAll;
import static io.uringaio.it.driver.FacadeSupport.cb;
import static io.uringaio.it.driver.FacadeSupport.expect;
import static io.uringaio.it.driver.FacadeSupport.waitFor;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * On a read-only mount: reads work through the engine and the facade; writes fail with the errno a plain syscall gets
 * from the kernel for the same thing (EROFS to open for writing or create, EBADF to write on a descriptor opened
 * read-only). {@link #prepare} writes the file this expects, on the host, before the directory is mounted read-only.
 */
public final class RofsScenario {
    static final int BYTES = 1 << 20;
    static final long SEED = 0x5EED_0004L;

    private final Path dir;
    private final Path path;
    /** What {@link #prepare} wrote. */
    private final byte[] image = new byte[BYTES];
    /** A descriptor opened read-only, for the plain {@code pwrite} and the facade. */
    private int roFd;
    /** The kernel's errnos, which the engine and the facade must report: open for writing, create, write on roFd. */
    private int kernelOpenRw;
    private int kernelCreate;
    private int kernelWriteRo;

    private RofsScenario(Path dir) {
        this.dir = dir;
        this.path = dir.resolve("ro.dat");
        fill(image, SEED, 0, 0, BYTES);
    }

    /**
     * Writes the file that the scenario expects into {@code dir}, creating the directory if needed.
     *
     * @return its size
     */
    public static int prepare(Path dir) throws IOException {
        byte[] image = new byte[BYTES];
        fill(image, SEED, 0, 0, BYTES);
        Files.createDirectories(dir);
        Files.write(dir.resolve("ro.dat"), image);
        return BYTES;
    }

    static void run(Path dir) throws IOException {
        new RofsScenario(dir).run();
    }

    private void run() throws IOException {
        askTheKernel();
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            engineOnTheReadOnlyFile(engine);
            engineOpensForWriting(engine);
        }
        backend(Aio.context());
        facadeReads();
        facadeWriteFails();
        facadeListFailsTheWriteOnly();
        check(Unistd.close(roFd) == 0, "rofs-close", "fd " + roFd);
        Aio.context().close();
        line("RESULT rofs open-rw=" + errnoName(kernelOpenRw) + " create=" + errnoName(kernelCreate) + " write-ro-fd="
                + errnoName(kernelWriteRo));
    }

    /** What the kernel says, through plain libc calls; opens {@link #roFd}. */
    private void askTheKernel() {
        kernelOpenRw = errnoOf(Fcntl.open(path.toString(), Fcntl.O_RDWR, 0));
        kernelCreate = errnoOf(Fcntl.open(dir.resolve("new.dat").toString(), Fcntl.O_WRONLY | Fcntl.O_CREAT, 0644));
        roFd = Fcntl.open(path.toString(), Fcntl.O_RDONLY, 0);
        check(roFd >= 0, "rofs-open-ro", "fd " + roFd);
        long pw = Unistd.pwrite(roFd, ByteBuffer.allocateDirect(16), 16, 0);
        kernelWriteRo = pw < 0 ? Aio.errno() : 0;
        line("KERNEL open-rw " + errnoName(kernelOpenRw) + " create " + errnoName(kernelCreate) + " pwrite-on-ro-fd "
                + errnoName(kernelWriteRo));
        check(kernelOpenRw != 0 && kernelCreate != 0 && kernelWriteRo != 0, "rofs-kernel-refuses",
                "the mount is read-only");
    }

    /** The errno of a plain {@code open} that returned {@code res}, 0 (and the descriptor closed) if it succeeded. */
    private static int errnoOf(int res) {
        if (res >= 0) {
            Unistd.close(res);
            return 0;
        }
        return Aio.errno();
    }

    private void engineOnTheReadOnlyFile(RingEngine engine) throws IOException {
        AsyncFile file = join(engine.open(path, READ));
        byte[] back = readAll(file, 0, BYTES, 128 << 10);
        check(Arrays.equals(back, image), "rofs-engine-read", BYTES + " bytes");
        sameAsKernel("rofs-engine-write-on-ro-file", "rofs-engine-write-errno",
                engineErrno(() -> file.write(ByteBuffer.allocateDirect(16), 0)), kernelWriteRo);
        sameAsKernel("rofs-engine-durable-on-ro-file", "rofs-engine-durable-errno",
                engineErrno(() -> file.writeDurable(ByteBuffer.allocateDirect(16), 0)), kernelWriteRo);
        file.close();
    }

    private void engineOpensForWriting(RingEngine engine) throws IOException {
        sameAsKernel("rofs-engine-open-rw", "rofs-engine-open-rw-errno",
                engineErrno(() -> engine.open(path, READ, WRITE)), kernelOpenRw);
        sameAsKernel("rofs-engine-create", "rofs-engine-create-errno",
                engineErrno(() -> engine.open(dir.resolve("new.dat"), WRITE, CREATE)), kernelCreate);
    }

    /** Prints {@code ERRNO what errno NAME} and checks that the engine's errno is the kernel's. */
    private static void sameAsKernel(String what, String checkName, int errno, int kernelErrno) {
        line("ERRNO " + what + " " + errno + " " + errnoName(errno));
        check(errno == kernelErrno, checkName, errnoName(errno) + " as the kernel");
    }

    /** An engine operation, started when asked. */
    private interface Op {
        CompletableFuture<?> start();
    }

    /** The errno of the {@link UringIOException} the operation fails with, 0 if it succeeds. */
    private static int engineErrno(Op op) throws IOException {
        try {
            Object r = join(op.start());
            if (r instanceof AsyncFile f) {
                f.close();
            }
            return 0;
        } catch (UringIOException e) {
            return e.errno();
        }
    }

    private void facadeReads() {
        Aiocb read = cb(roFd, 0, ByteBuffer.allocateDirect(BYTES), BYTES, Aio.LIO_READ);
        check(Aio.aio_read(read) == 0, "rofs-facade-read-queued", "aio_read 0");
        waitFor(read);
        expect(read, BYTES, "rofs-facade-read");
        byte[] got = new byte[BYTES];
        read.aio_buf.get(0, got);
        check(Arrays.equals(got, image), "rofs-facade-read-data", BYTES + " bytes");
    }

    private void facadeWriteFails() {
        Aiocb write = cb(roFd, 0, ByteBuffer.allocateDirect(16), 16, Aio.LIO_WRITE);
        check(Aio.aio_write(write) == 0, "rofs-facade-write-queued", "errno reported by aio_error");
        waitFor(write);
        int err = Aio.aio_error(write);
        long ret = Aio.aio_return(write);
        line("ERRNO rofs-facade-write " + err + " " + errnoName(err) + " aio_return " + ret);
        check(err == kernelWriteRo && ret == -1, "rofs-facade-write-errno", errnoName(err) + " as the kernel");
    }

    /** A read and a write in one {@code lio_listio(LIO_WAIT)}: -1/EIO, the read done, the write with the errno. */
    private void facadeListFailsTheWriteOnly() {
        Aiocb[] list = {cb(roFd, 0, ByteBuffer.allocateDirect(4096), 4096, Aio.LIO_READ),
                cb(roFd, 4096, ByteBuffer.allocateDirect(4096), 4096, Aio.LIO_WRITE)};
        int lio = Aio.lio_listio(Aio.LIO_WAIT, list, 2, null);
        int lioErrno = Aio.errno();
        int e0 = Aio.aio_error(list[0]);
        int e1 = Aio.aio_error(list[1]);
        line("ERRNO rofs-facade-lio " + lio + "/" + errnoName(lioErrno) + " read " + errnoName(e0) + " write "
                + errnoName(e1));
        check(lio == -1 && lioErrno == Errno.EIO && e0 == 0 && e1 == kernelWriteRo, "rofs-facade-lio",
                "-1/EIO, the read done, the write " + errnoName(e1));
        Aio.aio_return(list[0]);
        Aio.aio_return(list[1]);
    }
}
