package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A hostile pass over the caller rings ({@link CallerRing}, {@link CallerLanes}) and their routing in
 * {@link RingEngine}: code of one engine running on a thread busy in another engine's caller ring, waiters
 * interrupted or timed out inside {@code io_uring_enter}, a close while they wait, callbacks that throw. Each case
 * asserts the typed outcome and that bystanders are untouched. io_uring only (caller rings are io_uring instances).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingAttackTest extends KernelTest {

    static RingEngine callerEngine(int count, int depth) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(count).callerRingDepth(depth)
                .pageCacheFastPath(false));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    static RingEngine callerEngine(int count) {
        return callerEngine(count, Integer.MAX_VALUE);
    }

    /**
     * Engine B's reaper runs a completion whose callback closes engine A (caller rings on too). That thread is B's, not
     * A's: A's close must block until A is closed, as from any application thread (its contract), not return at once
     * as from one of A's own threads. The caller then releases what A's requests used; a close that returned early
     * left A's read in the kernel, its buffer about to be freed under it.
     */
    @Test
    void closeOfAnEngineFromAnotherEnginesCallerRingCallbackWaitsForTheClose() throws Exception {
        try (RingEngine b = callerEngine(1); Pipe aPipe = new Pipe(); Pipe trigger = new Pipe();
             Arena arena = Arena.ofShared()) {
            RingEngine a = callerEngine(1);
            Recorder aRead = new Recorder();
            Request aRequest = new Request(aRead).prepRead(aPipe.readFd, arena.allocate(16), 0);
            a.submit(aRequest);
            assertInstanceOf(CallerRing.class, aRequest.ring, "A's read is in A's caller ring");
            CompletableFuture<String> seen = new CompletableFuture<>();
            Request bRead = new Request((r, res) -> {
                boolean ownThread = a.isEngineThread();
                a.close();
                seen.complete("isEngineThread of A " + ownThread + ", A open " + a.isOpen() + ", A's read ran "
                        + aRead.calls() + " time(s) when close returned");
            }).prepRead(trigger.readFd, arena.allocate(16), 0);
            b.submit(bRead);
            assertInstanceOf(CallerRing.class, bRead.ring, "B's read is in B's caller ring");
            trigger.write(1);
            assertEquals("isEngineThread of A false, A open false, A's read ran 1 time(s) when close returned",
                    seen.get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(-ErrnoTable.ECANCELED, aRead.awaitResult());
            assertTrue(aRead.byClose, "canceled by A's close");
            assertTrue(b.isOpen(), "B untouched");
            Recorder after = new Recorder();
            b.submit(new Request(after).prepWrite(trigger.writeFd, arena.allocate(4), 0));
            assertEquals(4, after.awaitResult(), "B still runs requests");
            assertEquals(1, aRead.calls());
        }
    }

    /**
     * The same for a file: {@link AsyncFile#close()} of engine A's file, from a callback engine B's caller ring runs,
     * waits for the file's operation in flight and the close (the file is closed when it returns), as on any thread
     * that is not A's. A's file is a pipe whose read the test completes once the close has begun.
     */
    @Test
    void closeOfAFileFromAnotherEnginesCallerRingCallbackWaitsForTheClose() throws Exception {
        try (RingEngine b = callerEngine(1); RingEngine a = RingEngine.open(config().rings(1));
             Pipe aPipe = new Pipe(); Pipe trigger = new Pipe(); Arena arena = Arena.ofShared()) {
            AsyncFile file = await(a.open(aPipe.readPath(), StandardOpenOption.READ));
            CompletableFuture<Integer> inFlight = file.read(arena.allocate(8), 0);
            CompletableFuture<String> seen = new CompletableFuture<>();
            Request bRead = new Request((r, res) -> {
                try {
                    file.close();
                    seen.complete("read done " + inFlight.isDone() + ", closed " + file.closeAsync().isDone());
                } catch (Throwable t) {
                    seen.completeExceptionally(t);
                }
            }).prepRead(trigger.readFd, arena.allocate(16), 0);
            b.submit(bRead);
            trigger.write(1);
            waitUntil(() -> !file.isOpen() || seen.isDone(), () -> "the callback began the close");
            aPipe.write(8); // the read in flight ends; only then can the close end
            assertEquals("read done true, closed true", seen.get(WAIT_SECONDS, TimeUnit.SECONDS),
                    "AsyncFile.close() returned before the file was closed");
            assertEquals(8, await(inFlight));
            assertTrue(a.isOpen() && b.isOpen(), "both engines untouched");
        }
    }
}
