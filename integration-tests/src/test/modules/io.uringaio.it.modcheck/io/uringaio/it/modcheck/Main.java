package io.uringaio.it.modcheck;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;
import io.uringaio.storage.AppendLog;
import io.uringaio.storage.AppendLogConfig;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the libraries from the module path: the engine writes and reads a file, the POSIX facade reads it with
 * {@code aio_read}, the storage log appends a durable record, the nio module reads through a {@code FileChannel}.
 * Prints one line per step, {@code MODULE <name> <descriptor>} for each library module it loaded, and {@code OK} at
 * the end; any failure is an exception (exit status 1). {@code args[0]} is a scratch directory.
 */
public final class Main {
    private static final byte[] DATA = "uring-aio on the module path\n".getBytes(StandardCharsets.US_ASCII);

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path file = dir.resolve("data.bin");
        for (Class<?> c : List.of(RingEngine.class, AioContext.class, AppendLog.class,
                io.uringaio.nio.UringFiles.class)) {
            Module m = c.getModule();
            System.out.println("MODULE " + m.getName() + " " + (m.isNamed() ? m.getDescriptor().toNameAndVersion()
                    : "unnamed"));
        }
        System.out.println("INTERNAL-EXPORTED-TO-US " + RingEngine.class.getModule()
                .isExported("io.uringaio.engine.internal.sys", Main.class.getModule()));

        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1))) {
            System.out.println("BACKEND " + engine.backend() + " " + engine.backendReason());
            try (AsyncFile f = AsyncFile.open(engine, file, READ, WRITE, CREATE).join()) {
                ByteBuffer src = ByteBuffer.allocateDirect(DATA.length).put(DATA).flip();
                check(f.writeDurable(src, 0).join() == DATA.length, "engine write");
                ByteBuffer dst = ByteBuffer.allocateDirect(DATA.length);
                check(f.read(dst, 0).join() == DATA.length && same(dst.flip()), "engine read");
            }
            System.out.println("ENGINE read back " + DATA.length + " bytes");

            AppendLogConfig small = new AppendLogConfig().segmentBytes(1 << 20);
            try (AppendLog log = AppendLog.open(engine, dir.resolve("log"), small)) {
                long position = log.append(ByteBuffer.wrap(DATA)).join();
                List<Long> seen = new ArrayList<>();
                log.read(0, (pos, payload) -> seen.add(pos) && same(payload));
                check(seen.equals(List.of(position)), "log read " + seen);
            }
            System.out.println("STORAGE appended and read one durable record");
        }

        try (AioContext aio = new AioContext()) {
            int fd = Fcntl.open(file.toString(), Fcntl.O_RDONLY, 0);
            check(fd >= 0, "open: errno " + aio.errno());
            Aiocb cb = new Aiocb();
            cb.aio_fildes = fd;
            cb.aio_buf = ByteBuffer.allocateDirect(DATA.length);
            cb.aio_nbytes = DATA.length;
            check(aio.aio_read(cb) == 0, "aio_read: errno " + aio.errno());
            check(aio.aio_suspend(new Aiocb[] {cb}, 1, null) == 0, "aio_suspend: errno " + aio.errno());
            check(aio.aio_error(cb) == 0 && aio.aio_return(cb) == DATA.length, "aio_read result");
            check(same(cb.aio_buf.clear().limit(DATA.length)), "aio_read bytes");
            Unistd.close(fd);
            System.out.println("POSIX aio_read " + DATA.length + " bytes on " + aio.backend());
        }

        try (FileChannel ch = io.uringaio.nio.UringFiles.newFileChannel(file, READ)) {
            ByteBuffer dst = ByteBuffer.allocate(DATA.length);
            check(ch.read(dst) == DATA.length && same(dst.flip()), "nio read");
            System.out.println("NIO " + ch.getClass().getSimpleName() + " read " + DATA.length + " bytes on "
                    + io.uringaio.nio.UringFiles.backend());
        }
        check(Files.size(file) == DATA.length, "file size");
        System.out.println("OK " + (Backend.IO_URING == io.uringaio.nio.UringFiles.backend() ? "io_uring" : "pool"));
    }

    private static boolean same(ByteBuffer b) {
        byte[] got = new byte[b.remaining()];
        b.duplicate().get(got);
        return java.util.Arrays.equals(got, DATA);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what + " failed");
        }
    }
}
