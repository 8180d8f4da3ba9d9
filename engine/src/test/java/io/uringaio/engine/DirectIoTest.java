package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code O_DIRECT} through {@link UringOpenOption#DIRECT}. The files live under {@code target/} (the module's build
 * directory, on the repository's disk) rather than {@code /tmp}, which may be a tmpfs without O_DIRECT. Skips, with
 * the reason, where the file system refuses O_DIRECT at open.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DirectIoTest extends KernelTest {
    private Path dir;
    private RingEngine engine;
    private AsyncFile file;

    @BeforeEach
    void openDirect() throws Exception {
        Path target = Path.of("target");
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target, "direct-io-");
        engine = engine(2);
        Path path = dir.resolve("direct");
        try {
            file = engine.open(path, CREATE, READ, WRITE, UringOpenOption.DIRECT).get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UringIOException u && u.errno() == ErrnoTable.EINVAL) {
                Assumptions.assumeTrue(false,
                        "the file system of " + dir.toAbsolutePath() + " refuses O_DIRECT: " + u.getMessage());
            }
            throw e;
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (engine != null) {
            closeWithin(engine);
        }
        if (dir != null) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static ByteBuffer aligned(int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size + 4096).alignedSlice(4096);
        return b.limit(size);
    }

    @Test
    void alignedDirectBuffersRoundTrip() throws Exception {
        Random random = new Random(17);
        int size = 64 * 1024;
        byte[] data = new byte[size];
        random.nextBytes(data);
        ByteBuffer src = aligned(size);
        assertEquals(0, MemorySegment.ofBuffer(src).address() % 4096);
        src.put(data).flip();
        assertEquals(size, await(file.write(src, 8192)));
        await(file.fdatasync());
        ByteBuffer dst = aligned(size);
        assertEquals(size, await(file.read(dst, 8192)));
        dst.flip();
        byte[] back = new byte[size];
        dst.get(back);
        assertArrayEquals(data, back);
        assertEquals(8192L + size, await(file.size()));
    }

    @Test
    void heapBuffersUseAlignedBounceBuffers() throws Exception {
        byte[] data = new byte[3 * 4096];
        new Random(19).nextBytes(data);
        assertEquals(data.length, await(file.write(ByteBuffer.wrap(data), 4096)));
        ByteBuffer back = ByteBuffer.allocate(data.length);
        assertEquals(data.length, await(file.read(back, 4096)));
        assertArrayEquals(data, back.array());
        byte[] big = new byte[(1 << 20) + 4096 * 3]; // above the pool's largest class
        new Random(23).nextBytes(big);
        assertEquals(big.length, await(file.write(ByteBuffer.wrap(big), 1 << 20)));
        byte[] bigBack = new byte[big.length];
        assertEquals(big.length, await(file.read(MemorySegment.ofArray(bigBack), 1 << 20)));
        assertArrayEquals(big, bigBack);
    }

    @Test
    void misalignedOffsetIsEinval() throws Exception {
        // Data first: a read at or past the end of file returns 0 before any alignment check.
        assertEquals(8192, await(file.write(aligned(8192), 0)));
        UringIOException e = uringFailure(file.write(aligned(4096), 100), ErrnoTable.EINVAL);
        assertTrue(e.getMessage().contains("EINVAL"), e.getMessage());
        assertTrue(e.getMessage().startsWith("write "), e.getMessage());
        uringFailure(file.read(aligned(4096), 100), ErrnoTable.EINVAL);
        ByteBuffer misaligned = ByteBuffer.allocateDirect(3 * 4096).alignedSlice(4096).position(1).limit(4097)
                .slice();
        uringFailure(file.write(misaligned, 0), ErrnoTable.EINVAL);
    }
}
