package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link RingEngine#close()} with work in flight and queued, and every submission after it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineCloseTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void closeCompletesEveryBlockedAndQueuedRequestOnce() throws Exception {
        int inKernel = 6;
        int queued = 5;
        List<Pipe> pipes = pipes(2);
        List<Recorder> recorders = new ArrayList<>();
        List<Request> requests = new ArrayList<>();
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(bounded(2, 3));
            // Two submitting threads: a thread keeps one ring, and threads take the rings in turn, so each ring gets
            // one thread's requests (3 in its kernel, the rest waiting in the engine).
            ExecutorService[] submitters = {Executors.newSingleThreadExecutor(), Executors.newSingleThreadExecutor()};
            try {
                MemorySegment buf = arena.allocate(64);
                for (int i = 0; i < inKernel + queued; i++) {
                    Recorder rec = new Recorder();
                    Request r = new Request(rec).prepRead(pipes.get(i % 2).readFd, buf.address(), 64, 0);
                    recorders.add(rec);
                    requests.add(r);
                    submitters[i % 2].submit(() -> engine.submit(r)).get(WAIT_SECONDS, TimeUnit.SECONDS);
                }
                waitUntil(() -> engine.stats().inFlight() == inKernel && engine.stats().queued() == queued,
                        () -> "6 in the kernel, 5 waiting: " + engine.stats());
                closeWithin(engine);
            } finally {
                closeWithin(engine);
                for (ExecutorService e : submitters) {
                    e.shutdownNow();
                }
            }
            for (int i = 0; i < recorders.size(); i++) {
                Recorder rec = recorders.get(i);
                assertEquals(1, rec.calls(), "request " + i + " completed exactly once");
                assertEquals(-ErrnoTable.ECANCELED, rec.results.get(0), "request " + i);
                assertTrue(rec.byClose, "request " + i + " reports canceledByClose");
                assertFalse(requests.get(i).inFlight());
            }
            EngineStats s = engine.stats();
            assertEquals(0, s.inFlight());
            assertEquals(0, s.queued());
            assertEquals(s.submitted(), s.completed());
        } finally {
            closeAll(pipes);
        }
    }

    @Test
    void closeRightAfterSubmittingABlockedReadCompletesItOnce() throws Exception {
        // Close races the read's start: on the pool, a worker between taking the read and starting to poll; on the
        // rings, a cancel right behind the read's SQE. Either way the read must end with ECANCELED and close return.
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(64);
            for (int round = 0; round < 300; round++) {
                RingEngine engine = RingEngine.open(bounded(1, 4));
                Recorder rec = new Recorder();
                engine.submit(new Request(rec).prepRead(pipe.readFd, buf.address(), 64, 0));
                if (round % 3 == 1) {
                    Thread.onSpinWait();
                } else if (round % 3 == 2) {
                    Thread.yield();
                }
                closeWithin(engine);
                assertEquals(1, rec.calls(), "round " + round + ": completed exactly once");
                assertEquals(-ErrnoTable.ECANCELED, rec.results.get(0), "round " + round);
            }
        }
    }

    @Test
    void asyncFileFuturesFailWithEngineClosedException() throws Exception {
        try (Pipe pipe = new Pipe()) {
            RingEngine engine = RingEngine.open(bounded(1, 2));
            AsyncFile file;
            List<CompletableFuture<Integer>> reads = new ArrayList<>();
            try {
                file = await(engine.open(pipe.readPath(), READ));
                for (int i = 0; i < 4; i++) { // two in the kernel, two waiting
                    reads.add(file.read(i % 2 == 0 ? ByteBuffer.allocateDirect(8) : ByteBuffer.allocate(8), 0));
                }
                waitUntil(() -> engine.stats().inFlight() == 2 && engine.stats().queued() == 2,
                        () -> "2 in the kernel, 2 waiting: " + engine.stats());
            } finally {
                closeWithin(engine);
            }
            for (int i = 0; i < reads.size(); i++) {
                Throwable t = failure(reads.get(i));
                EngineClosedException e = assertInstanceOf(EngineClosedException.class, t, "read " + i + ": " + t);
                assertEquals(ErrnoTable.ECANCELED, e.errno());
                assertTrue(e.getMessage().contains(pipe.readPath().toString()), e.getMessage());
            }
            assertFalse(file.isOpen());
            assertTrue(file.closeAsync().isDone(), "the engine closed the file's descriptor");
        }
    }

    @Test
    void submissionsAfterCloseFailAtOnce() throws Exception {
        RingEngine engine = engine(2);
        AsyncFile file = await(engine.open(dir.resolve("f"), CREATE, READ, WRITE));
        AsyncFile temp = await(engine.open(dir.resolve("temp"), CREATE, WRITE, DELETE_ON_CLOSE));
        assertTrue(Files.exists(dir.resolve("temp")));
        closeWithin(engine);
        assertFalse(engine.isOpen());
        engine.close(); // idempotent
        assertFalse(Files.exists(dir.resolve("temp")), "DELETE_ON_CLOSE honored when the engine closes the file");
        assertTrue(temp.closeAsync().isDone());

        Recorder rec = new Recorder();
        Request r = new Request(rec).prepFsync(-1, false);
        assertThrows(EngineRejectedException.class, () -> engine.submit(r));
        assertFalse(r.inFlight(), "a refused request is idle and reusable");
        Request other = new Request(new Recorder()).prepFsync(-1, false);
        assertThrows(EngineRejectedException.class, () -> engine.submitLinked(r, other));
        assertFalse(r.inFlight());
        assertFalse(other.inFlight());
        assertEquals(0, rec.calls());
        assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(r)));

        CompletableFuture<Integer> read = file.read(ByteBuffer.allocate(10), 0);
        assertTrue(read.isDone(), "failed at once");
        assertInstanceOf(EngineClosedException.class, failure(read));
        CompletableFuture<Integer> write = file.writeDurable(ByteBuffer.allocate(10), 0);
        assertTrue(write.isDone());
        CompletableFuture<Void> sync = file.fsync();
        assertTrue(sync.isDone());
        CompletableFuture<AsyncFile> open = engine.open(dir.resolve("g"), CREATE, WRITE);
        assertTrue(open.isDone());
        assertInstanceOf(EngineClosedException.class, failure(open));
        assertFalse(Files.exists(dir.resolve("g")));
    }

    @Test
    void closeWaitsForRunningFileWork() throws Exception {
        RingEngine engine = engine(2);
        List<CompletableFuture<Integer>> writes = new ArrayList<>();
        try {
            AsyncFile file = await(engine.open(dir.resolve("busy"), CREATE, READ, WRITE));
            for (int i = 0; i < 200; i++) {
                writes.add(file.write(ByteBuffer.allocate(8192), i * 8192L));
            }
        } finally {
            closeWithin(engine);
        }
        int written = 0;
        int closedOut = 0;
        for (CompletableFuture<Integer> w : writes) {
            assertTrue(w.isDone(), "every future is complete once close returned");
            if (w.isCompletedExceptionally()) {
                assertInstanceOf(EngineClosedException.class, failure(w));
                closedOut++;
            } else {
                assertEquals(8192, w.join());
                written++;
            }
        }
        System.out.println("close during writes: " + written + " written, " + closedOut + " refused by close");
        EngineStats s = engine.stats();
        assertEquals(0, s.inFlight());
        assertEquals(s.submitted(), s.completed());
    }
}
