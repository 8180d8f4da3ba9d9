package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
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
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An open interrupted while it waits for the tail segment's files: it throws InterruptedIOException, keeps the
 * interrupt, releases the directory's lock, and leaves no descriptor behind once the engine's opens complete. The
 * engine is a thread pool of one worker, held by a read of an empty pipe, so the tail segment's opens wait in its queue
 * until the test lets them go: every interrupted open finds them pending (no timing; before, the test hoped that the
 * pool's opens were still running when the wait began, and counted the rounds where they were).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogOpenInterruptTest {
    private static final int ROUNDS = 3;

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

    @Test
    void anInterruptedOpenLeaksNoDescriptorAndReleasesTheLock() throws Exception {
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10).maxGroupsInFlight(4);
        long completedBefore = engine.stats().completed();
        try (Arena arena = Arena.ofShared()) {
            // The only worker blocks in a read of the empty pipe: what is submitted after it waits in the queue.
            MemorySegment one = arena.allocate(1);
            CountDownLatch readDone = new CountDownLatch(1);
            engine.submit(new Request((r, res) -> readDone.countDown()).prepRead(pipe[0], one, 0));
            for (int round = 0; round < ROUNDS; round++) {
                Path log = dir.resolve("log-" + round); // empty: no recovery read (which an interrupt would end first)
                Files.createDirectories(log);
                Thread.currentThread().interrupt();
                assertThrows(InterruptedIOException.class, () -> AppendLog.open(engine, log, config));
                assertTrue(Thread.interrupted(), "the interrupt status stays set");
            }
            assertEquals(0, StorageTesting.openDescriptors(dir), "the tail segments' opens are still queued");

            assertEquals(1, Libc.write(pipe[1], one.address(), 1), "let the worker go");
            assertTrue(readDone.await(20, TimeUnit.SECONDS));
        }
        // The engine's opens of the tail segment complete after the open gave up; before the fix nobody closed them
        // (maxGroupsInFlight descriptors per interrupted open). Each interrupted open's files are closed once all of
        // its opens completed: wait (bounded) until the queued opens ran (else no descriptor would be open yet, and
        // the check below would pass for nothing), then for the closes.
        long opens = 1 + ROUNDS * (long) config.maxGroupsInFlight(); // the pipe read, and each round's opens
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.stats().completed() - completedBefore < opens && System.nanoTime() < deadline) {
            Thread.sleep(5); // bounded wait for the queued opens to run
        }
        assertTrue(engine.stats().completed() - completedBefore >= opens, "the queued opens ran: " + engine.stats());
        long open = StorageTesting.openDescriptors(dir);
        while (open > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10); // the closes are asynchronous; bounded wait for them
            open = StorageTesting.openDescriptors(dir);
        }
        assertEquals(0, open, "descriptors left open in the log directory");
        for (int round = 0; round < ROUNDS; round++) {
            Path log = dir.resolve("log-" + round);
            try (AppendLog reopened = AppendLog.open(engine, log, config)) {
                assertEquals(0L, await(reopened.append(ByteBuffer.wrap(new byte[] {1}))),
                        "the lock is free, the log empty");
            }
            assertFalse(Files.exists(log.resolve(LogSegment.SPARE_NAME)));
            assertEquals(List.of(0L), LogSegment.list(log));
        }
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
