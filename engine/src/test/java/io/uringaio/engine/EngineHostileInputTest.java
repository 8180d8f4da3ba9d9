package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.APPEND;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every public entry point of {@link RingEngine}, {@link Request} and {@link AsyncFile} at its boundaries, on both
 * backends (issue 11): each bad input gets a typed exception (or a failed future), and nothing else changes. A
 * bystander read waits on a pipe through every case and must complete exactly once, with its own result, at the end;
 * the file keeps its content; the engine stays usable.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineHostileInputTest extends KernelTest {
    private static final byte[] CONTENT = "the file's content must survive every hostile call".getBytes();

    @TempDir
    Path dir;

    private Arena arena;
    private RingEngine engine;
    private Pipe pipe;
    private Recorder bystander;
    private AsyncFile file;
    private Path path;

    @BeforeEach
    void openEverything() throws Exception {
        arena = Arena.ofShared();
        engine = engine(1);
        pipe = new Pipe();
        bystander = new Recorder();
        engine.submit(new Request(bystander).prepRead(pipe.readFd, arena.allocate(16), 0));
        path = dir.resolve("f");
        Files.write(path, CONTENT);
        file = await(engine.open(path, READ, WRITE));
    }

    /** The bystander completes once, with its own bytes; the file is intact; the engine still reads and writes. */
    @AfterEach
    void nothingElseChanged() throws Exception {
        try {
            if (engine.isOpen()) {
                assertEquals(0, bystander.calls(), "the bystander was not disturbed");
                pipe.write(3);
                assertEquals(3, bystander.awaitResult());
                ByteBuffer back = ByteBuffer.allocate(CONTENT.length);
                assertEquals(CONTENT.length, await(file.read(back, 0)));
                assertArrayEquals(CONTENT, back.array());
                await(file.closeAsync());
                closeWithin(engine);
                assertEquals(1, bystander.calls(), "exactly one completion");
            }
            assertArrayEquals(CONTENT, Files.readAllBytes(path), "file content unchanged");
        } finally {
            engine.close();
            pipe.close();
            arena.close();
        }
    }

    // ---------------------------------------------------------------- RingEngine raw API

    @Test
    void submitRefusesNullIncompleteAndNegativeOffsetRequests() {
        long before = engine.stats().submitted();
        assertThrows(NullPointerException.class, () -> engine.submit(null));
        assertThrows(NullPointerException.class, () -> engine.submit(new Request().prepFsync(file.fd(), false)));
        Request negative = new Request(new Recorder()).prepRead(file.fd(), arena.allocate(8), 0);
        negative.prep(Uapi.IORING_OP_READ, file.fd(), arena.allocate(8).address(), 8, -1, 0);
        assertThrows(IllegalArgumentException.class, () -> engine.submit(negative));
        negative.prep(Uapi.IORING_OP_READ, file.fd(), arena.allocate(8).address(), 8, Long.MIN_VALUE, 0);
        assertThrows(IllegalArgumentException.class, () -> engine.submit(negative));
        assertFalse(negative.inFlight());
        assertEquals(before, engine.stats().submitted(), "nothing submitted");
    }

    @Test
    void batchesAndChainsAreAllOrNothing() {
        Recorder done = new Recorder();
        Request good = new Request(done).prepFsync(file.fd(), true);
        Request bad = new Request(done).prepFsync(file.fd(), true);
        bad.prep(Uapi.IORING_OP_FSYNC, file.fd(), 0, 0, -5, 0);
        long before = engine.stats().submitted();
        assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {good, bad}, 2));
        assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(good, bad));
        assertThrows(IndexOutOfBoundsException.class, () -> engine.submitBatch(new Request[] {good}, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> engine.submitBatch(new Request[] {good}, -1));
        assertThrows(NullPointerException.class, () -> engine.submitBatch(new Request[] {good, null}, 2));
        assertThrows(IllegalStateException.class, () -> engine.submitBatch(new Request[] {good, good}, 2),
                "one request twice in a batch");
        assertThrows(IllegalStateException.class, () -> engine.submitLinked(good, good), "one request twice in a chain");
        assertThrows(IllegalArgumentException.class, () -> engine.submitLinked());
        Request[] seventeen = new Request[17];
        for (int i = 0; i < seventeen.length; i++) {
            seventeen[i] = new Request(done).prepFsync(file.fd(), true);
        }
        assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(seventeen));
        assertFalse(good.inFlight(), "left idle");
        assertEquals(before, engine.stats().submitted(), "nothing submitted");
        assertEquals(0, done.calls());
    }

    /**
     * A chain with more members than a ring keeps in flight ({@code maxInFlightPerRing}) could never go in whole: it
     * waited in the ring's queue for ever, its futures with it. Now refused at the call, nothing submitted; a chain
     * that fits still runs.
     */
    @Test
    void chainLongerThanARingTakesIsRefused() throws Exception {
        try (RingEngine small = RingEngine.open(config().rings(1).maxInFlightPerRing(2));
             AsyncFile f = await(small.open(path, READ, WRITE))) {
            Recorder done = new Recorder();
            Request[] three = new Request[3];
            for (int i = 0; i < three.length; i++) {
                three[i] = new Request(done).prepFsync(f.fd(), true);
            }
            assumeRings("only a ring bounds what it keeps in flight");
            long before = small.stats().submitted(); // the open's
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> small.submitLinked(three));
            assertTrue(e.getMessage().contains("maxInFlightPerRing"), e.getMessage());
            for (Request r : three) {
                assertFalse(r.inFlight(), "left idle");
            }
            assertEquals(before, small.stats().submitted(), "nothing submitted");
            small.submitLinked(three[0], three[1]);
            waitUntil(() -> done.calls() == 2, () -> "the chain that fits ran: " + done.results);
            assertEquals(List.of(0, 0), done.results);
        }
    }

    @Test
    void doubleSubmitFromTwoThreadsHasExactlyOneWinner() throws Exception {
        int rounds = 200;
        AtomicInteger completions = new AtomicInteger();
        Request shared = new Request((r, res) -> completions.incrementAndGet());
        AtomicInteger wins = new AtomicInteger();
        AtomicInteger refusals = new AtomicInteger();
        CyclicBarrier barrier = new CyclicBarrier(2);
        try (Pipe racePipe = new Pipe()) {
            // A read of an empty pipe: in flight until this test writes a byte, so both submits meet it in flight.
            shared.prepRead(racePipe.readFd, arena.allocate(1), 0);
            java.util.function.IntConsumer racer = id -> {
                for (int i = 0; i < rounds; i++) {
                    try {
                        barrier.await(WAIT_SECONDS, TimeUnit.SECONDS);
                        try {
                            engine.submit(shared);
                            wins.incrementAndGet();
                        } catch (IllegalStateException inFlight) {
                            refusals.incrementAndGet();
                        }
                        barrier.await(WAIT_SECONDS, TimeUnit.SECONDS);
                        if (id == 0) {
                            racePipe.write(1);
                            int expected = i + 1;
                            waitUntil(() -> completions.get() == expected && !shared.inFlight(),
                                    () -> "completion " + expected);
                        }
                        barrier.await(WAIT_SECONDS, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new AssertionError(e);
                    }
                }
            };
            // Own threads: the common pool may have a single thread on a small machine, and the racers meet.
            Thread a = Thread.ofPlatform().name("racer-a").start(() -> racer.accept(0));
            Thread b = Thread.ofPlatform().name("racer-b").start(() -> racer.accept(1));
            a.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS * 2));
            b.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS * 2));
            assertFalse(a.isAlive() || b.isAlive(), "racers finished");
        }
        assertEquals(rounds, wins.get(), "exactly one submit per round succeeded");
        assertEquals(rounds, refusals.get(), "the other got IllegalStateException");
        assertEquals(rounds, completions.get(), "one completion per round");
    }

    @Test
    void prepAndCompletionOnARequestInFlightAreRefused() throws Exception {
        Pipe other = new Pipe();
        try {
            Recorder done = new Recorder();
            Request r = new Request(done).prepRead(other.readFd, arena.allocate(8), 0);
            engine.submit(r);
            assertThrows(IllegalStateException.class, () -> r.prepFsync(file.fd(), false));
            assertThrows(IllegalStateException.class, () -> engine.submit(r));
            assertThrows(NullPointerException.class, () -> r.completion(null));
            assertEquals(other.readFd, r.fd(), "unchanged");
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(r)));
            assertEquals(-ErrnoTable.ECANCELED, done.awaitResult());
            assertEquals(1, done.calls());
        } finally {
            other.close();
        }
    }

    @Test
    void cancelOfNullIsRefusedAndOfAnIdleRequestIsAlreadyDone() throws Exception {
        assertThrows(NullPointerException.class, () -> engine.cancel(null));
        assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(new Request(new Recorder()))));
        assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(new Request())));
    }

    @Test
    void aThrowingCompletionIsContainedAndTheRequestIsReusable() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Request r = new Request((req, res) -> {
            calls.incrementAndGet();
            throw new IllegalStateException("hostile callback");
        });
        for (int i = 0; i < 3; i++) {
            engine.submit(r.prepFsync(file.fd(), true));
            int expected = i + 1;
            waitUntil(() -> calls.get() == expected && !r.inFlight(), () -> "completion " + expected);
        }
        Request errorThrower = new Request((req, res) -> {
            throw new StackOverflowError("hostile callback error");
        });
        engine.submit(errorThrower.prepFsync(file.fd(), true));
        waitUntil(() -> !errorThrower.inFlight(), () -> "completion of the Error thrower");
        assertEquals(3, calls.get());
    }

    @Test
    void aBlockingCompletionDelaysOthersButLosesNothing() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch entered = new CountDownLatch(1);
        Request blocker = new Request((req, res) -> {
            entered.countDown();
            try {
                release.await(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        engine.submit(blocker.prepFsync(file.fd(), true));
        assertTrue(entered.await(WAIT_SECONDS, TimeUnit.SECONDS));
        Recorder[] later = new Recorder[20];
        for (int i = 0; i < later.length; i++) {
            later[i] = new Recorder();
            engine.submit(new Request(later[i]).prepFsync(file.fd(), true));
        }
        release.countDown();
        for (Recorder r : later) {
            assertEquals(0, r.awaitResult());
        }
        for (Recorder r : later) {
            assertEquals(1, r.calls());
        }
    }

    @Test
    void aClosedEngineRejectsWithATypedExceptionAndLeavesRequestsIdle() throws Exception {
        Pipe other = new Pipe();
        try (Arena local = Arena.ofShared()) {
            RingEngine second = engine(1);
            second.close();
            Request r = new Request(new Recorder()).prepRead(other.readFd, local.allocate(8), 0);
            assertThrows(EngineRejectedException.class, () -> second.submit(r));
            assertFalse(r.inFlight(), "idle again: reusable on another engine");
            assertThrows(EngineRejectedException.class, () -> second.submitBatch(new Request[] {r}, 1));
            assertThrows(EngineRejectedException.class, () -> second.submitLinked(r));
            assertFalse(r.inFlight());
            assertInstanceOf(EngineClosedException.class, failure(second.open(path, READ)));
            assertEquals(CancelOutcome.ALREADY_DONE, await(second.cancel(r)));
            second.close(); // idempotent
        } finally {
            other.close();
        }
    }

    // ---------------------------------------------------------------- AsyncFile

    @Test
    void openRefusesBadPathsAndOptions() throws Exception {
        assertThrows(NullPointerException.class, () -> engine.open(null, READ));
        assertThrows(NullPointerException.class, () -> engine.open(path, (java.nio.file.OpenOption) null));
        assertThrows(UnsupportedOperationException.class, () -> engine.open(path, WRITE, APPEND));
        uringFailure(engine.open(dir.resolve("missing"), READ), ErrnoTable.ENOENT);
        uringFailure(engine.open(dir.resolve("no/such/dir/f"), WRITE, CREATE), ErrnoTable.ENOENT);
        uringFailure(engine.open(dir, WRITE), 21); // EISDIR
    }

    @Test
    void readsAndWritesRefuseBadArgumentsBeforeDoingAnything() {
        ByteBuffer buf = ByteBuffer.allocate(8);
        assertThrows(NullPointerException.class, () -> file.read((ByteBuffer) null, 0));
        assertThrows(NullPointerException.class, () -> file.write((ByteBuffer) null, 0));
        assertThrows(NullPointerException.class, () -> file.read((MemorySegment) null, 0));
        assertThrows(IllegalArgumentException.class, () -> file.read(buf, -1));
        assertThrows(IllegalArgumentException.class, () -> file.write(buf, Long.MIN_VALUE));
        assertThrows(IllegalArgumentException.class, () -> file.writeDurable(buf, -1));
        assertThrows(IllegalArgumentException.class, () -> file.read(buf.asReadOnlyBuffer(), 0));
        assertThrows(IllegalArgumentException.class, () -> file.read(arena.allocate(8).asReadOnly(), 0));
        Arena closedArena = Arena.ofShared();
        MemorySegment closed = closedArena.allocate(8);
        closedArena.close();
        assertThrows(IllegalArgumentException.class, () -> file.read(closed, 0));
        assertThrows(IllegalArgumentException.class, () -> file.write(closed, 0));
        assertThrows(IllegalArgumentException.class, () -> file.write(arena.allocate(8).reinterpret(3L << 30), 0),
                "a segment over 2 GiB");
        assertThrows(NullPointerException.class, () -> file.readv(null, 0));
        assertThrows(IllegalArgumentException.class, () -> file.readv(new ByteBuffer[0], 0));
        assertThrows(IllegalArgumentException.class, () -> file.writev(new ByteBuffer[1025], 0));
        assertThrows(NullPointerException.class, () -> file.writev(new ByteBuffer[] {buf, null}, 0));
        assertThrows(IllegalArgumentException.class, () -> file.readv(new ByteBuffer[] {buf.asReadOnlyBuffer()}, 0));
        // Two direct buffers of almost 2 GiB each (views of 64 bytes: never touched, only sized).
        ByteBuffer huge = arena.allocate(64).reinterpret(Integer.MAX_VALUE - 64).asByteBuffer();
        assertThrows(IllegalArgumentException.class, () -> file.writev(new ByteBuffer[] {huge, huge.duplicate()}, 0),
                "a vectored total over the kernel's limit");
        assertThrows(IllegalArgumentException.class, () -> file.fallocate(0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> file.fallocate(0, 0, -1));
        assertThrows(IllegalArgumentException.class, () -> file.fallocate(0, -1, 10));
        assertEquals(0, buf.position(), "no buffer moved");
    }

    @Test
    void operationsAfterCloseFailTheirFuturesWithClosedChannel() throws Exception {
        AsyncFile second = await(engine.open(path, READ, WRITE));
        await(second.closeAsync());
        ByteBuffer buf = ByteBuffer.wrap("XXXX".getBytes());
        assertInstanceOf(ClosedChannelException.class, failure(second.write(buf, 0)));
        assertInstanceOf(ClosedChannelException.class, failure(second.read(ByteBuffer.allocate(4), 0)));
        assertInstanceOf(ClosedChannelException.class, failure(second.fsync()));
        assertInstanceOf(ClosedChannelException.class, failure(second.fallocate(0, 0, 10)));
        assertInstanceOf(ClosedChannelException.class, failure(second.size()));
        assertInstanceOf(ClosedChannelException.class, failure(second.writev(new ByteBuffer[] {buf}, 0)));
        assertEquals(0, buf.position());
        await(second.closeAsync()); // idempotent
    }

    @Test
    void kernelErrorsComeBackAsTypedFailures() throws Exception {
        AsyncFile readOnly = await(engine.open(path, READ));
        try {
            uringFailure(readOnly.write(ByteBuffer.wrap("no".getBytes()), 0), ErrnoTable.EBADF);
            ByteBuffer dst = ByteBuffer.allocate(8);
            assertEquals(-1, await(readOnly.read(dst, Long.MAX_VALUE - 8)), "far past the end: end of file");
            assertEquals(0, dst.position());
        } finally {
            await(readOnly.closeAsync());
        }
        // Offsets whose end overflows: the kernel refuses them (EFBIG or EINVAL); nothing is written.
        assertBigFileError(file.write(ByteBuffer.wrap("far".getBytes()), Long.MAX_VALUE - 1));
        assertBigFileError(file.fallocate(0, Long.MAX_VALUE - 10, 100));
        assertEquals(CONTENT.length, await(file.size()));
        Recorder done = new Recorder();
        engine.submit(new Request(done).prepRead(Integer.MAX_VALUE, arena.allocate(8), 0));
        assertEquals(-ErrnoTable.EBADF, done.awaitResult());
        Recorder badOp = new Recorder();
        engine.submit(new Request(badOp).prep((byte) 0x7f, file.fd(), 0, 0, 0, 0));
        assertEquals(-ErrnoTable.EINVAL, badOp.awaitResult());
    }

    private static void assertBigFileError(CompletableFuture<?> future) throws Exception {
        UringIOException e = assertInstanceOf(UringIOException.class, failure(future));
        assertTrue(e.errno() == 27 || e.errno() == ErrnoTable.EINVAL, "EFBIG or EINVAL: " + e);
    }
}
