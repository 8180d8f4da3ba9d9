package io.uringaio.engine;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A bounded, lock-free pool of reusable objects: many threads take, many threads give back (a caller takes an
 * operation object, the ring thread returns it). Dmitry Vyukov's bounded MPMC array queue: each cell carries a
 * sequence number that says whose turn it is, so neither side blocks the other and nothing is allocated per call.
 * {@link #poll()} returns null when empty (the caller allocates); {@link #offer} drops the object when full.
 */
final class ObjectPool<T> {
    private final AtomicReferenceArray<T> items;
    private final AtomicLongArray sequences;
    private final int mask;
    private final AtomicLong head = new AtomicLong(); // next cell to take from
    private final AtomicLong tail = new AtomicLong(); // next cell to give back to

    /** @param capacity a power of two */
    ObjectPool(int capacity) {
        if (capacity < 2 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two >= 2, was " + capacity);
        }
        items = new AtomicReferenceArray<>(capacity);
        sequences = new AtomicLongArray(capacity);
        for (int i = 0; i < capacity; i++) {
            sequences.set(i, i);
        }
        mask = capacity - 1;
    }

    /** Gives {@code item} back; false (and the item is left to the GC) when the pool is full. */
    boolean offer(T item) {
        long pos = tail.get();
        while (true) {
            int cell = (int) pos & mask;
            long seq = sequences.get(cell);
            long diff = seq - pos;
            if (diff == 0) {
                if (tail.compareAndSet(pos, pos + 1)) {
                    items.lazySet(cell, item);
                    sequences.set(cell, pos + 1); // publishes the item to the taker of this cell
                    return true;
                }
                pos = tail.get();
            } else if (diff < 0) {
                return false; // full
            } else {
                pos = tail.get();
            }
        }
    }

    /** Takes an object, or null when the pool is empty. */
    T poll() {
        long pos = head.get();
        while (true) {
            int cell = (int) pos & mask;
            long seq = sequences.get(cell);
            long diff = seq - (pos + 1);
            if (diff == 0) {
                if (head.compareAndSet(pos, pos + 1)) {
                    T item = items.get(cell);
                    items.lazySet(cell, null);
                    sequences.set(cell, pos + mask + 1); // frees the cell for the giver one lap later
                    return item;
                }
                pos = head.get();
            } else if (diff < 0) {
                return null; // empty
            } else {
                pos = head.get();
            }
        }
    }

    void clear() {
        while (poll() != null) {
            // drop
        }
    }
}
