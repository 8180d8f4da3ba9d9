package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.uringaio.engine.RingEngine;

import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open interrupted while it waits for the tail segment's files: it throws InterruptedIOException, keeps the
 * interrupt, releases the directory's lock, and leaves no descriptor behind once the engine's opens complete.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogOpenInterruptTest {
    @TempDir
    Path dir;
    RingEngine engine;

    @BeforeEach
    void openEngine() {
        // The thread pool opens files on its workers: the open's wait for the tail segment's files is a real wait,
        // which an interrupt ends (on io_uring the opens are often complete before the wait starts).
        engine = RingEngine.open(new io.uringaio.engine.RingEngineConfig().backend(io.uringaio.engine.Backend.THREAD_POOL));
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }


    @Test
    void anInterruptedOpenLeaksNoDescriptorAndReleasesTheLock() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10).maxGroupsInFlight(4);
        int interrupted = 0;
        for (int round = 0; round < 50 && interrupted < 3; round++) {
            Path log = dir.resolve("log-" + round); // empty: no recovery read (which an interrupt would end first)
            Files.createDirectories(log);
            Thread.currentThread().interrupt();
            try {
                AppendLog.open(engine, log, config).close(); // the files were open before the wait: no wait to end
                Thread.interrupted();
            } catch (InterruptedIOException e) {
                interrupted++;
                assertEquals(true, Thread.interrupted(), "the interrupt status stays set");
            }
        }
        assertEquals(3, interrupted, "interrupted opens");
        // The engine's opens of the tail segment complete after the open gave up; before the fix nobody closed them
        // (maxGroupsInFlight descriptors per interrupted open).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long open = StorageTesting.openDescriptors(dir);
        while (open > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the closes are asynchronous; bounded wait for them
            open = StorageTesting.openDescriptors(dir);
        }
        assertEquals(0, open, "descriptors left open in the log directory");
        Path first = dir.resolve("log-0");
        try (AppendLog log = AppendLog.open(engine, first, config)) {
            assertEquals(0L, await(log.append(ByteBuffer.wrap(new byte[] {1}))), "the lock is free, the log empty");
        }
        assertFalse(Files.exists(first.resolve(LogSegment.SPARE_NAME)));
        assertEquals(List.of(0L), LogSegment.list(first));
    }
}
