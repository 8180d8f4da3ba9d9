package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A hostile pass over the caller rings ({@link CallerRing}, {@link CallerLanes}) and their routing in
 * {@link RingEngine}: code of one engine running on a thread busy in another engine's caller ring, waiters
 * interrupted or timed out inside {@code io_uring_enter}, a close while they wait, callbacks that throw. Each case
 * asserts the typed outcome and that bystanders are untouched. io_uring only (caller rings are io_uring instances).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingAttackTest extends KernelTest {

    static RingEngine callerEngine(int count, int depth) {
        return callerEngineOf(config().rings(1).callerRings(count).callerRingDepth(depth).pageCacheFastPath(false));
    }

    /** An io_uring engine of {@code config}, which asks for caller rings; skips where the kernel gives none. */
    static RingEngine callerEngineOf(RingEngineConfig config) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config);
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    static RingEngine callerEngine(int count) {
        return callerEngine(count, Integer.MAX_VALUE);
    }

    /**
     * Engine B's reaper runs a completion whose callback closes engine A (caller rings on too). That thread is B's, not
     * A's: A's close must block until A is closed, as from any application thread (its contract), not return at once
     * as from one of A's own threads. The caller then releases what A's requests used; a close that returned early
     * left A's read in the kernel, its buffer about to be freed under it.
     */
    @Test
    void closeOfAnEngineFromAnotherEnginesCallerRingCallbackWaitsForTheClose() throws Exception {
        try (RingEngine b = callerEngine(1); Pipe aPipe = new Pipe(); Pipe trigger = new Pipe();
             Arena arena = Arena.ofShared()) {
            RingEngine a = callerEngine(1);
            Recorder aRead = new Recorder();
            Request aRequest = new Request(aRead).prepRead(aPipe.readFd, arena.allocate(16), 0);
            a.submit(aRequest);
            assertInstanceOf(CallerRing.class, aRequest.ring, "A's read is in A's caller ring");
            CompletableFuture<String> seen = new CompletableFuture<>();
            Request bRead = new Request((r, res) -> {
                boolean ownThread = a.isEngineThread();
                a.close();
                seen.complete("isEngineThread of A " + ownThread + ", A open " + a.isOpen() + ", A's read ran "
                        + aRead.calls() + " time(s) when close returned");
            }).prepRead(trigger.readFd, arena.allocate(16), 0);
            b.submit(bRead);
            assertInstanceOf(CallerRing.class, bRead.ring, "B's read is in B's caller ring");
            trigger.write(1);
            assertEquals("isEngineThread of A false, A open false, A's read ran 1 time(s) when close returned",
                    seen.get(WAIT_SECONDS, TimeUnit.SECONDS));
            assertEquals(-ErrnoTable.ECANCELED, aRead.awaitResult());
            assertTrue(aRead.byClose, "canceled by A's close");
            assertTrue(b.isOpen(), "B untouched");
            Recorder after = new Recorder();
            b.submit(new Request(after).prepWrite(trigger.writeFd, arena.allocate(4), 0));
            assertEquals(4, after.awaitResult(), "B still runs requests");
            assertEquals(1, aRead.calls());
        }
    }

    /**
     * The same for a file: {@link AsyncFile#close()} of engine A's file, from a callback engine B's caller ring runs,
     * waits for the file's operation in flight and the close (the file is closed when it returns), as on any thread
     * that is not A's. A's file is a pipe whose read the test completes once the close has begun.
     */
    @Test
    void closeOfAFileFromAnotherEnginesCallerRingCallbackWaitsForTheClose() throws Exception {
        try (RingEngine b = callerEngine(1); RingEngine a = RingEngine.open(config().rings(1));
             Pipe aPipe = new Pipe(); Pipe trigger = new Pipe(); Arena arena = Arena.ofShared()) {
            AsyncFile file = await(a.open(aPipe.readPath(), StandardOpenOption.READ));
            CompletableFuture<Integer> inFlight = file.read(arena.allocate(8), 0);
            CompletableFuture<String> seen = new CompletableFuture<>();
            Request bRead = new Request((r, res) -> {
                try {
                    file.close();
                    seen.complete("read done " + inFlight.isDone() + ", closed " + file.closeAsync().isDone());
                } catch (Throwable t) {
                    seen.completeExceptionally(t);
                }
            }).prepRead(trigger.readFd, arena.allocate(16), 0);
            b.submit(bRead);
            trigger.write(1);
            waitUntil(() -> !file.isOpen() || seen.isDone(), () -> "the callback began the close");
            aPipe.write(8); // the read in flight ends; only then can the close end
            assertEquals("read done true, closed true", seen.get(WAIT_SECONDS, TimeUnit.SECONDS),
                    "AsyncFile.close() returned before the file was closed");
            assertEquals(8, await(inFlight));
            assertTrue(a.isOpen() && b.isOpen(), "both engines untouched");
        }
    }

    /** Runs {@code body} on a new platform thread that first submits {@code probe} (to learn its caller ring). */
    private static Thread submitterWithProbe(RingEngine engine, Request probe, CountDownLatch submitted,
                                             ThrowingRunnable body, AtomicReference<Throwable> thrown) {
        return Thread.ofPlatform().start(() -> {
            try {
                engine.submit(probe);
                body.run(submitted);
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run(CountDownLatch submitted) throws Throwable;
    }

    /**
     * A thread blocked in {@code get()} of a future whose operation is in its caller ring (it waits inside
     * {@code io_uring_enter}) is interrupted: {@code get} throws {@link InterruptedException} within a wait slice, the
     * operation stays in flight and later completes its future once; the ring's other request is untouched.
     */
    @Test
    void anInterruptedGetInsideTheRingThrowsAndTheOperationEndsLaterOnce() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Pipe other = new Pipe();
             Arena arena = Arena.ofShared()) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            Recorder bystander = new Recorder();
            Request probe = new Request(bystander).prepRead(other.readFd, arena.allocate(16), 0);
            AtomicReference<CompletableFuture<Integer>> read = new AtomicReference<>();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            CountDownLatch submitted = new CountDownLatch(1);
            Thread waiter = submitterWithProbe(engine, probe, submitted, latch -> {
                read.set(file.read(arena.allocate(8), 0));
                latch.countDown();
                read.get().get();
            }, thrown);
            assertTrue(submitted.await(WAIT_SECONDS, TimeUnit.SECONDS));
            CallerRing ring = assertInstanceOf(CallerRing.class, probe.ring);
            waitUntil(() -> ring.waiters() == 1, () -> "the thread waits inside the ring");
            waiter.interrupt();
            waiter.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertFalse(waiter.isAlive(), "get() did not return after the interrupt");
            assertInstanceOf(InterruptedException.class, thrown.get());
            assertFalse(read.get().isDone(), "the operation is still in flight");
            assertTrue(probe.inFlight(), "the bystander still waits");
            pipe.write(8);
            assertEquals(8, await(read.get()));
            other.write(3);
            assertEquals(3, bystander.awaitResult());
            assertEquals(1, bystander.calls());
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "nothing in flight: " + engine.stats());
            assertEquals(engine.stats().submitted(), engine.stats().completed());
        }
    }

    /**
     * {@code join()} is not interruptible: a thread waiting inside the ring and interrupted keeps waiting, gets its
     * result, and still has its interrupt status.
     */
    @Test
    void anInterruptedJoinInsideTheRingKeepsWaitingAndKeepsTheStatus() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Pipe other = new Pipe();
             Arena arena = Arena.ofShared()) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            Recorder bystander = new Recorder();
            Request probe = new Request(bystander).prepRead(other.readFd, arena.allocate(16), 0);
            AtomicReference<String> seen = new AtomicReference<>();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            CountDownLatch submitted = new CountDownLatch(1);
            Thread waiter = submitterWithProbe(engine, probe, submitted, latch -> {
                CompletableFuture<Integer> read = file.read(arena.allocate(8), 0);
                latch.countDown();
                int n = read.join();
                seen.set(n + " interrupted " + Thread.currentThread().isInterrupted());
            }, thrown);
            assertTrue(submitted.await(WAIT_SECONDS, TimeUnit.SECONDS));
            CallerRing ring = assertInstanceOf(CallerRing.class, probe.ring);
            waitUntil(() -> ring.waiters() == 1, () -> "the thread waits inside the ring");
            waiter.interrupt();
            waitUntil(() -> waiter.isInterrupted() || !waiter.isAlive(), () -> "interrupt delivered");
            pipe.write(8);
            waiter.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertEquals(null, thrown.get());
            assertEquals("8 interrupted true", seen.get());
            assertTrue(probe.inFlight(), "the bystander still waits");
            other.write(3);
            assertEquals(3, bystander.awaitResult());
        }
    }

    /**
     * The engine closes while threads wait inside its caller rings for their futures (more threads than rings): each
     * join ends with {@link EngineClosedException}, every thread leaves, each raw request ends once, canceled by the
     * close; another engine's request is untouched.
     */
    @Test
    void closeWhileThreadsJoinInsideTheRingsEndsEveryJoinWithEngineClosed() throws Exception {
        int threads = 5;
        try (RingEngine bystanderEngine = RingEngine.open(config().rings(1)); Pipe untouched = new Pipe();
             Arena arena = Arena.ofShared()) {
            Recorder bystander = new Recorder();
            bystanderEngine.submit(new Request(bystander).prepRead(untouched.readFd, arena.allocate(8), 0));
            RingEngine engine = callerEngine(2);
            List<Pipe> pipes = pipes(threads * 2);
            try {
                List<Thread> waiters = new java.util.ArrayList<>();
                List<Request> probes = new java.util.ArrayList<>();
                List<Recorder> probeDone = new java.util.ArrayList<>();
                List<AtomicReference<Throwable>> outcomes = new java.util.ArrayList<>();
                CountDownLatch submitted = new CountDownLatch(threads);
                for (int t = 0; t < threads; t++) {
                    AsyncFile file = await(engine.open(pipes.get(2 * t).readPath(), StandardOpenOption.READ));
                    Recorder done = new Recorder();
                    Request probe = new Request(done).prepRead(pipes.get(2 * t + 1).readFd, arena.allocate(8), 0);
                    AtomicReference<Throwable> outcome = new AtomicReference<>();
                    probes.add(probe);
                    probeDone.add(done);
                    outcomes.add(outcome);
                    waiters.add(submitterWithProbe(engine, probe, submitted, latch -> {
                        CompletableFuture<Integer> read = file.read(arena.allocate(8), 0);
                        latch.countDown();
                        try {
                            read.join();
                            outcome.set(new AssertionError("join returned"));
                        } catch (CompletionException e) {
                            outcome.set(e.getCause());
                        }
                    }, outcome));
                }
                assertTrue(submitted.await(WAIT_SECONDS, TimeUnit.SECONDS));
                java.util.Set<CallerRing> rings = new java.util.HashSet<>();
                for (Request probe : probes) {
                    rings.add(assertInstanceOf(CallerRing.class, probe.ring));
                }
                waitUntil(() -> rings.stream().mapToInt(CallerRing::waiters).sum() == threads,
                        () -> "every thread waits inside a ring");
                closeWithin(engine);
                for (int t = 0; t < threads; t++) {
                    waiters.get(t).join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                    assertFalse(waiters.get(t).isAlive(), "waiter " + t + " left");
                    assertInstanceOf(EngineClosedException.class, outcomes.get(t).get());
                    assertEquals(-ErrnoTable.ECANCELED, probeDone.get(t).awaitResult());
                    assertTrue(probeDone.get(t).byClose);
                    assertEquals(1, probeDone.get(t).calls());
                }
                assertEquals(0, bystander.calls(), "the other engine's read still waits");
                untouched.write(2);
                assertEquals(2, bystander.awaitResult());
            } finally {
                engine.close();
                closeAll(pipes);
            }
        }
    }

    /**
     * A thread waits inside the ring for a request another thread submitted (that thread never waits): the waiter
     * reaps it and runs its completion, once.
     */
    @Test
    void aThreadWaitsForAnotherThreadsRequestAndRunsItsCompletion() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            Recorder done = new Recorder();
            Request read = new Request(done).prepRead(pipe.readFd, arena.allocate(8), 0);
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch submitted = new CountDownLatch(1);
            Thread owner = Thread.ofPlatform().start(() -> {
                engine.submit(read);
                submitted.countDown();
                try {
                    release.await(); // alive, never waits in the ring
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            try {
                assertTrue(submitted.await(WAIT_SECONDS, TimeUnit.SECONDS));
                CallerRing ring = assertInstanceOf(CallerRing.class, read.ring);
                Thread writer = Thread.ofPlatform().start(() -> {
                    try {
                        waitUntil(() -> ring.waiters() == 1, () -> "the main thread waits inside");
                        pipe.write(8);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
                while (read.inFlight() && System.nanoTime() < deadline) {
                    assertTrue(engine.awaitInLane(read, TimeUnit.SECONDS.toNanos(WAIT_SECONDS)) || !read.inFlight());
                }
                writer.join();
                assertEquals(8, done.awaitResult());
                assertEquals(Thread.currentThread().getName(), done.thread, "the waiter ran the completion");
                assertEquals(1, done.calls());
            } finally {
                release.countDown();
                owner.join();
            }
        }
    }

    /**
     * {@code callerRingDepth(1)}: a thread's write goes into its caller ring while the thread has nothing else in
     * flight, and to its Netty ring while it has (here a pipe read it keeps in flight). What the engine promises about
     * order holds across the two lanes: an {@code fsync} starts only after every write submitted on the file before it
     * completed (its future completes after theirs), and every block reads back as written.
     */
    @Test
    void writesSplitOverBothLanesStillCompleteBeforeTheFsyncBehindThem() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "attack-");
        Path path = dir.resolve("f");
        int blocks = 32;
        int block = 4096;
        try (RingEngine engine = callerEngine(1, 1); Pipe probePipe = new Pipe(); Arena arena = Arena.ofShared()) {
            AsyncFile file = await(engine.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE));
            Recorder firstDone = new Recorder();
            Request first = new Request(firstDone).prepRead(probePipe.readFd, arena.allocate(8), 0);
            engine.submit(first); // nothing else in flight: this thread's caller ring
            CallerRing ring = assertInstanceOf(CallerRing.class, first.ring);
            probePipe.write(1);
            assertEquals(1, firstDone.awaitResult());
            waitUntil(() -> !first.inFlight(), () -> "idle");
            long inCallerRing = ring.submittedCount();
            long before = engine.stats().submitted();
            List<CompletableFuture<Integer>> writes = new java.util.ArrayList<>();
            Recorder heldDone = new Recorder();
            Request held = new Request(heldDone).prepRead(probePipe.readFd, arena.allocate(8), 0);
            for (int b = 0; b < blocks; b++) {
                if (b == blocks / 2) {
                    engine.submit(held); // in flight from here on: the writes behind it go to the Netty ring
                }
                MemorySegment bytes = arena.allocate(block);
                bytes.fill((byte) (b + 1));
                writes.add(file.write(bytes, (long) b * block));
            }
            CompletableFuture<Boolean> allDoneAtSync = file.fsync().thenApply(v -> writes.stream()
                    .allMatch(w -> w.isDone() && !w.isCompletedExceptionally()));
            assertTrue(await(allDoneAtSync), "an fsync completed before a write submitted before it");
            for (CompletableFuture<Integer> w : writes) {
                assertEquals(block, await(w));
            }
            long toCaller = ring.submittedCount() - inCallerRing;
            long toNetty = engine.stats().submitted() - before - toCaller;
            assertTrue(toCaller >= 1, "the first write went into the caller ring: " + toCaller);
            assertTrue(toNetty >= blocks / 2, "the writes behind the held read went to the Netty ring: " + toNetty);
            for (int b = 0; b < blocks; b++) {
                MemorySegment back = arena.allocate(block);
                assertEquals(block, await(file.read(back, (long) b * block)));
                for (int i = 0; i < block; i += 512) {
                    assertEquals((byte) (b + 1), back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i), "block " + b);
                }
            }
            probePipe.write(2);
            assertEquals(2, heldDone.awaitResult());
            assertEquals(1, heldDone.calls());
        } finally {
            Files.deleteIfExists(path);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * {@code get(timeout)} racing the completion, many times: the future either has the result or times out and
     * completes later with it, once; never anything else.
     */
    @Test
    void timedGetsRacingTheCompletionEndWithTheResultOrATimeout() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            AsyncFile file = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            java.util.SplittableRandom random = new java.util.SplittableRandom(42);
            int timeouts = 0;
            for (int i = 0; i < 300; i++) {
                CompletableFuture<Integer> read = file.read(arena.allocate(4), 0);
                int spin = random.nextInt(2000);
                Thread writer = Thread.ofPlatform().start(() -> {
                    for (int s = 0; s < spin; s++) {
                        Thread.onSpinWait();
                    }
                    pipe.write(4);
                });
                try {
                    assertEquals(4, read.get(random.nextInt(50), TimeUnit.MICROSECONDS));
                } catch (TimeoutException e) {
                    timeouts++;
                    assertEquals(4, await(read));
                }
                writer.join();
            }
            int timedOut = timeouts;
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "nothing in flight");
            EngineStats s = engine.stats();
            assertEquals(s.submitted(), s.completed(), () -> s + ", " + timedOut + " timeouts");
        }
    }

    /**
     * A request whose submitting thread exited is canceled by the kernel unstarted, and the ring hands it to a Netty
     * ring (it must not end -ECANCELED: nobody canceled it). Between the reap of that -ECANCELED and the hand-off, the
     * request is neither in the kernel nor done; a cancel there (here from the callback of a request reaped in the
     * same batch) answered ALREADY_DONE, and the request then ran on the Netty ring to its own result: an answer that
     * says it had finished, for a request that had not (the facade's AIO_ALLDONE while aio_error says EINPROGRESS).
     * The cancel now finds it queued: CANCELED, and it ends -ECANCELED, once.
     */
    @Test
    void aCancelOfAnOrphanBeingHandedToANettyRingCancelsIt() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe orphanPipe = new Pipe(); Pipe blocker = new Pipe();
             Pipe sink = new Pipe(); Arena arena = Arena.ofShared()) {
            Recorder orphanDone = new Recorder();
            Request orphan = new Request(orphanDone).prepRead(orphanPipe.readFd, arena.allocate(16), 0);
            Thread exiting = Thread.ofPlatform().start(() -> engine.submit(orphan));
            exiting.join();
            CallerRing ring = assertInstanceOf(CallerRing.class, orphan.ring);
            // The reaper blocks in a callback of this ring, so that what comes next waits unreaped.
            CountDownLatch reaperBlocked = new CountDownLatch(1);
            CountDownLatch releaseReaper = new CountDownLatch(1);
            Request blocking = new Request((r, res) -> {
                reaperBlocked.countDown();
                try {
                    releaseReaper.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).prepRead(blocker.readFd, arena.allocate(8), 0);
            engine.submit(blocking);
            assertEquals(ring, blocking.ring);
            try {
                blocker.write(1);
                assertTrue(reaperBlocked.await(WAIT_SECONDS, TimeUnit.SECONDS), "the reaper runs the callback");
                orphanPipe.write(16); // its submitter is gone: the kernel ends the read -ECANCELED
                waitUntil(() -> ring.unreaped() > 0, () -> "the orphan's CQE posted");
                // A pipe write with room completes inside its submission, which reaps both CQEs in one batch; its
                // callback runs before the orphan is handed on.
                AtomicReference<CompletableFuture<CancelOutcome>> outcome = new AtomicReference<>();
                AtomicReference<String> orphanAtCancel = new AtomicReference<>();
                Recorder writeDone = new Recorder();
                Request write = new Request((r, res) -> {
                    orphanAtCancel.set("calls " + orphanDone.calls());
                    outcome.set(engine.cancel(orphan));
                    writeDone.complete(r, res);
                }).prepWrite(sink.writeFd, arena.allocate(4).address(), 4, 0);
                engine.submit(write);
                Assumptions.assumeTrue(writeDone.calls() == 1, "the pipe write did not complete inside its submission");
                Assumptions.assumeTrue("calls 0".equals(orphanAtCancel.get()),
                        "this kernel did not cancel the exited thread's read (it ran to its end)");
                CancelOutcome answered = await(outcome.get());
                int res = orphanDone.awaitResult();
                assertEquals(CancelOutcome.CANCELED + " " + -ErrnoTable.ECANCELED, answered + " " + res,
                        "the cancel's answer and how the request ended");
                waitUntil(() -> !orphan.inFlight(), () -> "idle");
                assertEquals(1, orphanDone.calls());
            } finally {
                releaseReaper.countDown();
            }
            assertEquals(4, sink.drain(4), "the bystander write landed");
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "nothing in flight");
            assertEquals(engine.stats().submitted(), engine.stats().completed());
        }
    }

    /**
     * A thread waits inside the ring for its own read; it reaps another request whose callback closes the engine. The
     * close must not wait for that thread (it returns at once and finishes on another thread), and then ends
     * everything: the waiter's join ends with {@link EngineClosedException}, a bystander read ends -ECANCELED by the
     * close, the closing callback ran once, and the engine is closed within the bound.
     */
    @Test
    void closeFromACallbackReapedByAWaiterEndsTheWaitersJoinAndTheRest() throws Exception {
        try (Pipe own = new Pipe(); Pipe closer = new Pipe(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            RingEngine engine = callerEngine(1);
            try {
                AsyncFile file = await(engine.open(own.readPath(), StandardOpenOption.READ));
                Recorder bystander = new Recorder();
                engine.submit(new Request(bystander).prepRead(other.readFd, arena.allocate(8), 0));
                AtomicReference<String> closeCall = new AtomicReference<>();
                Recorder closing = new Recorder();
                Request closeRequest = new Request((r, res) -> {
                    long start = System.nanoTime();
                    engine.close();
                    closeCall.set(Thread.currentThread().getName() + " open " + engine.isOpen() + " returned in "
                            + (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(WAIT_SECONDS) ? "time" : "late"));
                    closing.complete(r, res);
                }).prepRead(closer.readFd, arena.allocate(8), 0);
                engine.submit(closeRequest);
                CallerRing ring = assertInstanceOf(CallerRing.class, closeRequest.ring);
                AtomicReference<Throwable> joined = new AtomicReference<>();
                Thread waiter = Thread.ofPlatform().name("own-waiter").start(() -> {
                    try {
                        file.read(arena.allocate(8), 0).join();
                        joined.set(new AssertionError("join returned"));
                    } catch (CompletionException e) {
                        joined.set(e.getCause());
                    }
                });
                waitUntil(() -> ring.waiters() == 1, () -> "the waiter is inside");
                closer.write(2);
                waiter.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                assertFalse(waiter.isAlive(), "the waiter left");
                assertEquals("own-waiter open false returned in time", closeCall.get());
                assertInstanceOf(EngineClosedException.class, joined.get());
                assertEquals(2, closing.awaitResult());
                assertEquals(-ErrnoTable.ECANCELED, bystander.awaitResult());
                assertTrue(bystander.byClose);
                closeWithin(engine); // a second close waits for the first to finish
                assertEquals(1, closing.calls());
                assertEquals(1, bystander.calls());
            } finally {
                engine.close();
            }
        }
    }

    /**
     * A request canceled in the kernel (its -ECANCELED reaped, its completion not yet run) is canceled again, from the
     * callback of a request reaped before it in the same batch. Its completion runs with -ECANCELED, so the second
     * cancel's answer is CANCELED, as on a Netty ring (the contract: CANCELED always when the submission the cancel
     * found runs with -ECANCELED); it answered ALREADY_DONE (the facade's AIO_ALLDONE for a request whose status
     * then reads ECANCELED).
     */
    @Test
    void aSecondCancelOfARequestWhoseCancelWasReapedButNotDeliveredAnswersCanceled() throws Exception {
        try (RingEngine engine = callerEngine(1); Pipe first = new Pipe(); Pipe target = new Pipe();
             Pipe blocker = new Pipe(); Pipe sink = new Pipe(); Arena arena = Arena.ofShared()) {
            // The reaper blocks in a callback of this ring, so that what comes next waits unreaped.
            CountDownLatch reaperBlocked = new CountDownLatch(1);
            CountDownLatch releaseReaper = new CountDownLatch(1);
            Request blocking = new Request((r, res) -> {
                reaperBlocked.countDown();
                try {
                    releaseReaper.await(WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }).prepRead(blocker.readFd, arena.allocate(8), 0);
            engine.submit(blocking);
            CallerRing ring = assertInstanceOf(CallerRing.class, blocking.ring);
            try {
                blocker.write(1);
                assertTrue(reaperBlocked.await(WAIT_SECONDS, TimeUnit.SECONDS), "the reaper runs the callback");
                Recorder targetDone = new Recorder();
                Request canceled = new Request(targetDone).prepRead(target.readFd, arena.allocate(8), 0);
                AtomicReference<CompletableFuture<CancelOutcome>> second = new AtomicReference<>();
                AtomicReference<String> targetAtSecond = new AtomicReference<>();
                Recorder firstDone = new Recorder();
                Request before = new Request((r, res) -> {
                    targetAtSecond.set("calls " + targetDone.calls());
                    second.set(engine.cancel(canceled));
                    firstDone.complete(r, res);
                }).prepRead(first.readFd, arena.allocate(8), 0);
                engine.submit(before);
                engine.submit(canceled);
                assertEquals(ring, canceled.ring);
                first.write(3); // the first CQE: the request whose callback cancels again
                waitUntil(() -> ring.unreaped() >= 1, () -> "the first CQE posted");
                CompletableFuture<CancelOutcome> firstCancel = engine.cancel(canceled);
                waitUntil(() -> ring.unreaped() >= 3, () -> "the target's and its cancel's CQEs posted");
                // A pipe write with room completes inside its submission, which reaps all of them in one batch.
                Recorder writeDone = new Recorder();
                engine.submit(new Request(writeDone).prepWrite(sink.writeFd, arena.allocate(4).address(), 4, 0));
                assertEquals(1, writeDone.calls(), "reaped and run inside the submission");
                assertEquals(3, firstDone.awaitResult());
                assertEquals("calls 0", targetAtSecond.get(), "the target's completion had not run yet");
                assertEquals(-ErrnoTable.ECANCELED, targetDone.awaitResult());
                assertEquals(CancelOutcome.CANCELED, await(firstCancel));
                assertEquals(CancelOutcome.CANCELED, await(second.get()),
                        "the second cancel of a request that ends -ECANCELED");
                assertEquals(1, targetDone.calls());
            } finally {
                releaseReaper.countDown();
            }
            assertEquals(4, sink.drain(4), "the bystander write landed");
            waitUntil(() -> engine.stats().inFlight() == 0, () -> "nothing in flight");
            assertEquals(engine.stats().submitted(), engine.stats().completed());
        }
    }

    /**
     * More cancels at once than the ring keeps slots for ({@link CallerRing#CONTROL_SLOTS}): the rest wait their turn
     * in the engine and go to the kernel as earlier ones are answered. Every target ends -ECANCELED once and every
     * answer is CANCELED; then a close with more requests in flight than those slots ends them all, once, canceled by
     * the close; the untouched ones of the first wave are not hit by any of it.
     */
    @Test
    void moreCancelsAndAClosesCancelsThanControlSlotsEachHitTheirTargetOnce() throws Exception {
        int n = 3 * CallerRing.CONTROL_SLOTS;
        List<Pipe> pipes = pipes(2 * n);
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = callerEngineOf(config().rings(1).ringSize(256).maxInFlightPerRing(216).callerRings(1)
                    .pageCacheFastPath(false));
            try {
                List<Recorder> canceled = new java.util.ArrayList<>();
                List<Request> targets = new java.util.ArrayList<>();
                List<Recorder> kept = new java.util.ArrayList<>();
                MemorySegment buf = arena.allocate(16L * 2 * n);
                for (int i = 0; i < 2 * n; i++) {
                    Recorder done = new Recorder();
                    Request r = new Request(done).prepRead(pipes.get(i).readFd, buf.address() + 16L * i, 16, 0);
                    engine.submit(r);
                    assertInstanceOf(CallerRing.class, r.ring, "all in the caller ring");
                    if (i % 2 == 0) {
                        canceled.add(done);
                        targets.add(r);
                    } else {
                        kept.add(done);
                    }
                }
                List<CompletableFuture<CancelOutcome>> outcomes = new java.util.ArrayList<>();
                for (Request r : targets) {
                    outcomes.add(engine.cancel(r));
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(CancelOutcome.CANCELED, await(outcomes.get(i)), "cancel " + i);
                    assertEquals(-ErrnoTable.ECANCELED, canceled.get(i).awaitResult(), "target " + i);
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(0, kept.get(i).calls(), "an untouched read was hit");
                }
                pipes.get(1).write(5);
                assertEquals(5, kept.get(0).awaitResult(), "an untouched read still runs");
                closeWithin(engine);
                for (int i = 1; i < n; i++) {
                    assertEquals(-ErrnoTable.ECANCELED, kept.get(i).awaitResult());
                    assertTrue(kept.get(i).byClose, "canceled by the close");
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(1, canceled.get(i).calls());
                    assertEquals(1, kept.get(i).calls());
                }
                EngineStats s = engine.stats();
                assertEquals(s.submitted(), s.completed(), s::toString);
                assertEquals(0, s.inFlight());
            } finally {
                engine.close();
            }
        } finally {
            closeAll(pipes);
        }
    }
}
