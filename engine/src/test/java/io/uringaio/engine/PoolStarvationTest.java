package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The documented limit of the thread pool ({@link RingEngineConfig#poolThreads(int)}): a read waiting on an empty pipe
 * keeps its worker, so with one worker the next request queues behind it, and a cancel of the waiting read frees the
 * worker for it at once. On io_uring nothing queues behind a waiting pipe read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolStarvationTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void withOneWorkerAWaitingPipeReadHoldsTheNextRequestUntilItIsCanceled() throws Exception {
        int fd = Libc.open(dir.resolve("f").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared();
             RingEngine engine = RingEngine.open(config().rings(1).poolThreads(1))) {
            MemorySegment buf = arena.allocate(16);
            Recorder read = new Recorder();
            Request blocked = new Request(read).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(blocked);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "read waiting: " + engine.stats());
            Recorder sync = new Recorder();
            engine.submit(new Request(sync).prepFsync(fd, true));
            if (BACKEND == Backend.THREAD_POOL) {
                // The one worker polls the pipe: the fsync waits in the queue (no timing: it cannot have run).
                assertEquals(1, engine.stats().queued(), () -> "fsync queued: " + engine.stats());
                assertEquals(0, sync.calls());
            }
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(blocked)));
            assertEquals(-ErrnoTable.ECANCELED, read.awaitResult());
            assertEquals(0, sync.awaitResult());
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * With workers to spare, a request never waits behind a pipe read that is waiting for data. Each round: a pipe read,
     * then an fsync submitted a sweeping few microseconds later, while the lane's only worker (started for the read, or
     * idle from the round before) takes the read. A submitter that offered while that worker had already taken the
     * read but was still counted idle started no worker, and the fsync then waited behind the read for as long as the
     * pipe stayed empty (EngineHostileInputTest's open once timed out that way under load). The window is a few
     * instructions wide; the rounds sweep the submit delay across it.
     */
    @Test
    void aRequestNeverWaitsBehindAPipeReadWhileWorkersAreSpare() throws Exception {
        assumeTrue(BACKEND == Backend.THREAD_POOL, "io_uring has no workers to count");
        int fd = Libc.open(dir.resolve("g").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
        int rounds = 0;
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(16);
            while (System.nanoTime() < deadline) {
                try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1).poolThreads(4))) {
                    Recorder read = new Recorder();
                    engine.submit(new Request(read).prepRead(pipe.readFd, buf.address(), 1, 0));
                    long spinUntil = System.nanoTime() + (rounds % 64) * 1_000L;
                    while (System.nanoTime() < spinUntil) {
                        Thread.onSpinWait();
                    }
                    Recorder sync = new Recorder();
                    engine.submit(new Request(sync).prepFsync(fd, true));
                    Integer res;
                    try {
                        res = sync.first.get(5, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.TimeoutException starved) {
                        pipe.write(1); // frees the worker, so the engine can close
                        throw new AssertionError("round " + rounds + ": the fsync waited behind the pipe read with "
                                + "workers to spare: " + engine.stats());
                    }
                    assertEquals(0, res);
                    pipe.write(1);
                    assertEquals(1, read.awaitResult());
                }
                rounds++;
            }
        } finally {
            Libc.close(fd);
        }
    }
}
