package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A caller that breaks the "do not touch a buffer in flight" rule gets a failed future, never a lost one: before the
 * fix the copy out of the bounce buffer (or the position update) threw inside the completion, the future never
 * completed, the operation was never counted out, and the file (and the engine's close) waited forever.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileMisuseTest extends KernelTest {

    @Test
    void aCreationModeOutsideThePermissionBitsIsRefusedAndAGivenOneIsUsed(@org.junit.jupiter.api.io.TempDir
                                                                          java.nio.file.Path dir) throws Exception {
        try (RingEngine engine = RingEngine.open(config().rings(1))) {
            java.nio.file.Path refused = dir.resolve("refused");
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> AsyncFile.open(
                    engine, refused, 010000, StandardOpenOption.WRITE, StandardOpenOption.CREATE));
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> AsyncFile.open(
                    engine, refused, -1, StandardOpenOption.WRITE, StandardOpenOption.CREATE));
            assertTrue(java.nio.file.Files.notExists(refused), "nothing created");
            java.nio.file.Path own = dir.resolve("own");
            AsyncFile.open(engine, own, 0600, StandardOpenOption.WRITE, StandardOpenOption.CREATE).get(10,
                    TimeUnit.SECONDS).close();
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
                    java.nio.file.Files.getPosixFilePermissions(own)));
        }
    }

    @Test
    void aHeapBufferShrunkWhileItsReadIsInFlightFailsTheFutureAndTheFileStillCloses() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            ByteBuffer heap = ByteBuffer.allocate(64);
            CompletableFuture<Integer> read = file.read(heap, 0); // waits: the pipe is empty
            heap.limit(0); // misuse: the read's bytes no longer fit
            pipe.write(32);
            Throwable t = failure(read);
            assertInstanceOf(IllegalStateException.class, t, () -> "failure: " + t);
            assertTrue(t.getMessage().contains("32 bytes"), t::getMessage);
            await(file.closeAsync());
            assertEquals(0, engine.stats().inFlight());
        }
    }

    @Test
    void aDirectBufferWhoseLimitDroppedWhileItsReadIsInFlightFailsTheFuture() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            ByteBuffer direct = ByteBuffer.allocateDirect(64);
            CompletableFuture<Integer> read = file.read(direct, 0);
            direct.limit(1); // the position cannot advance by the count any more
            pipe.write(32);
            assertInstanceOf(IllegalStateException.class, failure(read));
            await(file.closeAsync());
        }
    }

    @Test
    void aReadvWhoseBufferShrankInFlightFailsTheFuture() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            ByteBuffer a = ByteBuffer.allocate(16);
            ByteBuffer b = ByteBuffer.allocate(16);
            CompletableFuture<Long> read = file.readv(new ByteBuffer[] {a, b}, 0);
            a.limit(0);
            pipe.write(32);
            assertInstanceOf(IllegalStateException.class, failure(read));
            await(file.closeAsync());
        }
    }

    /**
     * The engine closes while an operation of a file is counted but in no ring (here: held in its bounce allocation;
     * in real life, a page-cache read on its caller's thread). Before the fix the engine's sweep closed the descriptor
     * under that operation (a page-cache read could then read whatever file reused the number), and the operation's
     * own close afterwards was handed back to the sweep that had already passed: the file's close never completed.
     */
    @Test
    void theEnginesCloseNeverClosesADescriptorUnderACountedOperation() throws Exception {
        java.nio.file.Path path = java.nio.file.Files.createTempFile("misuse", ".dat");
        try {
            RingEngine engine = RingEngine.open(config().rings(1));
            AsyncFile file = await(engine.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
            java.util.concurrent.CountDownLatch allocating = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch proceed = new java.util.concurrent.CountDownLatch(1);
            engine.bouncePool.allocator = size -> {
                allocating.countDown();
                try {
                    proceed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return ByteBuffer.allocateDirect(size);
            };
            CompletableFuture<CompletableFuture<Integer>> write = new CompletableFuture<>();
            Thread.ofPlatform().name("writer").start(() -> write.complete(file.write(ByteBuffer.allocate(64 * 1024), 0)));
            assertTrue(allocating.await(WAIT_SECONDS, TimeUnit.SECONDS));
            closeWithin(engine);
            assertTrue(io.uringaio.engine.internal.sys.Libc.fcntl(file.fd(), 1 /* F_GETFD */, 0) >= 0,
                    "the descriptor is still open under the counted write");
            proceed.countDown();
            assertInstanceOf(EngineClosedException.class, failure(await(write)));
            await(file.closeAsync()); // the write's release closed it (a descriptor number check would race reuse)
        } finally {
            java.nio.file.Files.deleteIfExists(path);
        }
    }
}
