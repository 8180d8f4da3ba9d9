package io.uringaio.engine;

/**
 * The ring's in-flight requests by slot. The slot is the SQE's 16-bit {@code data}, so a CQE finds its request with
 * one array load. Ring thread only.
 */
final class RequestTable {
    /** Netty's fast path carries 16 bits of user data. */
    static final int MAX_SLOTS = 1 << 15;

    private final Request[] slots;
    private final int[] free;
    private int freeCount;

    RequestTable(int capacity) {
        if (capacity <= 0 || capacity > MAX_SLOTS) {
            throw new IllegalArgumentException("slot capacity " + capacity + " outside 1.." + MAX_SLOTS);
        }
        slots = new Request[capacity];
        free = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
        }
        freeCount = capacity;
    }

    int capacity() {
        return slots.length;
    }

    int used() {
        return slots.length - freeCount;
    }

    /** Takes a free slot for {@code request}; the caller has checked there is one. */
    int acquire(Request request) {
        assert freeCount > 0 : "request table full";
        int slot = free[--freeCount];
        assert slots[slot] == null;
        slots[slot] = request;
        request.slot = slot;
        return slot;
    }

    /** Frees {@code slot} and returns the request that held it, or null if it was free. */
    Request release(int slot) {
        if (slot < 0 || slot >= slots.length) {
            return null;
        }
        Request request = slots[slot];
        if (request == null) {
            return null;
        }
        slots[slot] = null;
        free[freeCount++] = slot;
        request.slot = -1;
        return request;
    }

    Request get(int slot) {
        return slots[slot];
    }
}
