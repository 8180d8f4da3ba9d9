package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link RingEngine#close()} called on one of the engine's own threads (a completion callback) must not wait for that
 * very thread. Before the fix both cases deadlocked: the ring (or pool worker) blocked inside the callback waiting for
 * its own drain, forever, on both backends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CloseFromCallbackTest extends KernelTest {

    @Test
    void closeFromACompletionCallbackReturnsAndTheCloseFinishes() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config().rings(1));
            MemorySegment buf = arena.allocate(16);
            CountDownLatch returned = new CountDownLatch(1);
            Recorder bystander = new Recorder();
            Request blocked = new Request(bystander).prepRead(pipe.readFd, buf.address(), 1, 0);
            Request trigger = new Request((r, res) -> {
                engine.close();
                returned.countDown();
            }).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(trigger);
            pipe.write(1);
            assertTrue(returned.await(WAIT_SECONDS, TimeUnit.SECONDS), "close() from a callback returned");
            assertFalse(engine.isOpen(), "closed as soon as close() returned in the callback");
            assertThrows(EngineRejectedException.class, () -> engine.submit(blocked));
            assertFalse(blocked.inFlight(), "the refused request is idle again");
            closeWithin(engine); // a second close, from outside, waits for the deferred one to finish
            assertEquals(0, engine.stats().inFlight());
            assertEquals(0, bystander.calls(), "the refused request never completed");
        }
    }

    /**
     * Another thread's close waits for the drain while a callback, blocked until that close began, calls close(): the
     * second close must not wait for the first (which waits for this callback).
     */
    @Test
    void closeFromACallbackWhileAnotherThreadClosesDoesNotDeadlock() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config().rings(1));
            MemorySegment buf = arena.allocate(16);
            CountDownLatch inCallback = new CountDownLatch(1);
            CountDownLatch otherCloseBegan = new CountDownLatch(1);
            CountDownLatch returned = new CountDownLatch(1);
            Request trigger = new Request((r, res) -> {
                inCallback.countDown();
                try {
                    otherCloseBegan.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                engine.close();
                returned.countDown();
            }).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(trigger);
            pipe.write(1);
            assertTrue(inCallback.await(WAIT_SECONDS, TimeUnit.SECONDS));
            CompletableFuture<Void> otherClose = CompletableFuture.runAsync(engine::close);
            waitUntil(() -> !engine.isOpen(), () -> "the other thread's close began");
            otherCloseBegan.countDown();
            assertTrue(returned.await(WAIT_SECONDS, TimeUnit.SECONDS), "close() from the callback returned");
            await(otherClose);
        }
    }
}
