package io.uringaio.engine;

import java.util.Arrays;

/**
 * Requests that wait for room in the ring: a binary min-heap ordered by {@link Request#priority} (lower first), then
 * by arrival ({@link Request#seq}), so equal priorities stay FIFO. Ring thread only; grows, never allocates per
 * request once grown.
 */
final class WaitingQueue {
    private Request[] heap = new Request[64];
    private int size;

    boolean isEmpty() {
        return size == 0;
    }

    int size() {
        return size;
    }

    Request peek() {
        return size == 0 ? null : heap[0];
    }

    void add(Request request) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        heap[size] = request;
        request.heapIndex = size;
        size++;
        siftUp(size - 1);
    }

    Request poll() {
        if (size == 0) {
            return null;
        }
        Request top = heap[0];
        removeAt(0);
        return top;
    }

    /** Removes {@code request} if it is here; true when it was. */
    boolean remove(Request request) {
        int i = request.heapIndex;
        if (i < 0 || i >= size || heap[i] != request) {
            return false;
        }
        removeAt(i);
        return true;
    }

    private void removeAt(int i) {
        Request removed = heap[i];
        removed.heapIndex = -1;
        size--;
        if (i != size) {
            Request moved = heap[size];
            heap[i] = moved;
            moved.heapIndex = i;
            siftDown(i);
            if (heap[i] == moved) {
                siftUp(i);
            }
        }
        heap[size] = null;
    }

    private static boolean before(Request a, Request b) {
        return a.priority != b.priority ? a.priority < b.priority : a.seq < b.seq;
    }

    private void siftUp(int i) {
        Request x = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            Request p = heap[parent];
            if (!before(x, p)) {
                break;
            }
            heap[i] = p;
            p.heapIndex = i;
            i = parent;
        }
        heap[i] = x;
        x.heapIndex = i;
    }

    private void siftDown(int i) {
        Request x = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && before(heap[right], heap[child])) {
                child = right;
            }
            if (!before(heap[child], x)) {
                break;
            }
            heap[i] = heap[child];
            heap[i].heapIndex = i;
            i = child;
        }
        heap[i] = x;
        x.heapIndex = i;
    }
}
