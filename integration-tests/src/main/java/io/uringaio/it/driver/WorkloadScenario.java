package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.crc32c;
import static io.uringaio.it.driver.DriverSupport.direct;
import static io.uringaio.it.driver.DriverSupport.fill;
import static io.uringaio.it.driver.DriverSupport.firstDifference;
import static io.uringaio.it.driver.DriverSupport.join;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.DriverSupport.patternBytes;
import static io.uringaio.it.driver.DriverSupport.readAll;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * The engine's mixed workload on {@code DIR/workload.dat}: the whole file written in shuffled 64 KiB blocks at queue
 * depth 32, fsync; then 64 rounds of 32 concurrent operations each (reads checked against the expected image, writes
 * to disjoint regions, durable writes), fdatasync every 8 rounds; a writev and a readv; then every byte read back
 * through the engine and through plain Java I/O. Deterministic: the same final CRC32C on every backend.
 */
final class WorkloadScenario {
    /** The file's size: a few MiB, small enough for every scenario to stay quick. */
    static final int BYTES = 4 << 20;
    static final long SEED = 0x5EED_0001L;
    private static final int BLOCK = 64 << 10;
    private static final int QUEUE_DEPTH = 32;
    private static final int ROUNDS = 64;
    private static final int OPS_PER_ROUND = 32;
    private static final int FDATASYNC_EVERY_ROUNDS = 8;
    private static final int PAGE = 4096;
    /** Where the writev and readv go, and the generation of the writev's content. */
    private static final int VECTORED_AT = 1 << 20;
    private static final long VECTORED_GEN = 9999;

    private final Path path;
    /** Drives every choice (block order, regions, kinds) so that each run makes the same file. */
    private final Random random = new Random(SEED);
    /** What the file holds once every acknowledged write is in. */
    private final byte[] image = new byte[BYTES];
    private int reads;
    private int writes;
    private int durable;

    private WorkloadScenario(Path path) {
        this.path = path;
    }

    static void run(Path dir) throws IOException {
        new WorkloadScenario(dir.resolve("workload.dat")).run();
    }

