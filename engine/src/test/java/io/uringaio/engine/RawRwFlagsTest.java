package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code rw_flags} of a raw read or write ({@link Request#prep}'s {@code opFlags}) reach the kernel on both
 * backends: io_uring passes them in the SQE, and the thread pool must pass them to {@code preadv2}/{@code pwritev2}
 * rather than drop them (a storage layer asking for {@code RWF_DSYNC} would silently lose its durability on the
 * fallback backend). {@code RWF_APPEND} and an unknown flag make the difference visible.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawRwFlagsTest extends KernelTest {
    private static final int RWF_DSYNC = 0x2;
    private static final int RWF_APPEND = 0x10;
    private static final int UNKNOWN_FLAG = 1 << 30;

    @TempDir
    Path dir;

    @Test
    void aWriteWithRwfAppendLandsAtTheEndWhateverItsOffset() throws Exception {
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            Path path = Files.write(dir.resolve("log"), "0123456789".getBytes());
            AsyncFile file = await(engine.open(path, READ, WRITE));
            MemorySegment src = arena.allocate(3);
            src.copyFrom(MemorySegment.ofArray("abc".getBytes()));
            Recorder done = new Recorder();
            engine.submit(new Request(done).prep(Uapi.IORING_OP_WRITE, file.fd(), src.address(), 3, 0, RWF_APPEND));
            assertEquals(3, done.awaitResult());
            Recorder durable = new Recorder();
            engine.submit(new Request(durable).prep(Uapi.IORING_OP_WRITE, file.fd(), src.address(), 1, 2, RWF_DSYNC));
            assertEquals(1, durable.awaitResult());
            await(file.closeAsync());
            assertArrayEquals("01a3456789abc".getBytes(), Files.readAllBytes(path), "appended, not at offset 0");
        }
    }

    @Test
    void anUnknownRwFlagIsRefusedByTheKernelOnBothBackends() throws Exception {
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            Path path = Files.write(dir.resolve("f"), "0123456789".getBytes());
            AsyncFile file = await(engine.open(path, READ, WRITE));
            MemorySegment buf = arena.allocate(4);
            Recorder write = new Recorder();
            engine.submit(new Request(write).prep(Uapi.IORING_OP_WRITE, file.fd(), buf.address(), 4, 0, UNKNOWN_FLAG));
            assertEquals(-ErrnoTable.EOPNOTSUPP, write.awaitResult());
            Recorder read = new Recorder();
            engine.submit(new Request(read).prep(Uapi.IORING_OP_READ, file.fd(), buf.address(), 4, 0, UNKNOWN_FLAG));
            assertEquals(-ErrnoTable.EOPNOTSUPP, read.awaitResult());
            await(file.closeAsync());
            assertArrayEquals("0123456789".getBytes(), Files.readAllBytes(path), "nothing written");
        }
    }
}
