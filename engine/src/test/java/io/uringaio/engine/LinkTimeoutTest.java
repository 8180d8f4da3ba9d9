package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A raw chain [read of an empty pipe, IORING_OP_LINK_TIMEOUT]: when the timeout expires the kernel cancels the read,
 * which ends {@code -ECANCELED} (and the timeout {@code -ETIME}), as io_uring documents. That cancel is the chain's
 * own doing: the engine must not take it for a cancel nobody asked for (which it reports as {@code -EAGAIN}: an
 * io-wq worker the kernel could not start).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinkTimeoutTest extends KernelTest {
    private static final byte IORING_OP_LINK_TIMEOUT = 15;

    @Test
    void aReadCutByItsLinkedTimeoutEndsCanceled() throws Exception {
        assumeRings("IORING_OP_LINK_TIMEOUT is an io_uring operation; the thread pool does not run it");
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            MemorySegment timespec = arena.allocate(16);
            timespec.set(ValueLayout.JAVA_LONG, 0, 0);                                   // tv_sec
            timespec.set(ValueLayout.JAVA_LONG, 8, TimeUnit.MILLISECONDS.toNanos(20));  // tv_nsec
            Recorder read = new Recorder();
            Recorder timeout = new Recorder();
            engine.submitLinked(new Request(read).prepRead(pipe.readFd, buf.address(), 1, 0),
                    new Request(timeout).prep(IORING_OP_LINK_TIMEOUT, -1, timespec.address(), 1, 0, 0));
            assertEquals(-ErrnoTable.ECANCELED, read.awaitResult(), "the read cut by its timeout");
            assertEquals(-ErrnoTable.ETIME, timeout.awaitResult(), "the timeout that expired");
            assertEquals(1, read.calls());
            assertEquals(1, timeout.calls());
        }
    }
}
