package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded stress: 8 threads × {@value #DEFAULT_OPS} random operations (AsyncFile read, write, writeDurable, fsync,
 * fdatasync, and raw Request reads and writes) on 4 files, at most 32 in flight per thread. Each thread owns its own
 * region of every file, and each 16 KiB block has at most one operation in flight, so the expected content of every
 * read is known from an in-memory model. Checks every byte read, the whole files at the end, and that every operation
 * completed exactly once. {@code -Dstress.seed=} and {@code -Dstress.ops=} override the seed and the count.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StressTest extends KernelTest {
    static final int DEFAULT_OPS = 100_000;
    static final int THREADS = 8;
    static final int FILES = 4;
    static final int BLOCK = 16 * 1024;
    static final int BLOCKS_PER_THREAD_PER_FILE = 16;
    static final int REGION = BLOCK * BLOCKS_PER_THREAD_PER_FILE;
    static final int FILE_SIZE = REGION * THREADS;
    static final int MAX_IN_FLIGHT_PER_THREAD = 32;
    /** Durable writes and syncs per thousand operations: each costs a journal commit on a real disk. */
    static final int DURABLE_PER_MILLE = Integer.getInteger("stress.durablePerMille", 20);
    static final int SYNC_PER_MILLE = Integer.getInteger("stress.syncPerMille", 10);

    @TempDir
    Path dir;

    private final Queue<String> errors = new ConcurrentLinkedQueue<>();

    private void error(String message) {
        if (errors.size() < 50) {
            errors.add(message);
        }
    }

    /** The byte an operation writes at a file offset: depends on both, so a misplaced write shows. */
    static byte pattern(int opId, long fileOffset) {
        return (byte) (opId * 0x9E3779B1 + fileOffset * 131 + (fileOffset >>> 8));
    }

    @Test
    void randomOperationsAgainstAModel() throws Exception {
        long seed = Long.getLong("stress.seed", 0x5EED_2026L);
        int opsPerThread = Integer.getInteger("stress.ops", DEFAULT_OPS);
        System.out.printf("stress: seed 0x%X (-Dstress.seed=%d), %d threads × %d ops%n", seed, seed, THREADS,
                opsPerThread);
        byte[][] model = new byte[FILES][FILE_SIZE];
        Path[] paths = new Path[FILES];
        for (int i = 0; i < FILES; i++) {
            paths[i] = dir.resolve("stress-" + i);
            try (RandomAccessFile raf = new RandomAccessFile(paths[i].toFile(), "rw")) {
                raf.setLength(FILE_SIZE); // reads never hit end of file; the model starts as zeros
            }
        }
        int totalOps = THREADS * opsPerThread;
        AtomicIntegerArray completions = new AtomicIntegerArray(totalOps);
        AtomicLong[] kinds = new AtomicLong[Op.values().length];
        for (int i = 0; i < kinds.length; i++) {
            kinds[i] = new AtomicLong();
        }
        long started = System.nanoTime();
        try (Arena arena = Arena.ofShared();
             RingEngine engine = RingEngine.open(config().rings(2).maxInFlightPerRing(96))) {
            AsyncFile[] files = new AsyncFile[FILES];
            for (int i = 0; i < FILES; i++) {
                files[i] = await(engine.open(paths[i], READ, WRITE, CREATE));
            }
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                Worker w = new Worker(t, new Random(seed * 31 + t), opsPerThread, engine, files, model, completions,
                        kinds, arena);
                threads.add(Thread.ofPlatform().name("stress-" + t).start(w));
            }
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(240));
                if (t.isAlive()) {
                    fail(t.getName() + " did not finish; errors so far: " + errors);
                }
            }
            assertEquals(List.of(), List.copyOf(errors));
            EngineStats s = engine.stats();
            System.out.println("stress: " + s + String.format(", %.1f SQEs per enter", s.sqesPerEnter()));
            assertEquals(0, s.inFlight());
            assertEquals(0, s.queued());
            assertEquals(s.submitted(), s.completed(), "every accepted request completed");
            for (AsyncFile f : files) {
                f.close();
            }
        }
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        int missing = 0;
        int twice = 0;
        for (int i = 0; i < totalOps; i++) {
            int c = completions.get(i);
            if (c == 0) {
                missing++;
            } else if (c > 1) {
                twice++;
            }
        }
        assertEquals(0, twice, "operations completed more than once");
        assertEquals(0, missing, "operations never completed");
        for (int i = 0; i < FILES; i++) {
            byte[] disk = Files.readAllBytes(paths[i]);
            assertEquals(FILE_SIZE, disk.length);
            if (!Arrays.equals(model[i], disk)) {
                int at = Arrays.mismatch(model[i], disk);
                fail("file " + i + " differs from the model first at " + at);
            }
        }
        StringBuilder mix = new StringBuilder();
        for (Op op : Op.values()) {
            mix.append(' ').append(op).append('=').append(kinds[op.ordinal()].get());
        }
        System.out.printf("stress: %d ops in %d ms (%.0f ops/s);%s%n", totalOps, elapsedMillis,
                totalOps * 1000.0 / Math.max(1, elapsedMillis), mix);
    }

    enum Op { READ, WRITE, WRITE_DURABLE, FSYNC, FDATASYNC, RAW_READ, RAW_WRITE }

    private final class Worker implements Runnable {
        final int thread;
        final Random random;
        final int ops;
        final RingEngine engine;
        final AsyncFile[] files;
        final byte[][] model;
        final AtomicIntegerArray completions;
        final AtomicLong[] kinds;
        final Semaphore permits = new Semaphore(MAX_IN_FLIGHT_PER_THREAD);
        /** 1 while an operation on the block is in flight: [file * BLOCKS_PER_THREAD_PER_FILE + block]. */
        final AtomicIntegerArray busy = new AtomicIntegerArray(FILES * BLOCKS_PER_THREAD_PER_FILE);
        final ArrayBlockingQueue<MemorySegment> nativeBuffers = new ArrayBlockingQueue<>(MAX_IN_FLIGHT_PER_THREAD);

        Worker(int thread, Random random, int ops, RingEngine engine, AsyncFile[] files, byte[][] model,
               AtomicIntegerArray completions, AtomicLong[] kinds, Arena arena) {
            this.thread = thread;
            this.random = random;
            this.ops = ops;
            this.engine = engine;
            this.files = files;
            this.model = model;
            this.completions = completions;
            this.kinds = kinds;
            for (int i = 0; i < MAX_IN_FLIGHT_PER_THREAD; i++) {
                nativeBuffers.add(arena.allocate(BLOCK, 4096));
            }
        }

        @Override
        public void run() {
            try {
                for (int i = 0; i < ops && errors.isEmpty(); i++) {
                    if (!permits.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS)) {
                        error("thread " + thread + ": no permit within " + WAIT_SECONDS + " s at op " + i);
                        return;
                    }
                    submitOne(thread * ops + i);
                }
                if (!permits.tryAcquire(MAX_IN_FLIGHT_PER_THREAD, WAIT_SECONDS, TimeUnit.SECONDS)) {
                    error("thread " + thread + ": operations still in flight after " + WAIT_SECONDS + " s");
                }
            } catch (Throwable t) {
                error("thread " + thread + " threw " + t);
            }
        }

        private Op pick() {
            int x = random.nextInt(1000);
            if (x < DURABLE_PER_MILLE) {
                return Op.WRITE_DURABLE;
            }
            x -= DURABLE_PER_MILLE;
            if (x < SYNC_PER_MILLE) {
                return x % 2 == 0 ? Op.FSYNC : Op.FDATASYNC;
            }
            x = x * 1000 / (1000 - DURABLE_PER_MILLE - SYNC_PER_MILLE); // the rest, spread over 0..999
            if (x < 400) {
                return Op.READ;
            } else if (x < 700) {
                return Op.WRITE;
            } else if (x < 850) {
                return Op.RAW_READ;
            }
            return Op.RAW_WRITE;
        }

        private void submitOne(int opId) {
            Op op = pick();
            kinds[op.ordinal()].incrementAndGet();
            int fileIndex = random.nextInt(FILES);
            AsyncFile file = files[fileIndex];
            if (op == Op.FSYNC || op == Op.FDATASYNC) {
                CompletableFuture<Void> sync = op == Op.FSYNC ? file.fsync() : file.fdatasync();
                sync.whenComplete((v, t) -> {
                    if (t != null) {
                        error(op + " " + opId + " failed: " + t);
                    }
                    done(opId, -1);
                });
                return;
            }
            // A free block of this thread in that file (at most 32 of its 16 busy per file... so search all files).
            int slot = -1;
            int start = random.nextInt(busy.length());
            for (int k = 0; k < busy.length(); k++) {
                int candidate = (start + k) % busy.length();
                if (busy.get(candidate) == 0) {
                    slot = candidate;
                    break;
                }
            }
            if (slot < 0) {
                error("thread " + thread + ": no free block");
                done(opId, -1);
                return;
            }
            busy.set(slot, 1);
            fileIndex = slot / BLOCKS_PER_THREAD_PER_FILE;
            file = files[fileIndex];
            int block = slot % BLOCKS_PER_THREAD_PER_FILE;
            int within = random.nextInt(BLOCK);
            int length = 1 + random.nextInt(BLOCK - within);
            long offset = (long) thread * REGION + (long) block * BLOCK + within;
            byte[] fileModel = model[fileIndex];
            int busySlot = slot;
            switch (op) {
                case READ -> asyncRead(opId, file, fileModel, offset, length, busySlot);
                case WRITE, WRITE_DURABLE -> asyncWrite(opId, op, file, fileModel, offset, length, busySlot);
                case RAW_READ -> rawRead(opId, file, fileModel, offset, length, busySlot);
                default -> rawWrite(opId, file, fileModel, offset, length, busySlot);
            }
        }

        private void asyncRead(int opId, AsyncFile file, byte[] fileModel, long offset, int length, int slot) {
            byte[] expected = Arrays.copyOfRange(fileModel, (int) offset, (int) offset + length);
            int kind = random.nextInt(4);
            CompletableFuture<byte[]> read;
            switch (kind) {
                case 0, 1 -> {
                    ByteBuffer b = kind == 0 ? ByteBuffer.allocateDirect(length) : ByteBuffer.allocate(length);
                    read = file.read(b, offset).thenApply(n -> {
                        check(n == length && b.position() == length, "read " + opId, n, length);
                        byte[] out = new byte[length];
                        b.get(0, out);
                        return out;
                    });
                }
                case 2 -> {
                    MemorySegment s = takeNative().asSlice(0, length);
                    read = file.read(s, offset).thenApply(n -> {
                        byte[] out = s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
                        giveNative(s);
                        check(n == length, "segment read " + opId, n, length);
                        return out;
                    });
                }
                default -> {
                    byte[] array = new byte[length];
                    read = file.read(MemorySegment.ofArray(array), offset).thenApply(n -> {
                        check(n == length, "heap segment read " + opId, n, length);
                        return array;
                    });
                }
            }
            read.whenComplete((bytes, t) -> {
                if (t != null) {
                    error("read " + opId + " failed: " + t);
                } else if (!Arrays.equals(expected, bytes)) {
                    error("read " + opId + " at " + offset + " (+" + length + ") of " + file.path().getFileName()
                            + " differs from the model at " + Arrays.mismatch(expected, bytes));
                }
                done(opId, slot);
            });
        }

        private void asyncWrite(int opId, Op op, AsyncFile file, byte[] fileModel, long offset, int length, int slot) {
            byte[] data = new byte[length];
            for (int i = 0; i < length; i++) {
                data[i] = pattern(opId, offset + i);
            }
            System.arraycopy(data, 0, fileModel, (int) offset, length);
            CompletableFuture<Integer> write;
            int kind = op == Op.WRITE_DURABLE ? random.nextInt(2) : random.nextInt(4);
            switch (kind) {
                case 0, 1 -> {
                    ByteBuffer b = kind == 0 ? ByteBuffer.allocateDirect(length).put(data).flip() : ByteBuffer.wrap(data);
                    write = op == Op.WRITE_DURABLE ? file.writeDurable(b, offset) : file.write(b, offset);
                    write = write.thenApply(n -> {
                        check(!b.hasRemaining(), "write position " + opId, b.position(), length);
                        return n;
                    });
                }
                case 2 -> {
                    MemorySegment s = takeNative().asSlice(0, length);
                    MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, length);
                    write = file.write(s, offset).whenComplete((n, t) -> giveNative(s));
                }
                default -> write = file.write(MemorySegment.ofArray(data), offset);
            }
            write.whenComplete((n, t) -> {
                if (t != null) {
                    error(op + " " + opId + " failed: " + t);
                } else {
                    check(n == length, op + " " + opId, n, length);
                }
                done(opId, slot);
            });
        }

        private void rawRead(int opId, AsyncFile file, byte[] fileModel, long offset, int length, int slot) {
            byte[] expected = Arrays.copyOfRange(fileModel, (int) offset, (int) offset + length);
            MemorySegment s = takeNative();
            Request r = new Request((req, res) -> {
                if (res != length) {
                    error("raw read " + opId + ": res " + res + ", expected " + length);
                } else {
                    byte[] got = s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE);
                    if (!Arrays.equals(expected, got)) {
                        error("raw read " + opId + " at " + offset + " differs at " + Arrays.mismatch(expected, got));
                    }
                }
                giveNative(s);
                done(opId, slot);
            });
            r.prepRead(file.fd(), s.address(), length, offset).priority(random.nextInt(3));
            engine.submit(r);
        }

        private void rawWrite(int opId, AsyncFile file, byte[] fileModel, long offset, int length, int slot) {
            MemorySegment s = takeNative();
            for (int i = 0; i < length; i++) {
                byte b = pattern(opId, offset + i);
                s.set(ValueLayout.JAVA_BYTE, i, b);
                fileModel[(int) offset + i] = b;
            }
            Request r = new Request((req, res) -> {
                if (res != length) {
                    error("raw write " + opId + ": res " + res + ", expected " + length);
                }
                giveNative(s);
                done(opId, slot);
            });
            r.prepWrite(file.fd(), s.address(), length, offset).priority(random.nextInt(3));
            engine.submit(r);
        }

        private MemorySegment takeNative() {
            MemorySegment s = nativeBuffers.poll();
            if (s == null) {
                throw new IllegalStateException("no native buffer: more than " + MAX_IN_FLIGHT_PER_THREAD
                        + " in flight");
            }
            return s;
        }

        private void giveNative(MemorySegment s) {
            nativeBuffers.add(s.asSlice(0, 0).reinterpret(BLOCK));
        }

        private void check(boolean ok, String what, long got, long expected) {
            if (!ok) {
                error(what + ": got " + got + ", expected " + expected);
            }
        }

        /** Counts the completion, frees the block, then the permit (in that order: the permit lets a new op in). */
        private void done(int opId, int slot) {
            completions.incrementAndGet(opId);
            if (slot >= 0) {
                busy.set(slot, 0);
            }
            permits.release();
        }
    }
}
