package io.uringaio.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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
    private final java.util.function.LongSupplier realMemory = BenchFiles.memoryAvailable;

    @AfterEach
    void restore() {
        BenchFiles.usableSpace = real;
        BenchFiles.memoryAvailable = realMemory;
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

    /**
     * A file on tmpfs or ramfs is memory: "--file /dev/shm/x --size 20000" would take 20 GiB of a shared machine's
     * memory (ramfs reports no size, so nothing stopped it; tmpfs's size is often all of RAM). Such a file may take at
     * most half the memory available; the figure comes from the seam (1 MiB), so a broken check writes 1 MiB.
     */
    @Test
    void aFileInMemoryMayTakeAtMostHalfTheMemoryAvailable() throws Exception {
        Path shm = Path.of("/dev/shm");
        Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm)
                && Files.getFileStore(shm).type().equals("tmpfs"), "no writable tmpfs at /dev/shm");
        Path dir = Files.createTempDirectory(shm, "uring-aio-benchfiles-");
        try {
            Path file = dir.resolve("f.dat");
            BenchFiles.memoryAvailable = () -> BenchFiles.MIB;
            IOException e = assertThrows(IOException.class, () -> BenchFiles.prepare(file, BenchFiles.MIB));
            assertEquals("create " + file + ": ENOMEM (Cannot allocate memory): tmpfs keeps files in memory: 1 MiB "
                    + "wanted, at most 0 MiB allowed (half of the 1 MiB available)", e.getMessage());
            assertFalse(Files.exists(file), "nothing written");

            BenchFiles.memoryAvailable = () -> 2L * BenchFiles.MIB;
            assertTrue(BenchFiles.prepare(file, BenchFiles.MIB), "half of 2 MiB");
            assertEquals(BenchFiles.MIB, Files.size(file));
            BenchFiles.memoryAvailable = () -> 2L * BenchFiles.MIB;
            assertTrue(BenchFiles.prepare(file, 2L * BenchFiles.MIB), "1 MiB allowed + the 1 MiB it replaces");
        } finally {
            Files.deleteIfExists(dir.resolve("f.dat"));
            Files.delete(dir);
        }
    }

    /** A file on a disk is not held to the memory. */
    @Test
    void aFileOnADiskIsNotHeldToTheMemory() throws Exception {
        Assumptions.assumeFalse(List.of("tmpfs", "ramfs").contains(Files.getFileStore(tmp).type()),
                "the temporary directory is in memory here");
        BenchFiles.memoryAvailable = () -> 0;
        assertTrue(BenchFiles.prepare(tmp.resolve("f.dat"), BenchFiles.MIB));
    }

    /**
     * A --file the bench cannot open for writing was there before and is the user's: it stays. It was deleted as "part
     * written" (a read-only file of another size, in a directory the user may write: EACCES, then gone). Root passes
     * every permission check, so the refusal here is ETXTBSY: a copy of a program that is running. The copy is the
     * size of that program, never a whole number of MiB, so prepare goes on to rewrite it.
     */
    @Test
    void aFileThatCannotBeOpenedForWritingIsLeftAsItWas() throws Exception {
        Path program = Path.of("/bin/sleep");
        Assumptions.assumeTrue(Files.isExecutable(program), "no /bin/sleep to run");
        Path busy = Files.copy(program, tmp.resolve("busy"), StandardCopyOption.COPY_ATTRIBUTES);
        byte[] before = Files.readAllBytes(busy);
        Process running = new ProcessBuilder(busy.toString(), "60").start();
        try {
            Assumptions.assumeTrue(openForWritingFails(busy, running), "this kernel lets a running program's file be"
                    + " opened for writing (no ETXTBSY) or the program did not start; nothing to refuse the open");
            IOException e = assertThrows(IOException.class, () -> BenchFiles.prepare(busy, BenchFiles.MIB));
            assertEquals("rewrite " + busy + ": ETXTBSY (Text file busy)", e.getMessage());
            assertTrue(Files.exists(busy), "not deleted");
            assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(busy)), "not changed");
        } finally {
            running.destroyForcibly();
            running.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /**
     * Whether opening {@code file} for writing fails with ETXTBSY once {@code running} executes it; the process is
     * exec'd shortly after it starts, so this waits (bounded) until the open is refused.
     */
    private static boolean openForWritingFails(Path file, Process running) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline && running.isAlive()) {
            try (FileChannel ignored = FileChannel.open(file, StandardOpenOption.WRITE)) {
                Thread.sleep(10); // not yet exec'd: the kernel takes the write lock out at exec
            } catch (IOException e) {
                return "Text file busy".equals(e.getMessage()) || e.getMessage() != null
                        && e.getMessage().endsWith("Text file busy");
            }
        }
        return false;
    }
}
