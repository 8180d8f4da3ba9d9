package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A synchronous failure after an {@link AsyncFile} operation was counted never leaves the file unclosable (issue 11,
 * item 2): running out of direct memory for a heap buffer's bounce buffer fails that operation's future with ENOMEM,
 * and a heap buffer too large for one bounce buffer is an IllegalArgumentException before anything is counted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileFailureTest extends KernelTest {
    private static final int BIG = 4 << 20;

    @TempDir
    Path dir;

    /** Direct memory for up to 2 MiB at once; more throws what ByteBuffer.allocateDirect throws when it runs out. */
    private static void limitBounceMemory(RingEngine engine) {
        engine.bouncePool.allocator = size -> {
            if (size > (2 << 20)) {
                throw new OutOfMemoryError("Cannot reserve " + size + " bytes of direct buffer memory (test limit)");
            }
            return ByteBuffer.allocateDirect(size);
        };
    }

    @Test
    void outOfBounceMemoryFailsEachOperationWithEnomemAndTheFileStillCloses() throws Exception {
        Path path = dir.resolve("f");
        byte[] before = new byte[8192];
        Arrays.fill(before, (byte) 'b');
        Files.write(path, before);
        try (RingEngine engine = engine(1)) {
            limitBounceMemory(engine);
            AsyncFile file = await(engine.open(path, READ, WRITE, CREATE));

            ByteBuffer bigWrite = ByteBuffer.allocate(BIG);
            uringFailure(file.write(bigWrite, 0), ErrnoTable.ENOMEM);
            assertEquals(0, bigWrite.position(), "a failed write leaves the buffer alone");
            uringFailure(file.writeDurable(ByteBuffer.allocate(BIG), 0), ErrnoTable.ENOMEM);
            ByteBuffer bigRead = ByteBuffer.allocate(BIG);
            uringFailure(file.read(bigRead, 0), ErrnoTable.ENOMEM);
            assertEquals(0, bigRead.position());
            uringFailure(file.readv(new ByteBuffer[] {ByteBuffer.allocate(16), ByteBuffer.allocate(BIG)}, 0),
                    ErrnoTable.ENOMEM);
            uringFailure(file.writev(new ByteBuffer[] {ByteBuffer.allocate(16), ByteBuffer.allocate(BIG)}, 0),
                    ErrnoTable.ENOMEM);
            uringFailure(file.write(MemorySegment.ofArray(new byte[BIG]), 0), ErrnoTable.ENOMEM);
            uringFailure(file.read(MemorySegment.ofArray(new byte[BIG]), 0), ErrnoTable.ENOMEM);

            // Nothing else changed: the file still works and holds what it held, and it closes.
            assertEquals(4, await(file.write(ByteBuffer.wrap("abcd".getBytes()), 8192)));
            await(file.fsync());
            CompletableFuture<Void> closed = file.closeAsync();
            await(closed);
        }
        byte[] after = Files.readAllBytes(path);
        assertEquals(8196, after.length);
        assertArrayEquals(before, Arrays.copyOf(after, 8192));
    }

    /**
     * The real thing, in a JVM of its own: {@code -XX:MaxDirectMemorySize=32m} and a 128 MiB heap write. Before the fix
     * the OutOfMemoryError escaped {@code write} and {@code closeAsync()} never completed.
     */
    @Test
    void aHeapWriteBeyondMaxDirectMemorySizeFailsWithEnomemInAForkedJvm() throws Exception {
        String java = ProcessHandle.current().info().command().orElse(null);
        Assumptions.assumeTrue(java != null, "the path of this JVM's java is not known");
        Path path = dir.resolve("forked");
        Process process = new ProcessBuilder(java, "-XX:MaxDirectMemorySize=32m", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), DirectMemoryExhaustion.class.getName(), path.toString(),
                BACKEND.name())
                .redirectErrorStream(true)
                .start();
        boolean exited = process.waitFor(WAIT_SECONDS * 2, TimeUnit.SECONDS);
        String output = new String(process.getInputStream().readAllBytes());
        if (!exited) {
            process.destroyForcibly();
        }
        assertTrue(exited, "the forked JVM did not finish (a wedged close?): " + output);
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("ENOMEM then OK"), output);
        assertEquals("ok", Files.readString(path));
    }

    /** The forked JVM's program: a heap write too big for the direct memory left, then a small one, then close. */
    static final class DirectMemoryExhaustion {
        public static void main(String[] args) throws Exception {
            Path path = Path.of(args[0]);
            try (RingEngine engine = RingEngine.open(new RingEngineConfig().backend(Backend.valueOf(args[1])))) {
                AsyncFile file = engine.open(path, READ, WRITE, CREATE).get(WAIT_SECONDS, TimeUnit.SECONDS);
                CompletableFuture<Integer> big;
                try {
                    big = file.write(ByteBuffer.allocate(128 << 20), 0);
                } catch (Throwable t) {
                    System.out.println("write threw " + t);
                    System.exit(2);
                    return;
                }
                try {
                    System.out.println("unexpected: wrote " + big.get(WAIT_SECONDS, TimeUnit.SECONDS));
                    System.exit(3);
                } catch (java.util.concurrent.ExecutionException e) {
                    if (!(e.getCause() instanceof UringIOException u) || u.errno() != ErrnoTable.ENOMEM) {
                        System.out.println("unexpected failure " + e.getCause());
                        System.exit(4);
                    }
                }
                file.write(ByteBuffer.wrap("ok".getBytes()), 0).get(WAIT_SECONDS, TimeUnit.SECONDS);
                file.closeAsync().get(WAIT_SECONDS, TimeUnit.SECONDS);
                System.out.println("ENOMEM then OK");
            }
            System.exit(0);
        }
    }

    @Test
    void heapBufferTooLargeForABounceBufferIsRefusedBeforeAnythingIsCounted() throws Exception {
        // One heap buffer just over the largest bounce buffer: 2 GiB of heap and 15-20 s on the shared build machine,
        // so only on request (-Duringaio.test.largeHeap=true) and where the heap allows. BouncePoolTest checks the
        // arithmetic of the same limit in every build.
        Assumptions.assumeTrue(Boolean.getBoolean("uringaio.test.largeHeap"),
                "a 2 GiB heap buffer: run with -Duringaio.test.largeHeap=true");
        Assumptions.assumeTrue(Runtime.getRuntime().maxMemory() > (5L << 30),
                () -> "needs a heap over 5 GiB for a 2 GiB buffer; max " + Runtime.getRuntime().maxMemory());
        Path path = dir.resolve("f");
        try (RingEngine engine = engine(1)) {
            AsyncFile file = await(engine.open(path, READ, WRITE, CREATE));
            ByteBuffer huge = ByteBuffer.allocate(BouncePool.MAX_CAPACITY + 1);
            assertThrows(IllegalArgumentException.class, () -> file.write(huge, 0));
            assertThrows(IllegalArgumentException.class, () -> file.read(huge, 0));
            assertThrows(IllegalArgumentException.class, () -> file.writev(new ByteBuffer[] {huge}, 0));
            assertEquals(0, huge.position());
            assertEquals(3, await(file.write(ByteBuffer.wrap("xyz".getBytes()), 0)));
            await(file.closeAsync());
        }
        assertEquals("xyz", Files.readString(path));
    }
}
