package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link IncomingQueue}: many producers, one consumer, nothing lost, duplicated or reordered per producer. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IncomingQueueTest {

    @Test
    void singleThreadFifo() {
        IncomingQueue q = new IncomingQueue();
        assertNull(q.poll());
        List<Request> all = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            Request r = new Request();
            all.add(r);
            q.offer(r);
            if (i % 7 == 0) {
                assertSame(all.removeFirst(), q.poll());
            }
        }
        for (Request r : all) {
            assertSame(r, q.poll());
        }
        assertNull(q.poll());
        Request again = all.getFirst();
        q.offer(again); // a request may go through the queue again once it left
        assertSame(again, q.poll());
        assertNull(q.poll());
    }

    @Test
    void manyProducersOneConsumer() throws Exception {
        int producers = 4;
        int perProducer = 50_000;
        IncomingQueue q = new IncomingQueue();
        Request[][] requests = new Request[producers][perProducer];
        for (int p = 0; p < producers; p++) {
            for (int i = 0; i < perProducer; i++) {
                // priority carries the producer, offset the sequence within it
                requests[p][i] = new Request().priority(p);
                requests[p][i].offset = i;
            }
        }
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            Request[] mine = requests[p];
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (Request r : mine) {
                    q.offer(r);
                }
            }));
        }
        start.countDown();
        long[] next = new long[producers];
        boolean[][] seen = new boolean[producers][perProducer];
        int received = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (received < producers * perProducer) {
            Request r = q.poll();
            if (r == null) {
                // Empty, or a producer is between its exchange and its link store: it will show up.
                assertTrue(System.nanoTime() < deadline, "only " + received + " received");
                Thread.onSpinWait();
                continue;
            }
            int p = r.priority;
            int i = (int) r.offset;
            assertSame(requests[p][i], r);
            assertTrue(!seen[p][i], "request " + p + "/" + i + " received twice");
            seen[p][i] = true;
            assertEquals(next[p], i, "producer " + p + "'s requests in its order");
            next[p]++;
            received++;
        }
        for (Thread t : threads) {
            t.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertNull(q.poll(), "nothing left over");
        for (int p = 0; p < producers; p++) {
            assertEquals(perProducer, next[p]);
        }
    }
}
