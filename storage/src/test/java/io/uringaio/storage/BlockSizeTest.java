package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.UringIOException;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The O_DIRECT alignment of a file system: statx, sysfs, default. */
class BlockSizeTest {
    @TempDir
    Path dir;

    @Test
    void alignmentIsAPowerOfTwoFromANamedSource() throws Exception {
        BlockSize.Alignment a = BlockSize.of(dir);
        System.out.println("BlockSizeTest: " + dir + " -> " + a);
        assertPowerOfTwo(a.offsetAlignment());
        assertPowerOfTwo(a.memoryAlignment());
        assertTrue(a.offsetAlignment() >= 512 && a.offsetAlignment() <= 65536, a.toString());
        assertTrue(a.source().equals("statx STATX_DIOALIGN") || a.source().startsWith("/sys/dev/block/")
                || a.source().equals("default"), a.source());
        assertEquals(Math.max(a.offsetAlignment(), a.memoryAlignment()), a.both());
    }

    @Test
    void sysfsGivesTheDeviceOrTheDefault() {
        BlockSize.Alignment none = BlockSize.fromSysfs(0, 12345);
        assertEquals(new BlockSize.Alignment(4096, 4096, "default"), none);
    }

    @Test
    void missingPathIsAnErrno() {
        UringIOException e = assertThrows(UringIOException.class, () -> BlockSize.of(dir.resolve("absent")));
        assertEquals("ENOENT", e.errnoName());
    }

    private static void assertPowerOfTwo(int n) {
        assertTrue(n > 0 && Integer.bitCount(n) == 1, n + " is not a power of two");
    }
}
