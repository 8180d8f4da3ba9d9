package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
