package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Raw opcodes that change a ring's own state rather than run one request: {@code IORING_OP_PROVIDE_BUFFERS} and
 * {@code IORING_OP_REMOVE_BUFFERS} (the buffer groups that buffer-selecting reads and receives of every user of the
 * ring draw from: an application's shared Netty loops use them for their sockets) and {@code IORING_OP_FILES_UPDATE}
 * (the ring's registered-file table). The ring is the engine's, shared by every caller; kept buffers would also point
 * into the caller's memory long after the request ended. Refused as the opcodes that address other requests are: a
 * typed exception, nothing submitted, the request idle, a bystander untouched. Both backends (the check is the
 * engine's, before any lane), and a caller ring too.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawRingStateOpcodeTest extends KernelTest {
    private static final byte FILES_UPDATE = 20;
    private static final byte PROVIDE_BUFFERS = 31;
    private static final byte REMOVE_BUFFERS = 32;

    @Test
    void opcodesThatChangeTheRingsStateAreRefused() throws Exception {
        assertRefusedOn(config().rings(1));
    }

    @Test
    void opcodesThatChangeTheRingsStateAreRefusedWithCallerRingsOn() throws Exception {
        assertRefusedOn(config().rings(1).callerRings(1)); // no effect on the thread pool: the same check there
    }

    private static void assertRefusedOn(RingEngineConfig config) throws Exception {
        try (RingEngine engine = RingEngine.open(config); Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            Recorder bystander = new Recorder();
            Request bystanderRead = new Request(bystander).prepRead(pipe.readFd, arena.allocate(16), 0);
            engine.submit(bystanderRead);
            MemorySegment buffers = arena.allocate(4 * 4096, 4096);
            MemorySegment fds = arena.allocate(8);
            Request[] refused = {
                // fd = number of buffers, addr, len = size of each, off = first buffer id (group 0)
                new Request(new Recorder()).prep(PROVIDE_BUFFERS, 4, buffers.address(), 4096, 0, 0),
                new Request(new Recorder()).prep(REMOVE_BUFFERS, 4, 0, 0, 0, 0),
                // addr = an int array of descriptors, len = how many, off = first slot of the table
                new Request(new Recorder()).prep(FILES_UPDATE, -1, fds.address(), 2, 0, 0),
            };
            long submitted = engine.stats().submitted();
            for (Request r : refused) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.submit(r),
                        r::toString);
                assertTrue(e.getMessage().contains("IORING_OP_"), e::getMessage);
                assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {r}, 1));
                assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(r));
                assertFalse(r.inFlight(), "idle again: " + r);
                assertEquals(0, ((Recorder) r.completion()).calls(), "no completion for what was not submitted");
            }
            assertEquals(submitted, engine.stats().submitted(), "nothing submitted");
            assertTrue(bystanderRead.inFlight(), "the bystander still waits");
            assertEquals(0, bystander.calls());
            pipe.write(5);
            assertEquals(5, bystander.awaitResult());
            waitUntil(() -> !bystanderRead.inFlight(), () -> "bystander idle");
            assertEquals(1, bystander.calls());
        }
    }
}
