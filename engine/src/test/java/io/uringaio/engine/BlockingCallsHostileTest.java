package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile use of {@link AsyncFile#writeBlocking}, {@link AsyncFile#writeDurableBlocking} and
 * {@link AsyncFile#syncBlocking}, beyond {@link WriteDurableBlockingTest}: odd buffers, a buffer changed by another
 * thread during the call, the engine closed under a writer, calls from completions. Each case asserts the outcome and
 * that the bystanders (the file's bytes, the file's close, other files) are untouched. Both backends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BlockingCallsHostileTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void readOnlySlicedAndOffsetBuffersWriteExactlyTheirRemainingBytes() throws Exception {
        Path path = dir.resolve("odd");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            byte[] all = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
            ByteBuffer heapRo = ByteBuffer.wrap(all).position(2).limit(5).asReadOnlyBuffer();
            assertEquals(3, f.writeBlocking(heapRo, 0));
            assertEquals(5, heapRo.position());
            ByteBuffer direct = ByteBuffer.allocateDirect(10).put(all).flip();
            ByteBuffer directSlice = direct.slice(6, 4).asReadOnlyBuffer().position(1);
            assertEquals(3, f.writeDurableBlocking(directSlice, 3));
            assertEquals(4, directSlice.position());
            ByteBuffer heapSlice = ByteBuffer.wrap(all, 1, 9).slice().position(8);
            assertEquals(1, f.writeBlocking(heapSlice, 6));
            assertArrayEquals(new byte[] {2, 3, 4, 7, 8, 9, 9}, Files.readAllBytes(path));
            // Zero bytes at the largest position: nothing written, no error (as FileChannel.write).
            assertEquals(0, f.writeBlocking(ByteBuffer.allocate(0), Long.MAX_VALUE));
            assertEquals(0, f.writeDurableBlocking(ByteBuffer.allocateDirect(0), Long.MAX_VALUE));
            assertEquals(7, Files.size(path));
            f.close();
        }
    }

    /** Positions whose end passes the largest file offset: a typed errno, buffer and file untouched, file usable. */
    @Test
    void positionsNearTheMaximumFailWithAnErrnoAndLeaveEverythingAsItWas() throws Exception {
        Path path = dir.resolve("far");
        Files.write(path, new byte[] {5});
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, READ, WRITE));
            for (long position : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 3, Long.MAX_VALUE - 4096}) {
                ByteBuffer heap = ByteBuffer.wrap(new byte[8]);
                assertInstanceOf(UringIOException.class,
                        assertThrows(IOException.class, () -> f.writeBlocking(heap, position)));
                assertEquals(0, heap.position());
                ByteBuffer direct = ByteBuffer.allocateDirect(8);
                assertInstanceOf(UringIOException.class,
                        assertThrows(IOException.class, () -> f.writeDurableBlocking(direct, position)));
                assertEquals(0, direct.position());
            }
            assertArrayEquals(new byte[] {5}, Files.readAllBytes(path));
            assertEquals(1, f.writeBlocking(ByteBuffer.wrap(new byte[] {6}), 1), "still usable");
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertArrayEquals(new byte[] {5, 6}, Files.readAllBytes(path));
        }
    }

    /** A buffer of another thread's confined arena: WrongThreadException, nothing written, nothing counted. */
    @Test
    void anotherThreadsConfinedArenaIsRefused() throws Exception {
        Path path = dir.resolve("confined");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            AtomicReference<ByteBuffer> theirs = new AtomicReference<>();
            CountDownLatch made = new CountDownLatch(1);
            CountDownLatch used = new CountDownLatch(1);
            Thread owner = Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    theirs.set(arena.allocate(16).asByteBuffer());
                    made.countDown();
                    used.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(made.await(WAIT_SECONDS, TimeUnit.SECONDS));
            try {
                assertThrows(WrongThreadException.class, () -> f.writeBlocking(theirs.get(), 0));
                assertThrows(WrongThreadException.class, () -> f.writeDurableBlocking(theirs.get(), 0));
                assertEquals(0, theirs.get().position());
            } finally {
                used.countDown();
            }
            owner.join();
            assertEquals(0, Files.size(path));
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS); // nothing counted: the close ends
        }
    }

    /**
     * Another thread moves the buffer's limit while calls run: each call writes what it wrote or throws a typed
     * runtime exception (never an Error, never a hang); the file's close still completes (nothing left counted), and
     * the bytes on disk are only the buffer's.
     */
    @Test
    void aLimitMovedByAnotherThreadDuringCallsNeverLeaksTheCountOrWritesForeignBytes() throws Exception {
        Path path = dir.resolve("limit");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            for (boolean direct : new boolean[] {false, true}) {
                ByteBuffer src = direct ? ByteBuffer.allocateDirect(64 << 10) : ByteBuffer.allocate(64 << 10);
                while (src.hasRemaining()) {
                    src.put((byte) 'a');
                }
                AtomicBoolean stop = new AtomicBoolean();
                Thread mover = Thread.ofPlatform().start(() -> {
                    int i = 0;
                    while (!stop.get()) {
                        try {
                            src.limit((i++ & 1) == 0 ? 1 : src.capacity());
                        } catch (RuntimeException ignored) {
                            // position above the new limit: the buffer refuses; try again
                        }
                    }
                });
                long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                try {
                    while (System.nanoTime() < deadline) {
                        try {
                            src.position(0);
                            f.writeBlocking(src, 0);
                        } catch (IllegalStateException | IllegalArgumentException | IndexOutOfBoundsException e) {
                            // the buffer changed under the call: a typed exception of the buffer's
                        }
                    }
                } finally {
                    stop.set(true);
                    mover.join();
                }
            }
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
            for (byte b : Files.readAllBytes(path)) {
                assertEquals('a', b);
            }
        }
    }

    /**
     * A shared arena closed by another thread while its buffer is being written: as with the JDK's channels (which
     * acquire the buffer's arena for the call), the close fails with IllegalStateException while the call runs, and
     * the call writes every byte of the buffer. Fails before the fix: the arena closed under the call, the kernel
     * met freed (unmapped) memory, and the call came back short or with EFAULT, having written a part.
     */
    @Test
    void aSharedArenaCannotBeClosedUnderTheCall() throws Exception {
        int size = 64 << 20;
        try (RingEngine engine = engine(1)) {
            for (int round = 0; round < 3; round++) {
                Path path = dir.resolve("arena" + round);
                AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
                Arena arena = Arena.ofShared();
                ByteBuffer src = arena.allocate(size).asByteBuffer();
                for (int i = 0; i < size; i += 8) {
                    src.putLong(i, 0x0102030405060708L + round);
                }
                AtomicReference<Throwable> closeFailure = new AtomicReference<>();
                AtomicBoolean callEnded = new AtomicBoolean(); // a closer never spins on after the call
                Thread closer = Thread.ofPlatform().start(() -> {
                    try {
                        // The write is under way once the file has grown (it stays short of its end for a while).
                        while (Files.size(path) == 0 && !callEnded.get()) {
                            Thread.onSpinWait();
                        }
                        arena.close();
                    } catch (Throwable e) {
                        closeFailure.set(e);
                    }
                });
                long written;
                try {
                    written = round % 2 == 0 ? f.writeBlocking(src, 0) : f.writeDurableBlocking(src, 0);
                } finally {
                    callEnded.set(true);
                    closer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                }
                assertFalse(closer.isAlive());
                assertEquals(size, written, "every byte written");
                // The close failed while the call ran; it succeeded only if it came after the call (a closer thread
                // kept off its CPU for the whole write on a loaded machine): never a failure of another kind.
                if (closeFailure.get() != null) {
                    assertInstanceOf(IllegalStateException.class, closeFailure.get());
                }
                if (arena.scope().isAlive()) {
                    arena.close();
                }
                f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
                assertEquals(size, Files.size(path));
            }
        }
    }

    /**
     * The engine closed from another thread while a thread writes in a loop: each call succeeds or refuses with a
     * typed exception (closed file or engine); the thread ends; a file opened right after (maybe on the same number)
     * never receives a byte.
     */
    @Test
    void theEngineClosedUnderAWriterNeverLetsItWriteIntoAFileOpenedAfter() throws Exception {
        for (int round = 0; round < 10; round++) {
            RingEngine engine = engine(1);
            Path path = dir.resolve("e" + round);
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            AtomicInteger written = new AtomicInteger();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            boolean durable = round % 2 == 0;
            Thread writer = Thread.ofPlatform().start(() -> {
                ByteBuffer one = ByteBuffer.allocate(1);
                for (int i = 0; ; i++) {
                    one.clear().put((byte) 'x').flip();
                    try {
                        if (durable) {
                            f.writeDurableBlocking(one, i);
                        } else {
                            f.writeBlocking(one, i);
                            f.syncBlocking(i % 2 == 0);
                        }
                        written.incrementAndGet();
                    } catch (ClosedChannelException | EngineClosedException expected) {
                        return;
                    } catch (Throwable t) {
                        unexpected.set(t);
                        return;
                    } finally {
                        started.countDown();
                    }
                }
            });
            assertTrue(started.await(WAIT_SECONDS, TimeUnit.SECONDS));
            CompletableFuture<Void> closing = CompletableFuture.runAsync(engine::close);
            Path next = dir.resolve("next" + round);
            java.nio.channels.FileChannel bystander = java.nio.channels.FileChannel.open(next, CREATE, READ, WRITE);
            writer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(writer.isAlive(), "the writer ended");
            closing.get(WAIT_SECONDS, TimeUnit.SECONDS);
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
            bystander.close();
            assertNull(unexpected.get(), () -> "round " + unexpected.get());
            assertEquals(0, Files.size(next), "the file opened after got nothing");
            long size = Files.size(path);
            assertTrue(size == written.get() || size == written.get() + 1, size + " vs " + written.get());
        }
    }

    /**
     * From a completion callback: refused with IllegalStateException on an engine thread, nothing counted (the
     * file's close ends), nothing written; on an application thread (a completion run inline) it works.
     */
    @Test
    void fromCompletionCallbacksOfBothKinds() throws Exception {
        Path path = dir.resolve("callbacks");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            AtomicReference<Throwable> seen = new AtomicReference<>();
            AtomicReference<Boolean> onEngineThread = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            f.fsync().whenComplete((v, t) -> {
                onEngineThread.set(engine.isEngineThread());
                try {
                    f.syncBlocking(true);
                    f.writeBlocking(ByteBuffer.wrap(new byte[] {1}), 0);
                } catch (Throwable e) {
                    seen.set(e);
                }
                done.countDown();
            });
            assertTrue(done.await(WAIT_SECONDS, TimeUnit.SECONDS));
            if (onEngineThread.get()) {
                assertInstanceOf(IllegalStateException.class, seen.get());
                assertEquals(0, Files.size(path));
            } else {
                assertNull(seen.get());
                assertEquals(1, Files.size(path));
            }
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** The interrupt status survives every kind of call, a sync on a closed file included. */
    @Test
    void theInterruptStatusIsKeptByEveryCall() throws Exception {
        Path path = dir.resolve("interrupt");
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(path, CREATE, READ, WRITE));
            Thread.currentThread().interrupt();
            try {
                assertEquals(2, f.writeBlocking(ByteBuffer.wrap(new byte[] {1, 2}), 0));
                assertTrue(Thread.currentThread().isInterrupted());
                f.syncBlocking(false);
                f.syncBlocking(true);
                assertTrue(Thread.currentThread().isInterrupted());
                assertEquals(1, f.writeDurableBlocking(ByteBuffer.allocateDirect(1), 2));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            f.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
            Thread.currentThread().interrupt();
            try {
                assertThrows(ClosedChannelException.class, () -> f.syncBlocking(false));
                assertTrue(Thread.currentThread().isInterrupted());
            } finally {
                Thread.interrupted();
            }
            assertArrayEquals(new byte[] {1, 2, 0}, Files.readAllBytes(path));
        }
    }
}
