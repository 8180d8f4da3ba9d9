package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@link AsyncFile}'s close and the completions of its operations: the close completes only after every operation's
 * future has completed, and a close called from inside such a completion does not wait for itself.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileCloseInCallbackTest extends KernelTest {
    @TempDir
    Path dir;

    /**
     * A blocking close from a dependent of the file's own write that runs on the ring thread returns (the close needs
     * that thread) and the close then finishes. Before the fix the ring thread waited in close() for the close
     * request it alone could reap: the engine hung (seen when the write completed before the test attached the
     * dependent the test passed by luck; a gate on the ring thread makes it run there every time).
     */
    @Test
    void closeFromADependentOnTheRingThreadReturnsAndTheCloseFinishes() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(0))) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            java.util.concurrent.CountDownLatch returned = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<Integer> read = file.read(ByteBuffer.allocateDirect(8), 0); // waits: the pipe is empty
            read.thenRun(() -> {
                try {
                    file.close();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                returned.countDown();
            });
            pipe.write(4); // the read completes on the ring thread, which runs the dependent
            assertTrue(returned.await(20, TimeUnit.SECONDS), "close() on the ring thread returned");
            file.closeAsync().get(20, TimeUnit.SECONDS);
            assertEquals(4, read.join());
        }
    }

    /** A blocking close from a dependent that runs on the caller's own thread waits for the descriptor only. */
    @Test
    void closeFromADependentOnTheCallersThreadReturnsWithTheDescriptorClosed() throws Exception {
        try (RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(dir.resolve("f"), CREATE, READ, WRITE));
            CompletableFuture<Integer> empty = new CompletableFuture<>();
            // A zero-length write completes inside write(), on this thread, with its dependents.
            file.write(ByteBuffer.allocate(0), 0).thenRun(() -> {
                try {
                    file.close();
                    empty.complete(0);
                } catch (Exception e) {
                    empty.completeExceptionally(e);
                }
            });
            assertEquals(0, empty.get(20, TimeUnit.SECONDS));
            file.closeAsync().get(20, TimeUnit.SECONDS);
        }
    }

    /**
     * The close is not complete while an operation's completion still runs. Before the fix the file's count dropped
     * before the future completed, so the close (on another thread) could complete, and close() return, with a future
     * of the file not yet complete: seen once in CI as closeOfAFileWithManyWritesInFlight on the thread-pool backend.
     * Here a read's completion is held (its dependent waits on a latch): the close must wait for it.
     */
    @Test
    void theCloseCompletesOnlyAfterEveryOperationsCompletionRan() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).callerRings(0))) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            java.util.concurrent.CountDownLatch inCompletion = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            CompletableFuture<Integer> write = file.read(ByteBuffer.allocateDirect(8), 0); // waits for the pipe
            CompletableFuture<Void> held = write.thenRun(() -> {
                inCompletion.countDown();
                try {
                    release.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            pipe.write(1); // the read completes on the engine's thread, which runs the held dependent
            try {
                assertTrue(inCompletion.await(20, TimeUnit.SECONDS));
                CompletableFuture<Void> close = file.closeAsync();
                org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.TimeoutException.class,
                        () -> close.get(500, TimeUnit.MILLISECONDS), "the close completed while a completion ran");
            } finally {
                release.countDown();
            }
            held.get(20, TimeUnit.SECONDS);
            file.closeAsync().get(20, TimeUnit.SECONDS);
            assertEquals(1, write.join());
        }
    }
}
