package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** write→fdatasync links, and fsync ordered after every earlier write of the file across rings. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DurabilityTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void writeDurableWritesAndSyncs() throws Exception {
        Random random = new Random(5);
        try (RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(dir.resolve("wal"), CREATE, READ, WRITE));
            byte[] a = new byte[12_345];
            byte[] b = new byte[4096];
            random.nextBytes(a);
            random.nextBytes(b);
            ByteBuffer direct = ByteBuffer.allocateDirect(a.length).put(a).flip();
            EngineStats before = engine.stats();
            assertEquals(a.length, await(f.writeDurable(direct, 0)));
            assertFalse(direct.hasRemaining(), "position advanced");
            ByteBuffer heap = ByteBuffer.wrap(b);
            assertEquals(b.length, await(f.writeDurable(heap, a.length)));
            assertFalse(heap.hasRemaining());
            EngineStats delta = engine.stats().since(before);
            if (BACKEND == Backend.IO_URING) {
                assertEquals(4, delta.sqesSubmitted(), "two SQEs (write, fdatasync) per durable write");
            }
            assertEquals(4, delta.completed());
            assertEquals(delta.completed(), delta.submitted(), "submitted counts every request of a chain");
            assertEquals(0, engine.stats().queued());
            byte[] disk = Files.readAllBytes(dir.resolve("wal"));
            byte[] expected = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, expected, a.length, b.length);
            assertArrayEquals(expected, disk);
            f.close();
        }
    }

    @Test
    void writeDurableOnAReadOnlyFileReportsTheWritesError() throws Exception {
        Files.write(dir.resolve("ro"), new byte[10]);
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(dir.resolve("ro"), READ));
            UringIOException e = uringFailure(f.writeDurable(ByteBuffer.allocate(10), 0), ErrnoTable.EBADF);
            assertEquals("write+fdatasync", e.operation());
            f.close();
        }
    }

    @Test
    void rawLinkedWriteThenFdatasync() throws Exception {
        Path path = dir.resolve("raw");
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertTrue(fd >= 0, () -> ErrnoTable.describe(-fd));
        Recorder wrote = new Recorder();
        Recorder synced = new Recorder();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment data = arena.allocate(8192);
            for (int i = 0; i < 8192; i++) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31));
            }
            Request write = new Request(wrote).prepWrite(fd, data.address(), 8192, 4096);
            Request sync = new Request(synced).prepFsync(fd, true);
            engine.submitLinked(write, sync);
            assertEquals(8192, wrote.awaitResult());
            assertEquals(0, synced.awaitResult());
            byte[] disk = Files.readAllBytes(path);
            assertEquals(4096 + 8192, disk.length);
            assertArrayEquals(data.toArray(ValueLayout.JAVA_BYTE), Arrays.copyOfRange(disk, 4096, disk.length));
            // The requests are reusable for another chain.
            engine.submitLinked(write.prepWrite(fd, data.address(), 100, 0), sync.prepFsync(fd, false));
            waitUntil(() -> wrote.calls() == 2 && synced.calls() == 2, () -> "second chain");
            assertEquals(List.of(8192, 100), wrote.results);
            assertEquals(List.of(0, 0), synced.results);
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void aFailedHeadCancelsItsLink() throws Exception {
        Path path = dir.resolve("readonly");
        Files.write(path, new byte[100]);
        int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        assertTrue(fd >= 0);
        Recorder wrote = new Recorder();
        Recorder synced = new Recorder();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(2)) {
            MemorySegment data = arena.allocate(100);
            engine.submitLinked(new Request(wrote).prepWrite(fd, data.address(), 100, 0),
                    new Request(synced).prepFsync(fd, true));
            assertEquals(-ErrnoTable.EBADF, wrote.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, synced.awaitResult(), "the link is canceled");
            closeWithin(engine);
            assertEquals(1, wrote.calls());
            assertEquals(1, synced.calls());
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void chainLengthIsChecked() {
        try (RingEngine engine = engine(1)) {
            assertThrows(IllegalArgumentException.class, () -> engine.submitLinked());
            Request[] chain = new Request[17];
            for (int i = 0; i < chain.length; i++) {
                chain[i] = new Request(new Recorder()).prepFsync(-1, false);
            }
            assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(chain));
            for (Request r : chain) {
                assertFalse(r.inFlight());
            }
            assertEquals(0, engine.stats().submitted());
        }
    }

    /**
     * Many writes spread over two rings, then fsync: the fsync's completion comes after the completion of every write
     * submitted before it. Repeated in rounds, without waiting between them, so later writes overlap earlier syncs.
     */
    @Test
    void fsyncCompletesAfterEveryEarlierWriteAcrossRings() throws Exception {
        AtomicLong sequence = new AtomicLong();
        Random random = new Random(9);
        int rounds = 20;
        int writesPerRound = 64;
        try (RingEngine engine = engine(2)) {
            assertEquals(BACKEND == Backend.IO_URING ? 2 : 1, engine.ringCount());
            AsyncFile f = await(engine.open(dir.resolve("ordered"), CREATE, READ, WRITE));
            long[][] writeSeq = new long[rounds][writesPerRound];
            long[] syncSeq = new long[rounds];
            List<CompletableFuture<?>> all = new ArrayList<>();
            int stillRunningAtSync = 0;
            for (int round = 0; round < rounds; round++) {
                List<CompletableFuture<Integer>> writes = new ArrayList<>();
                for (int i = 0; i < writesPerRound; i++) {
                    int size = 4096 * (1 + random.nextInt(32));
                    ByteBuffer b = i % 2 == 0 ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
                    int r = round;
                    int w = i;
                    CompletableFuture<Integer> write = f.write(b, (long) (round * writesPerRound + i) * 131_072);
                    writes.add(write);
                    all.add(write.whenComplete((n, t) -> writeSeq[r][w] = sequence.incrementAndGet()));
                }
                for (CompletableFuture<Integer> w : writes) {
                    if (!w.isDone()) {
                        stillRunningAtSync++;
                    }
                }
                int r = round;
                CompletableFuture<Void> sync = round % 2 == 0 ? f.fsync() : f.fdatasync();
                all.add(sync.whenComplete((v, t) -> syncSeq[r] = sequence.incrementAndGet()));
            }
            for (CompletableFuture<?> c : all) {
                await(c);
            }
            for (int round = 0; round < rounds; round++) {
                for (int earlier = 0; earlier <= round; earlier++) {
                    for (int i = 0; i < writesPerRound; i++) {
                        assertTrue(writeSeq[earlier][i] < syncSeq[round], "sync " + round + " completed before write "
                                + i + " of round " + earlier);
                    }
                }
            }
            System.out.println("fsync ordering: " + stillRunningAtSync + " of " + rounds * writesPerRound
                    + " writes were still in flight when their fsync was submitted");
            f.close();
        }
    }

    /**
     * A write that cannot finish (a full pipe) holds back a later fsync: the fsync reaches the kernel (and fails,
     * EINVAL on a pipe) only after the write completed.
     */
    @Test
    void fsyncWaitsForAWriteThatIsStillRunning() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = engine(2)) {
            AsyncFile out = await(engine.open(pipe.writePath(), WRITE));
            pipe.write(65_536); // fill the pipe (64 KiB by default): the next write has to wait for a reader
            CompletableFuture<Integer> write = out.write(ByteBuffer.allocateDirect(4096), 0);
            CompletableFuture<Void> sync = out.fsync();
            Thread.sleep(200);
            assertFalse(write.isDone(), "the write waits for a reader");
            assertFalse(sync.isDone(), "the fsync waits for the write");
            long drained = 0;
            while (drained < 65_536) { // only what is already there: a blocking read must not hang the test
                long n = pipe.drain(65_536 - (int) drained);
                assertTrue(n > 0, "pipe read " + n);
                drained += n;
            }
            assertEquals(4096, await(write));
            assertEquals(4096, pipe.drain(4096));
            uringFailure(sync, ErrnoTable.EINVAL);
            out.close();
        }
    }
}
