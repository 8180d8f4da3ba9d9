package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

class WorkloadTest {
    private static final long FILE = 16L << 20;

    private static Workload named(String name) {
        return Workload.select(name).getFirst();
    }

    @Test
    void randomOffsetsAreAlignedInsideTheFileAndSpread() {
        Workload w = named("randread-direct-qd32");
        Workload.Offsets[] lanes = w.offsets(FILE, 42);
        assertEquals(32, lanes.length);
        Set<Long> seen = new HashSet<>();
        for (Workload.Offsets lane : lanes) {
            for (int i = 0; i < 1000; i++) {
                long off = lane.next();
                assertEquals(0, off % 4096, "aligned");
                assertTrue(off >= 0 && off + 4096 <= FILE, "inside the file: " + off);
                seen.add(off);
            }
        }
        // 32,000 draws over 4,096 blocks: a uniform generator touches nearly all of them
        assertTrue(seen.size() > 4000, "spread over the file: " + seen.size() + " distinct blocks");
    }

    @Test
    void randomOffsetsAreReproducibleAndDifferPerLane() {
        Workload w = named("randread-cached-qd32");
        long[] a = draw(w.offsets(FILE, 7)[0], 100);
        long[] b = draw(w.offsets(FILE, 7)[0], 100);
        long[] otherLane = draw(w.offsets(FILE, 7)[1], 100);
        long[] otherSeed = draw(w.offsets(FILE, 8)[0], 100);
        assertArrayEquals(a, b);
        assertNotEquals(List.of(a), List.of(otherLane));
        assertTrue(!java.util.Arrays.equals(a, otherLane) && !java.util.Arrays.equals(a, otherSeed));
    }

    @Test
    void sequentialLanesShareOneCursorAndWrap() {
        Workload w = named("seqread-direct-128k-qd8");
        long block = 128 * 1024;
        long file = 10 * block + 4096; // the tail shorter than a block is never read
        Workload.Offsets[] lanes = w.offsets(file, 1);
        assertEquals(8, lanes.length);
        long[] got = new long[25];
        for (int i = 0; i < got.length; i++) {
            got[i] = lanes[i % lanes.length].next();
        }
        for (int i = 0; i < got.length; i++) {
            assertEquals((i % 10) * block, got[i], "op " + i);
        }
    }

    @Test
    void selectKeepsTheCanonicalOrderAndRejectsUnknownNames() {
        assertEquals(List.of("randread-cached-qd1", "randwrite-qd32"),
                Workload.select("randwrite-qd32, randread-cached-qd1").stream().map(Workload::name).toList());
        assertEquals(Workload.ALL, Workload.select(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Workload.select("nope"));
        assertTrue(e.getMessage().contains("randread-cached-qd1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Workload.select(" , "));
    }

    @Test
    void theIssuesWorkloadsAreAllThere() {
        assertEquals(10, Workload.ALL.size());
        for (int appenders : new int[] {1, 8, 64}) {
            Workload append = named("append-" + appenders);
            assertEquals(Workload.Op.APPEND, append.op());
            assertTrue(append.sequential() && !append.direct() && append.op().syncs());
            assertEquals(appenders, append.queueDepth());
            assertEquals(Workload.APPEND_FRAME_BYTES, append.blockBytes());
        }
        Workload seq = named("seqread-direct-128k-qd8");
        assertTrue(seq.direct() && seq.sequential() && seq.blockBytes() == 131072 && seq.queueDepth() == 8);
        Workload sync = named("randwrite-fdatasync-qd32");
        assertEquals(Workload.Op.WRITE_FDATASYNC, sync.op());
        assertThrows(IllegalArgumentException.class, () -> named("randread-cached-qd1").offsets(100, 1));
    }

    @Test
    void aFamilyNameSelectsItsWorkloadsAndOnlyODirectNeedsWholeBlocks() {
        assertEquals(List.of("append-1", "append-8", "append-64"),
                Workload.select("append").stream().map(Workload::name).toList());
        assertEquals(List.of("randread-cached-qd1", "randread-cached-qd32", "randread-direct-qd1",
                "randread-direct-qd32"), Workload.select("randread").stream().map(Workload::name).toList());
        assertThrows(IllegalArgumentException.class, () -> Workload.select("app"));
        new Workload("small-buffered", Workload.Op.WRITE, 108, 1, false, false, "fine");
        assertThrows(IllegalArgumentException.class,
                () -> new Workload("small-direct", Workload.Op.WRITE, 108, 1, true, false, "unaligned"));
        assertThrows(IllegalArgumentException.class,
                () -> new Workload("random-append", Workload.Op.APPEND, 108, 1, false, false, "not at the tail"));
    }

    private static long[] draw(Workload.Offsets o, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = o.next();
        }
        return out;
    }
}
