package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * untouched.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageFileOpenInterruptTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;
    RingEngine engine;

    @BeforeEach
    void openEngine() {
        // The thread pool opens files on its workers: the wait for the open is a real wait, which an interrupt ends
        // (on io_uring the open is often complete before the wait starts).
        engine = RingEngine.open(new RingEngineConfig().backend(Backend.THREAD_POOL));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    /** Descriptors of this process that name a file in {@code folder}. */
    private static long descriptorsIn(Path folder) throws Exception {
        Path real = folder.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(real);
                } catch (Exception gone) {
                    return false; // closed meanwhile, or the listing's own descriptor
                }
            }).count();
        }
    }

    @Test
    void anInterruptedOpenLeaksNoDescriptor() throws Exception {
        Path bystanderDir = Files.createDirectories(dir.resolve("bystander"));
        Path rounds = Files.createDirectories(dir.resolve("rounds"));
        AlignedBufferPool pool = AlignedBufferPool.forPath(dir, PAGE, 1);
        try (PageFile bystander = PageFile.open(engine, bystanderDir.resolve("pages"), PAGE, READ, WRITE, CREATE)) {
            ByteBuffer page = pool.acquire();
            for (int i = 0; i < PAGE; i++) {
                page.put(i, (byte) 0x5A);
            }
            assertEquals(PAGE, await(bystander.writePageDurable(0, page)));

            int interrupted = 0;
            for (int round = 0; round < 50 && interrupted < 3; round++) {
                Thread.currentThread().interrupt();
                try {
                    PageFile opened = PageFile.open(engine, rounds.resolve("pages-" + round), PAGE, READ, WRITE,
                            CREATE);
                    Thread.interrupted(); // the open was done before the wait: nothing to end
                    opened.close();
                } catch (InterruptedIOException e) {
                    interrupted++;
                    assertTrue(Thread.interrupted(), "the interrupt status stays set");
                }
            }
            assertEquals(3, interrupted, "interrupted opens");
            // The engine's opens complete after the callers gave up; their descriptors must be closed then.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            long open = descriptorsIn(rounds);
            while (open > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10); // the closes are asynchronous; bounded wait for them
                open = descriptorsIn(rounds);
            }
            assertEquals(0, open, "descriptors left open by interrupted opens");

            assertEquals(1, descriptorsIn(bystanderDir), "the page file opened before stays open");
            assertEquals(PAGE, await(bystander.readPage(0, page.clear())));
            for (int i = 0; i < PAGE; i++) {
                assertEquals(0x5A, page.get(i), "bystander byte " + i);
            }
        }
    }
}
