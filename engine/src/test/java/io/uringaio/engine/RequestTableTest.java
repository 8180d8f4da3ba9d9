package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link RequestTable}: slots for in-flight requests. No kernel. */
class RequestTableTest {

    @Test
    void acquireAndRelease() {
        RequestTable table = new RequestTable(4);
        assertEquals(4, table.capacity());
        assertEquals(0, table.used());
        Request a = new Request();
        Request b = new Request();
        int sa = table.acquire(a);
        int sb = table.acquire(b);
        assertTrue(sa != sb);
        assertEquals(sa, a.slot);
        assertSame(a, table.get(sa));
        assertSame(b, table.get(sb));
        assertEquals(2, table.used());
        assertSame(a, table.release(sa));
        assertEquals(-1, a.slot);
        assertNull(table.get(sa));
        assertNull(table.release(sa), "releasing a free slot finds nothing");
        assertNull(table.release(-1));
        assertNull(table.release(4));
        assertNull(table.release(65_535), "a CQE's 16-bit data beyond the table");
        assertEquals(1, table.used());
        Request c = new Request();
        int again = table.acquire(c);
        assertEquals(sa, table.slotOf(again), "a freed slot is reused");
        assertEquals(sa, c.slot);
        assertTrue(again != sa, "with a new tag");
        assertNull(table.release(sa), "the earlier use's tag does not free the new use");
        assertSame(c, table.get(sa));
        assertSame(c, table.release(again));
    }

    @Test
    void everyUseOfASlotHasADifferentTagUntilTheGenerationWraps() {
        RequestTable table = new RequestTable(1000); // 10 slot bits: 64 generations in 16 bits
        Set<Integer> tags = new HashSet<>();
        for (int i = 0; i < 64; i++) {
            int tag = table.acquire(new Request());
            assertEquals(0, table.slotOf(tag), "LIFO: the same slot every time");
            assertTrue(tag >= 0 && tag <= 0xFFFF, "fits the SQE's 16-bit data: " + tag);
            assertTrue(tags.add(tag), "tag " + tag + " reused after " + i + " uses");
            table.release(tag);
        }
    }

    @Test
    void everySlotOnceUpToCapacity() {
        int capacity = 1000;
        RequestTable table = new RequestTable(capacity);
        Set<Integer> slots = new HashSet<>();
        Request[] requests = new Request[capacity];
        for (int i = 0; i < capacity; i++) {
            requests[i] = new Request();
            int slot = table.acquire(requests[i]);
            assertTrue(slot >= 0 && slot < capacity);
            assertTrue(slots.add(slot), "slot " + slot + " given twice");
        }
        assertEquals(capacity, table.used());
        assertThrows(AssertionError.class, () -> table.acquire(new Request()), "full (asserts on with -ea)");
        for (Request r : requests) {
            assertSame(r, table.release(table.tagOf(r.slot)));
        }
        assertEquals(0, table.used());
    }

    @Test
    void capacityIsBounded() {
        assertThrows(IllegalArgumentException.class, () -> new RequestTable(0));
        assertThrows(IllegalArgumentException.class, () -> new RequestTable(RequestTable.MAX_SLOTS + 1));
        assertEquals(RequestTable.MAX_SLOTS, new RequestTable(RequestTable.MAX_SLOTS).capacity());
        assertTrue(RequestTable.MAX_SLOTS <= 1 << 16, "slots fit Netty's 16-bit user data");
    }
}
