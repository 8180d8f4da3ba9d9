package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile uses of the caller-driven lane ({@link CallerRing}): a close from a callback that runs inside
 * {@code submit}, and a callback that blocks on a waiting thread while completions nobody waits for arrive.
 * io_uring only.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingHostileTest extends KernelTest {
    /** How long the test lets a stalled completion go before it calls it stranded (well under the callback's own bound). */
    private static final long STRANDED_SECONDS = 5;

    private static RingEngine callerEngine(int count) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(count).pageCacheFastPath(false));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    /**
     * A pipe write with room completes during the submission's own enter, so its callback runs on the submitting thread
     * inside {@code submit}. A close from there must not wait for that very thread (it is inside the engine's
     * submission guard): the submit returns, the close finishes, the write completed once.
     */
    @Test
    void closeFromACallbackRunningInsideSubmitDoesNotDeadlock() throws Exception {
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = callerEngine(1);
            MemorySegment bytes = arena.allocate(8);
            Recorder done = new Recorder();
            AtomicBoolean ranInsideSubmit = new AtomicBoolean();
            Thread submitter = Thread.currentThread();
            Request write = new Request((r, res) -> {
                ranInsideSubmit.set(Thread.currentThread() == submitter);
                engine.close();
                done.complete(r, res);
            }).prepWrite(pipe.writeFd, bytes.address(), 8, 0);
            CompletableFuture<Void> submitted = CompletableFuture.runAsync(() -> engine.submit(write),
                    r -> Thread.ofPlatform().daemon().start(r));
            try {
                submitted.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("submit whose callback closes the engine did not return within "
                        + WAIT_SECONDS + " s", e);
            }
            assertEquals(8, done.awaitResult());
            closeWithin(engine);
            assertFalse(engine.isOpen());
            assertEquals(1, done.calls());
        }
    }

    /**
     * Thread A waits inside the ring for its own read; it reaps another request's completion whose callback blocks
     * (until a third request, which nobody waits for, completes). That third completion must still be delivered (by
     * the reaper): a callback blocked on one thread must not strand the ring's other completions.
     */
    @Test
    void callbackBlockedOnAWaiterDoesNotStrandCompletionsNobodyWaitsFor() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe own = new Pipe(); Pipe slow = new Pipe();
             Pipe free = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(48);
            CountDownLatch inBlockedCallback = new CountDownLatch(1);
            CountDownLatch freeDone = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            Recorder ownDone = new Recorder();
            Recorder slowDone = new Recorder();
            Recorder freeRecorder = new Recorder();
            Request ownRead = new Request(ownDone).prepRead(own.readFd, buf.address(), 16, 0);
            Request slowRead = new Request((r, res) -> {
                inBlockedCallback.countDown();
                try {
                    // Blocks until the other completion arrives, or the test gives up on it.
                    freeDone.await(WAIT_SECONDS, TimeUnit.SECONDS);
                    release.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                slowDone.complete(r, res);
            }).prepRead(slow.readFd, buf.address() + 16, 16, 0);
            Request freeRead = new Request((r, res) -> {
                freeRecorder.complete(r, res);
                freeDone.countDown();
            }).prepRead(free.readFd, buf.address() + 32, 16, 0);
            engine.submit(ownRead);
            engine.submit(slowRead);
            engine.submit(freeRead);
            CallerRing ring = assertInstanceOf(CallerRing.class, ownRead.ring);
            assertTrue(slowRead.ring == ring && freeRead.ring == ring, "one ring for all three");
            Thread waiter = Thread.ofPlatform().daemon().start(() -> {
                while (ownRead.inFlight()) {
                    engine.awaitInLane(ownRead, TimeUnit.SECONDS.toNanos(WAIT_SECONDS));
                }
            });
            try {
                waitUntil(() -> ring.waiters() == 1, () -> "waiter inside");
                slow.write(3);
                assertTrue(inBlockedCallback.await(WAIT_SECONDS, TimeUnit.SECONDS), "the waiter ran the callback");
                free.write(5);
                assertTrue(freeDone.await(STRANDED_SECONDS, TimeUnit.SECONDS),
                        "a completion nobody waits for was stranded while a waiter's callback blocked");
                assertEquals(5, freeRecorder.awaitResult());
            } finally {
                release.countDown();
                own.write(7);
                waiter.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            }
            assertEquals(7, ownDone.awaitResult());
            assertEquals(3, slowDone.awaitResult());
            assertEquals(1, ownDone.calls());
            assertEquals(1, slowDone.calls());
            assertEquals(1, freeRecorder.calls());
        }
    }
}
