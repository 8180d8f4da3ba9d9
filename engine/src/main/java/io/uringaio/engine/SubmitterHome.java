package io.uringaio.engine;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One submitting thread's place in one engine: the Netty ring its requests go to, and how many of its requests are in
 * flight. Made on a thread's first submission ({@link RingEngine}) and kept for the thread's life.
 *
 * <p>The ring is kept by the thread (as a Netty channel belongs to one event loop) while it has room: a thread that
 * keeps many requests in flight wakes one ring thread, which then takes its requests many per {@code io_uring_enter};
 * sending them round robin woke both ring threads of a 2-core machine for half the batch each (measured: one facade
 * thread at queue depth 32 of buffered writes, 217k IOPS round robin, 289k sticky). A new thread takes the ring with
 * the fewest requests in the kernel, looking from the next in turn (threads that start together are spread in turn;
 * the turn of a thread that died is not kept from the living); a thread whose ring is full while another has room
 * moves to that one, rather than waiting behind requests that may take long (a pipe, a slow device) while it idles.
 *
 * <p>The count chooses a request's lane when caller rings are on: a request of a thread with nothing else in flight,
 * now nor at its previous submission (it will most likely wait for that one), goes to the thread's caller ring, where
 * the waiting thread reaps it itself; one of a thread that keeps others in flight goes to the Netty ring, batched with
 * them. It holds nothing of the
 * engine, so a thread that outlives the engine does not keep it reachable.
 */
final class SubmitterHome {
    /**
     * Index of the thread's Netty ring in the engine's rings. Read and written by its thread only: it moves to another
     * ring when its own is full while that one has room ({@link RingEngine}).
     */
    int ring;
    /** The thread's requests in flight: counted up at submission, down when each completes (any thread). */
    final AtomicInteger inFlight = new AtomicInteger();
    /**
     * {@link #inFlight} as the thread's previous submission left it (its own request included); 0 before the first.
     * Read and written by its thread only. A thread that kept others in flight then is still at depth when its count
     * has just dropped to zero: a ring thread delivered a whole batch of its completions before the thread came back
     * to resubmit them, one by one ({@link RingEngine}).
     */
    int lastDepth;

    SubmitterHome(int ring) {
        this.ring = ring;
    }
}
