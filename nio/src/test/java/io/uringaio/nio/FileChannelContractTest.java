package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.DELETE_ON_CLOSE;
import static java.nio.file.StandardOpenOption.DSYNC;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.SYNC;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The same scenarios against the JDK's {@code FileChannel} and {@link UringFileChannel}: every expectation here is
 * the JDK's behaviour, so a scenario that passes for {@link Impl#JDK} and fails for {@link Impl#URING} is a
 * difference from the reference.
 */
class FileChannelContractTest {
    @TempDir
    Path dir;

    private static final byte[] HELLO = "hello, uring".getBytes(StandardCharsets.US_ASCII);

    private Path fileWith(byte[] content) throws IOException {
        Path p = dir.resolve("f");
        Files.write(p, content);
        return p;
    }

    private static IntFunction<ByteBuffer> allocator(boolean direct) {
        return direct ? ByteBuffer::allocateDirect : ByteBuffer::allocate;
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void relativeReadsMovePositionAndEndWithMinusOne(Impl impl) throws IOException {
        for (boolean direct : new boolean[] {false, true}) {
            Path p = fileWith(HELLO);
            try (FileChannel ch = impl.open(p, READ)) {
                ByteBuffer b = allocator(direct).apply(5);
                assertEquals(5, ch.read(b));
                assertEquals(5, b.position());
                assertEquals(5, b.limit());
                assertEquals(5, ch.position());
                b.clear();
                b.limit(3);
                assertEquals(3, ch.read(b));
                assertEquals(8, ch.position());
                b.clear();
                assertEquals(4, ch.read(b), "short read at the end");
                assertEquals(4, b.position());
                assertEquals(12, ch.position());
                b.clear();
                assertEquals(-1, ch.read(b));
                assertEquals(0, b.position());
                assertEquals(12, ch.position());
                b.position(b.limit());
                assertEquals(0, ch.read(b), "no room reads 0, even at EOF");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void positionalReadsLeaveThePositionAlone(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        try (FileChannel ch = impl.open(p, READ)) {
            ch.position(2);
            ByteBuffer b = ByteBuffer.allocate(5);
            assertEquals(5, ch.read(b, 7));
            assertEquals("uring", new String(b.array(), StandardCharsets.US_ASCII));
            assertEquals(2, ch.position());
            b.clear();
            assertEquals(-1, ch.read(b, 12));
            assertEquals(-1, ch.read(b, 1000));
            assertEquals(0, b.position());
            assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1), -1));
            assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer()));
            ch.position(100);
            assertEquals(-1, ch.read(ByteBuffer.allocate(1)), "reading past the end");
            assertEquals(100, ch.position());
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void writesExtendTheFileAndMoveThePosition(Impl impl) throws IOException {
        for (boolean direct : new boolean[] {false, true}) {
            Path p = dir.resolve("w" + direct);
            try (FileChannel ch = impl.open(p, READ, WRITE, CREATE_NEW)) {
                ByteBuffer src = allocator(direct).apply(HELLO.length).put(HELLO).flip();
                assertEquals(HELLO.length, ch.write(src));
                assertEquals(HELLO.length, src.position());
                assertEquals(HELLO.length, ch.position());
                assertEquals(HELLO.length, ch.size());
                src.rewind();
                assertEquals(HELLO.length, ch.write(src, 20), "positional write past the end");
                assertEquals(HELLO.length, ch.position());
                assertEquals(20 + HELLO.length, ch.size());
                ByteBuffer gap = ByteBuffer.allocate(8);
                assertEquals(8, ch.read(gap, HELLO.length));
                assertArrayEquals(new byte[8], gap.array(), "the hole reads as zeros");
                ch.position(1000);
                src.rewind();
                ch.write(src);
                assertEquals(1000 + HELLO.length, ch.size());
                ch.force(true);
                ch.force(false);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void scatterAndGatherFillBuffersInOrder(Impl impl) throws IOException {
        Path p = dir.resolve("sg");
        try (FileChannel ch = impl.open(p, READ, WRITE, CREATE)) {
            ByteBuffer a = ByteBuffer.wrap("abc".getBytes(StandardCharsets.US_ASCII));
            ByteBuffer b = ByteBuffer.allocateDirect(4).put("defg".getBytes(StandardCharsets.US_ASCII)).flip();
            ByteBuffer c = ByteBuffer.wrap("hi".getBytes(StandardCharsets.US_ASCII));
            assertEquals(9, ch.write(new ByteBuffer[] {a, b, c}));
            assertEquals(9, ch.position());
            assertEquals(3, a.position());
            assertEquals(4, b.position());
            ch.position(1);
            ByteBuffer x = ByteBuffer.allocate(2);
            ByteBuffer y = ByteBuffer.allocateDirect(3);
            ByteBuffer z = ByteBuffer.allocate(10);
            assertEquals(8, ch.read(new ByteBuffer[] {x, y, z}));
            assertEquals(2, x.position());
            assertEquals(3, y.position());
            assertEquals(3, z.position());
            assertEquals(9, ch.position());
            assertEquals(-1, ch.read(new ByteBuffer[] {x, y, z}));
            assertEquals(0, ch.read(new ByteBuffer[] {x, y, z}, 1, 0), "zero buffers read 0");
            assertThrows(IndexOutOfBoundsException.class, () -> ch.read(new ByteBuffer[] {x}, 1, 1));
            z.clear();
            ch.position(0);
            ByteBuffer w = ByteBuffer.allocate(1);
            assertEquals(1, ch.read(new ByteBuffer[] {z, w}, 1, 1));
            assertEquals(0, z.position());
            assertEquals(1, w.position());
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void truncateCutsAndPullsThePositionBack(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        try (FileChannel ch = impl.open(p, READ, WRITE)) {
            ch.position(10);
            ch.truncate(20);
            assertEquals(12, ch.size(), "truncate to a larger size does not grow");
            assertEquals(10, ch.position());
            ch.truncate(5);
            assertEquals(5, ch.size());
            assertEquals(5, ch.position());
            ch.position(2);
            ch.truncate(4);
            assertEquals(2, ch.position());
            assertThrows(IllegalArgumentException.class, () -> ch.truncate(-1));
        }
        try (FileChannel ro = impl.open(p, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.truncate(0));
            assertThrows(NonWritableChannelException.class, () -> ro.write(ByteBuffer.allocate(1)));
            assertThrows(NonWritableChannelException.class, () -> ro.write(ByteBuffer.allocate(1), 0));
        }
        try (FileChannel wo = impl.open(p, WRITE)) {
            assertThrows(NonReadableChannelException.class, () -> wo.read(ByteBuffer.allocate(1)));
            assertThrows(NonReadableChannelException.class, () -> wo.read(ByteBuffer.allocate(1), 0));
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aClosedChannelThrowsClosedChannelException(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        FileChannel ch = impl.open(p, READ, WRITE);
        ch.close();
        assertFalse(ch.isOpen());
        ch.close();
        ByteBuffer b = ByteBuffer.allocate(4);
        assertThrows(ClosedChannelException.class, () -> ch.read(b));
        assertThrows(ClosedChannelException.class, () -> ch.read(b, 0));
        assertThrows(ClosedChannelException.class, () -> ch.read(new ByteBuffer[] {b}));
        assertThrows(ClosedChannelException.class, () -> ch.write(b));
        assertThrows(ClosedChannelException.class, () -> ch.write(b, 0));
        assertThrows(ClosedChannelException.class, () -> ch.write(new ByteBuffer[] {b}));
        assertThrows(ClosedChannelException.class, ch::position);
        assertThrows(ClosedChannelException.class, () -> ch.position(1));
        assertThrows(ClosedChannelException.class, ch::size);
        assertThrows(ClosedChannelException.class, () -> ch.truncate(1));
        assertThrows(ClosedChannelException.class, () -> ch.force(true));
        assertThrows(ClosedChannelException.class, ch::tryLock);
        assertThrows(ClosedChannelException.class, ch::lock);
        assertThrows(ClosedChannelException.class, () -> ch.map(FileChannel.MapMode.READ_ONLY, 0, 1));
        assertThrows(ClosedChannelException.class, () -> ch.transferTo(0, 1, ch));
        assertEquals(0, b.position(), "nothing moved");
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing written");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedReaderClosesTheChannel(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        FileChannel ch = impl.open(p, READ);
        Throwable[] thrown = new Throwable[1];
        boolean[] stillInterrupted = new boolean[1];
        Thread t = Thread.ofPlatform().start(() -> {
            Thread.currentThread().interrupt();
            try {
                ch.read(ByteBuffer.allocate(4));
            } catch (Throwable e) {
                thrown[0] = e;
            }
            stillInterrupted[0] = Thread.currentThread().isInterrupted();
        });
        t.join();
        assertInstanceOf(ClosedByInterruptException.class, thrown[0]);
        assertTrue(stillInterrupted[0], "the interrupt status stays set");
        assertFalse(ch.isOpen());
        assertThrows(ClosedChannelException.class, () -> ch.read(ByteBuffer.allocate(1)));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptedVirtualThreadWriterClosesTheChannel(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        FileChannel ch = impl.open(p, READ, WRITE);
        Throwable[] thrown = new Throwable[1];
        Thread t = Thread.ofVirtual().start(() -> {
            Thread.currentThread().interrupt();
            try {
                ch.write(ByteBuffer.allocate(4), 0);
            } catch (Throwable e) {
                thrown[0] = e;
            }
        });
        t.join();
        assertInstanceOf(ClosedByInterruptException.class, thrown[0]);
        assertFalse(ch.isOpen());
        assertArrayEquals(HELLO, Files.readAllBytes(p), "the write did not happen");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void concurrentRelativeWritersNeverOverlap(Impl impl) throws Exception {
        Path p = dir.resolve("concurrent");
        int threads = 4;
        int records = 200;
        int size = 64;
        try (FileChannel ch = impl.open(p, READ, WRITE, CREATE_NEW)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> writers = new ArrayList<>();
            List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int w = 0; w < threads; w++) {
                byte mark = (byte) ('A' + w);
                writers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        for (int i = 0; i < records; i++) {
                            byte[] rec = new byte[size];
                            java.util.Arrays.fill(rec, mark);
                            ByteBuffer b = (i % 2 == 0) ? ByteBuffer.wrap(rec)
                                    : ByteBuffer.allocateDirect(size).put(rec).flip();
                            assertEquals(size, ch.write(b));
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            start.countDown();
            for (Thread t : writers) {
                t.join();
            }
            assertEquals(List.of(), failures);
            assertEquals((long) threads * records * size, ch.size());
            assertEquals((long) threads * records * size, ch.position());
        }
        byte[] all = Files.readAllBytes(p);
        int[] counts = new int[threads];
        for (int r = 0; r < all.length / size; r++) {
            byte first = all[r * size];
            for (int i = 1; i < size; i++) {
                assertEquals(first, all[r * size + i], "record " + r + " is torn");
            }
            counts[first - 'A']++;
        }
        for (int c : counts) {
            assertEquals(records, c);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void openOptionsBehaveAsTheJdks(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        assertThrows(FileAlreadyExistsException.class, () -> impl.open(p, WRITE, CREATE_NEW));
        assertThrows(NoSuchFileException.class, () -> impl.open(dir.resolve("missing"), READ));
        assertThrows(NoSuchFileException.class, () -> impl.open(dir.resolve("missing"), WRITE));
        assertThrows(IllegalArgumentException.class, () -> impl.open(p, READ, APPEND));
        assertThrows(IllegalArgumentException.class, () -> impl.open(p, APPEND, TRUNCATE_EXISTING));
        try (FileChannel ch = impl.open(p, READ, CREATE_NEW)) {
            assertEquals(12, ch.size(), "CREATE_NEW without WRITE is ignored");
        }
        assertFalse(Files.exists(dir.resolve("ro")));
        assertThrows(NoSuchFileException.class, () -> impl.open(dir.resolve("ro"), READ, CREATE));
        try (FileChannel ch = impl.open(p, APPEND)) {
            assertEquals(12, ch.position(), "an append channel's position is the size");
            assertEquals(2, ch.write(ByteBuffer.wrap(new byte[] {'!', '!'})));
            assertEquals(14, ch.position());
            ch.position(0);
            ch.write(ByteBuffer.wrap(new byte[] {'?'}));
            assertEquals(15, ch.size(), "appends ignore the position");
        }
        assertEquals("hello, uring!!?", Files.readString(p));
        try (FileChannel ch = impl.open(p, WRITE, TRUNCATE_EXISTING, DSYNC)) {
            assertEquals(0, ch.size());
            ch.write(ByteBuffer.wrap(HELLO));
        }
        try (FileChannel ch = impl.open(p, WRITE, SYNC)) {
            ch.write(ByteBuffer.wrap(new byte[] {'H'}));
        }
        assertEquals("Hello, uring", Files.readString(p));
        Path temp = dir.resolve("temp");
        try (FileChannel ch = impl.open(temp, READ, WRITE, CREATE_NEW, DELETE_ON_CLOSE)) {
            ch.write(ByteBuffer.wrap(HELLO));
            ByteBuffer b = ByteBuffer.allocate(HELLO.length);
            assertEquals(HELLO.length, ch.read(b, 0), "the data lives while the channel does");
        }
        assertFalse(Files.exists(temp));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void transfersCopyWithoutMovingTheSourcePosition(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        Path q = dir.resolve("copy");
        try (FileChannel src = impl.open(p, READ); FileChannel dst = impl.open(q, READ, WRITE, CREATE_NEW)) {
            src.position(3);
            assertEquals(5, src.transferTo(7, 5, dst));
            assertEquals(3, src.position());
            assertEquals(5, dst.position(), "the target's position advanced");
            assertEquals(0, src.transferTo(100, 5, dst), "past the end");
            assertEquals(4, dst.transferFrom(src, 5, 4), "from the source's position 3");
            assertEquals(7, src.position());
            assertEquals(5, dst.position());
            assertEquals("uringlo, ", Files.readString(q));
            assertThrows(NonWritableChannelException.class, () -> src.transferFrom(dst, 0, 1));
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aClosedChannelIsReportedBeforeABadPositionOrSize(Impl impl) throws IOException {
        // The JDK checks "open" first in position(long) and truncate(long): a closed channel wins over -1.
        Path p = fileWith(HELLO);
        FileChannel ch = impl.open(p, READ, WRITE);
        ch.close();
        assertThrows(ClosedChannelException.class, () -> ch.position(-1));
        assertThrows(ClosedChannelException.class, () -> ch.truncate(-1));
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing changed");
        try (FileChannel open = impl.open(p, READ, WRITE)) {
            open.position(2);
            assertThrows(IllegalArgumentException.class, () -> open.position(-1));
            assertThrows(IllegalArgumentException.class, () -> open.truncate(-1));
            assertEquals(2, open.position(), "the position unchanged");
            assertEquals(HELLO.length, open.size(), "the size unchanged");
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptPendingAtAPositionCallClosesTheChannel(Impl impl) throws IOException {
        // The JDK's position() and position(long) are blocking sections (a seek): an interrupted caller closes the
        // channel, gets ClosedByInterruptException and keeps its interrupt status.
        Path p = fileWith(HELLO);
        for (boolean set : new boolean[] {false, true}) {
            FileChannel ch = impl.open(p, READ, WRITE);
            ch.position(2);
            Thread.currentThread().interrupt();
            try {
                assertThrows(ClosedByInterruptException.class, () -> {
                    if (set) {
                        ch.position(5);
                    } else {
                        ch.position();
                    }
                });
            } finally {
                assertTrue(Thread.interrupted(), "the interrupt status kept");
            }
            assertFalse(ch.isOpen(), "the channel closed");
            assertThrows(ClosedChannelException.class, ch::position);
        }
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing changed");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void transfersRefuseAReadOnlyTargetAndAWriteOnlySourceWhateverTheCount(Impl impl) throws IOException {
        // The JDK checks the other channel's mode up front: even a transfer of nothing, or from past the end, throws.
        Path p = fileWith(HELLO);
        Path q = dir.resolve("other");
        Files.write(q, HELLO);
        try (FileChannel src = impl.open(p, READ, WRITE); FileChannel readOnly = impl.open(q, READ);
             FileChannel writeOnly = impl.open(q, WRITE)) {
            assertThrows(NonWritableChannelException.class, () -> src.transferTo(0, 0, readOnly));
            assertThrows(NonWritableChannelException.class, () -> src.transferTo(100, 5, readOnly));
            assertThrows(NonWritableChannelException.class, () -> src.transferTo(0, 5, readOnly));
            assertThrows(NonReadableChannelException.class, () -> src.transferFrom(writeOnly, 0, 0));
            assertThrows(NonReadableChannelException.class, () -> src.transferFrom(writeOnly, 0, 5));
            assertEquals(0, src.position(), "the source's position unchanged");
            assertEquals(0, readOnly.position(), "the target's position unchanged");
            assertEquals(0, writeOnly.position(), "the other source's position unchanged");
        }
        assertArrayEquals(HELLO, Files.readAllBytes(p), "nothing written");
        assertArrayEquals(HELLO, Files.readAllBytes(q), "nothing written");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void mapReadsAndWritesThroughTheSameFile(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        try (FileChannel ch = impl.open(p, READ, WRITE)) {
            MappedByteBuffer m = ch.map(FileChannel.MapMode.READ_WRITE, 0, 5);
            assertEquals('h', m.get(0));
            m.put(0, (byte) 'J');
            m.force();
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, 0);
            assertEquals('J', b.get(0), "mmap and the ring see one page cache");
        }
        try (FileChannel ro = impl.open(p, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.map(FileChannel.MapMode.READ_WRITE, 0, 1));
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var seg = ro.map(FileChannel.MapMode.READ_ONLY, 0, 5, arena);
                assertEquals('J', seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void locksAreExclusiveInTheJvmAndReleasedByClose(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        try (FileChannel a = impl.open(p, READ, WRITE); FileChannel b = impl.open(p, READ, WRITE)) {
            FileLock lock = a.tryLock();
            assertNotNull(lock);
            assertEquals(a, lock.channel());
            assertTrue(lock.isValid());
            assertThrows(OverlappingFileLockException.class, () -> b.tryLock(), "one JVM, one lock table");
            assertThrows(OverlappingFileLockException.class, () -> a.tryLock(0, 5, true));
            lock.release();
            assertFalse(lock.isValid());
            FileLock shared = b.lock(0, 100, true);
            assertTrue(shared.isShared());
            FileLock other = a.tryLock(200, 10, false);
            assertNotNull(other, "a disjoint range");
            a.close();
            assertFalse(other.isValid(), "closing the channel releases its locks");
            assertTrue(shared.isValid());
            assertThrows(ClosedChannelException.class, other::release);
        }
        try (FileChannel ro = impl.open(p, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.tryLock(0, 1, false));
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void locksAreSeenByAnotherProcess(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        try (FileChannel ch = impl.open(p, READ, WRITE)) {
            FileLock lock = ch.lock();
            assertEquals("BUSY", ChildJvm.run(LockHolderMain.class, p.toString()).trim());
            lock.release();
            assertEquals("LOCKED", ChildJvm.run(LockHolderMain.class, p.toString()).trim());
            FileLock shared = ch.lock(0, Long.MAX_VALUE, true);
            assertEquals("LOCKED", ChildJvm.run(LockHolderMain.class, p.toString(), "shared").trim());
            assertEquals("BUSY", ChildJvm.run(LockHolderMain.class, p.toString()).trim());
            shared.release();
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void directIoRefusesMisalignedPositionsAndSizes(Impl impl) throws IOException {
        Path p = dir.resolve("direct");
        Files.write(p, new byte[8192]);
        java.nio.file.OpenOption direct = com.sun.nio.file.ExtendedOpenOption.DIRECT;
        FileChannel ch;
        try {
            ch = impl.open(p, READ, WRITE, direct);
        } catch (IOException unsupported) {
            org.junit.jupiter.api.Assumptions.abort("O_DIRECT unsupported on " + p + ": " + unsupported);
            return;
        }
        try (ch) {
            int block = (int) Files.getFileStore(p).getBlockSize();
            ByteBuffer aligned = ByteBuffer.allocateDirect(2 * block).alignedSlice(block);
            aligned.limit(block);
            assertEquals(block, ch.read(aligned, 0));
            aligned.clear().limit(block);
            IOException pos = assertThrows(IOException.class, () -> ch.read(aligned, 1));
            assertEquals("Channel position (1) is not a multiple of the block size (" + block + ")",
                    pos.getMessage());
            aligned.clear().limit(100);
            IOException size = assertThrows(IOException.class, () -> ch.write(aligned, 0));
            assertEquals("Number of remaining bytes (100) is not a multiple of the block size (" + block + ")",
                    size.getMessage());
            assertEquals(0, aligned.position(), "nothing moved");
            aligned.clear().limit(block);
            aligned.put(0, (byte) 7);
            assertEquals(block, ch.write(aligned, block));
        }
        assertEquals(7, Files.readAllBytes(p)[block(p)]);
    }

    private static int block(Path p) throws IOException {
        return (int) Files.getFileStore(p).getBlockSize();
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void closeFromAnotherThreadLetsAReadInFlightFinishOrThrowAsynchronousClose(Impl impl) throws Exception {
        // A regular-file read cannot be held in the kernel; this checks that a close racing with reads never
        // produces anything but a result, AsynchronousCloseException or ClosedChannelException.
        Path p = fileWith(new byte[1 << 20]);
        for (int round = 0; round < 20; round++) {
            FileChannel ch = impl.open(p, READ);
            CountDownLatch started = new CountDownLatch(1);
            List<Throwable> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread reader = Thread.ofPlatform().start(() -> {
                started.countDown();
                ByteBuffer b = ByteBuffer.allocateDirect(1 << 16);
                try {
                    for (long pos = 0; ; pos = (pos + b.capacity()) % (1 << 20)) {
                        b.clear();
                        ch.read(b, pos);
                    }
                } catch (Throwable e) {
                    seen.add(e);
                }
            });
            assertTrue(started.await(10, TimeUnit.SECONDS));
            ch.close();
            reader.join(10_000);
            assertFalse(reader.isAlive());
            assertEquals(1, seen.size());
            Throwable e = seen.get(0);
            assertTrue(e instanceof AsynchronousCloseException || e instanceof ClosedChannelException,
                    "unexpected " + e);
            assertFalse(e instanceof ClosedByInterruptException);
        }
    }
}
