package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AsyncFile#writeDurableBlocking}, {@link AsyncFile#writeBlocking}, {@link AsyncFile#syncBlocking}: writes and
 * syncs on the calling thread. Each refusal asserts the
 * typed exception and that the file is unchanged (the bystander: the bytes already there).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WriteDurableBlockingTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void writesAndSyncsDirectAndHeapBuffersAndAdvancesTheirPositions() throws Exception {
        Random random = new Random(11);
        byte[] a = new byte[12_345];
        byte[] b = new byte[4096];
        random.nextBytes(a);
        random.nextBytes(b);
        try (RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(dir.resolve("wal"), CREATE, READ, WRITE));
            ByteBuffer direct = ByteBuffer.allocateDirect(a.length).put(a).flip();
            EngineStats before = engine.stats();
            assertEquals(a.length, f.writeDurableBlocking(direct, 0));
            assertFalse(direct.hasRemaining(), "position advanced by the bytes written");
            ByteBuffer heap = ByteBuffer.wrap(b, 100, 3000);
            assertEquals(3000, f.writeDurableBlocking(heap, a.length));
            assertEquals(3100, heap.position());
            assertEquals(0, engine.stats().since(before).submitted(), "nothing went through a ring");
            byte[] expected = Arrays.copyOf(a, a.length + 3000);
            System.arraycopy(b, 100, expected, a.length, 3000);
            assertArrayEquals(expected, Files.readAllBytes(dir.resolve("wal")));
            assertEquals(0, f.writeDurableBlocking(ByteBuffer.allocate(0), 5), "nothing to write: only the sync");
            assertArrayEquals(expected, Files.readAllBytes(dir.resolve("wal")));
            f.close();
        }
    }

    @Test
    void writeBlockingAndSyncBlockingWorkOnTheCallingThread() throws Exception {
        Path path = dir.resolve("plain");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            EngineStats before = engine.stats();
            ByteBuffer heap = ByteBuffer.wrap(new byte[] {4, 5, 6, 7});
            assertEquals(4, f.writeBlocking(heap, 2));
            assertEquals(4, heap.position());
            f.syncBlocking(false);
            f.syncBlocking(true);
            assertEquals(0, engine.stats().since(before).submitted(), "nothing went through a ring");
            assertArrayEquals(new byte[] {0, 0, 4, 5, 6, 7}, Files.readAllBytes(path));
            assertThrows(NullPointerException.class, () -> f.writeBlocking(null, 0));
            assertThrows(IllegalArgumentException.class, () -> f.writeBlocking(ByteBuffer.allocate(1), -5));
            f.close();
            assertThrows(ClosedChannelException.class, () -> f.syncBlocking(false));
            assertThrows(ClosedChannelException.class, () -> f.writeBlocking(ByteBuffer.allocate(1), 0));
        }
        assertArrayEquals(new byte[] {0, 0, 4, 5, 6, 7}, Files.readAllBytes(path));
    }

    @Test
    void aReadOnlyFileSyncsOnTheCallingThreadButRefusesAWriteWithEbadf() throws Exception {
        Path ro = dir.resolve("dirsync");
        Files.write(ro, new byte[1]);
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(ro, READ));
            f.syncBlocking(false); // a read-only regular file syncs fine, as fsync(2) does
            UringIOException e = assertThrows(UringIOException.class,
                    () -> f.writeBlocking(ByteBuffer.wrap(new byte[1]), 0));
            assertEquals(ErrnoTable.EBADF, e.errno());
            f.close();
        }
    }

    /** As fsync() in the engine: a sync on the calling thread starts after the writes submitted before it ended. */
    @Test
    void syncBlockingWaitsForTheWritesInFlightBeforeIt() throws Exception {
        Path path = dir.resolve("ordered");
        try (RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            for (int round = 0; round < 5; round++) {
                List<CompletableFuture<Integer>> writes = new ArrayList<>();
                for (int i = 0; i < 256; i++) {
                    writes.add(f.write(ByteBuffer.allocateDirect(4096), (long) i * 4096));
                }
                f.syncBlocking(round % 2 == 0);
                for (CompletableFuture<Integer> w : writes) {
                    assertTrue(w.isDone(), "a write submitted before the sync was still in flight after it");
                }
            }
            f.close();
        }
    }

    @Test
    void badArgumentsThrowAndWriteNothing() throws Exception {
        Path path = dir.resolve("bad");
        Files.write(path, new byte[] {1, 2, 3});
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, READ, WRITE));
            assertThrows(NullPointerException.class, () -> f.writeDurableBlocking(null, 0));
            ByteBuffer src = ByteBuffer.wrap(new byte[] {9, 9});
            assertThrows(IllegalArgumentException.class, () -> f.writeDurableBlocking(src, -1));
            assertThrows(IllegalArgumentException.class, () -> f.writeDurableBlocking(src, Long.MIN_VALUE));
            assertEquals(0, src.position(), "the buffer untouched");
            Arena arena = Arena.ofShared();
            ByteBuffer gone = arena.allocate(8).asByteBuffer();
            arena.close();
            assertThrows(IllegalStateException.class, () -> f.writeDurableBlocking(gone, 0));
            assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(path));
            // Still usable: the refusals counted nothing, so the close completes.
            assertEquals(2, f.writeDurableBlocking(src, 3));
            f.close();
            assertArrayEquals(new byte[] {1, 2, 3, 9, 9}, Files.readAllBytes(path));
        }
    }

    @Test
    void kernelErrorsNameTheOperationAndThePath() throws Exception {
        Path ro = dir.resolve("ro");
        Files.write(ro, new byte[10]);
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(ro, READ));
            UringIOException e = assertThrows(UringIOException.class,
                    () -> f.writeDurableBlocking(ByteBuffer.wrap(new byte[4]), 0));
            assertEquals(ErrnoTable.EBADF, e.errno());
            assertEquals("write", e.operation());
            assertTrue(e.getMessage().contains(ro.toString()), e.getMessage());
            assertArrayEquals(new byte[10], Files.readAllBytes(ro));

            AsyncFile rw = await(engine.open(dir.resolve("big"), CREATE, READ, WRITE));
            ByteBuffer src = ByteBuffer.wrap(new byte[4]);
            UringIOException tooFar = assertThrows(UringIOException.class,
                    () -> rw.writeDurableBlocking(src, Long.MAX_VALUE - 1));
            assertTrue(tooFar.errno() == ErrnoTable.EFBIG || tooFar.errno() == ErrnoTable.EINVAL, tooFar.toString());
            assertEquals(0, src.position(), "a failed write leaves the buffer's position");
            assertEquals(0, Files.size(dir.resolve("big")));
            f.close();
            rw.close();
        }
    }

    @Test
    void aClosedFileOrEngineRefusesWithTheirExceptions() throws Exception {
        Path path = dir.resolve("closed");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            f.close();
            assertThrows(ClosedChannelException.class, () -> f.writeDurableBlocking(ByteBuffer.allocate(4), 0));
            AsyncFile g = await(engine.open(dir.resolve("other"), CREATE, READ, WRITE));
            engine.close();
            assertThrows(EngineClosedException.class, () -> g.writeDurableBlocking(ByteBuffer.allocate(4), 0));
        }
        assertEquals(0, Files.size(path));
        assertEquals(0, Files.size(dir.resolve("other")));
    }

    @Test
    void refusedOnAnEngineThread() throws Exception {
        Path path = dir.resolve("ring");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            AtomicReference<Throwable> seen = new AtomicReference<>();
            AtomicReference<Boolean> onEngineThread = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            // A completion that arrives later than the call, so that it runs on one of the engine's threads.
            f.write(ByteBuffer.wrap(new byte[] {7}), 0).thenCompose(n -> f.fdatasync()).whenComplete((v, t) -> {
                onEngineThread.set(engine.isEngineThread());
                try {
                    f.writeDurableBlocking(ByteBuffer.wrap(new byte[] {1}), 1);
                } catch (Throwable e) {
                    seen.set(e);
                }
                done.countDown();
            });
            assertTrue(done.await(30, TimeUnit.SECONDS));
            if (onEngineThread.get()) {
                assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
                assertEquals(1, Files.size(path), "nothing written by the refused call");
            } else {
                assertEquals(null, seen.get(), "an application thread may call it");
            }
            f.close();
        }
    }

    /**
     * The descriptor is never closed under the call: a close from another thread while one thread writes in a loop
     * makes each call either succeed or refuse with ClosedChannelException (never EBADF, never another file's
     * write), and a file opened after the close, which may get the same descriptor number, stays empty.
     */
    @Test
    void aConcurrentCloseNeverLeavesTheCallOnAClosedOrReusedDescriptor() throws Exception {
        try (RingEngine engine = engine(2)) {
            for (int round = 0; round < 20; round++) {
                AsyncFile f = await(engine.open(dir.resolve("f" + round), CREATE, READ, WRITE));
                AtomicInteger written = new AtomicInteger();
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                CountDownLatch started = new CountDownLatch(1);
                Thread writer = Thread.ofPlatform().start(() -> {
                    ByteBuffer one = ByteBuffer.allocateDirect(1);
                    for (int i = 0; ; i++) {
                        one.clear().put((byte) 'x').flip();
                        try {
                            f.writeDurableBlocking(one, i);
                            written.incrementAndGet();
                        } catch (ClosedChannelException expected) {
                            return;
                        } catch (Throwable t) {
                            unexpected.set(t);
                            return;
                        } finally {
                            started.countDown();
                        }
                    }
                });
                assertTrue(started.await(30, TimeUnit.SECONDS));
                CompletableFuture<Void> closed = f.closeAsync();
                AsyncFile next = await(engine.open(dir.resolve("next" + round), CREATE, READ, WRITE));
                writer.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(writer.isAlive());
                closed.get(30, TimeUnit.SECONDS);
                if (unexpected.get() != null) {
                    fail("round " + round, unexpected.get());
                }
                assertEquals(written.get(), Files.size(dir.resolve("f" + round)), "each success wrote its byte");
                assertEquals(0, Files.size(dir.resolve("next" + round)), "the next file got nothing");
                next.close();
            }
        }
    }

    @Test
    void anInterruptedCallerStillWritesAndKeepsItsInterrupt() throws Exception {
        Path path = dir.resolve("interrupted");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            Thread.currentThread().interrupt();
            try {
                assertEquals(3, f.writeDurableBlocking(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0));
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt stays set");
            } finally {
                Thread.interrupted();
            }
            assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(path));
            f.close();
        } catch (IOException e) {
            Thread.interrupted();
            throw e;
        }
    }
}
