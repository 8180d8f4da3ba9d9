package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.Test;

/**
 * A read waiting on a pipe that another reader shares: when data arrives, both wake, and the other reader may take it.
 * The engine's read must then stay a waiting, cancelable read. On the thread pool it used to go on to a blocking
 * {@code read(2)} once its poll had reported data, which the other reader had already taken: the worker blocked in the
 * kernel, no cancel or close could reach it (BackendStressTest's cancel storm once hung in close for 390 s).
 */
class PipeStolenDataTest extends KernelTest {
    private static final int ROUNDS = 200;

    @Test
    void aReadWhoseDataAnotherReaderTookStaysCancelable() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(8);
            MemorySegment mine = arena.allocate(8);
            int stolen = 0;
            try {
                for (int round = 0; round < ROUNDS; round++) {
                    Recorder done = new Recorder();
                    Request r = new Request(done).prepRead(pipe.readFd, buf.address(), 8, 0);
                    engine.submit(r);
                    waitUntil(() -> engine.stats().inFlight() == 1, () -> "read in flight: " + engine.stats());
                    pipe.write(1);
                    // Race the engine's read for the byte: a non-blocking read of our own once the pipe is readable.
                    if (Libc.pollOne(pipe.readFd, Libc.POLLIN, 50) > 0
                            && Libc.preadv2(pipe.readFd, iovec(arena, mine), 1, -1, Libc.RWF_NOWAIT) == 1) {
                        stolen++;
                    }
                    engine.cancel(r);
                    int res;
                    try {
                        res = done.first.get(5, TimeUnit.SECONDS);
                    } catch (TimeoutException stuck) {
                        fail("round " + round + ": the read whose byte was taken could not be canceled (stuck in the"
                                + " kernel); bytes taken by the other reader so far: " + stolen);
                        return;
                    }
                    assertTrue(res == 1 || res == -ErrnoTable.ECANCELED, "round " + round + ": " + res);
                    assertEquals(1, done.calls());
                }
            } finally {
                pipe.write(64); // a read stuck in the kernel (the defect) ends, so the engine can close
            }
            assertTrue(stolen > 0 || BACKEND == Backend.IO_URING,
                    "the other reader never won the race in " + ROUNDS + " rounds: the case was not exercised");
        }
    }

    private static long iovec(Arena arena, MemorySegment target) {
        MemorySegment iov = arena.allocate(16, 8);
        iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, target.address());
        iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, 1);
        return iov.address();
    }
}
