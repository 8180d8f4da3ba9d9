package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Positional reads and writes through {@link AsyncFile}: every buffer kind, many offsets, end of file, vectors. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReadWriteTest extends KernelTest {
    @TempDir
    Path dir;

    /** The four ways to hand memory to AsyncFile. */
    enum Kind { DIRECT, HEAP, SEGMENT_NATIVE, SEGMENT_HEAP }

    /** Writes {@code data} with a buffer of {@code kind}; checks the count and the advanced position. */
    static CompletableFuture<Integer> write(AsyncFile f, Kind kind, byte[] data, long position, Arena arena) {
        switch (kind) {
            case DIRECT, HEAP -> {
                // A buffer whose position is not 0, to check that the transfer starts at the position.
                int lead = 7;
                ByteBuffer b = kind == Kind.DIRECT ? ByteBuffer.allocateDirect(lead + data.length + 5)
                        : ByteBuffer.allocate(lead + data.length + 5);
                b.position(lead).put(data).flip().position(lead);
                return f.write(b, position).thenApply(n -> {
                    assertEquals(lead + n, b.position(), "position advanced by the count");
                    return n;
                });
            }
            case SEGMENT_NATIVE -> {
                MemorySegment s = arena.allocate(data.length);
                MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, data.length);
                return f.write(s, position);
            }
            default -> {
                return f.write(MemorySegment.ofArray(data.clone()), position);
            }
        }
    }

    /** Reads {@code length} bytes at {@code position} with a buffer of {@code kind}; the bytes read. */
    static CompletableFuture<byte[]> read(AsyncFile f, Kind kind, int length, long position, Arena arena) {
        switch (kind) {
            case DIRECT, HEAP -> {
                int lead = 3;
                ByteBuffer b = kind == Kind.DIRECT ? ByteBuffer.allocateDirect(lead + length)
                        : ByteBuffer.allocate(lead + length);
                b.position(lead);
                return f.read(b, position).thenApply(n -> {
                    assertEquals(lead + Math.max(n, 0), b.position(), "position advanced by the count");
                    byte[] out = new byte[Math.max(n, 0)];
                    b.get(lead, out);
                    return out;
                });
            }
            case SEGMENT_NATIVE -> {
                MemorySegment s = arena.allocate(length);
                return f.read(s, position).thenApply(n -> s.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            }
            default -> {
                byte[] array = new byte[length];
                return f.read(MemorySegment.ofArray(array), position).thenApply(n -> Arrays.copyOf(array, n));
            }
        }
    }

    @Test
    void writtenDataReadsBackAtManyOffsetsWithEveryBufferKind() throws Exception {
        Random random = new Random(42);
        Kind[] kinds = Kind.values();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(dir.resolve("data"), CREATE, READ, WRITE));
            int regions = 160;
            long[] offsets = new long[regions];
            byte[][] contents = new byte[regions][];
            List<CompletableFuture<Integer>> writes = new ArrayList<>();
            long cursor = 0;
            for (int i = 0; i < regions; i++) {
                // Odd offsets and sizes, sometimes crossing page boundaries, sometimes 1 byte.
                cursor += random.nextInt(5000);
                int size = i % 10 == 0 ? 1 : 1 + random.nextInt(40_000);
                offsets[i] = cursor;
                contents[i] = new byte[size];
                random.nextBytes(contents[i]);
                writes.add(write(f, kinds[i % kinds.length], contents[i], cursor, arena));
                cursor += size;
            }
            for (int i = 0; i < regions; i++) {
                assertEquals(contents[i].length, await(writes.get(i)), "write " + i);
            }
            assertEquals(cursor, await(f.size()));
            List<CompletableFuture<byte[]>> reads = new ArrayList<>();
            for (int i = 0; i < regions; i++) {
                // Read with a different kind than the write used.
                reads.add(read(f, kinds[(i + 1 + i / kinds.length) % kinds.length], contents[i].length, offsets[i],
                        arena));
            }
            for (int i = 0; i < regions; i++) {
                assertArrayEquals(contents[i], await(reads.get(i)), "region " + i + " at " + offsets[i]);
            }
            f.close();
            // And the file on disk says the same.
            byte[] disk = Files.readAllBytes(dir.resolve("data"));
            for (int i = 0; i < regions; i++) {
                assertArrayEquals(contents[i],
                        Arrays.copyOfRange(disk, (int) offsets[i], (int) offsets[i] + contents[i].length));
            }
        }
    }

    @Test
    void shortReadsAtEndOfFile() throws Exception {
        byte[] content = new byte[1000];
        new Random(1).nextBytes(content);
        Files.write(dir.resolve("short"), content);
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(dir.resolve("short"), READ));
            for (boolean direct : new boolean[] {true, false}) {
                ByteBuffer b = direct ? ByteBuffer.allocateDirect(4096) : ByteBuffer.allocate(4096);
                assertEquals(1000, await(f.read(b, 0)), "count < asked at EOF");
                assertEquals(1000, b.position());
                assertArrayEquals(content, Arrays.copyOf(direct ? copy(b) : b.array(), 1000));

                b.clear().position(10);
                assertEquals(100, await(f.read(b, 900)));
                assertEquals(110, b.position());

                b.clear();
                assertEquals(-1, await(f.read(b, 1000)), "-1 at EOF");
                assertEquals(0, b.position(), "no advance at EOF");
                assertEquals(-1, await(f.read(b, 1_000_000)), "-1 past EOF");
                assertEquals(0, b.position());

                b.position(b.limit());
                assertEquals(0, await(f.read(b, 1000)), "a full buffer reads 0, not -1");
            }
            MemorySegment native4k = arena.allocate(4096);
            assertEquals(100, await(f.read(native4k, 900)));
            assertArrayEquals(Arrays.copyOfRange(content, 900, 1000),
                    native4k.asSlice(0, 100).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, await(f.read(native4k, 1000)), "segments read 0 at EOF");
            assertEquals(0, await(f.read(native4k, 5000)), "segments read 0 past EOF");
            byte[] heap = new byte[300];
            assertEquals(50, await(f.read(MemorySegment.ofArray(heap), 950)));
            assertArrayEquals(Arrays.copyOfRange(content, 950, 1000), Arrays.copyOf(heap, 50));
            assertEquals(0, await(f.read(MemorySegment.ofArray(heap), 1000)));
            f.close();
        }
    }

    private static byte[] copy(ByteBuffer direct) {
        byte[] out = new byte[direct.capacity()];
        direct.get(0, out);
        return out;
    }

    @Test
    void heapBuffersGoThroughBounceBuffersAtEverySize() throws Exception {
        Random random = new Random(7);
        // Below, at and above the pool's largest class (1 MiB), plus tiny ones.
        int[] sizes = {1, 4095, 4096, 4097, 65_536, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 123};
        try (RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(dir.resolve("bounce"), CREATE, READ, WRITE));
            long position = 4097;
            for (int size : sizes) {
                byte[] data = new byte[size];
                random.nextBytes(data);
                ByteBuffer src = ByteBuffer.wrap(data);
                assertEquals(size, await(f.write(src, position)), "heap write of " + size);
                assertFalse(src.hasRemaining());
                ByteBuffer dst = ByteBuffer.allocate(size);
                assertEquals(size, await(f.read(dst, position)), "heap read of " + size);
                assertArrayEquals(data, dst.array(), "heap round trip of " + size);
                byte[] segmentBack = new byte[size];
                assertEquals(size, await(f.read(MemorySegment.ofArray(segmentBack), position)));
                assertArrayEquals(data, segmentBack, "heap segment read of " + size);
                position += size + 1;
            }
            // Many at once, so pooled bounce buffers are taken and returned concurrently.
            int n = 200;
            byte[][] blocks = new byte[n][];
            List<CompletableFuture<Integer>> writes = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                blocks[i] = new byte[1 + random.nextInt(20_000)];
                random.nextBytes(blocks[i]);
                writes.add(f.write(ByteBuffer.wrap(blocks[i]), 10_000_000L + 20_000L * i));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(blocks[i].length, await(writes.get(i)));
            }
            List<CompletableFuture<Integer>> reads = new ArrayList<>();
            ByteBuffer[] back = new ByteBuffer[n];
            for (int i = 0; i < n; i++) {
                back[i] = ByteBuffer.allocate(blocks[i].length);
                reads.add(f.read(back[i], 10_000_000L + 20_000L * i));
            }
            for (int i = 0; i < n; i++) {
                assertEquals(blocks[i].length, await(reads.get(i)));
                assertArrayEquals(blocks[i], back[i].array(), "block " + i);
            }
            f.close();
        }
    }

    @Test
    void readvAndWritevWithMixedDirectAndHeapBuffers() throws Exception {
        Random random = new Random(11);
        try (RingEngine engine = engine(2)) {
            AsyncFile f = await(engine.open(dir.resolve("vectors"), CREATE, READ, WRITE));
            byte[] a = bytes(random, 100);
            byte[] b = bytes(random, 5000);
            byte[] c = bytes(random, 3);
            byte[] d = bytes(random, 70_000);
            ByteBuffer[] srcs = {ByteBuffer.wrap(a), direct(b), ByteBuffer.allocate(0), ByteBuffer.wrap(c), direct(d)};
            long total = a.length + b.length + c.length + d.length;
            assertEquals(total, await(f.writev(srcs, 10)));
            for (ByteBuffer s : srcs) {
                assertFalse(s.hasRemaining(), "every source fully consumed");
            }
            byte[] expected = concat(a, b, c, d);
            byte[] disk = Files.readAllBytes(dir.resolve("vectors"));
            assertEquals(10 + total, disk.length);
            assertArrayEquals(expected, Arrays.copyOfRange(disk, 10, disk.length));

            // Split differently on the way back: direct, heap, direct, heap.
            ByteBuffer[] dsts = {ByteBuffer.allocateDirect(50), ByteBuffer.allocate(5000), ByteBuffer.allocateDirect(58),
                    ByteBuffer.allocate((int) total - 5108)};
            assertEquals(total, await(f.readv(dsts, 10)));
            assertArrayEquals(expected, gather(dsts));

            // At the end of file: a partial vector read fills the first buffers and leaves the rest alone.
            ByteBuffer[] tail = {ByteBuffer.allocate(60), ByteBuffer.allocateDirect(100), ByteBuffer.allocate(10)};
            long at = 10 + total - 80;
            assertEquals(80, await(f.readv(tail, at)));
            assertEquals(60, tail[0].position());
            assertEquals(20, tail[1].position());
            assertEquals(0, tail[2].position());
            assertArrayEquals(Arrays.copyOfRange(expected, (int) total - 80, (int) total), gather(tail));

            ByteBuffer[] past = {ByteBuffer.allocate(10), ByteBuffer.allocateDirect(10)};
            assertEquals(-1L, await(f.readv(past, 10 + total)), "readv at EOF is -1");
            assertEquals(0, past[0].position());
            f.close();
        }
    }

    @Test
    void fallocateGrowsTheSize() throws Exception {
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(dir.resolve("alloc"), CREATE, READ, WRITE));
            assertEquals(0L, await(f.size()));
            await(f.fallocate(0, 0, 1 << 20));
            assertEquals(1L << 20, await(f.size()));
            assertEquals(1L << 20, Files.size(dir.resolve("alloc")));
            await(f.fallocate(Libc.FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20));
            assertEquals(1L << 20, await(f.size()), "KEEP_SIZE allocates without growing");
            await(f.fallocate(0, (1 << 20) + 100, 1000));
            assertEquals((1L << 20) + 1100, await(f.size()));
            ByteBuffer zeros = ByteBuffer.allocate(4096);
            assertEquals(4096, await(f.read(zeros, 0)));
            assertArrayEquals(new byte[4096], zeros.array(), "allocated space reads as zeros");
            f.close();
        }
    }

    @Test
    void sizeFollowsWrites() throws Exception {
        try (RingEngine engine = engine(1)) {
            AsyncFile f = await(engine.open(dir.resolve("size"), CREATE, READ, WRITE));
            assertEquals(0L, await(f.size()));
            await(f.write(ByteBuffer.wrap(new byte[10]), 12_345));
            assertEquals(12_355L, await(f.size()));
            f.close();
            assertTrue(Files.exists(dir.resolve("size")));
        }
    }

    private static byte[] bytes(Random random, int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static ByteBuffer direct(byte[] content) {
        return ByteBuffer.allocateDirect(content.length).put(content).flip();
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** The bytes before each buffer's position, concatenated. */
    private static byte[] gather(ByteBuffer[] buffers) {
        List<byte[]> parts = new ArrayList<>();
        for (ByteBuffer b : buffers) {
            byte[] p = new byte[b.position()];
            b.get(0, p);
            parts.add(p);
        }
        return concat(parts.toArray(byte[][]::new));
    }
}
