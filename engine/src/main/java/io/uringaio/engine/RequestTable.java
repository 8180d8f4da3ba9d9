package io.uringaio.engine;

/**
 * The ring's in-flight requests by slot. A request in the kernel is known by its <em>tag</em>, the SQE's 16-bit
 * {@code data}: the slot in the low bits, so a CQE finds its request with one array load, and in the bits the slot
 * does not need, a generation that changes every time the slot is freed. Two uses of one slot in a row therefore carry
 * different tags, so a key built for one submission (an {@code IORING_OP_ASYNC_CANCEL}'s target) does not match the
 * next request that reuses the slot. Not thread-safe: a Netty ring uses it on its loop thread only, a caller ring
 * under its lock.
 */
final class RequestTable {
    /** Netty's fast path carries 16 bits of user data. */
    static final int MAX_SLOTS = 1 << 15;

    private final Request[] slots;
    /** The tag of each slot's current (or next) use. */
    private final int[] tags;
    private final int[] free;
    private final int slotBits;
    private final int slotMask;
    private int freeCount;

    RequestTable(int capacity) {
        if (capacity <= 0 || capacity > MAX_SLOTS) {
            throw new IllegalArgumentException("slot capacity " + capacity + " outside 1.." + MAX_SLOTS);
        }
        slots = new Request[capacity];
        tags = new int[capacity];
        free = new int[capacity];
        slotBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(capacity - 1));
        slotMask = (1 << slotBits) - 1;
        for (int i = 0; i < capacity; i++) {
            free[i] = capacity - 1 - i;
            tags[i] = i;
        }
        freeCount = capacity;
    }

    int capacity() {
        return slots.length;
    }

    int used() {
        return slots.length - freeCount;
    }

    /** Takes a free slot for {@code request} and returns its tag; the caller has checked there is a free slot. */
    int acquire(Request request) {
        assert freeCount > 0 : "request table full";
        int slot = free[--freeCount];
        assert slots[slot] == null;
        slots[slot] = request;
        request.slot = slot;
        return tags[slot];
    }

    /**
     * Frees the slot of {@code tag} and returns the request that held it, or null if the tag is not a current one (a
     * free slot, an earlier use of the slot, a value beyond the table).
     */
    Request release(int tag) {
        int slot = slotOf(tag);
        if (slot >= slots.length || tags[slot] != tag) {
            return null;
        }
        Request request = slots[slot];
        if (request == null) {
            return null;
        }
        slots[slot] = null;
        // The next use of this slot gets the next generation: a stale tag never matches it.
        tags[slot] = (tags[slot] + (1 << slotBits)) & 0xFFFF;
        free[freeCount++] = slot;
        request.slot = -1;
        return request;
    }

    /** The slot of a tag. */
    int slotOf(int tag) {
        return tag & slotMask;
    }

    /** The tag of {@code slot}'s current use. */
    int tagOf(int slot) {
        return tags[slot];
    }

    Request get(int slot) {
        return slots[slot];
    }
}
