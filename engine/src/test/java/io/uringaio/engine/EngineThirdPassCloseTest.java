package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing under hostile conditions, on both backends: an interrupted closer, a file closed while its operations wait
 * behind the in-flight bound, a callback that closes the engine and then submits.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineThirdPassCloseTest extends KernelTest {
    @TempDir
    Path dir;

    /**
     * A thread whose interrupt status is set closes an engine with reads blocked on every lane: the close still
     * completes every request exactly once (-ECANCELED, by the close), and the status is still set afterwards.
     */
    @Test
    void anInterruptedCloserStillClosesEverythingAndKeepsItsStatus() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            RingEngine engine = RingEngine.open(config().rings(2).callerRings(1));
            List<Recorder> recorders = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                Recorder r = new Recorder();
                recorders.add(r);
                engine.submit(new Request(r).prepRead(pipe.readFd, arena.allocate(8), 0));
            }
            CompletableFuture<Boolean> statusAfter = new CompletableFuture<>();
            Thread closer = Thread.ofPlatform().start(() -> {
                Thread.currentThread().interrupt();
                try {
                    engine.close();
                    statusAfter.complete(Thread.currentThread().isInterrupted());
                } catch (Throwable t) {
                    statusAfter.completeExceptionally(t);
                }
            });
            assertTrue(await(statusAfter), "the interrupt status is kept");
            closer.join();
            for (Recorder r : recorders) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult());
                assertEquals(1, r.calls());
                assertTrue(r.byClose);
            }
            assertFalse(engine.isOpen());
            EngineStats stats = engine.stats();
            assertEquals(stats.submitted(), stats.completed(), stats::toString);
        }
    }

    /**
     * {@link AsyncFile#close()} from an interrupted thread while an operation is in flight: an IOException saying so,
     * the status kept, and the file still closes once the operation ends (the operation is not disturbed).
     */
    @Test
    void anInterruptedFileCloseThrowsAndTheCloseStillFinishes() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = engine(1)) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            ByteBuffer dst = ByteBuffer.allocate(4);
            CompletableFuture<Integer> read = file.read(dst, 0);
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            CompletableFuture<Boolean> status = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                Thread.currentThread().interrupt();
                try {
                    file.close();
                    thrown.complete(null);
                } catch (Throwable t) {
                    thrown.complete(t);
                }
                status.complete(Thread.currentThread().isInterrupted());
            });
            assertInstanceOf(IOException.class, await(thrown));
            assertTrue(await(status));
            assertFalse(file.isOpen());
            assertFalse(read.isDone(), "the read in flight is left alone");
            pipe.write(4);
            assertEquals(4, await(read));
            assertEquals(4, dst.position());
            await(file.closeAsync());
        }
    }

    /**
     * A file closed while its operations wait in the engine behind a full in-flight bound: they still run (not
     * canceled), the close waits for them, and a bystander of another descriptor is not disturbed.
     */
    @Test
    void aFileClosedWhileItsOperationsWaitBehindTheBoundLetsThemRunFirst() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe();
             RingEngine engine = RingEngine.open(bounded(1, 1).pageCacheFastPath(false))) {
            Path path = dir.resolve("f");
            Files.write(path, new byte[] {9, 8, 7, 6});
            AsyncFile file = await(engine.open(path, READ, WRITE));
            Recorder blocker = new Recorder();
            engine.submit(new Request(blocker).prepRead(pipe.readFd, arena.allocate(8), 0));
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "the pipe read holds the only slot");
            List<CompletableFuture<Integer>> reads = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                reads.add(file.read(ByteBuffer.allocate(4), 0));
            }
            CompletableFuture<Integer> write = file.write(ByteBuffer.wrap(new byte[] {1}), 4);
            CompletableFuture<Void> closed = file.closeAsync();
            assertThrows(Exception.class, () -> file.read(ByteBuffer.allocate(4), 0).join(), "refused once closing");
            assertFalse(closed.isDone());
            pipe.write(8);
            assertEquals(8, blocker.awaitResult());
            for (CompletableFuture<Integer> r : reads) {
                assertEquals(4, await(r));
            }
            assertEquals(1, await(write));
            await(closed);
            assertEquals(5, Files.size(path));
            assertEquals(1, blocker.calls());
        }
    }

    /** A callback that closes the engine, then submits: the submission is refused (typed), inside the callback only. */
    @Test
    void aCallbackThatClosesTheEngineThenSubmitsIsRefusedTyped() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            RingEngine engine = engine(1);
            Recorder bystander = new Recorder();
            engine.submit(new Request(bystander).prepRead(pipe.readFd, arena.allocate(8), 0));
            CompletableFuture<Throwable> refused = new CompletableFuture<>();
            Request late = new Request(new Recorder()).prepFsync(-1, false);
            engine.submit(new Request((r, res) -> {
                engine.close();
                try {
                    engine.submit(late);
                    refused.complete(null);
                } catch (Throwable t) {
                    refused.complete(t);
                }
            }).prepFsync(-1, false));
            assertInstanceOf(EngineRejectedException.class, await(refused));
            assertFalse(late.inFlight());
            assertEquals(-ErrnoTable.ECANCELED, bystander.awaitResult());
            assertTrue(bystander.byClose);
            closeWithin(engine);
            assertEquals(1, bystander.calls());
        }
    }

    /**
     * Submissions refused by a closed engine (every path: submit with and without the page-cache mark, batch, chain,
     * file operations) count nowhere: the counters still balance, and every request is idle again.
     */
    @Test
    void refusedSubmissionsOfAClosedEngineLeaveTheCountersBalanced() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config().rings(1).callerRings(1));
            Path path = Files.write(dir.resolve("closed"), new byte[64]);
            AsyncFile file = await(engine.open(path, READ, WRITE));
            int fd = file.fd();
            Recorder before = new Recorder();
            engine.submit(new Request(before).prepRead(fd, arena.allocate(8), 0));
            assertEquals(8, before.awaitResult());
            closeWithin(engine);
            EngineStats atClose = engine.stats();
            Request cached = new Request(new Recorder()).prepRead(fd, arena.allocate(8), 0).pageCacheFirst(true);
            Request plain = new Request(new Recorder()).prepFsync(fd, false);
            for (int i = 0; i < 50; i++) {
                assertThrows(EngineRejectedException.class, () -> engine.submit(cached));
                assertThrows(EngineRejectedException.class, () -> engine.submit(plain));
                assertThrows(EngineRejectedException.class, () -> engine.submitBatch(new Request[] {cached, plain}, 2));
                assertThrows(EngineRejectedException.class, () -> engine.submitLinked(plain, cached));
                assertInstanceOf(EngineClosedException.class, failure(file.read(ByteBuffer.allocate(8), 0)));
            }
            assertFalse(cached.inFlight());
            assertFalse(plain.inFlight());
            EngineStats after = engine.stats();
            assertEquals(atClose, after, "nothing counted");
            assertEquals(after.submitted(), after.completed(), after::toString);
        }
    }
}
