package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** {@link WaitingQueue}: priority first, FIFO among equals, removal from anywhere. No kernel. */
class WaitingQueueTest {
    private static final Comparator<Request> ORDER =
            Comparator.<Request>comparingInt(r -> r.priority).thenComparingLong(r -> r.seq);

    private long seq;

    private Request request(int priority) {
        Request r = new Request().priority(priority);
        r.seq = seq++;
        return r;
    }

    @Test
    void priorityThenFifo() {
        WaitingQueue q = new WaitingQueue();
        assertTrue(q.isEmpty());
        assertNull(q.poll());
        assertNull(q.peek());
        Request a = request(5);
        Request b = request(1);
        Request c = request(5);
        Request d = request(-3);
        Request e = request(1);
        for (Request r : List.of(a, b, c, d, e)) {
            q.add(r);
        }
        assertEquals(5, q.size());
        assertSame(d, q.peek());
        assertEquals(List.of(d, b, e, a, c), drain(q));
        assertTrue(q.isEmpty());
    }

    @Test
    void removeFromTheMiddleKeepsTheOrder() {
        WaitingQueue q = new WaitingQueue();
        List<Request> all = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Request r = request(i % 3);
            all.add(r);
            q.add(r);
        }
        assertTrue(q.remove(all.get(4)));
        assertFalse(q.remove(all.get(4)), "a second remove finds nothing");
        assertEquals(-1, all.get(4).heapIndex);
        assertTrue(q.remove(all.get(0)));
        assertFalse(q.remove(request(0)), "never added");
        List<Request> expected = new ArrayList<>(all);
        expected.remove(4);
        expected.remove(0);
        expected.sort(ORDER);
        assertEquals(expected, drain(q));
    }

    /** Random adds, polls and removes against a sorted reference; the heap must agree at every poll. */
    @Test
    void randomizedAgainstASortedReference() {
        Random random = new Random(1234);
        for (int round = 0; round < 50; round++) {
            WaitingQueue q = new WaitingQueue();
            TreeSet<Request> reference = new TreeSet<>(ORDER);
            List<Request> present = new ArrayList<>();
            for (int step = 0; step < 2000; step++) {
                int action = random.nextInt(10);
                if (action < 5 || reference.isEmpty()) {
                    Request r = request(random.nextInt(8) - 4);
                    q.add(r);
                    reference.add(r);
                    present.add(r);
                } else if (action < 7) {
                    Request polled = q.poll();
                    assertSame(reference.pollFirst(), polled, "poll at step " + step);
                    present.remove(polled);
                } else {
                    Request victim = present.remove(random.nextInt(present.size()));
                    assertTrue(q.remove(victim));
                    assertTrue(reference.remove(victim));
                }
                assertEquals(reference.size(), q.size());
                assertSame(reference.isEmpty() ? null : reference.first(), q.peek(), "peek at step " + step);
            }
            assertEquals(new ArrayList<>(reference), drain(q));
        }
    }

    @Test
    void growsBeyondItsInitialCapacity() {
        WaitingQueue q = new WaitingQueue();
        List<Request> all = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            Request r = request(0);
            all.add(r);
            q.add(r);
        }
        assertEquals(all, drain(q), "equal priorities stay FIFO");
    }

    private static List<Request> drain(WaitingQueue q) {
        List<Request> out = new ArrayList<>();
        Request r;
        while ((r = q.poll()) != null) {
            out.add(r);
        }
        return out;
    }
}
