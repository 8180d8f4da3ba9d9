package io.uringaio.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.ToLongFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test file is refused, before a byte is written, when it would not fit: the file system's free space is set
 * through the seam (half a MiB) rather than asking for more than the disk holds, so a broken check writes 1 MiB, not
 * a full disk.
 */
class BenchFilesTest {
    @TempDir
    Path tmp;

    private final ToLongFunction<Path> real = BenchFiles.usableSpace;

    @AfterEach
    void restore() {
        BenchFiles.usableSpace = real;
    }

    @Test
    void aSizeBeyondTheFreeSpaceIsRefusedBeforeWriting() {
        BenchFiles.usableSpace = dir -> BenchFiles.MIB / 2;
        Path file = tmp.resolve("f.dat");
        IOException e = assertThrows(IOException.class, () -> BenchFiles.prepare(file, BenchFiles.MIB));
        assertEquals("create " + file + ": ENOSPC (No space left on device): 1 MiB wanted, 0 MiB free",
                e.getMessage());
        assertFalse(Files.exists(file), "nothing written");
    }

    /** Rewriting a file frees its old space: that space counts as free. */
    @Test
    void theSpaceOfTheFileReplacedCounts() throws Exception {
        Path file = tmp.resolve("f.dat");
        BenchFiles.prepare(file, BenchFiles.MIB);
        BenchFiles.usableSpace = dir -> BenchFiles.MIB + 1;
        assertTrue(BenchFiles.prepare(file, 2L * BenchFiles.MIB), "1 MiB free + the 1 MiB replaced");
        assertEquals(2L * BenchFiles.MIB, Files.size(file));
    }

    /** A file system that reports no size (ramfs) is not checked. */
    @Test
    void aSizelessFileSystemIsNotChecked() throws Exception {
        BenchFiles.usableSpace = dir -> -1;
        assertTrue(BenchFiles.prepare(tmp.resolve("f.dat"), BenchFiles.MIB));
    }
}
