package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.posix.Aio;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.zip.CRC32C;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * The program the integration tests run inside containers, on the host's JDK and the project's jars. Each subcommand
 * exercises the engine or the POSIX facade and reports on stdout, one fact a line:
 * <pre>
 * BACKEND IO_URING io_uring available and probe op succeeded
 * CHECK workload-verify ok 4194304 bytes
 * RESULT workload crc32c=1a2b3c4d bytes=4194304
 * ERRNO enospc-engine 28 ENOSPC write /full/engine.dat: ENOSPC (No space left on device)
 * ACK 17
 * DONE workload
 * </pre>
 * A failed check prints {@code FAIL ...} and exits with status 1; the host test reads the lines and the exit status.
 * The engine's backend follows {@code -Duringaio.backend} (AUTO when unset).
 */
public final class ContainerDriver {
    /** The workload's file size: a few MiB, small enough for every scenario to stay quick. */
    static final int WORKLOAD_BYTES = 4 << 20;
    static final long WORKLOAD_SEED = 0x5EED_0001L;
    /** One record of the durable stream; see {@link DurableRecord}. */
    static final int RECORD_BYTES = DurableRecord.SIZE;

    private static final PrintStream OUT = new PrintStream(new FileOutputStream(FileDescriptor.out), false,
            StandardCharsets.UTF_8);

