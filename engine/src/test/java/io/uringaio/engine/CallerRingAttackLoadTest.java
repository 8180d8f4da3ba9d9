package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Caller rings under load, as a hostile application drives them: more submitting threads than rings, short-lived
 * threads that exit with requests in their ring, platform and virtual threads, joins and timed gets racing the
 * completions, cancels from the submitter and from other threads, callbacks that throw, rings small enough that the
 * excess falls back to the Netty ring. Whatever happens: every request completes exactly once; a request nobody
 * canceled never ends -ECANCELED; a cancel answered CANCELED matches a request that ended -ECANCELED and one answered
 * otherwise matches one that ran to its own result; after quiesce the engine's counters agree (submitted ==
 * completed, nothing in flight). io_uring only; bounded in time (a few seconds of load).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingAttackLoadTest extends KernelTest {
    private static final long LOAD_NANOS = TimeUnit.SECONDS.toNanos(3);
    private static final int BLOCK = 512;
    private static final int REGIONS = 64;
    private static final int PIPE_BYTES = 16;
    /** Two descriptors each: well under the usual limit of open files. */
    private static final int MAX_PIPES = 1500;

    private Path dir;
    private final Queue<Case> cases = new ConcurrentLinkedQueue<>();
    private final Queue<Pipe> pipes = new ConcurrentLinkedQueue<>();
    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();
    /** Pipes whose read is submitted, in order, for the feeder: each gets its bytes about a millisecond later. */
    private final Queue<Unfed> unfed = new ConcurrentLinkedQueue<>();

    private final AtomicBoolean stopFeeding = new AtomicBoolean();

    private record Unfed(Pipe pipe, long born) {
    }

    @BeforeEach
    void makeDir() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "caller-load-");
    }

    @AfterEach
    void cleanUp() throws Exception {
        stopFeeding.set(true);
        for (Pipe p : pipes) {
            p.close();
        }
        try (var paths = Files.list(dir)) {
            for (Path p : paths.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(dir);
    }

    /** One raw request of the load, and what it must end with. */
    private static final class Case {
        final String what;
        final Recorder done = new Recorder();
        final Request request;
        /** The cancel's answer, when one was asked for. */
        volatile CompletableFuture<CancelOutcome> cancel;
        /** The result a request that was not canceled must end with. */
        final int expected;

        Case(String what, int expected, Completion throwing) {
            this.what = what;
            this.expected = expected;
            this.request = new Request(throwing == null ? done : (r, res) -> {
                done.complete(r, res);
                throwing.complete(r, res);
            });
        }
    }

    @Test
    void shortLivedPlatformThreadsOnFewerRings() throws Exception {
        runLoad(false);
    }

    @Test
    void virtualThreadsOnFewerRings() throws Exception {
        runLoad(true);
    }

    private void runLoad(boolean virtual) throws Exception {
        try (RingEngine engine = CallerRingAttackTest.callerEngineOf(config().rings(1).ringSize(64)
                .maxInFlightPerRing(24).callerRings(2).pageCacheFastPath(false));
             Arena arena = Arena.ofShared()) {
            Path path = dir.resolve("data");
            AsyncFile file = await(engine.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE));
            int fd = file.fd();
            MemorySegment buffers = arena.allocate(64L * 1024 * 1024 / 16, 4096);
            AtomicInteger nextBuffer = new AtomicInteger();
            int threadsPerRound = 8;
            long deadline = System.nanoTime() + LOAD_NANOS;
            long seed = System.nanoTime();
            int round = 0;
            AtomicInteger joins = new AtomicInteger();
            Thread feeder = startFeeder(stopFeeding);
            while (System.nanoTime() < deadline && failures.isEmpty() && pipes.size() < MAX_PIPES) {
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < threadsPerRound; t++) {
                    SplittableRandom random = new SplittableRandom(seed + 1000L * round + t);
                    Runnable body = () -> {
                        try {
                            for (int i = 0; i < 24; i++) {
                                oneAction(engine, file, fd, buffers, nextBuffer, random, joins);
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    };
                    threads.add(virtual ? Thread.ofVirtual().start(body) : Thread.ofPlatform().start(body));
                }
                for (Thread thread : threads) {
                    thread.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                    assertTrue(!thread.isAlive(), "a submitting thread is stuck: seed " + seed);
                }
                round++;
            }
            if (!failures.isEmpty()) {
                AssertionError e = new AssertionError("seed " + seed + ": " + failures.peek(), failures.peek());
                failures.forEach(e::addSuppressed);
                throw e;
            }
            stopFeeding.set(true); // every pipe read still waiting gets its bytes now
            feeder.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            for (Case c : cases) {
                c.done.awaitResult();
                waitUntil(() -> !c.request.inFlight(), () -> c.what + " idle");
            }
            for (Case c : cases) {
                assertEquals(1, c.done.calls(), () -> c.what + ": exactly one completion, seed " + seed);
                int res = c.done.results.getFirst();
                if (c.cancel == null) {
                    assertEquals(c.expected, res, () -> c.what + " (nobody canceled it), seed " + seed);
                } else {
                    CancelOutcome outcome = await(c.cancel);
                    if (outcome == CancelOutcome.CANCELED) {
                        assertEquals(-ErrnoTable.ECANCELED, res, () -> c.what + " answered CANCELED, seed " + seed);
                    } else {
                        assertEquals(c.expected, res, () -> c.what + " answered " + outcome + ", seed " + seed);
                    }
                }
            }
            waitUntil(() -> {
                EngineStats s = engine.stats();
                return s.inFlight() == 0 && s.submitted() == s.completed();
            }, () -> "counters agree after quiesce: " + engine.stats());
            EngineStats s = engine.stats();
            assertEquals(0, s.queued(), () -> "nothing queued: " + s);
            assertTrue(cases.size() > 100, "load ran: " + cases.size() + " requests, " + round + " rounds");
            assertTrue(joins.get() > 0, "joins ran");
        }
    }

    /**
     * A pipe the feeder writes to about a millisecond after its read was submitted: its requests end soon (a read whose
     * data came only at the end would hold a slot of the bounded rings for the whole run, and the joins would wait
     * behind them), and often after the submitting thread exited.
     */
    private Pipe newPipe() {
        Pipe pipe = new Pipe();
        pipes.add(pipe);
        return pipe;
    }

    private void fed(Pipe pipe) {
        unfed.add(new Unfed(pipe, System.nanoTime()));
    }

    /** Writes each pipe of {@link #unfed} once it is a millisecond old, until {@code stop}. */
    private Thread startFeeder(AtomicBoolean stop) {
        return Thread.ofPlatform().daemon().start(() -> {
            while (!stop.get() || !unfed.isEmpty()) {
                Unfed u = unfed.peek();
                if (u != null && (stop.get() || System.nanoTime() - u.born() > 1_000_000)) {
                    unfed.poll();
                    u.pipe().write(PIPE_BYTES);
                } else {
                    java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                }
            }
        });
    }

    private void oneAction(RingEngine engine, AsyncFile file, int fd, MemorySegment buffers, AtomicInteger next,
                           SplittableRandom random, AtomicInteger joins) throws Exception {
        MemorySegment buf = buffers.asSlice((long) (next.getAndIncrement() % 8192) * BLOCK, BLOCK);
        long region = (long) random.nextInt(REGIONS) * BLOCK;
        switch (random.nextInt(7)) {
            case 0 -> { // a write whose future this thread joins (the lane's wait)
                int n = file.write(buf, region).join();
                assertEquals(BLOCK, n);
                joins.incrementAndGet();
            }
            case 1 -> { // a read whose timed get races the completion
                try {
                    int n = file.read(buf, region).get(random.nextInt(3), TimeUnit.MICROSECONDS);
                    assertTrue(n >= 0 && n <= BLOCK, "read " + n);
                } catch (TimeoutException expected) {
                    // it completes later, once: the file's close at the engine's close waits for it
                }
            }
            case 2 -> { // a raw write nobody waits for; its callback may throw on the reaping thread
                Case c = new Case("raw write", BLOCK, random.nextBoolean() ? null : (r, res) -> {
                    throw new IllegalStateException("hostile callback");
                });
                c.request.prepWrite(fd, buf.address(), BLOCK, region);
                cases.add(c);
                engine.submit(c.request);
            }
            case 3, 4 -> { // a pipe read whose data comes later (often after this thread exited)
                Pipe pipe = newPipe();
                Case c = new Case("pipe read", PIPE_BYTES, null);
                c.request.prepRead(pipe.readFd, buf.address(), PIPE_BYTES, 0);
                cases.add(c);
                engine.submit(c.request);
                if (random.nextInt(4) == 0) {
                    pipe.write(PIPE_BYTES); // sometimes now, racing the submission
                } else {
                    fed(pipe);
                }
            }
            case 5 -> { // a pipe read canceled by its submitter, sometimes after its data came
                Pipe pipe = newPipe();
                Case c = new Case("canceled pipe read", PIPE_BYTES, null);
                c.request.prepRead(pipe.readFd, buf.address(), PIPE_BYTES, 0);
                cases.add(c);
                engine.submit(c.request);
                if (random.nextBoolean()) {
                    pipe.write(PIPE_BYTES);
                } else {
                    fed(pipe);
                }
                c.cancel = engine.cancel(c.request);
            }
            default -> { // a pipe read canceled by another thread while this one may be exiting
                Pipe pipe = newPipe();
                Case c = new Case("pipe read canceled elsewhere", PIPE_BYTES, null);
                c.request.prepRead(pipe.readFd, buf.address(), PIPE_BYTES, 0);
                cases.add(c);
                engine.submit(c.request);
                fed(pipe);
                AtomicReference<CompletableFuture<CancelOutcome>> outcome = new AtomicReference<>();
                Thread canceller = Thread.ofPlatform().start(() -> outcome.set(engine.cancel(c.request)));
                canceller.join();
                c.cancel = outcome.get();
            }
        }
    }
}