    private void run() throws IOException {
        long started = System.nanoTime();
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile file = join(engine.open(path, READ, WRITE, CREATE, TRUNCATE_EXISTING));
            writeShuffledBlocks(file);
            for (int round = 1; round <= ROUNDS; round++) {
                mixedRound(file, round);
            }
            writevThenReadv(file);
            join(file.fsync());
            line("STATS workload reads=" + reads + " writes=" + writes + " durable=" + durable + " "
                    + engine.stats());
            file.close();
            verifyThroughEngine(engine);
        }
        verifyThroughPlainIo();
        line(String.format("RESULT workload crc32c=%08x bytes=%d millis=%d", crc32c(image, BYTES), BYTES,
                (System.nanoTime() - started) / 1_000_000));
    }

    /** Phase 1: sequential content, written in shuffled block order with {@link #QUEUE_DEPTH} in flight, fsync. */
    private void writeShuffledBlocks(AsyncFile file) throws IOException {
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < BYTES / BLOCK; i++) {
            order.add(i);
        }
        Collections.shuffle(order, random);
        fill(image, SEED, 0, 0, BYTES);
        Semaphore window = new Semaphore(QUEUE_DEPTH);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<CompletableFuture<Integer>> all = new ArrayList<>();
        for (int b : order) {
            window.acquireUninterruptibly();
            int off = b * BLOCK;
            CompletableFuture<Integer> w = file.write(direct(image, off, BLOCK), off);
            w.whenComplete((n, t) -> {
                if (t != null) {
                    failure.compareAndSet(null, t);
                } else if (n != BLOCK) {
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
        check(join(file.size()) == BYTES, "workload-size", BYTES + " bytes after phase 1");
    }

    /**
     * Phase 2, one round: up to {@link #OPS_PER_ROUND} reads, writes and durable writes at once, each on its own
     * pages at an unaligned start and length; the image takes the round's writes once they all completed.
     */
    private void mixedRound(AsyncFile file, int round) throws IOException {
        List<Runnable> afterRound = new ArrayList<>();
        List<CompletableFuture<?>> ops = new ArrayList<>();
        boolean[] taken = new boolean[BYTES / PAGE];
        for (int k = 0; k < OPS_PER_ROUND; k++) {
            int pages = 1 + random.nextInt(4);
            int page = random.nextInt(taken.length - pages);
            if (!claim(taken, page, pages)) {
                continue;
            }
            int off = page * PAGE + random.nextInt(512);
            int len = pages * PAGE - (off - page * PAGE) - random.nextInt(512);
            int kind = random.nextInt(10);
            if (kind < 6) {
                ops.add(checkedRead(file, off, len));
                reads++;
            } else {
                byte[] data = patternBytes(SEED, round * 100L + k, off, len);
                ops.add(checkedWrite(file, data, off, kind == 9));
                afterRound.add(() -> System.arraycopy(data, 0, image, off, len));
            }
        }
        for (CompletableFuture<?> op : ops) {
            join(op);
        }
        afterRound.forEach(Runnable::run);
        if (round % FDATASYNC_EVERY_ROUNDS == 0) {
            join(file.fdatasync());
        }
    }

    /** Marks {@code pages} pages from {@code page} taken if none of them is; whether it did. */
    private static boolean claim(boolean[] taken, int page, int pages) {
        for (int p = page; p < page + pages; p++) {
            if (taken[p]) {
                return false;
            }
        }
        Arrays.fill(taken, page, page + pages, true);
        return true;
    }

    /** A read of {@code [off, off + len)} that fails unless it returns exactly the image's bytes there. */
    private CompletableFuture<Void> checkedRead(AsyncFile file, int off, int len) {
        ByteBuffer dst = ByteBuffer.allocateDirect(len);
        byte[] expected = Arrays.copyOfRange(image, off, off + len);
        return file.read(dst, off).thenAccept(n -> {
            byte[] got = new byte[n];
            dst.flip().get(got);
            if (n != len || !Arrays.equals(got, expected)) {
                throw new CompletionException(new IOException("read mismatch at " + off + " len " + len
                        + " (got " + n + ")"));
            }
        });
    }

    /** A write (or a durable one) of {@code data} at {@code off} that fails unless it writes all of it. */
    private CompletableFuture<Void> checkedWrite(AsyncFile file, byte[] data, int off, boolean isDurable) {
        ByteBuffer src = ByteBuffer.allocateDirect(data.length).put(data).flip();
        CompletableFuture<Integer> w;
        if (isDurable) {
            w = file.writeDurable(src, off);
            durable++;
        } else {
            w = file.write(src, off);
            writes++;
        }
        return w.thenAccept(n -> {
            if (n != data.length) {
                throw new CompletionException(new IOException("short write " + n + " of " + data.length));
            }
        });
    }

    /** Three buffers written with one writev at a fixed region, read back with a readv into two. */
    private void writevThenReadv(AsyncFile file) throws IOException {
        ByteBuffer[] srcs = new ByteBuffer[3];
        int vLen = 0;
        for (int i = 0; i < srcs.length; i++) {
            int len = 1000 + 3000 * i;
            byte[] data = patternBytes(SEED, VECTORED_GEN, VECTORED_AT + vLen, len);
            System.arraycopy(data, 0, image, VECTORED_AT + vLen, len);
            srcs[i] = ByteBuffer.allocateDirect(len).put(data).flip();
            vLen += len;
        }
        check(join(file.writev(srcs, VECTORED_AT)) == vLen, "workload-writev", vLen + " bytes");
        ByteBuffer[] dsts = {ByteBuffer.allocateDirect(PAGE), ByteBuffer.allocateDirect(vLen - PAGE)};
        check(join(file.readv(dsts, VECTORED_AT)) == vLen, "workload-readv", vLen + " bytes");
        byte[] back = new byte[vLen];
        dsts[0].flip().get(back, 0, PAGE);
        dsts[1].flip().get(back, PAGE, vLen - PAGE);
        check(Arrays.equals(back, Arrays.copyOfRange(image, VECTORED_AT, VECTORED_AT + vLen)), "workload-readv-data",
                "matches the writev");
    }

    /** Phase 3: every byte, through a fresh read-only open of the engine. */
    private void verifyThroughEngine(RingEngine engine) throws IOException {
        AsyncFile ro = join(engine.open(path, READ));
        byte[] viaEngine = readAll(ro, 0, BYTES, 256 << 10);
        ro.close();
        int diff = firstDifference(viaEngine, image, BYTES);
        check(diff < 0, "workload-verify-engine", diff < 0 ? BYTES + " bytes" : "differs at " + diff);
    }

    /** Phase 3, a second opinion: every byte through plain Java I/O, after the engine is closed. */
    private void verifyThroughPlainIo() throws IOException {
        byte[] plain = Files.readAllBytes(path);
        check(plain.length == BYTES, "workload-verify-length", plain.length + " bytes");
        int diff = firstDifference(plain, image, BYTES);
        check(diff < 0, "workload-verify-plain", diff < 0 ? BYTES + " bytes" : "differs at " + diff);
    }
}
