package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.uring.IoUring;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A read or write of a pipe that carries the caller's own {@code RWF_NOWAIT} is answered at once, on both backends as
 * io_uring answers it: EAGAIN when the pipe has no data (or no room), the bytes when it has. Without the flag the same
 * read waits for data. The thread-pool backend used to wait for readiness whatever the caller's flags said.
 */
class StreamNowaitTest {

    private static RingEngine open(Backend backend) {
        if (backend == Backend.IO_URING) {
            Assumptions.assumeTrue(IoUring.isAvailable(), () -> "io_uring unavailable: " + IoUring.unavailabilityCause());
        }
        return RingEngine.open(new RingEngineConfig().backend(backend).rings(1).poolThreads(2));
    }

    private static CompletableFuture<Integer> submit(RingEngine engine, byte opcode, int fd, MemorySegment buf,
            int len, int rwFlags) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        engine.submit(new Request((r, res) -> done.complete(res)).prep(opcode, fd, buf.address(), len, 0, rwFlags));
        return done;
    }

    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"IO_URING", "THREAD_POOL"})
    void pipeReadAndWriteWithTheCallersNowait_areAnsweredAtOnce(Backend backend) throws Exception {
        int[] p = new int[2];
        assertEquals(0, Libc.pipe(p));
        try (RingEngine engine = open(backend); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(65536);
            assertEquals(-ErrnoTable.EAGAIN, submit(engine, Uapi.IORING_OP_READ, p[0], buf, 8, Libc.RWF_NOWAIT)
                    .get(10, TimeUnit.SECONDS), "a RWF_NOWAIT read of an empty pipe");
            // Fill the pipe with RWF_NOWAIT writes until one finds no room.
            long filled = 0;
            while (true) {
                int res = submit(engine, Uapi.IORING_OP_WRITE, p[1], buf, 65536, Libc.RWF_NOWAIT)
                        .get(10, TimeUnit.SECONDS);
                if (res < 0) {
                    assertEquals(-ErrnoTable.EAGAIN, res, "a RWF_NOWAIT write to a full pipe");
                    break;
                }
                filled += res;
                assertTrue(filled < 64L << 20, "the pipe never filled");
            }
            assertEquals(8, submit(engine, Uapi.IORING_OP_READ, p[0], buf, 8, Libc.RWF_NOWAIT)
                    .get(10, TimeUnit.SECONDS), "a RWF_NOWAIT read of a pipe with data");
            // Drain it; then a read without the flag waits until data comes.
            long left = filled - 8;
            while (left > 0) {
                int res = submit(engine, Uapi.IORING_OP_READ, p[0], buf, 65536, 0).get(10, TimeUnit.SECONDS);
                assertTrue(res > 0, "drain: " + res);
                left -= res;
            }
            CompletableFuture<Integer> waiting = submit(engine, Uapi.IORING_OP_READ, p[0], buf, 8, 0);
            Thread.sleep(100);
            assertTrue(!waiting.isDone(), "a read without RWF_NOWAIT of an empty pipe did not wait");
            MemorySegment one = arena.allocate(3);
            assertEquals(3, Libc.write(p[1], one.address(), 3));
            assertEquals(3, waiting.get(10, TimeUnit.SECONDS));
        } finally {
            Libc.close(p[1]);
            Libc.close(p[0]);
        }
    }
}
