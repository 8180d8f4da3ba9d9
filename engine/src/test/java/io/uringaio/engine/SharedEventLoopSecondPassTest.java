package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.util.concurrent.BlockingOperationException;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A second hostile pass on the engine running on a Netty application's own event loops
 * ({@link RingEngineConfig#eventLoopGroup}), after {@link SharedEventLoopHostileTest}: the engine's state once the
 * application's group shut down under it, blocking waits on loops for operations of other loops (wait cycles), user
 * callbacks on the loops that throw Errors, close the engine or shut the group down, submissions from a loop of a
 * different group, and many engines of one group closed in parallel. Each case asserts its outcome AND that the
 * bystanders (other files, other engines, the application's channels) end with their own results, never ECANCELED
 * unless canceled. The shared group is an io_uring feature: on the thread-pool backend every test skips, saying so.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedEventLoopSecondPassTest extends SharedLoopFixture {
    /** Submits {@code r} from {@code loop}: it goes to that loop's ring. */
    private static void submitOn(EventLoop loop, RingEngine engine, Request r) throws Exception {
        onLoop(loop, () -> {
            engine.submit(r);
            return null;
        });
    }

    /** The exception {@code wait} throws, or null when it returned. */
    private static Throwable thrownBy(Callable<?> wait) {
        try {
            wait.call();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    // ---------------------------------------------------------------- 1: the engine's state after the group died

    /**
     * The application shuts its group down under an open engine: from then on {@link RingEngine#isOpen()} and
     * {@link AsyncFile#isOpen()} answer false, as the refusals say (before: true, while every submission was refused),
     * and every way in is refused, the page-cache fast path and a caller ring included (before, a cached read still
     * succeeded on the calling thread, and a caller ring still took raw requests, on an engine whose rings were gone).
     * An engine on another group is untouched; close() still returns.
     */
    @Test
    void anEngineWhoseGroupShutDownIsNotOpenAndRefusesEveryWayIn() throws Exception {
        IoEventLoopGroup appGroup = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        IoEventLoopGroup otherGroup = group(1);
        RingEngine bystander = engineOn(config().eventLoopGroup(otherGroup));
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            RingEngine engine = engineOn(config().eventLoopGroup(appGroup).pageCacheFastPath(true).callerRings(1));
            Path data = fileOf("cached", 2);
            AsyncFile file = await(engine.open(data, READ, WRITE));
            AsyncFile other = await(bystander.open(data, READ));
            assertBlock(file, 1); // cached now
            Recorder inFlight = new Recorder();
            bystander.submit(pipeRead(pipe, arena.allocate(16), inFlight));
            assertTrue(engine.isOpen());

            assertTrue(appGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));

            assertFalse(engine.isOpen(), "the engine's loops are gone: it is not open");
            assertFalse(file.isOpen(), "nor are its files");
            assertInstanceOf(EngineClosedException.class, failure(file.read(ByteBuffer.allocate(4096), 4096)),
                    "a cached read is refused too (the page-cache fast path)");
            Recorder never = new Recorder();
            Request raw = new Request(never).prepRead(file.fd(), arena.allocate(4096), 0);
            assertThrows(EngineRejectedException.class, () -> engine.submit(raw), "a caller ring's way in too");
            assertFalse(raw.inFlight());
            assertInstanceOf(EngineClosedException.class, failure(engine.open(data, READ)));
            closeWithin(engine);
            assertFalse(engine.isOpen());
            assertEquals(0, never.calls(), "a refused request never completes");
            EngineStats s = engine.stats();
            assertEquals(s.submitted(), s.completed(), s.toString());

            // The engine of another group: open, its request still in flight and untouched, its reads fine.
            assertTrue(bystander.isOpen());
            assertEquals(0, inFlight.calls());
            assertBlock(other, 0);
            pipe.write(3);
            assertEquals(3, inFlight.awaitResult());
            assertFalse(inFlight.byClose);
            other.close();
            assertSettled(bystander);
        } finally {
            appGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /** One loop of the group shut down (not the group): the engine stops taking work too, everywhere, and says so. */
    @Test
    void oneLoopOfTheGroupShutDownClosesTheEngineForWork() throws Exception {
        IoEventLoopGroup group = group(2);
        List<EventLoop> loops = loops(group);
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
            fileOf("one", 1);
            AsyncFile file = await(engine.open(dir.resolve("one"), READ));
            Recorder onTheSurvivor = new Recorder();
            submitOn(loops.get(1), engine, pipeRead(pipe, arena.allocate(16), onTheSurvivor));
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "in flight: " + engine.stats());
            assertTrue(loops.get(0).shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
            assertFalse(engine.isOpen());
            // Refused from the surviving loop as well, where the ring still runs: one answer for the engine.
            Throwable fromSurvivor = onLoop(loops.get(1), () -> thrownBy(() -> {
                engine.submit(new Request(new Recorder()).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
                return null;
            }));
            assertInstanceOf(EngineRejectedException.class, fromSurvivor);
            assertInstanceOf(EngineClosedException.class, failure(file.read(ByteBuffer.allocate(16), 0)));
            // What the surviving ring already had goes on to its own result.
            assertEquals(0, onTheSurvivor.calls());
            pipe.write(2);
            assertEquals(2, onTheSurvivor.awaitResult());
            assertFalse(onTheSurvivor.byClose);
            closeWithin(engine);
            assertEquals(1, onTheSurvivor.calls());
        }
    }

    /**
     * A group one of whose loops was shut down (the group itself is not shutting down: its other loop runs) is refused
     * at open, as a group shut down whole is, and the refused open leaves the live loop untouched. Before, IO_URING
     * threw UnsupportedOperationException ("a ring's event loop terminated while starting") and AUTO fell back to the
     * thread pool: an engine that ignored the group it was given.
     */
    @Test
    void aGroupWithOneLoopShutDownIsRefusedAtOpen() throws Exception {
        IoEventLoopGroup group = group(2);
        List<EventLoop> loops = loops(group);
        assertTrue(loops.get(1).shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        assertFalse(group.isShuttingDown(), "the group as a whole still runs");
        for (Backend asked : List.of(BACKEND, Backend.AUTO)) { // AUTO must not fall back to the pool instead
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> engineOn(config().backend(asked).eventLoopGroup(group)), asked.toString());
            assertTrue(e.getMessage().contains("shut down"), e.getMessage());
        }
        assertEquals("ran", onLoop(loops.get(0), () -> "ran"), "the live loop is left running");
        // An engine on a healthy group opens as ever.
        RingEngine fine = engineOn(config().eventLoopGroup(group(1)));
        assertTrue(fine.isOpen());
    }

    // ---------------------------------------------------------------- 2: blocking waits on the engine's loops

    /**
     * A wait on loop 0 for an operation on loop 1's ring: legal before, and it could deadlock (see the cycle test), so
     * it now fails at once with {@link BlockingOperationException} on any loop that runs an engine's ring, as a
     * self-wait does; the operation goes on and completes with its own result. Before: the wait blocked loop 0 (here
     * until the 2 s bound, for ever with join).
     */
    @Test
    void aWaitOnALoopForAnotherLoopsPendingOperationFailsFast() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        Echo echo = closing(new Echo(group));
        List<EventLoop> loops = loops(group);
        try (Pipe pipe = new Pipe()) {
            AsyncFile pf = await(engine.open(pipe.readPath(), READ));
            CompletableFuture<Integer> pending = onLoop(loops.get(1), () -> pf.read(ByteBuffer.allocate(16), 0));
            CompletableFuture<Integer> dependent = pending.thenApply(n -> n + 1);
            for (String how : List.of("getTimed", "get", "join", "dependentJoin")) {
                Throwable thrown = onLoop(loops.get(0), () -> thrownBy(() -> switch (how) {
                    case "getTimed" -> pending.get(2, TimeUnit.SECONDS);
                    case "get" -> pending.get();
                    case "join" -> pending.join();
                    default -> dependent.join();
                }));
                assertInstanceOf(BlockingOperationException.class, thrown, how + ": " + thrown);
            }
            assertFalse(pending.isDone(), "the operation goes on");
            echo.roundTrip("meanwhile");
            pipe.write(5);
            assertEquals(5, await(pending));
            assertEquals(6, await(dependent));
            // Done: answers at once on any loop.
            assertEquals(5, (int) onLoop(loops.get(0), pending::join));
            pf.close();
            assertSettled(engine);
        }
    }

    /**
     * The cycle: a handler on loop 0 waits for a read on loop 1's ring while a handler on loop 1 waits for a read on
     * loop 0's ring. Neither loop can deliver its read while it waits: a deadlock. Both waits now fail at once; both
     * reads complete with their bytes. Before: loop 0 waited until loop 1's bounded wait timed out (with two joins,
     * for ever).
     */
    @Test
    void aCrossLoopWaitCycleFailsFastInsteadOfDeadlocking() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        List<EventLoop> loops = loops(group);
        fileOf("cycle", 2);
        AsyncFile file = await(engine.open(dir.resolve("cycle"), READ));
        CyclicBarrier bothSubmitted = new CyclicBarrier(2);
        // Neither loop returns (and so delivers its read) before both waited: the cycle is real for both.
        CyclicBarrier bothWaited = new CyclicBarrier(2);
        List<AtomicReference<CompletableFuture<Integer>>> reads = List.of(new AtomicReference<>(),
                new AtomicReference<>());
        List<ByteBuffer> buffers = List.of(ByteBuffer.allocate(4096), ByteBuffer.allocate(4096));
        List<io.netty.util.concurrent.Future<Throwable>> waits = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            int me = i;
            waits.add(loops.get(i).submit(() -> {
                reads.get(me).set(file.read(buffers.get(me), me * 4096L)); // on this loop's ring
                bothSubmitted.await(WAIT_SECONDS, TimeUnit.SECONDS);
                CompletableFuture<Integer> theirs = reads.get(1 - me).get();
                // One waits unbounded, the other bounded: before the fix the test fails instead of hanging for ever.
                Throwable thrown = thrownBy(() -> me == 0 ? theirs.join() : theirs.get(3, TimeUnit.SECONDS));
                bothWaited.await(5, TimeUnit.SECONDS);
                return thrown;
            }));
        }
        for (int i = 0; i < 2; i++) {
            assertInstanceOf(BlockingOperationException.class, await(waits.get(i)), "loop " + i);
        }
        for (int i = 0; i < 2; i++) {
            assertEquals(4096, await(reads.get(i).get()));
            assertArrayEquals(pattern(i, 4096), buffers.get(i).array());
        }
        file.close();
        assertSettled(engine);
    }

    /**
     * A self-wait hidden behind a composed stage: a cached read (done at once, on the loop, by the page-cache fast
     * path) composed with a write, which goes to this loop's ring. The stage's source is done, so the old check let
     * the wait through, and the loop waited for itself: for ever with join. It now fails at once; the write completes.
     */
    @Test
    void aWaitOnAComposedStageWhoseNextOperationRunsOnThisLoopFailsFast() throws Exception {
        IoEventLoopGroup group = group(1);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(true));
        EventLoop loop = loops(group).get(0);
        fileOf("composed", 2);
        AsyncFile file = await(engine.open(dir.resolve("composed"), READ, WRITE));
        assertBlock(file, 0); // cached
        AtomicReference<CompletableFuture<Integer>> stage = new AtomicReference<>();
        Throwable thrown = onLoop(loop, () -> {
            CompletableFuture<Integer> first = file.read(ByteBuffer.allocate(4096), 0);
            assertTrue(first.isDone(), "the cached read completed on the loop (page-cache fast path)");
            CompletableFuture<Integer> composed = first.thenCompose(
                    n -> file.write(ByteBuffer.wrap(pattern(1, 4096)), 4096));
            stage.set(composed);
            assertFalse(composed.isDone(), "the write waits for this loop's ring");
            return thrownBy(() -> composed.get(2, TimeUnit.SECONDS));
        });
        assertInstanceOf(BlockingOperationException.class, thrown, String.valueOf(thrown));
        assertNull(onLoop(loop, () -> null));
        assertEquals(4096, await(stage.get()));
        assertBlock(file, 1);
        file.close();
        assertSettled(engine);
    }

    /**
     * The same rule on the engine's own loops (no application group): a completion callback that blocks on an
     * AsyncFile operation not yet done fails fast, whichever ring runs it; the operation completes with its own
     * result once it can, and the ring that ran the callback goes on.
     */
    @Test
    void aCompletionOnTheEnginesOwnRingThatBlocksOnAnotherOperationFailsFast() throws Exception {
        RingEngine engine = engineOn(config().rings(2).pageCacheFastPath(false));
        try (Pipe pipe = new Pipe()) {
            AsyncFile pf = await(engine.open(pipe.readPath(), READ));
            CompletableFuture<Integer> pending = pf.read(ByteBuffer.allocate(16), 0);
            CompletableFuture<Throwable> thrown = new CompletableFuture<>();
            AtomicReference<String> ranOn = new AtomicReference<>();
            engine.submit(new Request((r, res) -> {
                ranOn.set(Thread.currentThread().getName());
                thrown.complete(thrownBy(pending::join));
            }).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertInstanceOf(BlockingOperationException.class, await(thrown), "on " + ranOn.get());
            assertTrue(ranOn.get().startsWith("uring-aio-ring"), ranOn.get());
            assertFalse(pending.isDone());
            pipe.write(3);
            assertEquals(3, await(pending));
            pf.close();
            assertSettled(engine);
        }
    }

    /**
     * Once the engine on an application's group closed, its loops run no ring any more and are ordinary threads
     * again: a bounded wait there for another engine's operation waits (and times out) instead of being refused; an
     * engine opened on the group again brings the rule back. Before, a loop that had once run a ring refused every
     * such wait for good.
     */
    @Test
    void aLoopWhoseEngineClosedMayWaitAgain() throws Exception {
        IoEventLoopGroup group = group(1);
        EventLoop loop = loops(group).get(0);
        RingEngine elsewhere = engineOn(config().rings(1));
        try (Pipe pipe = new Pipe()) {
            AsyncFile pf = await(elsewhere.open(pipe.readPath(), READ));
            CompletableFuture<Integer> pending = pf.read(ByteBuffer.allocate(16), 0);
            RingEngine engine = engineOn(config().eventLoopGroup(group));
            assertInstanceOf(BlockingOperationException.class,
                    onLoop(loop, () -> thrownBy(() -> pending.get(100, TimeUnit.MILLISECONDS))));
            closeWithin(engine);
            assertInstanceOf(java.util.concurrent.TimeoutException.class,
                    onLoop(loop, () -> thrownBy(() -> pending.get(100, TimeUnit.MILLISECONDS))),
                    "the loop runs no ring now: it may wait");
            RingEngine again = engineOn(config().eventLoopGroup(group));
            assertInstanceOf(BlockingOperationException.class,
                    onLoop(loop, () -> thrownBy(() -> pending.get(100, TimeUnit.MILLISECONDS))));
            closeWithin(again);
            pipe.write(2);
            assertEquals(2, await(pending));
            pf.close();
        }
    }

    /**
     * A loop of a group that carries no engine is an ordinary thread for the engine: it may submit, and may wait
     * (the engine's loops never wait for it). A loop of a group that carries ANOTHER engine's rings may not wait: two
     * groups' loops waiting on each other's engines deadlock as surely as two loops of one group.
     */
    @Test
    void submittingAndWaitingFromALoopOfAnotherGroup() throws Exception {
        IoEventLoopGroup engineGroup = group(2);
        IoEventLoopGroup plainGroup = group(1);
        IoEventLoopGroup otherEngineGroup = group(1);
        RingEngine engine = engineOn(config().eventLoopGroup(engineGroup).pageCacheFastPath(false));
        RingEngine otherEngine = engineOn(config().eventLoopGroup(otherEngineGroup));
        Echo echo = closing(new Echo(engineGroup));
        fileOf("g", 4);
        AsyncFile file = await(engine.open(dir.resolve("g"), READ, WRITE));
        EventLoop plain = loops(plainGroup).get(0);
        EventLoop otherEngines = loops(otherEngineGroup).get(0);
        List<String> engineLoops = new ArrayList<>();
        for (EventLoop l : loops(engineGroup)) {
            engineLoops.add(onLoop(l, () -> Thread.currentThread().getName()));
        }
        // From the plain group's loop: submit and wait there; a raw request's completion runs on an engine's loop.
        ByteBuffer b = ByteBuffer.allocate(4096);
        int n = onLoop(plain, () -> file.read(b, 2 * 4096L).join());
        assertEquals(4096, n);
        assertArrayEquals(pattern(2, 4096), b.array());
        try (Arena arena = Arena.ofShared()) {
            Recorder raw = new Recorder();
            Request r = new Request(raw).prepRead(file.fd(), arena.allocate(4096), 4096);
            onLoop(plain, () -> {
                engine.submit(r);
                return null;
            });
            assertEquals(4096, raw.awaitResult());
            assertTrue(engineLoops.contains(raw.thread), raw.thread + " in " + engineLoops);
        }
        // From the loop of the other engine's group: the submission is fine, a wait is refused, the read completes.
        try (Pipe pipe = new Pipe()) {
            AsyncFile pf = await(engine.open(pipe.readPath(), READ));
            AtomicReference<CompletableFuture<Integer>> read = new AtomicReference<>();
            Throwable thrown = onLoop(otherEngines, () -> {
                read.set(pf.read(ByteBuffer.allocate(16), 0));
                return thrownBy(() -> read.get().get(2, TimeUnit.SECONDS));
            });
            assertInstanceOf(BlockingOperationException.class, thrown, String.valueOf(thrown));
            pipe.write(4);
            assertEquals(4, await(read.get()));
            pf.close();
        }
        // The other engine and both groups' traffic: fine.
        AsyncFile viaOther = await(otherEngine.open(dir.resolve("g"), READ));
        assertBlock(viaOther, 3);
        viaOther.close();
        echo.roundTrip("groups");
        file.close();
        assertSettled(engine);
        assertSettled(otherEngine);
    }

    /**
     * An application opens the engine (AUTO, the default backend) from a handler on one of its group's loops: the
     * engine runs on io_uring. Before, AUTO's probe sent a NOP through every ring and waited for each answer: on the
     * opening loop's own ring that answer could only come after open returned, so the loop stalled for the probe's
     * 5 s and the engine fell back to the thread pool ("no completion within 5 s") with io_uring working.
     */
    @Test
    void anAutoEngineOpenedFromALoopOfItsGroupRunsOnIoUring() throws Exception {
        IoEventLoopGroup group = group(2);
        EventLoop loop = loops(group).get(0);
        RingEngine engine = onLoop(loop, () -> engineOn(config().backend(Backend.AUTO).eventLoopGroup(group)));
        assertEquals(Backend.IO_URING, engine.backend(), engine.backendReason());
        assertEquals(2, engine.ringCount());
        fileOf("auto", 1);
        AsyncFile file = await(engine.open(dir.resolve("auto"), READ));
        assertBlock(file, 0);
        file.close();
        assertSettled(engine);
    }

    /**
     * The application's group has tiny rings (16 SQ entries, 32 CQ entries: its choice, which the engine's in-flight
     * bound, sized for its own rings, does not know). Hundreds of requests in flight on one loop: the SQ fills many
     * times per turn and the completions overflow the CQ; every request still completes once with its own result, and
     * the application's channels still echo.
     */
    @Test
    void anApplicationGroupWithTinyRingsLosesNothing() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory(
                new io.netty.channel.uring.IoUringIoHandlerConfig().setRingSize(16).setCqSize(32)));
        groups.add(group);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        Echo echo = closing(new Echo(group));
        EventLoop loop = loops(group).get(0);
        fileOf("tiny", 4);
        AsyncFile file = await(engine.open(dir.resolve("tiny"), READ));
        int pipeReads = 200;
        int fileReads = 300;
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            List<Recorder> waiting = new ArrayList<>();
            onLoop(loop, () -> {
                for (int i = 0; i < pipeReads; i++) {
                    Recorder r = new Recorder();
                    waiting.add(r);
                    engine.submit(new Request(r).prepRead(pipe.readFd, arena.allocate(1), 0));
                }
                return null;
            });
            waitUntil(() -> engine.stats().inFlight() == pipeReads, () -> "in flight: " + engine.stats());
            List<ByteBuffer> buffers = new ArrayList<>();
            List<CompletableFuture<Integer>> reads = onLoop(loop, () -> {
                List<CompletableFuture<Integer>> all = new ArrayList<>();
                for (int i = 0; i < fileReads; i++) {
                    ByteBuffer b = ByteBuffer.allocate(4096);
                    buffers.add(b);
                    all.add(file.read(b, (i % 4) * 4096L));
                }
                return all;
            });
            pipe.write(pipeReads); // one byte for each pipe read: all complete at once, beside the file reads
            for (int i = 0; i < fileReads; i++) {
                assertEquals(4096, await(reads.get(i)));
                assertArrayEquals(pattern(i % 4, 4096), buffers.get(i).array());
            }
            for (Recorder r : waiting) {
                assertEquals(1, r.awaitResult());
            }
            echo.roundTrip("tiny");
            assertSettled(engine);
            for (Recorder r : waiting) {
                assertEquals(1, r.calls());
            }
        }
        file.close();
    }

    // ---------------------------------------------------------------- 4: user callbacks on the loops

    /** Throws a real StackOverflowError (deep recursion), as a buggy callback does. */
    private static int recurse(int depth) {
        return recurse(depth + 1) + 1;
    }

    /**
     * Completions on a loop that throw Errors (a real StackOverflowError, an OutOfMemoryError thrown by user code),
     * from a raw callback and from a future's dependents: each is logged or fails its own dependent only; the ring
     * goes on: the bystanders in flight on the same ring (a pipe read), on the other loop and on another engine of
     * the group complete with their own results, later requests work, the application's channels still echo.
     */
    @Test
    void callbacksThatThrowErrorsOnTheLoopLoseNothing() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        RingEngine neighbour = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        Echo echo = closing(new Echo(group));
        List<EventLoop> loops = loops(group);
        fileOf("err", 2);
        AsyncFile file = await(engine.open(dir.resolve("err"), READ, WRITE));
        try (Arena arena = Arena.ofShared(); Pipe same = new Pipe(); Pipe far = new Pipe(); Pipe next = new Pipe()) {
            Recorder sameRing = new Recorder();
            Recorder otherLoop = new Recorder();
            Recorder otherEngine = new Recorder();
            submitOn(loops.get(0), engine, pipeRead(same, arena.allocate(16), sameRing));
            submitOn(loops.get(1), engine, pipeRead(far, arena.allocate(16), otherLoop));
            submitOn(loops.get(0), neighbour, pipeRead(next, arena.allocate(16), otherEngine));
            waitUntil(() -> engine.stats().inFlight() == 2 && neighbour.stats().inFlight() == 1,
                    () -> "in flight: " + engine.stats() + " / " + neighbour.stats());
            List<Error> errors = List.of(new OutOfMemoryError("thrown by user code"), new InternalError("user"));
            AtomicInteger thrownRaw = new AtomicInteger();
            for (Error e : errors) {
                CountDownLatch ran = new CountDownLatch(1);
                Request boom = new Request((r, res) -> {
                    thrownRaw.incrementAndGet();
                    ran.countDown();
                    throw e;
                }).prepRead(file.fd(), arena.allocate(4096), 0);
                submitOn(loops.get(0), engine, boom);
                assertTrue(ran.await(WAIT_SECONDS, TimeUnit.SECONDS));
            }
            CountDownLatch overflowed = new CountDownLatch(1);
            Request deep = new Request((r, res) -> {
                overflowed.countDown();
                recurse(0);
            }).prepRead(file.fd(), arena.allocate(4096), 0);
            submitOn(loops.get(0), engine, deep);
            assertTrue(overflowed.await(WAIT_SECONDS, TimeUnit.SECONDS));
            // A future's dependents that throw Errors: each fails its own stage; the operation has its result.
            CompletableFuture<Integer> op = onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(4096), 0));
            CompletableFuture<Object> soe = op.thenApply(x -> recurse(0));
            CompletableFuture<Object> oom = op.thenApply(x -> {
                throw new OutOfMemoryError("thrown by user code");
            });
            assertEquals(4096, await(op));
            assertInstanceOf(StackOverflowError.class, failure(soe));
            assertInstanceOf(OutOfMemoryError.class, failure(oom));
            assertEquals(2, thrownRaw.get(), "each throwing callback ran once");
            // The ring goes on: new requests from its loop, and the bystanders end with their own results.
            for (int i = 0; i < 8; i++) {
                int block = i % 2;
                ByteBuffer b = ByteBuffer.allocate(4096);
                assertEquals(4096, await(onLoop(loops.get(0), () -> file.read(b, block * 4096L))));
                assertArrayEquals(pattern(block, 4096), b.array());
            }
            assertEquals(0, sameRing.calls() + otherLoop.calls() + otherEngine.calls(), "bystanders untouched");
            same.write(1);
            far.write(2);
            next.write(3);
            assertEquals(1, sameRing.awaitResult());
            assertEquals(2, otherLoop.awaitResult());
            assertEquals(3, otherEngine.awaitResult());
            assertFalse(sameRing.byClose || otherLoop.byClose || otherEngine.byClose);
            echo.roundTrip("after-errors");
            assertTrue(engine.isOpen());
            file.close();
            assertSettled(engine);
            assertSettled(neighbour);
            assertEquals(1, sameRing.calls());
            assertEquals(1, otherLoop.calls());
            assertEquals(1, otherEngine.calls());
        }
    }

    /**
     * A completion on a loop closes its engine (raw callback and a future's dependent, each its own engine): the close
     * finishes (on another thread), the engine's own request left in the kernel ends ECANCELED by close, and the
     * neighbour engine on the same group and loops is untouched: its request in flight ends with its own result, its
     * file works, the channels echo.
     */
    @Test
    void aCompletionThatClosesItsEngineLeavesTheNeighbourEngineAlone() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine neighbour = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        Echo echo = closing(new Echo(group));
        List<EventLoop> loops = loops(group);
        fileOf("c", 2);
        AsyncFile neighbourFile = await(neighbour.open(dir.resolve("c"), READ));
        try (Arena arena = Arena.ofShared(); Pipe mine = new Pipe(); Pipe theirs = new Pipe()) {
            Recorder theirRead = new Recorder();
            submitOn(loops.get(0), neighbour, pipeRead(theirs, arena.allocate(16), theirRead));
            for (String how : List.of("raw", "dependent")) {
                RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
                AsyncFile file = await(engine.open(dir.resolve("c"), READ));
                Recorder myRead = new Recorder();
                submitOn(loops.get(1), engine, pipeRead(mine, arena.allocate(16), myRead));
                waitUntil(() -> engine.stats().inFlight() == 1, () -> "in flight: " + engine.stats());
                AtomicReference<Throwable> closeThrew = new AtomicReference<>();
                CountDownLatch closed = new CountDownLatch(1);
                Runnable closeIt = () -> {
                    try {
                        engine.close();
                    } catch (Throwable t) {
                        closeThrew.set(t);
                    } finally {
                        closed.countDown();
                    }
                };
                if (how.equals("raw")) {
                    submitOn(loops.get(0), engine, new Request((r, res) -> closeIt.run())
                            .prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
                } else {
                    onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(16), 0).thenRun(closeIt));
                }
                assertTrue(closed.await(WAIT_SECONDS, TimeUnit.SECONDS), how);
                assertNull(closeThrew.get(), how);
                assertFalse(engine.isOpen(), how);
                assertEquals(-ErrnoTable.ECANCELED, myRead.awaitResult(), how);
                assertTrue(myRead.byClose, how);
                closeWithin(engine);
                assertEquals(1, myRead.calls(), how);
                assertInstanceOf(EngineClosedException.class, failure(file.read(ByteBuffer.allocate(16), 0)));
            }
            assertTrue(neighbour.isOpen());
            assertEquals(0, theirRead.calls(), "the neighbour's request is untouched");
            assertBlock(neighbourFile, 1);
            echo.roundTrip("neighbour");
            theirs.write(7);
            assertEquals(7, theirRead.awaitResult());
            assertFalse(theirRead.byClose);
            neighbourFile.close();
            assertSettled(neighbour);
        }
    }

    /**
     * A completion on a loop shuts the application's group down. Each engine of the group ends every request it still
     * held once, ECANCELED as by close, and is no longer open; what had completed before keeps its result; an engine
     * on another group is untouched; every close returns.
     */
    @Test
    void aCompletionThatShutsTheGroupDown() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        IoEventLoopGroup otherGroup = group(1);
        RingEngine elsewhere = engineOn(config().eventLoopGroup(otherGroup));
        List<EventLoop> loops = loops(group);
        fileOf("s", 1);
        try (Arena arena = Arena.ofShared(); Pipe p0 = new Pipe(); Pipe p1 = new Pipe(); Pipe p2 = new Pipe()) {
            RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
            RingEngine neighbour = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
            AsyncFile file = await(engine.open(dir.resolve("s"), READ));
            int before = await(file.read(ByteBuffer.allocate(4096), 0));
            Recorder mine = new Recorder();
            Recorder theirs = new Recorder();
            Recorder far = new Recorder();
            submitOn(loops.get(1), engine, pipeRead(p0, arena.allocate(16), mine));
            submitOn(loops.get(0), neighbour, pipeRead(p1, arena.allocate(16), theirs));
            elsewhere.submit(pipeRead(p2, arena.allocate(16), far));
            waitUntil(() -> engine.stats().inFlight() == 1 && neighbour.stats().inFlight() == 1,
                    () -> "in flight: " + engine.stats() + " / " + neighbour.stats());
            CountDownLatch shut = new CountDownLatch(1);
            submitOn(loops.get(0), engine, new Request((r, res) -> {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                shut.countDown();
            }).prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0));
            assertTrue(shut.await(WAIT_SECONDS, TimeUnit.SECONDS));
            assertTrue(group.terminationFuture().await(WAIT_SECONDS, TimeUnit.SECONDS));
            for (Recorder r : List.of(mine, theirs)) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult());
                assertTrue(r.byClose);
            }
            assertFalse(engine.isOpen());
            assertFalse(neighbour.isOpen());
            assertEquals(4096, before);
            closeWithin(engine);
            closeWithin(neighbour);
            assertEquals(1, mine.calls());
            assertEquals(1, theirs.calls());
            // The other group's engine: open, untouched.
            assertTrue(elsewhere.isOpen());
            assertEquals(0, far.calls());
            p2.write(6);
            assertEquals(6, far.awaitResult());
            assertFalse(far.byClose);
            assertSettled(elsewhere);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Eight engines on one group closed in parallel by two closers, each with a request in the kernel and a file left
     * open; a ninth engine on the same group stays open. Three rounds: two threads closing four engines each; two
     * threads closing all eight (each engine closed twice at once); the group's two loops closing all eight from
     * tasks (a close on the engine's own thread returns at once and finishes on another thread). Every closed engine's
     * request ends ECANCELED by its close, once, and every close returns; the ninth's request in flight is untouched
     * and ends with its own result; its file reads; the group's channels echo throughout.
     */
    @Test
    void manyEnginesOnOneGroupClosedInParallelFromTwoThreads() throws Exception {
        IoEventLoopGroup group = group(2);
        Echo echo = closing(new Echo(group));
        List<EventLoop> loops = loops(group);
        fileOf("m", 2);
        RingEngine survivor = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        AsyncFile survivorFile = await(survivor.open(dir.resolve("m"), READ));
        try (Arena arena = Arena.ofShared(); Pipe survivorPipe = new Pipe()) {
            Recorder survivorRead = new Recorder();
            submitOn(loops.get(1), survivor, pipeRead(survivorPipe, arena.allocate(16), survivorRead));
            for (String round : List.of("split", "overlapping", "from-loops")) {
                closeEightInParallel(round, group, arena);
                echo.roundTrip(round);
            }
            assertTrue(survivor.isOpen());
            assertEquals(0, survivorRead.calls(), "the survivor's request is untouched");
            assertBlock(survivorFile, 1);
            survivorPipe.write(9);
            assertEquals(9, survivorRead.awaitResult());
            assertFalse(survivorRead.byClose);
            echo.roundTrip("after-closes");
            survivorFile.close();
            assertSettled(survivor);
            assertEquals(1, survivorRead.calls());
        }
    }

    private void closeEightInParallel(String round, IoEventLoopGroup group, Arena arena) throws Exception {
        List<EventLoop> loops = loops(group);
        List<Pipe> pipes = pipes(8);
        try {
            List<RingEngine> doomed = new ArrayList<>();
            List<Recorder> doomedReads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                RingEngine e = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
                doomed.add(e);
                AsyncFile f = await(e.open(dir.resolve("m"), READ)); // left open: the close closes it
                assertBlock(f, i % 2);
                Recorder r = new Recorder();
                doomedReads.add(r);
                submitOn(loops.get(i % 2), e, pipeRead(pipes.get(i), arena.allocate(16), r));
            }
            waitUntil(() -> doomed.stream().allMatch(e -> e.stats().inFlight() == 1), () -> round + ": all in flight");
            CyclicBarrier go = new CyclicBarrier(2);
            List<java.util.concurrent.Future<?>> closers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                List<RingEngine> mine = round.equals("split") ? doomed.subList(t * 4, t * 4 + 4) : doomed;
                Callable<Void> close = () -> {
                    go.await(WAIT_SECONDS, TimeUnit.SECONDS);
                    mine.forEach(RingEngine::close);
                    return null;
                };
                closers.add(round.equals("from-loops") ? loops.get(t).submit(close)
                        : CompletableFuture.supplyAsync(() -> {
                            try {
                                return close.call();
                            } catch (Exception e) {
                                throw new AssertionError(e);
                            }
                        }, r -> new Thread(r, "closer").start()));
            }
            for (java.util.concurrent.Future<?> c : closers) {
                await(c);
            }
            for (RingEngine e : doomed) {
                closeWithin(e); // returns once the close finished (the loops' closes finish on other threads)
            }
            for (int i = 0; i < 8; i++) {
                assertFalse(doomed.get(i).isOpen(), round);
                assertEquals(-ErrnoTable.ECANCELED, doomedReads.get(i).awaitResult(), round);
                assertTrue(doomedReads.get(i).byClose, round);
                assertEquals(1, doomedReads.get(i).calls(), round);
                EngineStats st = doomed.get(i).stats();
                assertEquals(st.submitted(), st.completed(), round + ": " + st);
            }
        } finally {
            closeAll(pipes);
        }
    }
}
