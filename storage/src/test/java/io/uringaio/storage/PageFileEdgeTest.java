package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * PageFile at its edges: a page cut short by the end of the file, a read-only destination, an allocation the file
 * system refuses, APPEND. Each gets its documented answer and leaves the file's other pages as they were.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileEdgeTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    RingEngine engine;
    PageFile file;
    AlignedBufferPool pool;

    @BeforeEach
    void open() throws Exception {
        engine = StorageTesting.engine();
        try {
            file = PageFile.open(engine, dir.resolve("pages"), PAGE, READ, WRITE, CREATE);
        } catch (UringIOException e) {
            engine.close();
            assumeTrue(e.errno() != 22, "no O_DIRECT on " + dir + ": " + e.getMessage());
            throw e;
        }
        pool = AlignedBufferPool.forPath(dir, PAGE, 4);
        for (int page = 0; page < 2; page++) {
            ByteBuffer b = pool.acquire();
            for (int i = 0; i < PAGE; i++) {
                b.put(i, (byte) (page + 1));
            }
            assertEquals(PAGE, await(file.writePageDurable(page, b)));
            pool.release(b);
        }
    }

    @AfterEach
    void close() throws Exception {
        if (file != null) {
            file.close();
            engine.close();
        }
    }

    @Test
    void aPageCutShortByTheEndOfTheFileReadsAsTheShortCount() throws Exception {
        try (FileChannel ch = FileChannel.open(dir.resolve("pages"), WRITE)) {
            ch.truncate(PAGE + 512); // page 1 keeps one sector
        }
        ByteBuffer b = pool.acquire();
        for (int i = 0; i < PAGE; i++) {
            b.put(i, (byte) 0x7E);
        }
        assertEquals(512, await(file.readPage(1, b)), "the count tells a short page");
        assertEquals(512, b.position());
        for (int i = 0; i < 512; i++) {
            assertEquals(2, b.get(i), "byte " + i);
        }
        // The bytes past the count are not the page's: O_DIRECT may have transferred the whole block (here they are
        // the block's zeros past the end of the file, not the buffer's 0x7E), which is why the count must be checked.
        assertEquals(-1, await(file.readPage(2, b.clear())), "past the end");
        assertEquals(PAGE, await(file.readPage(0, b.clear())), "bystander page");
        assertEquals(1, b.get(PAGE - 1));
    }

    @Test
    void aReadOnlyDestinationIsRefusedBeforeTheKernel() throws Exception {
        long submitted = engine.stats().submitted();
        ByteBuffer b = pool.acquire();
        assertThrows(IllegalArgumentException.class, () -> file.readPage(0, b.asReadOnlyBuffer()));
        assertThrows(IllegalArgumentException.class, () -> file.read(b.asReadOnlyBuffer(), 0));
        assertEquals(submitted, engine.stats().submitted());
        assertEquals(PAGE, await(file.writePage(1, b.asReadOnlyBuffer())), "a read-only source is fine");
        byte[] zeros = new byte[PAGE];
        byte[] all = Files.readAllBytes(dir.resolve("pages"));
        assertArrayEquals(zeros, java.util.Arrays.copyOfRange(all, PAGE, 2 * PAGE));
    }

    @Test
    void anAllocationTheFileSystemRefusesFailsTheFutureTyped() throws Exception {
        byte[] before = Files.readAllBytes(dir.resolve("pages"));
        Throwable t = failure(file.allocate(file.maxPage() + 1)); // 2^63 bytes: EFBIG, ENOSPC or EINVAL
        UringIOException e = assertInstanceOf(UringIOException.class, t);
        assertTrue(e.errno() > 0, e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("pages")));
        assertThrows(UnsupportedOperationException.class,
                () -> PageFile.open(engine, dir.resolve("appending"), PAGE, WRITE, CREATE,
                        java.nio.file.StandardOpenOption.APPEND), "positional pages and O_APPEND do not mix");
    }
}