    private ContainerDriver() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            usage();
            System.exit(2);
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            switch (command) {
                case "workload" -> workload(Path.of(arg(rest, 0, "DIR")));
                case "facade-lio" -> facadeLio(Path.of(arg(rest, 0, "DIR")));
                case "mixed" -> {
                    workload(Path.of(arg(rest, 0, "DIR")));
                    facadeLio(Path.of(arg(rest, 0, "DIR")));
                }
                case "enospc" -> enospc(Path.of(arg(rest, 0, "DIR")));
                case "rofs" -> rofs(Path.of(arg(rest, 0, "DIR")));
                case "rofs-prepare" -> {
                    int bytes = rofsPrepare(Path.of(arg(rest, 0, "DIR")));
                    line("RESULT rofs-prepare bytes=" + bytes);
                }
                case "durable-stream" -> durableStream(Path.of(arg(rest, 0, "FILE")),
                        Long.parseLong(arg(rest, 1, "RECORDS")), Integer.parseInt(arg(rest, 2, "INFLIGHT")));
                default -> {
                    usage();
                    System.exit(2);
                }
            }
        } catch (CheckFailed e) {
            line("FAIL " + e.getMessage());
            System.exit(1);
        } catch (Throwable t) {
            line("FAIL " + command + ": " + t);
            t.printStackTrace();
            System.exit(1);
        }
        line("DONE " + command);
        System.exit(0);
    }

    private static void usage() {
        System.err.println("""
                usage: ContainerDriver workload DIR | facade-lio DIR | mixed DIR (both) | enospc DIR | rofs DIR
                                     | rofs-prepare DIR
                                     | durable-stream FILE RECORDS INFLIGHT""");
    }

    private static String arg(String[] args, int i, String name) {
        if (i >= args.length) {
            throw new IllegalArgumentException("missing " + name);
        }
        return args[i];
    }

    // ---------------------------------------------------------------- output

    static synchronized void line(String s) {
        OUT.print(s);
        OUT.print('\n');
        OUT.flush();
    }

    static final class CheckFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CheckFailed(String message) {
            super(message);
        }
    }

    static void check(boolean ok, String name, String detail) {
        if (!ok) {
            throw new CheckFailed(name + ": " + detail);
        }
        line("CHECK " + name + " ok " + detail);
    }

    static void backend(RingEngine engine) {
        line("BACKEND " + engine.backend() + " " + engine.backendReason());
    }

    // ---------------------------------------------------------------- data

    /** The deterministic content of byte {@code offset} of a file written in generation {@code gen}. */
    static byte pattern(long seed, long gen, long offset) {
        long x = seed ^ (gen * 0x9E3779B97F4A7C15L) ^ (offset / 8) * 0xC2B2AE3D27D4EB4FL;
        x ^= x >>> 29;
        x *= 0xBF58476D1CE4E5B9L;
        x ^= x >>> 32;
        return (byte) (x >>> ((offset & 7) * 8));
    }

    static void fill(byte[] image, long seed, long gen, int offset, int length) {
        for (int i = 0; i < length; i++) {
            image[offset + i] = pattern(seed, gen, offset + i);
        }
    }

    static ByteBuffer direct(byte[] image, int offset, int length) {
        ByteBuffer b = ByteBuffer.allocateDirect(length);
        b.put(image, offset, length).flip();
        return b;
    }

    static long crc32c(byte[] data, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, 0, length);
        return crc.getValue();
    }

    static <T> T join(CompletableFuture<T> future) throws IOException {
        try {
            return future.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException("timed out after 60 s", e);
        }
    }

    /** Reads the whole file through plain Java I/O: a second opinion on what the engine wrote. */
    static byte[] readPlain(Path file) throws IOException {
        return Files.readAllBytes(file);
    }

    /** Reads {@code length} bytes from {@code position} through the engine, in chunks, all of them. */
    static byte[] readAll(AsyncFile file, long position, int length, int chunk) throws IOException {
        byte[] out = new byte[length];
        List<CompletableFuture<Integer>> reads = new ArrayList<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int off = 0; off < length; off += chunk) {
            ByteBuffer b = ByteBuffer.allocateDirect(Math.min(chunk, length - off));
            buffers.add(b);
            reads.add(file.read(b, position + off));
        }
        int off = 0;
        for (int i = 0; i < reads.size(); i++) {
            int n = join(reads.get(i));
            ByteBuffer b = buffers.get(i);
            if (n != b.capacity()) {
                throw new CheckFailed("short read at " + (position + off) + ": " + n + " of " + b.capacity());
            }
            b.flip().get(out, off, n);
            off += n;
        }
        return out;
    }

    static int firstDifference(byte[] a, byte[] b, int length) {
        for (int i = 0; i < length; i++) {
            if (a[i] != b[i]) {
                return i;
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- workload

    /**
     * The mixed workload: the whole file written in shuffled 64 KiB blocks at queue depth 32, fsync; then 64 rounds of
     * 32 concurrent operations each (reads checked against the expected image, writes to disjoint regions, durable
     * writes, a writev and a readv), fdatasync every 8 rounds; then every byte read back through the engine and through
     * plain Java I/O. Deterministic: the same final CRC32C on every backend.
     */
    static void workload(Path dir) throws IOException {
        Path path = dir.resolve("workload.dat");
        Random random = new Random(WORKLOAD_SEED);
        byte[] image = new byte[WORKLOAD_BYTES];
        long started = System.nanoTime();
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile file = join(engine.open(path, READ, WRITE, CREATE, TRUNCATE_EXISTING));
            // Phase 1: sequential content, written in shuffled order with 32 in flight.
            int block = 64 << 10;
            int blocks = WORKLOAD_BYTES / block;
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < blocks; i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, random);
            fill(image, WORKLOAD_SEED, 0, 0, WORKLOAD_BYTES);
            Semaphore window = new Semaphore(32);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<CompletableFuture<Integer>> all = new ArrayList<>();
            for (int b : order) {
                window.acquireUninterruptibly();
                int off = b * block;
                CompletableFuture<Integer> w = file.write(direct(image, off, block), off);
                w.whenComplete((n, t) -> {
                    if (t != null) {
                        failure.compareAndSet(null, t);
                    } else if (n != block) {
                        failure.compareAndSet(null, new IOException("short write " + n + " at " + off));
                    }
                    window.release();
                });
                all.add(w);
            }
            for (CompletableFuture<Integer> w : all) {
                join(w.exceptionally(t -> -1));
            }
            if (failure.get() != null) {
                throw new IOException("phase 1 write failed", failure.get());
            }
            join(file.fsync());
            check(join(file.size()) == WORKLOAD_BYTES, "workload-size", WORKLOAD_BYTES + " bytes after phase 1");

            // Phase 2: rounds of mixed operations on disjoint regions.
            int reads = 0;
            int writes = 0;
            int durable = 0;
            for (int round = 1; round <= 64; round++) {
                List<Runnable> afterRound = new ArrayList<>();
                List<CompletableFuture<?>> ops = new ArrayList<>();
                boolean[] taken = new boolean[WORKLOAD_BYTES / 4096];
                for (int k = 0; k < 32; k++) {
                    int pages = 1 + random.nextInt(4);
                    int page = random.nextInt(taken.length - pages);
                    boolean free = true;
                    for (int p = page; p < page + pages; p++) {
                        free &= !taken[p];
                    }
                    if (!free) {
                        continue;
                    }
                    for (int p = page; p < page + pages; p++) {
                        taken[p] = true;
                    }
                    // an unaligned start and length inside the pages
                    int off = page * 4096 + random.nextInt(512);
                    int len = pages * 4096 - (off - page * 4096) - random.nextInt(512);
                    int kind = random.nextInt(10);
                    if (kind < 6) {
                        ByteBuffer dst = ByteBuffer.allocateDirect(len);
                        byte[] expected = Arrays.copyOfRange(image, off, off + len);
                        ops.add(file.read(dst, off).thenAccept(n -> {
                            byte[] got = new byte[n];
                            dst.flip().get(got);
                            if (n != len || !Arrays.equals(got, expected)) {
                                throw new CompletionException(new IOException("read mismatch at " + off + " len " + len
                                        + " (got " + n + ")"));
                            }
                        }));
                        reads++;
                    } else {
                        long gen = round * 100L + k;
                        byte[] data = new byte[len];
                        for (int i = 0; i < len; i++) {
                            data[i] = pattern(WORKLOAD_SEED, gen, off + i);
                        }
                        ByteBuffer src = ByteBuffer.allocateDirect(len).put(data).flip();
                        CompletableFuture<Integer> w = kind < 9 ? file.write(src, off) : file.writeDurable(src, off);
                        if (kind < 9) {
                            writes++;
                        } else {
                            durable++;
                        }
                        ops.add(w.thenAccept(n -> {
                            if (n != len) {
                                throw new CompletionException(new IOException("short write " + n + " of " + len));
                            }
                        }));
                        afterRound.add(() -> System.arraycopy(data, 0, image, off, len));
                    }
                }
                for (CompletableFuture<?> op : ops) {
                    join(op);
                }
                afterRound.forEach(Runnable::run);
                if (round % 8 == 0) {
                    join(file.fdatasync());
                }
            }
            // writev and readv: three buffers at a fixed region.
            int vOff = 1 << 20;
            ByteBuffer[] srcs = new ByteBuffer[3];
            int vLen = 0;
            for (int i = 0; i < srcs.length; i++) {
                int len = 1000 + 3000 * i;
                byte[] data = new byte[len];
                for (int j = 0; j < len; j++) {
                    data[j] = pattern(WORKLOAD_SEED, 9999, vOff + vLen + j);
                }
                System.arraycopy(data, 0, image, vOff + vLen, len);
                srcs[i] = ByteBuffer.allocateDirect(len).put(data).flip();
                vLen += len;
            }
            check(join(file.writev(srcs, vOff)) == vLen, "workload-writev", vLen + " bytes");
            ByteBuffer[] dsts = {ByteBuffer.allocateDirect(4096), ByteBuffer.allocateDirect(vLen - 4096)};
            check(join(file.readv(dsts, vOff)) == vLen, "workload-readv", vLen + " bytes");
            byte[] back = new byte[vLen];
            dsts[0].flip().get(back, 0, 4096);
            dsts[1].flip().get(back, 4096, vLen - 4096);
            check(Arrays.equals(back, Arrays.copyOfRange(image, vOff, vOff + vLen)), "workload-readv-data",
                    "matches the writev");
            join(file.fsync());
            line("STATS workload reads=" + reads + " writes=" + writes + " durable=" + durable + " "
                    + engine.stats());
            file.close();

            // Phase 3: every byte, through a fresh read-only open of the engine and through plain Java I/O.
            AsyncFile ro = join(engine.open(path, READ));
            byte[] viaEngine = readAll(ro, 0, WORKLOAD_BYTES, 256 << 10);
            ro.close();
            int diff = firstDifference(viaEngine, image, WORKLOAD_BYTES);
            check(diff < 0, "workload-verify-engine", diff < 0 ? WORKLOAD_BYTES + " bytes" : "differs at " + diff);
        }
        byte[] plain = readPlain(path);
        check(plain.length == WORKLOAD_BYTES, "workload-verify-length", plain.length + " bytes");
        int diff = firstDifference(plain, image, WORKLOAD_BYTES);
        check(diff < 0, "workload-verify-plain", diff < 0 ? WORKLOAD_BYTES + " bytes" : "differs at " + diff);
        line(String.format("RESULT workload crc32c=%08x bytes=%d millis=%d", crc32c(image, WORKLOAD_BYTES),
                WORKLOAD_BYTES, (System.nanoTime() - started) / 1_000_000));
    }

    // ---------------------------------------------------------------- facade lio_listio

    /**
     * The facade: 64 writes of 32 KiB in one {@code lio_listio(LIO_WAIT)}, {@code aio_fsync}, 64 reads in one
     * {@code lio_listio}, then a mixed list (reads and writes of disjoint regions), each entry's {@code aio_error} and
     * {@code aio_return} checked, and the file compared byte for byte through {@code pread}.
     */
    static void facadeLio(Path dir) throws IOException {
        String path = dir.resolve("lio.dat").toString();
        int n = 64;
        int size = 32 << 10;
        int total = n * size;
        long seed = 0x5EED_0002L;
        byte[] image = new byte[total];
        fill(image, seed, 0, 0, total);
        int fd = Fcntl.open(path, Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
        check(fd >= 0, "lio-open", "fd " + fd + " errno " + Aio.errno());
        backend(Aio.context().engine());

        Aiocb[] list = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            list[i] = cb(fd, (long) i * size, direct(image, i * size, size), size, Aio.LIO_WRITE);
        }
        check(Aio.lio_listio(Aio.LIO_WAIT, list, n, null) == 0, "lio-write", n + " writes of " + size
                + " bytes (errno " + Aio.errno() + ")");
        expectAll(list, "lio-write");

        Aiocb sync = new Aiocb();
        sync.aio_fildes = fd;
        check(Aio.aio_fsync(Fcntl.O_SYNC, sync) == 0, "lio-fsync-queued", "errno " + Aio.errno());
        waitFor(sync);
        check(Aio.aio_error(sync) == 0 && Aio.aio_return(sync) == 0, "lio-fsync", "aio_error 0");

        Aiocb[] readList = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            readList[i] = cb(fd, (long) i * size, ByteBuffer.allocateDirect(size), size, Aio.LIO_READ);
        }
        check(Aio.lio_listio(Aio.LIO_WAIT, readList, n, null) == 0, "lio-read", n + " reads (errno " + Aio.errno()
                + ")");
        for (int i = 0; i < n; i++) {
            byte[] got = new byte[size];
            readList[i].aio_buf.get(0, got);
            if (!Arrays.equals(got, 0, size, image, i * size, (i + 1) * size)) {
                throw new CheckFailed("lio-read-data: entry " + i + " differs");
            }
        }
        expectAll(readList, "lio-read");
        line("CHECK lio-read-data ok " + total + " bytes");

        // A mixed list: even entries rewrite their block with a new generation, odd entries read theirs; plus NOPs.
        Aiocb[] mixed = new Aiocb[n + 2];
        for (int i = 0; i < n; i++) {
            if (i % 2 == 0) {
                fill(image, seed, 1, i * size, size);
                mixed[i] = cb(fd, (long) i * size, direct(image, i * size, size), size, Aio.LIO_WRITE);
            } else {
                mixed[i] = cb(fd, (long) i * size, ByteBuffer.allocateDirect(size), size, Aio.LIO_READ);
            }
        }
        mixed[n] = cb(fd, 0, ByteBuffer.allocateDirect(1), 1, Aio.LIO_NOP);
        mixed[n + 1] = null;
        check(Aio.lio_listio(Aio.LIO_WAIT, mixed, mixed.length, null) == 0, "lio-mixed",
                n + " entries, a NOP and a null (errno " + Aio.errno() + ")");
        for (int i = 0; i < n; i++) {
            expect(mixed[i], size, "lio-mixed");
            if (i % 2 == 1) {
                byte[] got = new byte[size];
                mixed[i].aio_buf.get(0, got);
                if (!Arrays.equals(got, 0, size, image, i * size, (i + 1) * size)) {
                    throw new CheckFailed("lio-mixed-data: entry " + i + " differs");
                }
            }
        }
        line("CHECK lio-mixed-data ok");

        // Every byte through plain pread.
        ByteBuffer all = ByteBuffer.allocateDirect(total);
        long got = Unistd.pread(fd, all, total, 0);
        check(got == total, "lio-pread", got + " bytes");
        byte[] bytes = new byte[total];
        all.get(0, bytes);
        int diff = firstDifference(bytes, image, total);
        check(diff < 0, "lio-verify", diff < 0 ? total + " bytes" : "differs at " + diff);
        check(Unistd.close(fd) == 0, "lio-close", "fd " + fd);
        line(String.format("RESULT facade-lio crc32c=%08x bytes=%d", crc32c(image, total), total));
        Aio.context().close();
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

    static void expectAll(Aiocb[] list, String name) {
        for (Aiocb cb : list) {
            expect(cb, cb.aio_nbytes, name);
        }
        line("CHECK " + name + "-results ok every aio_error 0, aio_return " + list[0].aio_nbytes);
    }

    static void expect(Aiocb cb, long nbytes, String name) {
        int err = Aio.aio_error(cb);
        long ret = Aio.aio_return(cb);
        if (err != 0 || ret != nbytes) {
            throw new CheckFailed(name + ": aio_error " + err + ", aio_return " + ret + " (expected " + nbytes + ")");
        }
    }

    static void waitFor(Aiocb cb) {
        while (Aio.aio_error(cb) == Errno.EINPROGRESS) {
            Aio.aio_suspend(new Aiocb[] {cb}, 1, null);
        }
    }

    // ---------------------------------------------------------------- ENOSPC

    /**
     * On a small tmpfs: the facade fills one file with {@code aio_write}s until {@code aio_error} says ENOSPC and
     * reads everything back; then, with that file removed, the engine fills another until its write fails with a
     * {@link UringIOException} carrying ENOSPC, and reads everything back. The space is reported first.
     */
    static void enospc(Path dir) throws IOException {
        java.nio.file.FileStore store = Files.getFileStore(dir);
        line("SPACE total=" + store.getTotalSpace() + " usable=" + store.getUsableSpace());
        int chunk = 1_000_000; // not a divisor of the space: the last write that fits is short
        long seed = 0x5EED_0003L;

        // The facade.
        String facadePath = dir.resolve("facade.dat").toString();
        int fd = Fcntl.open(facadePath, Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
        check(fd >= 0, "enospc-facade-open", "fd " + fd);
        backend(Aio.context().engine());
        long written = 0;
        int error = 0;
        byte[] data = new byte[chunk];
        for (int i = 0; i < 1000 && error == 0; i++) {
            for (int j = 0; j < chunk; j++) {
                data[j] = pattern(seed, 0, written + j);
            }
            Aiocb cb = cb(fd, written, ByteBuffer.allocateDirect(chunk).put(data).flip(), chunk, Aio.LIO_WRITE);
            check(Aio.aio_write(cb) == 0, "enospc-facade-queued", "errno " + Aio.errno(), true);
            waitFor(cb);
            error = Aio.aio_error(cb);
            long ret = Aio.aio_return(cb);
            if (error == 0) {
                if (ret < chunk) {
                    line("SHORT enospc-facade " + ret + " of " + chunk + " at " + written);
                }
                written += ret; // a short write at the edge: the next one fails
            } else {
                check(ret == -1, "enospc-facade-return", "aio_return " + ret);
            }
        }
        line("ERRNO enospc-facade " + error + " " + errnoName(error) + " after " + written + " bytes");
        check(error == Errno.ENOSPC, "enospc-facade-errno", "aio_error = ENOSPC");
        check(written > 0, "enospc-facade-written", written + " bytes before ENOSPC");
        verifyFacade(fd, written, seed, "enospc-facade-verify");
        check(Unistd.close(fd) == 0, "enospc-facade-close", "fd " + fd);
        check(Unistd.unlink(facadePath) == 0, "enospc-facade-unlink", facadePath);
        Aio.context().close();

        // The engine.
        Path enginePath = dir.resolve("engine.dat");
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile file = join(engine.open(enginePath, READ, WRITE, CREATE, TRUNCATE_EXISTING));
            long engineWritten = 0;
            UringIOException failure = null;
            for (int i = 0; i < 1000 && failure == null; i++) {
                for (int j = 0; j < chunk; j++) {
                    data[j] = pattern(seed, 1, engineWritten + j);
                }
                try {
                    int n = join(file.write(ByteBuffer.allocateDirect(chunk).put(data).flip(), engineWritten));
                    if (n < chunk) {
                        line("SHORT enospc-engine " + n + " of " + chunk + " at " + engineWritten);
                    }
                    engineWritten += n;
                } catch (UringIOException e) {
                    failure = e;
                }
            }
            check(failure != null, "enospc-engine-failed", "a write failed after " + engineWritten + " bytes");
            line("ERRNO enospc-engine " + failure.errno() + " " + failure.errnoName() + " " + failure.getMessage());
            check(failure.errno() == Errno.ENOSPC, "enospc-engine-errno", "UringIOException.errno() = ENOSPC");
            // A durable write past the space fails the same way.
            try {
                join(file.writeDurable(ByteBuffer.allocateDirect(chunk).put(data).flip(), engineWritten));
                throw new CheckFailed("enospc-engine-durable: a durable write past the space succeeded");
            } catch (UringIOException e) {
                line("ERRNO enospc-engine-durable " + e.errno() + " " + e.errnoName() + " " + e.getMessage());
                check(e.errno() == Errno.ENOSPC, "enospc-engine-durable-errno", "ENOSPC");
            }
            check(join(file.size()) == engineWritten, "enospc-engine-size", engineWritten + " bytes");
            byte[] back = readAll(file, 0, (int) engineWritten, 1 << 20);
            for (int i = 0; i < engineWritten; i++) {
                if (back[i] != pattern(seed, 1, i)) {
                    throw new CheckFailed("enospc-engine-verify: differs at " + i);
                }
            }
            line("CHECK enospc-engine-verify ok " + engineWritten + " bytes intact");
            file.close();
            line("RESULT enospc facade=" + written + " engine=" + engineWritten);
        }
    }

    static void check(boolean ok, String name, String detail, boolean quiet) {
        if (!ok) {
            throw new CheckFailed(name + ": " + detail);
        }
        if (!quiet) {
            line("CHECK " + name + " ok " + detail);
        }
    }

    static void verifyFacade(int fd, long length, long seed, String name) {
        int chunk = 1 << 20;
        for (long off = 0; off < length; off += chunk) {
            int len = (int) Math.min(chunk, length - off);
            Aiocb cb = cb(fd, off, ByteBuffer.allocateDirect(len), len, Aio.LIO_READ);
            check(Aio.aio_read(cb) == 0, name, "aio_read queued", true);
            waitFor(cb);
            expect(cb, len, name);
            for (int i = 0; i < len; i++) {
                if (cb.aio_buf.get(i) != pattern(seed, 0, off + i)) {
                    throw new CheckFailed(name + ": differs at " + (off + i));
                }
            }
        }
        line("CHECK " + name + " ok " + length + " bytes intact");
    }

    static String errnoName(int errno) {
        return switch (errno) {
            case 0 -> "0";
            case Errno.EPERM -> "EPERM";
            case Errno.EBADF -> "EBADF";
            case Errno.EACCES -> "EACCES";
            case Errno.EINVAL -> "EINVAL";
            case Errno.EFBIG -> "EFBIG";
            case Errno.ENOSPC -> "ENOSPC";
            case Errno.EROFS -> "EROFS";
            case Errno.EIO -> "EIO";
            default -> "errno" + errno;
        };
    }

    // ---------------------------------------------------------------- read-only mount

    static final int RO_BYTES = 1 << 20;
    static final long RO_SEED = 0x5EED_0004L;

    /**
     * Writes the file that {@link #rofs} expects (the host test calls this on the host, before mounting it read-only).
     *
     * @return its size
     */
    public static int rofsPrepare(Path dir) throws IOException {
        byte[] image = new byte[RO_BYTES];
        fill(image, RO_SEED, 0, 0, RO_BYTES);
        Files.createDirectories(dir);
        Files.write(dir.resolve("ro.dat"), image);
        return RO_BYTES;
    }

    /**
     * On a read-only mount: reads work through the engine and the facade; writes fail with the errno a plain syscall
     * gets from the kernel for the same thing (EROFS to open for writing or create, EBADF to write on a descriptor
     * opened read-only).
     */
    static void rofs(Path dir) throws IOException {
        Path path = dir.resolve("ro.dat");
        byte[] image = new byte[RO_BYTES];
        fill(image, RO_SEED, 0, 0, RO_BYTES);

        // What the kernel says, through plain libc calls.
        int kernelOpenRw = errnoOf(Fcntl.open(path.toString(), Fcntl.O_RDWR, 0));
        int kernelCreate = errnoOf(Fcntl.open(dir.resolve("new.dat").toString(),
                Fcntl.O_WRONLY | Fcntl.O_CREAT, 0644));
        int roFd = Fcntl.open(path.toString(), Fcntl.O_RDONLY, 0);
        check(roFd >= 0, "rofs-open-ro", "fd " + roFd);
        long pw = Unistd.pwrite(roFd, ByteBuffer.allocateDirect(16), 16, 0);
        int kernelWriteRo = pw < 0 ? Aio.errno() : 0;
        line("KERNEL open-rw " + errnoName(kernelOpenRw) + " create " + errnoName(kernelCreate) + " pwrite-on-ro-fd "
                + errnoName(kernelWriteRo));
        check(kernelOpenRw != 0 && kernelCreate != 0 && kernelWriteRo != 0, "rofs-kernel-refuses",
                "the mount is read-only");

        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile file = join(engine.open(path, READ));
            byte[] back = readAll(file, 0, RO_BYTES, 128 << 10);
            check(Arrays.equals(back, image), "rofs-engine-read", RO_BYTES + " bytes");
            int writeErrno = engineErrno(() -> file.write(ByteBuffer.allocateDirect(16), 0));
            line("ERRNO rofs-engine-write-on-ro-file " + writeErrno + " " + errnoName(writeErrno));
            check(writeErrno == kernelWriteRo, "rofs-engine-write-errno", errnoName(writeErrno) + " as the kernel");
            int durableErrno = engineErrno(() -> file.writeDurable(ByteBuffer.allocateDirect(16), 0));
            line("ERRNO rofs-engine-durable-on-ro-file " + durableErrno + " " + errnoName(durableErrno));
            check(durableErrno == kernelWriteRo, "rofs-engine-durable-errno", errnoName(durableErrno)
                    + " as the kernel");
            file.close();
            int openRw = engineErrno(() -> engine.open(path, READ, WRITE));
            line("ERRNO rofs-engine-open-rw " + openRw + " " + errnoName(openRw));
            check(openRw == kernelOpenRw, "rofs-engine-open-rw-errno", errnoName(openRw) + " as the kernel");
            int create = engineErrno(() -> engine.open(dir.resolve("new.dat"), WRITE, CREATE));
            line("ERRNO rofs-engine-create " + create + " " + errnoName(create));
            check(create == kernelCreate, "rofs-engine-create-errno", errnoName(create) + " as the kernel");
        }

        backend(Aio.context().engine());
        Aiocb read = cb(roFd, 0, ByteBuffer.allocateDirect(RO_BYTES), RO_BYTES, Aio.LIO_READ);
        check(Aio.aio_read(read) == 0, "rofs-facade-read-queued", "aio_read 0");
        waitFor(read);
        expect(read, RO_BYTES, "rofs-facade-read");
        byte[] got = new byte[RO_BYTES];
        read.aio_buf.get(0, got);
        check(Arrays.equals(got, image), "rofs-facade-read-data", RO_BYTES + " bytes");
        Aiocb write = cb(roFd, 0, ByteBuffer.allocateDirect(16), 16, Aio.LIO_WRITE);
        check(Aio.aio_write(write) == 0, "rofs-facade-write-queued", "errno reported by aio_error");
        waitFor(write);
        int err = Aio.aio_error(write);
        long ret = Aio.aio_return(write);
        line("ERRNO rofs-facade-write " + err + " " + errnoName(err) + " aio_return " + ret);
        check(err == kernelWriteRo && ret == -1, "rofs-facade-write-errno", errnoName(err) + " as the kernel");
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
        check(Unistd.close(roFd) == 0, "rofs-close", "fd " + roFd);
        Aio.context().close();
        line("RESULT rofs open-rw=" + errnoName(kernelOpenRw) + " create=" + errnoName(kernelCreate) + " write-ro-fd="
                + errnoName(kernelWriteRo));
    }

    static int errnoOf(int res) {
        if (res >= 0) {
            Unistd.close(res);
            return 0;
        }
        return Aio.errno();
    }

    interface Op {
        CompletableFuture<?> start();
    }

    /** The errno of the {@link UringIOException} the operation fails with, 0 if it succeeds. */
    static int engineErrno(Op op) throws IOException {
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

    // ---------------------------------------------------------------- durable stream

    /**
     * Appends records with {@code writeDurable} (write linked to fdatasync), {@code inflight} at a time, and prints
     * {@code ACK seq} for each only after its future completed. The host kills the container at a random moment and
     * then checks that every acknowledged record is on disk and intact.
     */
    static void durableStream(Path file, long records, int inflight) throws IOException {
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile log = join(engine.open(file, READ, WRITE, CREATE, TRUNCATE_EXISTING));
            Semaphore window = new Semaphore(inflight);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            line("READY " + file);
            for (long seq = 0; seq < records && failure.get() == null; seq++) {
                window.acquireUninterruptibly();
                long s = seq;
                ByteBuffer record = DurableRecord.encode(seq);
                log.writeDurable(record, seq * RECORD_BYTES).whenComplete((n, t) -> {
                    if (t != null) {
                        failure.compareAndSet(null, t);
                    } else if (n != RECORD_BYTES) {
                        failure.compareAndSet(null, new IOException("short durable write " + n));
                    } else {
                        line("ACK " + s);
                    }
                    window.release();
                });
            }
            window.acquireUninterruptibly(inflight);
            if (failure.get() != null) {
                throw new IOException("durable write failed", failure.get());
            }
            log.close();
        }
    }
}
