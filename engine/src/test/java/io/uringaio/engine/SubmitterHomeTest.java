package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.foreign.Arena;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
}
