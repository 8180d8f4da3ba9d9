package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checked {@code MemorySegment} forms of {@link Request}'s prep methods (issue 11, item 5): safe code never
 * touches an address; a segment the kernel cannot take safely is refused with a typed exception and leaves the request
 * as it was.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RequestSegmentTest extends KernelTest {
    @TempDir
    Path dir;

    private int openFile(String name) {
        int fd = Libc.open(dir.resolve(name).toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        assertEquals(true, fd >= 0, "open: " + fd);
        return fd;
    }

    @Test
    void segmentWriteThenReadRoundTripsAndKeepsTheSegmentAttached() throws Exception {
        int fd = openFile("f");
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment src = arena.allocateFrom("hello segments", StandardCharsets.US_ASCII);
            Recorder wrote = new Recorder();
            Request w = new Request(wrote).prepWrite(fd, src, 0);
            assertSame(src, w.attachment(), "kept reachable until the completion");
            assertEquals((int) src.byteSize(), w.length());
            engine.submit(w);
            assertEquals((int) src.byteSize(), wrote.awaitResult());

            MemorySegment dst = arena.allocate(src.byteSize());
            Recorder read = new Recorder();
            engine.submit(new Request(read).prepRead(fd, dst, 0));
            assertEquals((int) src.byteSize(), read.awaitResult());
            assertArrayEquals(src.toArray(ValueLayout.JAVA_BYTE), dst.toArray(ValueLayout.JAVA_BYTE));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void vectoredSegmentsGatherAndScatter() throws Exception {
        int fd = openFile("v");
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment iovecs = arena.allocate(3 * Uapi.IOVEC_SIZE);
            MemorySegment[] srcs = {
                arena.allocateFrom("abc", StandardCharsets.US_ASCII).asSlice(0, 3),
                arena.allocateFrom("defgh", StandardCharsets.US_ASCII).asSlice(0, 5),
                arena.allocateFrom("i", StandardCharsets.US_ASCII).asSlice(0, 1)};
            Recorder wrote = new Recorder();
            engine.submit(new Request(wrote).prepWritev(fd, iovecs, srcs, 2));
            assertEquals(9, wrote.awaitResult());
            assertEquals("\0\0abcdefghi", Files.readString(dir.resolve("v"), StandardCharsets.ISO_8859_1));

            MemorySegment[] dsts = {arena.allocate(4), arena.allocate(7)};
            Recorder read = new Recorder();
            engine.submit(new Request(read).prepReadv(fd, iovecs, dsts, 0));
            assertEquals(11, read.awaitResult());
            assertEquals("\0\0ab", new String(dsts[0].toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1));
            assertEquals("cdefghi", new String(dsts[1].toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1));
        } finally {
            Libc.close(fd);
        }
    }

    @Test
    void unsafeSegmentsAreRefusedAndTheRequestIsLeftAsItWas() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment good = arena.allocate(64);
            Request r = new Request(new Recorder()).prepRead(7, good, 128);
            MemorySegment heap = MemorySegment.ofArray(new byte[64]);
            Arena closedArena = Arena.ofShared();
            MemorySegment closed = closedArena.allocate(64);
            closedArena.close();
            MemorySegment readOnly = arena.allocate(64).asReadOnly();
            // A native segment claiming 3 GiB: never touched, only its size is checked.
            MemorySegment huge = good.reinterpret(3L << 30);
            MemorySegment big = good.reinterpret(3L << 29); // 1.5 GiB: fine alone, too much twice

            assertThrows(IllegalArgumentException.class, () -> r.prepRead(1, heap, 0));
            assertThrows(IllegalArgumentException.class, () -> r.prepWrite(1, heap, 0));
            assertThrows(IllegalArgumentException.class, () -> r.prepRead(1, closed, 0));
            assertThrows(IllegalArgumentException.class, () -> r.prepWrite(1, closed, 0));
            assertThrows(IllegalArgumentException.class, () -> r.prepRead(1, readOnly, 0), "read into read-only");
            assertThrows(IllegalArgumentException.class, () -> r.prepRead(1, huge, 0));
            assertThrows(IllegalArgumentException.class, () -> r.prepWrite(1, huge, 0));
            assertThrows(NullPointerException.class, () -> r.prepRead(1, (MemorySegment) null, 0));

            MemorySegment iovecs = arena.allocate(2 * Uapi.IOVEC_SIZE);
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepReadv(1, iovecs, new MemorySegment[] {good, heap}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepReadv(1, iovecs, new MemorySegment[] {good, readOnly}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepWritev(1, iovecs, new MemorySegment[] {good, closed}, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepWritev(1, iovecs, new MemorySegment[] {good, good, good}, 0), "iovecs too small");
            assertThrows(IllegalArgumentException.class, () -> r.prepWritev(1, iovecs, new MemorySegment[0], 0));
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepWritev(1, iovecs, new MemorySegment[] {big, big}, 0), "total over 2 GiB");
            assertThrows(IllegalArgumentException.class,
                    () -> r.prepWritev(1, heap, new MemorySegment[] {good}, 0), "heap iovecs");
            assertEquals(0L, iovecs.get(ValueLayout.JAVA_LONG, 0), "a refused vectored prep wrote no iovec");

            // Nothing changed: still the read prepared first.
            assertEquals(Uapi.IORING_OP_READ, r.opcode());
            assertEquals(7, r.fd());
            assertEquals(128, r.offset());
            assertEquals(64, r.length());
            assertSame(good, r.attachment());
            assertFalse(r.inFlight());
        }
    }

    @Test
    void aSegmentPrepOnARequestInFlightIsRefused() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Recorder done = new Recorder();
            Request r = new Request(done).prepRead(pipe.readFd, buf, 0);
            engine.submit(r);
            MemorySegment other = arena.allocate(32);
            assertThrows(IllegalStateException.class, () -> r.prepRead(pipe.readFd, other, 0));
            assertThrows(IllegalStateException.class,
                    () -> r.prepReadv(pipe.readFd, arena.allocate(16), new MemorySegment[] {other}, 0));
            assertSame(buf, r.attachment(), "the in-flight request still holds its own segment");
            pipe.write(3);
            assertEquals(3, done.awaitResult());
        }
    }
}
