package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.Arena;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile cases of {@link SubmitterHome}: which Netty ring a submitting thread keeps. Threads are spread over the
 * rings as they come; a thread that submitted once and died must not leave two busy threads sharing a ring while
 * another ring idles (thread pools retire and replace their threads all the time).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SubmitterHomeTest extends KernelTest {

    /**
     * Thread A keeps a request in flight on its ring; a short-lived thread submits once and exits; thread B then starts
     * submitting. B must get the ring nobody busy is on, not the one its place in the turn gives (A's): the dead
     * thread's turn is gone with it. Failed before (strict turn: A ring 0, the dead thread ring 1, B ring 0 with A).
     */
    @Test
    void aThreadThatDied_doesNotPutTheNextThreadOnABusyRing() throws Exception {
        assumeRings("Netty rings");
        try (RingEngine engine = RingEngine.open(config().rings(2).pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe quick = new Pipe(); Arena arena = Arena.ofShared()) {
            Recorder ra = new Recorder();
            Request a = new Request(ra).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(a);
            Lane busy = a.ring;
            waitUntil(() -> busy.inFlight() == 1, () -> "A's read in the kernel: " + engine.stats());
            quick.write(1);
            Recorder rt = new Recorder();
            Request once = new Request(rt).prepRead(quick.readFd, arena.allocate(1).address(), 1, 0);
            Thread dead = Thread.ofPlatform().start(() -> engine.submit(once));
            dead.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertEquals(1, rt.awaitResult());
            Recorder rb = new Recorder();
            Request b = new Request(rb).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            CompletableFuture.runAsync(() -> engine.submit(b), r -> Thread.ofPlatform().start(r))
                    .get(WAIT_SECONDS, TimeUnit.SECONDS);
            assertNotEquals(busy, b.ring, "B shares the busy ring of A while the other ring idles");
            held.write(2);
            assertEquals(1, ra.awaitResult());
            assertEquals(1, rb.awaitResult());
            assertEquals(1, ra.calls());
            assertEquals(1, rb.calls());
        }
    }

    /**
     * {@code callerRingDepth(1)} counts every request of the thread in flight, on every lane: also those of its
     * {@code submitBatch} (the facade's lio_listio) and {@code submitLinked}. While one of them is in flight, the
     * thread's next lone request goes to its Netty ring; once they completed, the count is back to zero and the next
     * goes to the caller ring again (nothing leaked). Failed before: batches and chains were not counted, so the lone
     * request after a batch went into the caller ring.
     */
    @Test
    void aDepthOfOneCountsTheThreadsBatchesAndChains() throws Exception {
        assumeRings("caller rings are io_uring instances");
        try (RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).callerRingDepth(1)
                .pageCacheFastPath(false));
             Pipe held = new Pipe(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            Assumptions.assumeTrue(engine.callerRingCount() == 1, "the kernel gave no caller rings");
            Recorder rBatch = new Recorder();
            Request inBatch = new Request(rBatch).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submitBatch(new Request[] {inBatch}, 1);
            Recorder rLone = new Recorder();
            Request lone = new Request(rLone).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(lone);
            assertInstanceOf(Ring.class, lone.ring, "the thread's batch is in flight: its next request joins it");
            held.write(1);
            other.write(1);
            assertEquals(1, rBatch.awaitResult());
            assertEquals(1, rLone.awaitResult());

            Recorder rHead = new Recorder();
            Recorder rTail = new Recorder();
            Request head = new Request(rHead).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            Request tail = new Request(rTail).prepRead(held.readFd, arena.allocate(1).address(), 1, 0);
            engine.submitLinked(head, tail);
            Recorder rNext = new Recorder();
            Request next = new Request(rNext).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(next);
            assertInstanceOf(Ring.class, next.ring, "the thread's chain is in flight: its next request joins it");
            held.write(2);
            other.write(1);
            assertEquals(1, rHead.awaitResult());
            assertEquals(1, rTail.awaitResult());
            assertEquals(1, rNext.awaitResult());

            Recorder rLast = new Recorder();
            Request last = new Request(rLast).prepRead(other.readFd, arena.allocate(1).address(), 1, 0);
            engine.submit(last);
            assertInstanceOf(CallerRing.class, last.ring, "nothing of the thread in flight: its caller ring");
            other.write(1);
            assertEquals(1, rLast.awaitResult());
            for (Recorder r : new Recorder[] {rBatch, rLone, rHead, rTail, rNext, rLast}) {
                assertEquals(1, r.calls(), "each completed once");
            }
        }
    }
}
