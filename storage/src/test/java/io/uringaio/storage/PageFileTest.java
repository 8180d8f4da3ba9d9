package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** O_DIRECT pages through the engine; misaligned requests refused before the kernel. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileTest {
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
        pool = AlignedBufferPool.forPath(dir, PAGE, 16);
    }

    @AfterEach
    void close() throws Exception {
        if (file != null) {
            file.close();
        }
        engine.close();
    }

    @Test
    void pagesRoundTripInParallel() throws Exception {
        Random random = new Random(11);
        List<byte[]> pages = new ArrayList<>();
        List<CompletableFuture<Integer>> writes = new ArrayList<>();
        List<ByteBuffer> buffers = new ArrayList<>();
        for (int p = 0; p < 8; p++) {
            byte[] bytes = new byte[PAGE];
            random.nextBytes(bytes);
            pages.add(bytes);
            ByteBuffer b = pool.acquire().put(bytes).flip();
            buffers.add(b);
            writes.add(file.writePage(7 - p, b));
        }
        for (CompletableFuture<Integer> w : writes) {
            assertEquals(PAGE, await(w));
        }
        await(file.fdatasync());
        buffers.forEach(pool::release);
        assertEquals(8L * PAGE, await(file.size()));
        for (int p = 0; p < 8; p++) {
            ByteBuffer b = pool.acquire();
            assertEquals(PAGE, await(file.readPage(7 - p, b)));
            assertEquals(ByteBuffer.wrap(pages.get(p)), b.flip());
            pool.release(b);
        }
        ByteBuffer past = pool.acquire();
        assertEquals(-1, await(file.readPage(100, past)));
    }

    @Test
    void durableWriteAndMultiPageIo() throws Exception {
        AlignedBufferPool big = new AlignedBufferPool(4 * PAGE, 1, PAGE);
        ByteBuffer b = big.acquire();
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) i);
        }
        assertEquals(4 * PAGE, await(file.write(b, PAGE)));
        ByteBuffer one = pool.acquire();
        one.put(0, (byte) 42);
        assertEquals(PAGE, await(file.writePageDurable(0, one)));
        ByteBuffer back = big.acquire(1, TimeUnit.SECONDS);
        assertEquals(null, back, "the one buffer is still out");
        big.release(b);
        back = big.acquire();
        assertEquals(4 * PAGE, await(file.read(back, PAGE)));
        for (int i = 0; i < back.capacity(); i++) {
            assertEquals((byte) i, back.get(i));
        }
    }

    @Test
    void allocateGrowsTheFile() throws Exception {
        await(file.allocate(32));
        assertEquals(32L * PAGE, Files.size(dir.resolve("pages")));
    }

    @Test
    void misalignedRequestsAreRefusedBeforeTheKernel() throws Exception {
        long submitted = engine.stats().submitted();
        ByteBuffer page = pool.acquire();
        int a = file.alignment().offsetAlignment();
        IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                () -> file.writePage(0, ByteBuffer.allocate(PAGE)));
        assertTrue(heap.getMessage().contains("heap buffer"), heap.getMessage());
        IllegalArgumentException length = assertThrows(IllegalArgumentException.class,
                () -> file.writePage(0, page.limit(PAGE - 1)));
        assertTrue(length.getMessage().contains("a page is 4096 bytes"), length.getMessage());
        page.clear();
        assertThrows(IllegalArgumentException.class, () -> file.readPage(-1, page));
        IllegalArgumentException offset = assertThrows(IllegalArgumentException.class,
                () -> file.write(page, a / 2));
        assertTrue(offset.getMessage().contains("offset"), offset.getMessage());
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> file.write(page.limit(a + 1), 0));
        assertTrue(odd.getMessage().contains("length"), odd.getMessage());
        page.clear();
        if (file.alignment().memoryAlignment() > 1) {
            IllegalArgumentException address = assertThrows(IllegalArgumentException.class,
                    () -> file.read(page.position(1).limit(1 + a), 0));
            assertTrue(address.getMessage().contains("address"), address.getMessage());
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing reached the ring");
    }

    /** Fills page {@code page} with {@code value}, durably. */
    private void fill(long page, byte value) throws Exception {
        ByteBuffer b = pool.acquire();
        for (int i = 0; i < PAGE; i++) {
            b.put(i, value);
        }
        assertEquals(PAGE, await(file.writePageDurable(page, b)));
        pool.release(b);
    }

    @Test
    void pageNumbersWhoseOffsetOverflowsAreRefusedNotWrapped() throws Exception {
        // (1L << 52) * 4096 = 2^64 wraps to offset 0: page 0 read back, page 1 overwritten, before the fix.
        fill(0, (byte) 0x11);
        fill(1, (byte) 0x22);
        long submitted = engine.stats().submitted();
        ByteBuffer b = pool.acquire();
        IllegalArgumentException read = assertThrows(IllegalArgumentException.class,
                () -> file.readPage(1L << 52, b));
        assertTrue(read.getMessage().contains("page " + (1L << 52)), read.getMessage());
        for (long page : new long[] {(1L << 52) + 1, Long.MAX_VALUE, Long.MAX_VALUE / PAGE}) {
            assertThrows(IllegalArgumentException.class, () -> file.writePage(page, b), "page " + page);
            assertThrows(IllegalArgumentException.class, () -> file.writePageDurable(page, b), "page " + page);
            assertThrows(IllegalArgumentException.class, () -> file.readPage(page, b), "page " + page);
        }
        assertThrows(IllegalArgumentException.class, () -> file.read(b, Long.MAX_VALUE / PAGE * PAGE));
        assertEquals(submitted, engine.stats().submitted(), "nothing reached the ring");
        assertEquals(0, b.position(), "the buffer is untouched");
        for (long page = 0; page < 2; page++) {
            assertEquals(PAGE, await(file.readPage(page, b.clear())));
            for (int i = 0; i < PAGE; i++) {
                assertEquals(page == 0 ? 0x11 : 0x22, b.get(i), "page " + page + " byte " + i);
            }
        }
        assertEquals(2L * PAGE, await(file.size()));
    }

    @Test
    void theLastPageIsAddressableAndTheNextIsNot() {
        assertEquals(Long.MAX_VALUE / PAGE - 1, file.maxPage());
        assertThrows(IllegalArgumentException.class, () -> file.readPage(file.maxPage() + 1, pool.acquire()));
    }

    @Test
    void pageSizeMustFitTheAlignment() {
        assertThrows(IllegalArgumentException.class,
                () -> PageFile.open(engine, dir.resolve("odd"), 1000, READ, WRITE, CREATE));
    }
}
