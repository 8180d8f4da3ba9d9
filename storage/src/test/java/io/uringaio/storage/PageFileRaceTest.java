package io.uringaio.storage;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.UringIOException;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PageFile under races: eight threads write whole pages to the same page (each 512-byte sector ends as one writer's,
 * never a byte of anything else; the other pages untouched), and a close while reads and writes are in flight (each
 * future ends, with its full count or typed as closed; the close completes; later requests fail typed at once).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileRaceTest extends WithEngine {
    private static final int PAGE = 4096;
    private static final int THREADS = 8;

    private PageFile openPages() throws Exception {
        try {
            return PageFile.open(engine, dir.resolve("pages"), PAGE, READ, WRITE, CREATE);
        } catch (UringIOException e) {
            assumeTrue(e.errno() != 22, "no O_DIRECT on " + dir + ": " + e.getMessage());
            throw e;
        }
    }

    private static void fill(ByteBuffer b, int value) {
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) value);
        }
    }

    @Test
    void concurrentWritesToOnePageLeaveWholeSectorsOfOneWriterAndTheNeighboursAlone() throws Exception {
        PageFile pages = openPages();
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, THREADS + 2);
        for (int page = 0; page < 3; page++) {
            ByteBuffer b = pool.acquire();
            fill(b, 0x70 + page);
            assertEquals(PAGE, StorageTesting.await(pages.writePageDurable(page, b)));
            pool.release(b);
        }
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < THREADS; t++) {
            int value = t + 1;
            ByteBuffer mine = pool.acquire();
            fill(mine, value);
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int round = 0; round < 50; round++) {
                        assertEquals(PAGE, pages.writePage(1, mine.clear()).get(20, TimeUnit.SECONDS));
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), failures);
        StorageTesting.await(pages.fdatasync());
        ByteBuffer read = pool.acquire();
        for (int page = 0; page < 3; page++) {
            assertEquals(PAGE, StorageTesting.await(pages.readPage(page, read.clear())));
            for (int sector = 0; sector < PAGE; sector += 512) {
                byte first = read.get(sector);
                if (page != 1) {
                    assertEquals((byte) (0x70 + page), first, "page " + page + " untouched");
                } else {
                    assertTrue(first >= 1 && first <= THREADS, "sector " + sector + " holds a writer's byte: " + first);
                }
                for (int i = sector; i < sector + 512; i++) {
                    assertEquals(first, read.get(i), "page " + page + " byte " + i + " of one writer's sector");
                }
            }
        }
        pages.close();
    }

    @Test
    void aCloseWhileIoIsInFlightEndsEveryRequestAndRefusesLaterOnesTyped() throws Exception {
        PageFile pages = openPages();
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, 64);
        StorageTesting.await(pages.allocate(64));
        List<CompletableFuture<Integer>> inFlight = new ArrayList<>();
        for (int page = 0; page < 64; page++) {
            ByteBuffer b = pool.acquire();
            fill(b, page);
            inFlight.add(page % 2 == 0 ? pages.writePage(page, b) : pages.readPage(page, b));
        }
        CompletableFuture<Void> closed = pages.closeAsync();
        for (CompletableFuture<Integer> f : inFlight) {
            try {
                assertEquals(PAGE, f.get(20, TimeUnit.SECONDS));
            } catch (ExecutionException e) {
                assertInstanceOf(ClosedChannelException.class, e.getCause(), e.toString());
            }
        }
        closed.get(20, TimeUnit.SECONDS);
        ByteBuffer late = ByteBuffer.allocateDirect(2 * PAGE).alignedSlice(PAGE).limit(PAGE);
        ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> pages.readPage(0, late).get(20, TimeUnit.SECONDS));
        assertInstanceOf(ClosedChannelException.class, refused.getCause());
        pages.close(); // idempotent
        assertEquals(64L * PAGE, Files.size(dir.resolve("pages")), "the file is as allocated");
    }

    /**
     * The future {@link PageFile#closeAsync()} returns is the caller's: one ended by its caller ({@code obtrude*},
     * {@code complete}, {@code orTimeout}) changes no later close. It was the file's one shared future, so a later
     * {@code close()} threw the caller's exception (or returned before the descriptor was closed).
     */
    @Test
    void aCloseFutureEndedByItsCallerLeavesTheRealCloseToReportItself() throws Exception {
        PageFile pages = openPages();
        pages.closeAsync().obtrudeException(new IllegalStateException("the caller's own"));
        pages.close(); // the real close's outcome: none
        assertEquals(null, StorageTesting.await(pages.closeAsync()));
        ByteBuffer late = ByteBuffer.allocateDirect(2 * PAGE).alignedSlice(PAGE).limit(PAGE);
        ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> pages.readPage(0, late).get(20, TimeUnit.SECONDS));
        assertInstanceOf(ClosedChannelException.class, refused.getCause());
    }
}
