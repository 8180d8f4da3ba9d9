package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;
import java.lang.foreign.Arena;
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
 * Linked chains on caller rings ({@link RingEngine#submitLinked}, {@link AsyncFile#writeDurable}): a thread that
 * submits a chain drives it in its own ring and waits for it there; a chain whose submitter exits before it ran is
 * handed to a Netty ring still linked, its members each completing once with their own results; a broken link ends
 * the members behind it {@code -ECANCELED} where they were, never run again.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingChainTest extends KernelTest {
    private static final int BLOCK = 4096;
    private static final String NETTY_THREADS = "chain-test";
    private static final long LONG_WAIT_NANOS = TimeUnit.SECONDS.toNanos(WAIT_SECONDS);

    @TempDir
    Path dir;

    private static RingEngine callerEngine() {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config().rings(1).callerRings(1).pageCacheFastPath(false)
                .threadNamePrefix(NETTY_THREADS));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    private int openFd(RingEngine engine, Path path) throws Exception {
        return (int) await(engine.open(path, READ, WRITE, CREATE)).fd();
    }

    private static MemorySegment filled(Arena arena, int size, byte value) {
        MemorySegment m = arena.allocate(size, BLOCK);
        m.fill(value);
        return m;
    }

    /** The chain goes to the submitting thread's caller ring, and the thread that waits there completes it itself. */
    @Test
    void chainRunsInTheSubmittersCallerRing() throws Exception {
        Path file = dir.resolve("data");
        try (RingEngine engine = callerEngine(); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = openFd(engine, file);
            MemorySegment in = arena.allocate(16);
            MemorySegment out = filled(arena, BLOCK, (byte) 7);
            Recorder read = new Recorder();
            Recorder write = new Recorder();
            Request head = new Request(read).prepRead(pipe.readFd, in.address(), 16, 0);
            Request tail = new Request(write).prepWrite(fd, out.address(), BLOCK, 0);
            engine.submitLinked(head, tail);
            CallerRing lane = assertInstanceOf(CallerRing.class, head.ring, "the chain's lane");
            assertSame(lane, tail.ring);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    waitUntil(() -> lane.waiters() > 0, () -> "a waiter inside the ring");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                pipe.write(16);
            });
            while (tail.inFlight()) {
                engine.awaitInLane(tail, LONG_WAIT_NANOS);
            }
            writer.join();
            assertEquals(16, read.awaitResult());
            assertEquals(BLOCK, write.awaitResult());
            assertEquals(Thread.currentThread().getName(), read.thread, "reaped by the waiting thread");
            assertEquals(1, read.calls());
            assertEquals(1, write.calls());
            byte[] expected = new byte[BLOCK];
            Arrays.fill(expected, (byte) 7);
            assertArrayEquals(expected, Files.readAllBytes(file));
        }
    }

    /**
     * A thread submits a chain whose head waits for pipe data, and exits: the kernel cancels the head (never started)
     * and fails the member behind it. Both go to a Netty ring, still linked: the write runs only after the read, and
     * each completes once with its own result, not -ECANCELED.
     */
    @Test
    void chainOutlivesTheThreadThatSubmittedIt() throws Exception {
        Path file = dir.resolve("data");
        try (RingEngine engine = callerEngine(); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = openFd(engine, file);
            MemorySegment in = arena.allocate(16);
            MemorySegment out = filled(arena, BLOCK, (byte) 3);
            Recorder read = new Recorder();
            Recorder write = new Recorder();
            Request head = new Request(read).prepRead(pipe.readFd, in.address(), 16, 0);
            Request tail = new Request(write).prepWrite(fd, out.address(), BLOCK, 0);
            CompletableFuture<Lane> lane = new CompletableFuture<>();
            runOnThreadThatExits(() -> lane.complete(engine.submitLinkedRouted(head, tail)));
            assertInstanceOf(CallerRing.class, await(lane), "the chain went to the submitter's caller ring");
            assertEquals(0, Files.size(file), "the write waits for its read");
            pipe.write(16); // the kernel cancels the read when its data comes (its task is gone)
            assertEquals(16, read.awaitResult());
            assertEquals(BLOCK, write.awaitResult());
            assertTrue(read.thread.startsWith(NETTY_THREADS), "ran on a Netty ring: " + read.thread);
            assertTrue(write.thread.startsWith(NETTY_THREADS), "ran on a Netty ring: " + write.thread);
            closeWithin(engine); // every CQE reaped: a second delivery would show now
            assertEquals(1, read.calls());
            assertEquals(1, write.calls());
            assertEquals(BLOCK, Files.size(file));
        }
    }

    /**
     * The head ran (a pipe write, done during the submission), the member behind it waits for data when its
     * submitter exits: only that member goes to a Netty ring, and completes once with its data.
     */
    @Test
    void tailOutlivesTheThreadThatSubmittedIt() throws Exception {
        try (RingEngine engine = callerEngine(); Pipe first = new Pipe(); Pipe second = new Pipe();
             Arena arena = Arena.ofShared()) {
            MemorySegment out = filled(arena, 8, (byte) 1);
            MemorySegment in = arena.allocate(16);
            Recorder write = new Recorder();
            Recorder read = new Recorder();
            Request head = new Request(write).prepWrite(first.writeFd, out.address(), 8, 0);
            Request tail = new Request(read).prepRead(second.readFd, in.address(), 16, 0);
            CompletableFuture<Lane> lane = new CompletableFuture<>();
            runOnThreadThatExits(() -> lane.complete(engine.submitLinkedRouted(head, tail)));
            assertInstanceOf(CallerRing.class, await(lane));
            assertEquals(8, write.awaitResult());
            second.write(5); // the kernel cancels the read when its data comes (its task is gone)
            assertEquals(5, read.awaitResult());
            assertTrue(read.thread.startsWith(NETTY_THREADS), "ran on a Netty ring: " + read.thread);
            closeWithin(engine); // every CQE reaped: a second delivery would show now
            assertEquals(1, write.calls());
            assertEquals(1, read.calls());
            assertEquals(8, first.drain(16), "the head wrote once");
        }
    }

    /**
     * A head that falls short (a read at the end of a file) breaks the link: the write behind it ends -ECANCELED where
     * it was, even though its submitter exits meanwhile, and never runs (the file stays empty).
     */
    @Test
    void brokenLinkEndsTheRestCanceledAndNeverRunsThem() throws Exception {
        Path empty = dir.resolve("empty");
        Files.createFile(empty);
        Path file = dir.resolve("data");
        try (RingEngine engine = callerEngine(); Arena arena = Arena.ofShared()) {
            int emptyFd = openFd(engine, empty);
            int fd = openFd(engine, file);
            MemorySegment in = arena.allocate(BLOCK, BLOCK);
            MemorySegment out = filled(arena, BLOCK, (byte) 9);
            for (boolean submitterExits : new boolean[] {false, true}) {
                Recorder read = new Recorder();
                Recorder write = new Recorder();
                Request head = new Request(read).prepRead(emptyFd, in.address(), BLOCK, 0);
                Request tail = new Request(write).prepWrite(fd, out.address(), BLOCK, 0);
                if (submitterExits) {
                    runOnThreadThatExits(() -> engine.submitLinked(head, tail));
                } else {
                    engine.submitLinked(head, tail);
                }
                assertEquals(0, read.awaitResult(), "end of file");
                assertEquals(-ErrnoTable.ECANCELED, write.awaitResult());
                assertEquals(1, read.calls());
                assertEquals(1, write.calls());
            }
            closeWithin(engine);
            assertEquals(0, Files.size(file), "no canceled write ran");
        }
    }

    /** A failed head (a write to a descriptor open for reading only) ends the member behind it -ECANCELED. */
    @Test
    void failedHeadEndsTheRestCanceled() throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[BLOCK]);
        try (RingEngine engine = callerEngine(); Arena arena = Arena.ofShared()) {
            int readOnly = (int) await(engine.open(file, READ)).fd();
            MemorySegment out = filled(arena, BLOCK, (byte) 5);
            Recorder write = new Recorder();
            Recorder sync = new Recorder();
            Request head = new Request(write).prepWrite(readOnly, out.address(), BLOCK, 0);
            Request tail = new Request(sync).prepFsync(readOnly, true);
            engine.submitLinked(head, tail);
            assertEquals(-ErrnoTable.EBADF, write.awaitResult());
            assertEquals(-ErrnoTable.ECANCELED, sync.awaitResult());
            closeWithin(engine);
            assertEquals(1, write.calls());
            assertEquals(1, sync.calls());
        }
    }

    /** A chain with a member whose full result the ring cannot tell (a vectored read) keeps using a Netty ring. */
    @Test
    void chainOfVectoredMembersStaysOnNettyRings() throws Exception {
        Path file = dir.resolve("data");
        Files.write(file, new byte[BLOCK]);
        try (RingEngine engine = callerEngine(); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = openFd(engine, file);
            MemorySegment iov = arena.allocate(16, 8);
            MemorySegment buf = arena.allocate(16);
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 0, buf.address());
            iov.set(java.lang.foreign.ValueLayout.JAVA_LONG, 8, 16);
            Recorder readv = new Recorder();
            Recorder sync = new Recorder();
            Request head = new Request(readv).prep(io.uringaio.engine.uapi.Uapi.IORING_OP_READV, pipe.readFd,
                    iov.address(), 1, 0, 0);
            Request tail = new Request(sync).prepFsync(fd, true);
            assertInstanceOf(Ring.class, engine.submitLinkedRouted(head, tail));
            pipe.write(16);
            assertEquals(16, readv.awaitResult());
            assertEquals(0, sync.awaitResult());
        }
    }

    /**
     * {@link AsyncFile#writeDurable} from an application thread goes to its caller ring; {@code join} waits there
     * and completes the future on the joining thread.
     */
    @Test
    void writeDurableJoinsInTheCallerRing() throws Exception {
        Path file = dir.resolve("data");
        try (RingEngine engine = callerEngine(); AsyncFile f = await(engine.open(file, READ, WRITE, CREATE))) {
            for (int i = 0; i < 50; i++) {
                ByteBuffer src = ByteBuffer.allocateDirect(BLOCK);
                while (src.hasRemaining()) {
                    src.put((byte) i);
                }
                src.flip();
                CompletableFuture<Integer> durable = f.writeDurable(src, (long) i * BLOCK);
                LaneFuture<?> lane = assertInstanceOf(LaneFuture.class, durable);
                assertNotNull(lane.callerLane(), "writeDurable went to the caller ring");
                CompletableFuture<String> where = durable.thenApply(n -> Thread.currentThread().getName());
                assertEquals(BLOCK, durable.join());
                assertEquals(Thread.currentThread().getName(), where.join(), "completed by the joining thread");
            }
            byte[] bytes = Files.readAllBytes(file);
            assertEquals(50 * BLOCK, bytes.length);
            for (int i = 0; i < 50; i++) {
                assertEquals((byte) i, bytes[i * BLOCK + BLOCK - 1]);
            }
        }
    }
}
