package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Opening and closing {@link AsyncFile}s, argument checks, and what error messages say. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileLifecycleTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void closeWaitsForInFlightOperationsAndRefusesNewOnes() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = engine(2)) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            ByteBuffer dst = ByteBuffer.allocate(16);
            CompletableFuture<Integer> read = file.read(dst, 0);
            CompletableFuture<Void> closed = file.closeAsync();
            assertFalse(file.isOpen());
            CompletableFuture<Integer> late = file.read(ByteBuffer.allocate(16), 0);
            assertTrue(late.isDone(), "an operation after close fails at once");
            Throwable t = failure(late);
            assertInstanceOf(ClosedChannelException.class, t);
            assertInstanceOf(ClosedChannelException.class, failure(file.fsync()));
            assertInstanceOf(ClosedChannelException.class, failure(file.size()));
            Thread.sleep(100);
            assertFalse(read.isDone(), "the blocked read is still running");
            assertFalse(closed.isDone(), "close waits for it");
            pipe.write(5);
            assertEquals(5, await(read), "the in-flight read finished normally");
            assertEquals(5, dst.position());
            await(closed);
            assertTrue(file.closeAsync().isDone(), "idempotent: a later call's future is done too");
            file.close();
        }
    }

    @Test
    void closeOfAFileWithManyWritesInFlight() throws Exception {
        try (RingEngine engine = engine(2)) {
            AsyncFile file = await(engine.open(dir.resolve("many"), CREATE, READ, WRITE));
            List<CompletableFuture<Integer>> writes = new ArrayList<>();
            byte[] expected = new byte[300 * 1000];
            for (int i = 0; i < 300; i++) {
                byte[] chunk = new byte[1000];
                java.util.Arrays.fill(chunk, (byte) i);
                System.arraycopy(chunk, 0, expected, i * 1000, 1000);
                writes.add(file.write(ByteBuffer.wrap(chunk), i * 1000L));
            }
            file.close(); // returns after every write finished and the descriptor is closed
            for (CompletableFuture<Integer> w : writes) {
                assertTrue(w.isDone());
                assertEquals(1000, w.join());
            }
            assertArrayEquals(expected, Files.readAllBytes(dir.resolve("many")));
            assertInstanceOf(ClosedChannelException.class, failure(file.write(ByteBuffer.allocate(1), 0)));
        }
    }

    @Test
    void deleteOnClose() throws Exception {
        Path path = dir.resolve("scratch");
        try (RingEngine engine = engine(1)) {
            AsyncFile file = await(engine.open(path, CREATE, READ, WRITE, DELETE_ON_CLOSE));
            assertEquals(3, await(file.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), 0)));
            assertTrue(Files.exists(path));
            file.close();
            assertFalse(Files.exists(path));
        }
    }

    @Test
    void openErrorsNameThePathAndErrno() throws Exception {
        Path missing = dir.resolve("missing");
        Path existing = dir.resolve("existing");
        Files.write(existing, new byte[1]);
        try (RingEngine engine = engine(1)) {
            UringIOException e = uringFailure(engine.open(missing, READ), ErrnoTable.ENOENT);
            assertEquals("ENOENT", e.errnoName());
            assertEquals("open", e.operation());
            assertEquals(missing.toString(), e.path());
            assertEquals("open " + missing + ": ENOENT (No such file or directory)", e.getMessage());

            UringIOException exists = uringFailure(engine.open(existing, CREATE_NEW, WRITE), ErrnoTable.EEXIST);
            assertTrue(exists.getMessage().contains(existing.toString()), exists.getMessage());
            assertTrue(exists.getMessage().contains("EEXIST"), exists.getMessage());

            AsyncFile created = await(engine.open(dir.resolve("new"), CREATE_NEW, WRITE));
            assertTrue(Files.exists(dir.resolve("new")));
            created.close();

            assertThrows(UnsupportedOperationException.class, () -> engine.open(existing, WRITE, APPEND));
            assertThrows(NullPointerException.class, () -> engine.open(null, READ));
        }
    }

    @Test
    void badArgumentsThrowAtOnceAndSubmitNothing() throws Exception {
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            AsyncFile file = await(engine.open(dir.resolve("args"), CREATE, READ, WRITE));
            EngineStats before = engine.stats();
            ByteBuffer readOnly = ByteBuffer.allocate(10).asReadOnlyBuffer();
            assertThrows(IllegalArgumentException.class, () -> file.read(readOnly, 0));
            assertThrows(IllegalArgumentException.class, () -> file.read(ByteBuffer.allocateDirect(10)
                    .asReadOnlyBuffer(), 0));
            assertThrows(IllegalArgumentException.class,
                    () -> file.readv(new ByteBuffer[] {ByteBuffer.allocate(1), readOnly}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> file.read(MemorySegment.ofArray(new byte[4]).asReadOnly(), 0));
            assertThrows(IllegalArgumentException.class, () -> file.read(ByteBuffer.allocate(10), -1));
            assertThrows(IllegalArgumentException.class, () -> file.write(ByteBuffer.allocate(10), -1));
            assertThrows(IllegalArgumentException.class, () -> file.writeDurable(ByteBuffer.allocate(10), -5));
            assertThrows(IllegalArgumentException.class, () -> file.read(arena.allocate(8), Long.MIN_VALUE));
            assertThrows(IllegalArgumentException.class, () -> file.write(arena.allocate(8), -1));
            assertThrows(IllegalArgumentException.class,
                    () -> file.writev(new ByteBuffer[] {ByteBuffer.allocate(1)}, -1));
            assertThrows(IllegalArgumentException.class, () -> file.fallocate(0, -1, 10));
            assertThrows(IllegalArgumentException.class, () -> file.fallocate(0, 0, 0));
            assertThrows(IllegalArgumentException.class, () -> file.writev(new ByteBuffer[0], 0));
            assertThrows(NullPointerException.class, () -> file.read((ByteBuffer) null, 0));
            assertThrows(NullPointerException.class, () -> file.write((ByteBuffer) null, 0));
            assertThrows(NullPointerException.class, () -> file.writeDurable(null, 0));
            assertThrows(NullPointerException.class, () -> file.read((MemorySegment) null, 0));
            assertThrows(NullPointerException.class, () -> file.write((MemorySegment) null, 0));
            assertThrows(NullPointerException.class, () -> file.readv(null, 0));
            assertThrows(NullPointerException.class, () -> file.writev(new ByteBuffer[] {null}, 0));
            MemorySegment dead;
            try (Arena closed = Arena.ofConfined()) {
                dead = closed.allocate(8);
            }
            assertThrows(IllegalArgumentException.class, () -> file.write(dead, 0));
            assertEquals(before.submitted(), engine.stats().submitted(), "nothing submitted");
            // Nothing was counted in flight on the file either: close does not wait for phantom operations.
            CompletableFuture<Void> closed = file.closeAsync();
            await(closed);
        }
    }

    @Test
    void kernelErrorsNameOperationPathAndErrno() throws Exception {
        Path path = dir.resolve("x");
        Files.write(path, new byte[100]);
        try (RingEngine engine = engine(1)) {
            AsyncFile readOnly = await(engine.open(path, READ));
            UringIOException w = uringFailure(readOnly.write(ByteBuffer.allocate(10), 0), ErrnoTable.EBADF);
            assertEquals("write " + path + ": EBADF (Bad file descriptor)", w.getMessage());
            assertEquals("write", w.operation());
            AsyncFile writeOnly = await(engine.open(path, WRITE));
            UringIOException r = uringFailure(writeOnly.read(ByteBuffer.allocate(10), 0), ErrnoTable.EBADF);
            assertEquals("read " + path + ": EBADF (Bad file descriptor)", r.getMessage());
            assertEquals("EBADF", r.errnoName());
            assertEquals(path.toString(), r.path());
            readOnly.close();
            writeOnly.close();
        }
        assertEquals("read /tmp/x: EBADF (Bad file descriptor)",
                new UringIOException(ErrnoTable.EBADF, "read", "/tmp/x").getMessage());
        assertEquals("fdatasync fd 12: EIO (Input/output error)",
                new UringIOException(ErrnoTable.EIO, "fdatasync", "fd 12").getMessage());
    }

    @Test
    void readOnlyAndWriteOnlyFlags() throws Exception {
        Path path = dir.resolve("flags");
        try (RingEngine engine = engine(1)) {
            AsyncFile w = await(engine.open(path, CREATE, WRITE));
            assertTrue(w.isWritable());
            assertFalse(w.isReadable());
            assertEquals(path, w.path());
            assertTrue(w.fd() >= 0);
            w.close();
            AsyncFile r = await(engine.open(path));
            assertTrue(r.isReadable(), "READ by default");
            assertFalse(r.isWritable());
            r.close();
        }
    }
}
