package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.Backend;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.internal.sys.Libc;

import java.io.InterruptedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@link PageFile#open} interrupted while it waits for the engine's open: it throws InterruptedIOException, keeps
 * the interrupt, and leaves no descriptor behind once the engine's open completes (before the fix the file the engine
 * opened after the caller gave up stayed open, nobody's, until the engine closed). A page file opened before is
 * untouched. The engine is a thread pool of one worker, held by a read of an empty pipe, so the open waits in its
 * queue until the test lets it go: the interrupt always finds the open pending.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileOpenInterruptTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    RingEngine engine;
    int[] pipe = new int[2];

    @BeforeEach
    void openEngine() {
        engine = RingEngine.open(new RingEngineConfig().backend(Backend.THREAD_POOL).poolThreads(1));
        assertEquals(0, Libc.pipe(pipe));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
        Libc.close(pipe[0]);
        Libc.close(pipe[1]);
    }


    private static long filesIn(Path folder) throws Exception {
        try (Stream<Path> files = Files.list(folder)) {
            return files.count();
        }
    }

    @Test
    void anInterruptedOpenLeaksNoDescriptor() throws Exception {
        Path bystanderDir = Files.createDirectories(dir.resolve("bystander"));
        Path rounds = Files.createDirectories(dir.resolve("rounds"));
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, 1);
        try (PageFile bystander = PageFile.open(engine, bystanderDir.resolve("pages"), PAGE, READ, WRITE, CREATE);
             Arena arena = Arena.ofShared()) {
            ByteBuffer page = pool.acquire();
            for (int i = 0; i < PAGE; i++) {
                page.put(i, (byte) 0x5A);
            }
            assertEquals(PAGE, await(bystander.writePageDurable(0, page)));

            // The only worker blocks in a read of the empty pipe: what is submitted after it waits in the queue.
            MemorySegment one = arena.allocate(1);
            CountDownLatch readDone = new CountDownLatch(1);
            engine.submit(new Request((r, res) -> readDone.countDown()).prepRead(pipe[0], one, 0));
            for (int round = 0; round < 3; round++) {
                Path file = rounds.resolve("pages-" + round);
                Thread.currentThread().interrupt();
                assertThrows(InterruptedIOException.class, () -> PageFile.open(engine, file, PAGE, READ, WRITE,
                        CREATE));
                assertTrue(Thread.interrupted(), "the interrupt status stays set");
            }
            assertEquals(0, StorageTesting.openDescriptors(rounds), "the opens are still queued");

            assertEquals(1, Libc.write(pipe[1], one.address(), 1), "let the worker go");
            assertTrue(readDone.await(20, TimeUnit.SECONDS));
            // The engine's opens run now, after their callers gave up; their descriptors must be closed then.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (filesIn(rounds) < 3 && System.nanoTime() < deadline) {
                Thread.sleep(5); // bounded wait for the queued opens to create their files
            }
            assertEquals(3, filesIn(rounds), "the queued opens ran");
            long open = StorageTesting.openDescriptors(rounds);
            while (open > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10); // the closes are asynchronous; bounded wait for them
                open = StorageTesting.openDescriptors(rounds);
            }
            assertEquals(0, open, "descriptors left open by interrupted opens");

            assertEquals(1, StorageTesting.openDescriptors(bystanderDir), "the page file opened before stays open");
            assertEquals(PAGE, await(bystander.readPage(0, page.clear())));
            for (int i = 0; i < PAGE; i++) {
                assertEquals(0x5A, page.get(i), "bystander byte " + i);
            }
        }
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
