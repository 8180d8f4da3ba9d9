package io.uringaio.storage;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.FileOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PageFile against a hostile caller: a directory where a page file should be is refused as one (EISDIR), not with the
 * EINVAL that {@code O_DIRECT} gives a directory and that the javadoc, and the tests' skips, read as "no
 * {@code O_DIRECT} on this file system"; a FIFO is refused with EINVAL before the kernel's open, which waited for a
 * writer forever (the open hung); a torn page and a flipped bit read back raw, as the class javadoc says
 * (pages carry no checksum), with the neighbours as they were; every request after close fails typed at once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileHostileTest extends WithEngine {
    private static final int PAGE = 4096;


    @Test
    void aDirectoryIsRefusedAsOneAndLeftAsItWas() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("folder"));
        Files.writeString(folder.resolve("inside"), "bystander");
        for (OpenOption[] options : List.of(new OpenOption[] {READ}, new OpenOption[] {READ, WRITE},
                new OpenOption[] {READ, WRITE, CREATE})) {
            UringIOException e = assertThrows(UringIOException.class,
                    () -> PageFile.open(engine, folder, PAGE, options));
            assertEquals(ErrnoTable.EISDIR, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains(folder.toString()), e.getMessage());
        }
        assertEquals(0, StorageTesting.openDescriptors(folder), "nothing opened it");
        try (Stream<Path> entries = Files.list(folder)) {
            assertEquals(List.of(folder.resolve("inside")), entries.toList());
        }
        assertEquals("bystander", Files.readString(folder.resolve("inside")));
    }

    private PageFile threePages(Path path, AlignedBufferPool pool) throws Exception {
        PageFile pages = PageFile.open(engine, path, PAGE, READ, WRITE, CREATE);
        for (int page = 0; page < 3; page++) {
            ByteBuffer b = pool.acquire();
            for (int i = 0; i < PAGE; i++) {
                b.put(i, (byte) (0x10 * (page + 1)));
            }
            assertEquals(PAGE, await(pages.writePageDurable(page, b)));
            pool.release(b);
        }
        return pages;
    }

    @Test
    void aTornPageAndAFlippedBitReadBackRawAndTheNeighboursAsTheyWere() throws Exception {
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, 2);
        Path path = dir.resolve("pages");
        try (PageFile pages = threePages(path, pool)) {
            int sector = pages.alignment().offsetAlignment();
            byte[] expected = Files.readAllBytes(path);
            // Page 1 torn: its second sector holds a newer write, the rest the older one; one bit flipped in its last.
            try (FileChannel ch = FileChannel.open(path, WRITE)) {
                byte[] newer = new byte[sector];
                java.util.Arrays.fill(newer, (byte) 0x77);
                ch.write(ByteBuffer.wrap(newer), PAGE + sector);
                ch.write(ByteBuffer.wrap(new byte[] {(byte) (0x20 ^ 0x04)}), 2L * PAGE - 1);
                ch.force(true);
            }
            java.util.Arrays.fill(expected, PAGE + sector, PAGE + 2 * sector, (byte) 0x77);
            expected[2 * PAGE - 1] ^= 0x04;
            ByteBuffer b = pool.acquire();
            for (int page = 0; page < 3; page++) {
                assertEquals(PAGE, await(pages.readPage(page, b.clear())), "a full count, no error: page " + page);
                byte[] got = new byte[PAGE];
                b.get(0, got);
                assertArrayEquals(java.util.Arrays.copyOfRange(expected, page * PAGE, (page + 1) * PAGE), got,
                        "page " + page + " as the disk holds it");
            }
            pool.release(b);
        }
    }

    @Test
    void everyRequestAfterCloseFailsTypedAtOnceAndTheFileKeepsItsPages() throws Exception {
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, 1);
        Path path = dir.resolve("pages");
        PageFile pages = threePages(path, pool);
        byte[] before = Files.readAllBytes(path);
        pages.close();
        long submitted = engine.stats().submitted();
        ByteBuffer b = pool.acquire();
        for (java.util.concurrent.CompletableFuture<?> f : List.of(pages.readPage(0, b), pages.writePage(1, b),
                pages.writePageDurable(2, b), pages.read(b, 0), pages.write(b, 0), pages.fdatasync(),
                pages.allocate(8), pages.size())) {
            assertTrue(f.isDone(), "fails at once");
            assertInstanceOf(ClosedChannelException.class, failure(f));
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing reached the kernel");
        pages.close(); // again: idempotent
        await(pages.closeAsync());
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    /**
     * On both backends: the thread pool's open(2) of a FIFO waits for a writer (io_uring's first, non-blocking try
     * gets the kernel's EINVAL for O_DIRECT at once), so there the open hung before the check.
     */
    @Test
    void aFifoIsRefusedInsteadOfHangingTheOpen() throws Exception {
        Path fifo = dir.resolve("pages");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assumeTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo unavailable");
        try (RingEngine pool = RingEngine.open(new RingEngineConfig().backend(Backend.THREAD_POOL))) {
            for (RingEngine e : List.of(engine, pool)) {
                CompletableFuture<Object> opening = new CompletableFuture<>();
                Thread.ofPlatform().daemon().start(() -> {
                    try (PageFile pages = PageFile.open(e, fifo, PAGE, READ)) {
                        opening.complete(pages);
                    } catch (Throwable t) {
                        opening.complete(t);
                    }
                });
                Object outcome;
                try {
                    outcome = opening.get(10, TimeUnit.SECONDS);
                } catch (TimeoutException timeout) {
                    try (FileOutputStream unblock = new FileOutputStream(fifo.toFile())) {
                        // the kernel's open waits for a writer: this is one, so that the engine's open ends
                    }
                    fail("PageFile.open hung on a FIFO, " + e.backend());
                    return;
                }
                UringIOException refused = assertInstanceOf(UringIOException.class, outcome, e.backend().toString());
                assertEquals(ErrnoTable.EINVAL, refused.errno(), refused.getMessage());
                assertEquals(0, StorageTesting.openDescriptors(fifo), "nothing opened it");
                assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class,
                        LinkOption.NOFOLLOW_LINKS).isOther(), "the FIFO is left where it was");
            }
        }
    }
}
