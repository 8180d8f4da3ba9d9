package io.uringaio.nio;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.EngineStats;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A platform thread's writes to a file opened without DIRECT, and its syncs, are system calls on that thread (io_uring
 * would hand each to a kernel worker); a virtual thread's go through the engine, which lets it unmount. The bytes and
 * positions are the same either way.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FileChannelCallerThreadTest {
    @TempDir
    Path dir;

    /** Fails before the change: each write and force was a request of the engine's. */
    @Test
    void aPlatformThreadWritesAndForcesWithoutTheEngine() throws Exception {
        Path path = dir.resolve("platform");
        try (FileChannel ch = UringFiles.newFileChannel(path, CREATE, READ, WRITE)) {
            EngineStats before = UringFiles.stats();
            assertEquals(3, ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3})));
            assertEquals(3, ch.position());
            assertEquals(2, ch.write(ByteBuffer.wrap(new byte[] {9, 9}), 10));
            assertEquals(3, ch.position(), "a positional write leaves the position");
            ch.force(false);
            ch.force(true);
            EngineStats delta = UringFiles.stats().since(before);
            assertEquals(0, delta.submitted(), "no request of the engine's: " + delta);
        }
        assertArrayEquals(new byte[] {1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9, 9}, Files.readAllBytes(path));
    }

    @Test
    void aVirtualThreadGoesThroughTheEngine() throws Exception {
        Path path = dir.resolve("virtual");
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicReference<EngineStats> delta = new AtomicReference<>();
        try (FileChannel ch = UringFiles.newFileChannel(path, CREATE, READ, WRITE)) {
            Thread t = Thread.ofVirtual().start(() -> {
                try {
                    EngineStats before = UringFiles.stats();
                    ch.write(ByteBuffer.wrap(new byte[] {5, 6}));
                    ch.force(false);
                    delta.set(UringFiles.stats().since(before));
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(t.isAlive());
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(delta.get().submitted() >= 2, "the write and the sync went to the engine: " + delta.get());
        assertArrayEquals(new byte[] {5, 6}, Files.readAllBytes(path));
    }

    /** The error of a write on the caller's thread is the JDK's: a channel not open for writing. */
    @Test
    void aReadOnlyChannelStillRefusesWrites() throws Exception {
        Path path = dir.resolve("ro");
        Files.write(path, new byte[] {1});
        try (FileChannel ch = UringFiles.newFileChannel(path, READ)) {
            org.junit.jupiter.api.Assertions.assertThrows(java.nio.channels.NonWritableChannelException.class,
                    () -> ch.write(ByteBuffer.wrap(new byte[] {2})));
            ch.force(true);
        }
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(path));
    }
}
