package io.uringaio.engine;

import java.util.concurrent.atomic.AtomicReference;

/**
 * The ring's many-to-one submission queue: any thread offers, only the ring thread polls. Intrusive (the link is
 * {@link Request#next}), so an offer allocates nothing. Dmitry Vyukov's node-based MPSC queue with a stub node.
 *
 * <p>{@link #poll()} may return {@code null} while a producer is between its exchange and its link store; that producer
 * schedules a ring turn after its offer completes, so the element is drained then.
 */
final class IncomingQueue {
    private final Request stub = new Request();
    /** Producers' end: the last request offered. */
    private final AtomicReference<Request> last = new AtomicReference<>(stub);
    /** Consumer's end (ring thread only). */
    private Request first = stub;

    void offer(Request request) {
        request.next = null;
        Request previous = last.getAndSet(request);
        // Publishes the request's fields to the ring thread: the volatile store happens after they were written.
        previous.next = request;
    }

    Request poll() {
        Request head = first;
        Request next = head.next;
        if (head == stub) {
            if (next == null) {
                return null;
            }
            first = next;
            head = next;
            next = next.next;
        }
        if (next != null) {
            first = next;
            return head;
        }
        if (head != last.get()) {
            return null; // a producer is mid-offer; its turn will come
        }
        offer(stub);
        next = head.next;
        if (next != null) {
            first = next;
            return head;
        }
        return null;
    }
}
