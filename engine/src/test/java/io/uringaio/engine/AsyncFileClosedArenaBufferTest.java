package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A direct buffer of an arena closed already ({@code Arena.asByteBuffer()} after {@code close()}) still has its
 * address: before the fix the engine handed that address to the kernel, which read freed memory into the file or
 * wrote the file into freed memory (memory the allocator may have given to something else since). Now the call
 * throws {@code IllegalStateException}, as the JDK's channels do, and nothing is submitted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileClosedArenaBufferTest extends KernelTest {
    private static final byte[] HELLO = "hello, uring".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    /** A direct buffer over 1 MiB of an arena that is closed. */
    private static ByteBuffer freed() {
        Arena arena = Arena.ofShared();
        ByteBuffer b = arena.allocate(1 << 20).asByteBuffer();
        arena.close();
        return b;
    }

    @Test
    void everyTransferOfAFreedBufferIsRefusedAndNothingChanges() throws Exception {
        Path p = dir.resolve("f");
        Files.write(p, HELLO);
        try (RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE));
            assertThrows(IllegalStateException.class, () -> file.read(freed(), 0));
            assertThrows(IllegalStateException.class, () -> file.write(freed(), 0));
            assertThrows(IllegalStateException.class, () -> file.writeDurable(freed(), 0));
            assertThrows(IllegalStateException.class,
                    () -> file.readv(new ByteBuffer[] {ByteBuffer.allocate(4), freed()}, 0));
            assertThrows(IllegalStateException.class,
                    () -> file.writev(new ByteBuffer[] {ByteBuffer.wrap(HELLO), freed()}, 0));
            assertEquals(0, engine.stats().inFlight(), "nothing counted in");
            ByteBuffer live = ByteBuffer.allocateDirect(HELLO.length);
            assertEquals(HELLO.length, await(file.read(live, 0)), "the file still works");
            await(file.closeAsync());
        }
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing written");
    }

    @Test
    void aBufferOfAnotherThreadsConfinedArenaIsRefused() throws Exception {
        Path p = dir.resolve("f");
        Files.write(p, HELLO);
        try (RingEngine engine = RingEngine.open(config().rings(1)); Arena confined = Arena.ofConfined()) {
            AsyncFile file = await(engine.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE));
            ByteBuffer owned = confined.allocate(64).asByteBuffer();
            java.util.concurrent.CompletableFuture<Throwable> thrown = new java.util.concurrent.CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try {
                    file.read(owned, 0);
                    file.writev(new ByteBuffer[] {owned}, 0);
                    thrown.complete(null);
                } catch (Throwable t) {
                    thrown.complete(t);
                }
            });
            org.junit.jupiter.api.Assertions.assertInstanceOf(WrongThreadException.class,
                    thrown.get(10, TimeUnit.SECONDS));
            assertEquals(HELLO.length, await(file.read(owned, 0)), "its owner may");
            assertEquals(0, engine.stats().inFlight());
            await(file.closeAsync());
        }
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing written");
    }
}
