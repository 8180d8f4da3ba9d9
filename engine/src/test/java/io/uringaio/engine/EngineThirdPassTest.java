package io.uringaio.engine;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A third hostile pass over the engine's public API, on both backends: memory that is no longer the caller's (a
 * closed arena behind a direct buffer or behind a reused request), all-or-nothing refusals that must leave a
 * request exactly as it was, and resubmission from a completion at depth. A bystander read waits on a pipe through
 * every case and must complete exactly once with its own result; the file keeps its content.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineThirdPassTest extends KernelTest {
    private static final byte[] CONTENT = "third pass: this content must survive".getBytes();

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

    @AfterEach
    void nothingElseChanged() throws Exception {
        try {
            assertEquals(0, bystander.calls(), "the bystander was not disturbed");
            pipe.write(3);
            assertEquals(3, bystander.awaitResult());
            ByteBuffer back = ByteBuffer.allocate(CONTENT.length);
            assertEquals(CONTENT.length, await(file.read(back, 0)));
            assertArrayEquals(CONTENT, back.array());
            await(file.closeAsync());
            closeWithin(engine);
            assertEquals(1, bystander.calls(), "exactly one completion");
            EngineStats stats = engine.stats();
            assertEquals(stats.submitted(), stats.completed(), () -> "every submission completed once: " + stats);
            assertArrayEquals(CONTENT, Files.readAllBytes(path), "file content unchanged");
        } finally {
            engine.close();
            pipe.close();
            arena.close();
        }
    }

    /** A direct buffer over a closed arena's memory: the kernel must never be handed that (freed) address. */
    @Test
    void aDirectBufferOverAClosedArenaIsRefusedByEveryTransfer() throws Exception {
        Arena gone = Arena.ofShared();
        ByteBuffer freed = gone.allocate(CONTENT.length).asByteBuffer();
        gone.close();
        long submitted = engine.stats().submitted();
        assertThrows(IllegalStateException.class, () -> file.read(freed, 0));
        assertThrows(IllegalStateException.class, () -> file.write(freed, 0));
        assertThrows(IllegalStateException.class, () -> file.writeDurable(freed, 0));
        assertThrows(IllegalStateException.class, () -> file.readv(new ByteBuffer[] {freed}, 0));
        assertThrows(IllegalStateException.class,
                () -> file.writev(new ByteBuffer[] {ByteBuffer.allocateDirect(4), freed}, 0));
        assertEquals(submitted, engine.stats().submitted(), "nothing submitted");
        assertEquals(0, freed.position(), "the buffer did not move");
        // The file is still usable and not closing: nothing was left counted.
        assertTrue(file.isOpen());
    }

    /**
     * A request prepared with a checked segment form, completed, and submitted again (the documented reuse) after the
     * segment's arena closed: the engine must refuse it, not let the kernel read into freed memory.
     */
    @Test
    void aReusedRequestWhoseSegmentsArenaClosedIsRefusedAtSubmit() throws Exception {
        Arena gone = Arena.ofShared();
        MemorySegment dst = gone.allocate(CONTENT.length);
        Recorder reads = new Recorder();
        Request read = new Request(reads).prepRead(file.fd(), dst, 0);
        engine.submit(read);
        assertEquals(CONTENT.length, reads.awaitResult());
        MemorySegment iovecs = gone.allocate(32);
        Recorder vectored = new Recorder();
        Request readv = new Request(vectored).prepReadv(file.fd(), iovecs,
                new MemorySegment[] {gone.allocate(4), gone.allocate(4)}, 0);
        Request write = new Request(new Recorder()).prepWrite(file.fd(), gone.allocate(4), 0);
        gone.close();

        assertThrows(IllegalArgumentException.class, () -> engine.submit(read));
        assertThrows(IllegalArgumentException.class, () -> engine.submit(readv));
        assertThrows(IllegalArgumentException.class, () -> engine.submit(write));
        assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {write}, 1));
        assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(read, write));
        for (Request r : new Request[] {read, readv, write}) {
            assertFalse(r.inFlight(), "refused: idle again " + r);
        }
        assertEquals(1, reads.calls(), "no second completion");
        assertEquals(0, vectored.calls());
        // Prepared again on live memory, the same request runs.
        read.prepRead(file.fd(), arena.allocate(CONTENT.length), 0);
        Recorder again = new Recorder();
        read.completion(again);
        engine.submit(read);
        assertEquals(CONTENT.length, again.awaitResult());
    }

    /**
     * A batch refused because one request is listed twice leaves every request exactly as it was: in particular the
     * outcome of its previous completion ({@link Request#canceledByClose()}) is not rewritten by the refusal.
     */
    @Test
    void aRefusedBatchDoesNotRewriteItsRequestsLastOutcome() throws Exception {
        Recorder recorder = new Recorder();
        Request r = new Request(recorder);
        try (Pipe other = new Pipe(); RingEngine doomed = engine(1)) {
            doomed.submit(r.prepRead(other.readFd, arena.allocate(8), 0));
            closeWithin(doomed);
        }
        assertEquals(-ErrnoTable.ECANCELED, recorder.awaitResult());
        assertTrue(r.canceledByClose());
        Request idle = new Request(new Recorder()).prepFsync(file.fd(), false);
        assertThrows(IllegalStateException.class, () -> engine.submitBatch(new Request[] {r, idle, r}, 3));
        assertThrows(IllegalStateException.class, () -> engine.submitLinked(r, r));
        assertTrue(r.canceledByClose(), "the last completion's outcome is kept");
        assertFalse(r.inFlight());
        assertFalse(idle.inFlight());
        assertEquals(1, recorder.calls());
    }

    /** A completion that resubmits its own request thousands of times (cached reads): no stack overflow, none lost. */
    @Test
    void aCompletionResubmittingItsRequestThousandsOfTimesCompletesEveryOne() throws Exception {
        int rounds = 3000;
        AtomicInteger calls = new AtomicInteger();
        CompletableFuture<Integer> done = new CompletableFuture<>();
        MemorySegment dst = arena.allocate(CONTENT.length);
        Request r = new Request();
        r.completion((req, res) -> {
            int n = calls.incrementAndGet();
            if (res != CONTENT.length) {
                done.completeExceptionally(new AssertionError("round " + n + ": " + res));
            } else if (n < rounds) {
                engine.submit(req);
            } else {
                done.complete(n);
            }
        });
        r.prepRead(file.fd(), dst, 0).pageCacheFirst(true);
        engine.submit(r);
        assertEquals(rounds, await(done));
        waitUntil(() -> !r.inFlight(), () -> "idle");
        assertEquals(rounds, calls.get(), "no extra completion");
    }

    /** A request in flight on one engine: another engine refuses it, and its cancel acts where it runs. */
    @Test
    void aRequestInFlightOnOneEngineIsRefusedByAnotherAndCanceledWhereItRuns() throws Exception {
        try (Pipe other = new Pipe(); RingEngine second = engine(1)) {
            Recorder recorder = new Recorder();
            Request r = new Request(recorder).prepRead(other.readFd, arena.allocate(8), 0);
            second.submit(r);
            assertThrows(IllegalStateException.class, () -> engine.submit(r));
            assertThrows(IllegalStateException.class, () -> engine.submitBatch(new Request[] {r}, 1));
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(r)));
            assertEquals(-ErrnoTable.ECANCELED, recorder.awaitResult());
            assertFalse(r.canceledByClose());
            closeWithin(second);
            assertEquals(1, recorder.calls());
        }
    }

    /** Offsets where position + length overflows: a typed failure, on both backends; nothing written. */
    @Test
    void positionsWherePositionPlusLengthOverflowFailTyped() throws Exception {
        ByteBuffer buf = ByteBuffer.allocateDirect(8);
        assertInstanceOf(UringIOException.class, failure(file.read(buf, Long.MAX_VALUE - 3)));
        assertInstanceOf(UringIOException.class, failure(file.write(buf, Long.MAX_VALUE - 3)));
        assertInstanceOf(UringIOException.class, failure(file.fallocate(0, Long.MAX_VALUE - 3, 8)));
        assertEquals(0, buf.position());
    }

    /**
     * The setters that the engine reads while a request is in flight are refused then, as prep is: dropping the
     * attachment would let the GC free an automatic arena's segment the kernel still writes into, and a new
     * completion or priority would race the lane that reads them. The request keeps its own and completes once.
     */
    @Test
    void settersOfARequestInFlightAreRefusedAndChangeNothing() throws Exception {
        try (Pipe other = new Pipe()) {
            Recorder done = new Recorder();
            MemorySegment dst = Arena.ofAuto().allocate(8);
            Request r = new Request(done).prepRead(other.readFd, dst, 0).priority(3);
            engine.submit(r);
            assertThrows(IllegalStateException.class, () -> r.attach(null));
            assertThrows(IllegalStateException.class, () -> r.completion(new Recorder()));
            assertThrows(IllegalStateException.class, () -> r.priority(-7));
            assertThrows(IllegalStateException.class, () -> r.ioPrio((short) 1));
            assertEquals(dst, r.attachment(), "still kept reachable");
            assertEquals(done, r.completion());
            assertEquals(3, r.priority());
            other.write(8);
            assertEquals(8, done.awaitResult());
            waitUntil(() -> !r.inFlight(), () -> "idle");
            assertEquals(1, done.calls());
            r.attach(null).priority(0).ioPrio((short) 0).completion(new Recorder()); // idle again: all allowed
        }
    }

    /**
     * {@code IORING_OP_MSG_RING} posts a completion with any user data into any ring, this engine's own included: a
     * raw one forges the completion of another caller's request (a result that never happened, while the kernel still
     * writes into its buffer). Refused like the other opcodes that address other requests; the bystander is untouched.
     */
    @Test
    void aRawMsgRingIsRefusedForEveryRingOfTheProcess() throws Exception {
        byte msgRing = 40; // IORING_OP_MSG_RING
        List<Integer> targets = new ArrayList<>(ioUringDescriptors());
        targets.add(-1);
        long submitted = engine.stats().submitted();
        for (int ringFd : targets) {
            for (long userData = 0; userData < 4; userData++) {
                Request forged = new Request(new Recorder()).prep(msgRing, ringFd, 0, 12345, userData, 0);
                assertThrows(IllegalArgumentException.class, () -> engine.submit(forged), "ring fd " + ringFd);
                assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {forged}, 1));
                assertFalse(forged.inFlight());
            }
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing submitted");
    }

    /**
     * Forms of a request that post several completions for one submission (multishot poll, timeout, accept, recv,
     * read; zero-copy sends) are refused: the engine frees the slot at the first, and a multishot poll left armed
     * forged the completion of a later read that reused its slot after 1024 generations (res 1, the poll's mask,
     * instead of the read's 8 bytes). One-shot forms of the same opcodes still go to the kernel.
     */
    @Test
    void requestsThatWouldPostSeveralCompletionsAreRefused() throws Exception {
        long submitted = engine.stats().submitted();
        Request[] multishot = {
            new Request(new Recorder()).prep((byte) 6, pipe.readFd, 0, 1, 0, 1), // POLL_ADD | POLL_ADD_MULTI
            new Request(new Recorder()).prep((byte) 11, -1, arena.allocate(16).address(), 1, 0, 1 << 6), // TIMEOUT
            new Request(new Recorder()).prep((byte) 13, pipe.readFd, 0, 0, 0, 0).ioPrio((short) 1), // ACCEPT
            new Request(new Recorder()).prep((byte) 27, pipe.readFd, 0, 0, 0, 0).ioPrio((short) 2), // RECV
            new Request(new Recorder()).prep((byte) 10, pipe.readFd, 0, 0, 0, 0).ioPrio((short) 2), // RECVMSG
            new Request(new Recorder()).prep((byte) 47, pipe.writeFd, 0, 0, 0, 0), // SEND_ZC
            new Request(new Recorder()).prep((byte) 48, pipe.writeFd, 0, 0, 0, 0), // SENDMSG_ZC
            new Request(new Recorder()).prep((byte) 49, pipe.readFd, 0, 0, 0, 0), // READ_MULTISHOT
        };
        for (Request r : multishot) {
            assertThrows(IllegalArgumentException.class, () -> engine.submit(r), r::toString);
            assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {r}, 1));
            assertFalse(r.inFlight());
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing submitted");
        // A one-shot poll of the same pipe is a plain request: it completes once, with the kernel's answer (io_uring),
        // or -EINVAL where the thread pool does not run polls.
        try (Pipe other = new Pipe()) {
            Recorder once = new Recorder();
            engine.submit(new Request(once).prep((byte) 6, other.readFd, 0, 0, 0, 1));
            other.write(1);
            int res = once.awaitResult();
            assertTrue(res == 1 || res == -ErrnoTable.EINVAL, "POLLIN or EINVAL: " + res);
            assertEquals(1, once.calls());
        }
    }

    /**
     * A vectored request keeps the segments its iovecs name reachable, not whatever the caller's array holds later:
     * a segment of an automatic arena dropped from the array after the prep must not be freed by the GC while the
     * iovec still names its memory (the kernel would read into freed memory at the next submission).
     */
    @Test
    void aVectoredRequestKeepsTheSegmentsItsIovecsNameReachable() throws Exception {
        MemorySegment[] dsts = {Arena.ofAuto().allocate(4), arena.allocate(4)};
        java.lang.ref.WeakReference<MemorySegment> first = new java.lang.ref.WeakReference<>(dsts[0]);
        Recorder done = new Recorder();
        Request readv = new Request(done).prepReadv(file.fd(), arena.allocate(32), dsts, 0);
        dsts[0] = arena.allocate(4); // the caller reuses its array
        for (int i = 0; i < 10 && first.get() != null; i++) {
            System.gc();
            Thread.sleep(20);
        }
        MemorySegment named = first.get();
        assertTrue(named != null, "the segment the iovec names is still reachable from the request");
        engine.submit(readv);
        assertEquals(8, done.awaitResult());
        assertEquals(CONTENT[0], named.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0), "read into the named one");
    }

    /**
     * A raw read or write of negative length: the kernel takes the length as unsigned (4 GiB, clamped to its 2 GiB
     * maximum), so a read would write far past the caller's memory and a write would copy the process's memory into
     * the file. Refused at every submission path; nothing is touched.
     */
    @Test
    void aRawReadOrWriteOfNegativeLengthIsRefused() throws Exception {
        byte[] bigContent = new byte[64 * 1024];
        java.util.Arrays.fill(bigContent, (byte) 'B');
        Path big = Files.write(dir.resolve("big"), bigContent);
        AsyncFile bigFile = await(engine.open(big, READ, WRITE));
        MemorySegment region = arena.allocate(128 * 1024); // room for what a read would spill, so nothing else breaks
        long address = region.address();
        long submitted = engine.stats().submitted();
        for (int length : new int[] {-1, Integer.MIN_VALUE}) {
            Request read = new Request(new Recorder()).prepRead(bigFile.fd(), address, length, 0);
            Request write = new Request(new Recorder()).prepWrite(bigFile.fd(), address, length, 0);
            for (Request r : new Request[] {read, write}) {
                assertThrows(IllegalArgumentException.class, () -> engine.submit(r), r::toString);
                assertThrows(IllegalArgumentException.class, () -> engine.submitBatch(new Request[] {r}, 1));
                assertFalse(r.inFlight());
            }
            assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(
                    new Request(new Recorder()).prepFsync(bigFile.fd(), false), read));
        }
        assertEquals(submitted, engine.stats().submitted(), "nothing submitted");
        assertEquals(-1, region.asByteBuffer().mismatch(ByteBuffer.allocate(128 * 1024)) , "memory untouched");
        await(bigFile.closeAsync());
        assertArrayEquals(bigContent, Files.readAllBytes(big), "file untouched");
    }

    /** The descriptors of io_uring instances open in this process. */
    private static List<Integer> ioUringDescriptors() throws Exception {
        List<Integer> fds = new ArrayList<>();
        try (var entries = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                try {
                    if (Files.readSymbolicLink(p).toString().contains("io_uring")) {
                        fds.add(Integer.parseInt(p.getFileName().toString()));
                    }
                } catch (java.io.IOException gone) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return fds;
    }
}
