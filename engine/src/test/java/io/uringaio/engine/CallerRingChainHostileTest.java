package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile cases for linked chains on caller rings: chains of every length and opcode mix whose submitter exits with
 * the chain stopped at any member, a broken link in the middle, cancels of each member, the engine's close, a full
 * ring; each asserts every member's result, exactly one completion each (counted after the close, which reaps
 * everything), the order of the members, the file (what ran is there, what was canceled is not), and a bystander
 * request on the same caller ring.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CallerRingChainHostileTest extends KernelTest {
    private static final int BLOCK = 4096;
    private static final int READ_SIZE = 16;
    private static final String NETTY_THREADS = "chain-hostile";

    private Path dir;

    @BeforeEach
    void makeDir() throws Exception {
        Path target = Path.of("target");
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target, "caller-chain-hostile-");
    }

    @AfterEach
    void removeDir() throws Exception {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static RingEngine callerEngine(RingEngineConfig config) {
        assumeRings("caller rings are io_uring instances");
        RingEngine engine = RingEngine.open(config.threadNamePrefix(NETTY_THREADS));
        if (engine.callerRingCount() == 0) {
            engine.close();
            Assumptions.assumeTrue(false, "the kernel gave no caller rings (see the WARNING in the log)");
        }
        return engine;
    }

    private static RingEngine callerEngine() {
        return callerEngine(config().rings(1).callerRings(1).pageCacheFastPath(false));
    }

    /** A recorder that also notes its place in the order in which all members of a test completed. */
    static final class Ordered extends Recorder {
        private final AtomicInteger clock;
        volatile int at = -1;

        Ordered(AtomicInteger clock) {
            this.clock = clock;
        }

        @Override
        public void complete(Request request, int res) {
            at = clock.incrementAndGet();
            super.complete(request, res);
        }
    }

    /** The kinds of chain member; READ_PIPE waits (poll-armed) for data on the chain's pipe. */
    enum Kind { WRITE, NOP, FSYNC, FALLOCATE, READ_PIPE }

    /** One built chain: its requests, recorders, what each should end with when it runs, and the file blocks. */
    final class Chain {
        final Request[] requests;
        final Ordered[] recorders;
        final Kind[] kinds;
        final int[] block; // the file block a WRITE writes, else -1

        Chain(Kind[] kinds, int fd, Pipe pipe, Arena arena, AtomicInteger clock, int firstBlock) {
            this.kinds = kinds;
            requests = new Request[kinds.length];
            recorders = new Ordered[kinds.length];
            block = new int[kinds.length];
            int nextBlock = firstBlock;
            for (int i = 0; i < kinds.length; i++) {
                recorders[i] = new Ordered(clock);
                Request r = new Request(recorders[i]);
                block[i] = -1;
                switch (kinds[i]) {
                    case WRITE -> {
                        block[i] = nextBlock++;
                        MemorySegment src = arena.allocate(BLOCK, BLOCK);
                        src.fill((byte) (block[i] + 1));
                        r.prepWrite(fd, src.address(), BLOCK, (long) block[i] * BLOCK);
                    }
                    case NOP -> r.prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0);
                    case FSYNC -> r.prepFsync(fd, true);
                    case FALLOCATE -> r.prepFallocate(fd, 0, 0, BLOCK);
                    case READ_PIPE -> r.prepRead(pipe.readFd, arena.allocate(READ_SIZE).address(), READ_SIZE, 0);
                    default -> throw new AssertionError();
                }
                requests[i] = r;
            }
        }

        String results() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < kinds.length; i++) {
                b.append(kinds[i]).append('=').append(recorders[i].results).append(" on ").append(recorders[i].thread)
                        .append("; ");
            }
            return b.toString();
        }

        int expected(int i) {
            return switch (kinds[i]) {
                case WRITE -> BLOCK;
                case READ_PIPE -> READ_SIZE;
                default -> 0;
            };
        }

        /** Every member ran once, with its own result, in chain order. */
        void assertRanInOrder(String what) throws Exception {
            int last = 0;
            for (int i = 0; i < requests.length; i++) {
                assertEquals(expected(i), recorders[i].awaitResult(), what + ": member " + i + " " + kinds[i]);
                assertEquals(1, recorders[i].calls(), what + ": member " + i + " completions");
                assertTrue(recorders[i].at > last, what + ": member " + i + " completed out of order");
                last = recorders[i].at;
            }
        }
    }

    private static Kind[] mix(int length, int readAt, int seed) {
        Kind[] pool = {Kind.WRITE, Kind.NOP, Kind.FSYNC, Kind.FALLOCATE, Kind.WRITE};
        Kind[] kinds = new Kind[length];
        for (int i = 0; i < length; i++) {
            kinds[i] = i == readAt ? Kind.READ_PIPE : pool[(i + seed) % pool.length];
        }
        if (readAt != length - 1) {
            kinds[length - 1] = Kind.WRITE; // the last member is what a durable write waits for: make it count
        }
        return kinds;
    }

    /**
     * A member behind one that ran in the kernel's io-wq (a {@code fallocate}) is issued by that
     * io-wq worker; a pipe read there blocks in the worker, and when the submitter exits the kernel interrupts the
     * worker: the read ends {@code -EINTR}, having read nothing, though nobody canceled it. It must go to a Netty ring
     * (with the members behind it) and read its data there, as a member the kernel canceled unstarted does.
     */
    @Test
    void memberInterruptedInIoWqForItsExitedSubmitterRunsOnANettyRing() throws Exception {
        Path file = dir.resolve("data");
        AtomicInteger clock = new AtomicInteger();
        try (RingEngine engine = callerEngine(); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
            List<Chain> chains = new ArrayList<>();
            // Whether the read blocks in the worker when the submitter exits is a race with the fallocate: ten tries.
            for (int round = 0; round < 10; round++) {
                try (Pipe pipe = new Pipe()) {
                    Chain chain = new Chain(new Kind[] {Kind.FALLOCATE, Kind.READ_PIPE, Kind.WRITE}, fd, pipe, arena,
                            clock, round);
                    runOnThreadThatExits(() -> engine.submitLinked(chain.requests));
                    assertEquals(0, chain.recorders[0].awaitResult(), "the fallocate ran");
                    pipe.write(READ_SIZE);
                    chain.assertRanInOrder("round " + round + ": fallocate, read, write");
                    chains.add(chain);
                }
            }
            closeWithin(engine);
            for (Chain chain : chains) {
                chain.assertRanInOrder("after close");
            }
            assertEquals(10L * BLOCK, Files.size(file), "each write behind a read ran once");
        }
    }

    /**
     * Chains of 2..16 members, mixed opcodes, whose submitter exits while the chain waits at member {@code k} (a
     * poll-armed pipe read): the kernel cancels that member when the data comes; the rest of the chain goes to a
     * Netty ring still linked. Every member completes once with its own result, in order; every write is in the file
     * once; a lone pipe read of the test thread on the same caller ring (a bystander) is untouched.
     */
    @Test
    void chainsOfEveryLengthOutliveTheirSubmitterAtEveryMember() throws Exception {
        Path file = dir.resolve("data");
        AtomicInteger clock = new AtomicInteger();
        List<Chain> chains = new ArrayList<>();
        Recorder bystander = new Recorder();
        try (RingEngine engine = callerEngine(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
            Request lone = new Request(bystander).prepRead(other.readFd, arena.allocate(8).address(), 8, 0);
            assertInstanceOf(CallerRing.class, engine.submitRouted(lone), "the bystander is on the caller ring");
            int blocks = 0;
            int seed = 0;
            for (int length : new int[] {2, 3, 5, 16}) {
                for (int k : new int[] {0, 1, length / 2, length - 1}) {
                    if (k >= length) {
                        continue;
                    }
                    try (Pipe pipe = new Pipe()) {
                        Chain chain = new Chain(mix(length, k, seed++), fd, pipe, arena, clock, blocks);
                        blocks += length; // block numbers never overlap between chains
                        CompletableFuture<Lane> lane = new CompletableFuture<>();
                        runOnThreadThatExits(() -> lane.complete(engine.submitLinkedRouted(chain.requests)));
                        assertInstanceOf(CallerRing.class, await(lane), "length " + length + " went to the caller ring");
                        for (int i = k; i < length; i++) {
                            int m = i;
                            assertEquals(0, chain.recorders[i].calls(), () -> "length " + length + ", read at " + k
                                    + ": member " + m + " waits for the read; results " + chain.results());
                        }
                        pipe.write(READ_SIZE);
                        chain.assertRanInOrder("length " + length + ", stopped at " + k);
                        for (int i = k; i < length; i++) {
                            assertTrue(chain.recorders[i].thread.startsWith(NETTY_THREADS),
                                    "member " + i + " ran on a Netty ring: " + chain.recorders[i].thread);
                        }
                        chains.add(chain);
                    }
                }
            }
            assertEquals(0, bystander.calls(), "the bystander still waits");
            other.write(8);
            assertEquals(8, bystander.awaitResult());
            closeWithin(engine);
            assertEquals(1, bystander.calls());
            byte[] bytes = Files.readAllBytes(file);
            for (Chain chain : chains) {
                for (int i = 0; i < chain.requests.length; i++) {
                    assertEquals(1, chain.recorders[i].calls(), "exactly once after close");
                    if (chain.block[i] >= 0) {
                        int b = chain.block[i];
                        assertEquals((byte) (b + 1), bytes[b * BLOCK], "block " + b + " written");
                        assertEquals((byte) (b + 1), bytes[b * BLOCK + BLOCK - 1], "block " + b + " written");
                    }
                }
            }
        }
    }

    /** The outcome of one chain [WRITE, READ_PIPE, WRITE, FSYNC] with member {@code target} canceled mid-way. */
    record Canceled(List<Integer> results, CancelOutcome outcome, boolean readRan, List<Integer> blocksPresent) { }

    private Canceled cancelMember(RingEngineConfig config, int target, boolean submitterExits, boolean onCaller)
            throws Exception {
        Path file = dir.resolve("cancel-" + target + "-" + submitterExits + "-" + onCaller);
        AtomicInteger clock = new AtomicInteger();
        Recorder bystander = new Recorder();
        try (RingEngine engine = onCaller ? callerEngine(config) : RingEngine.open(config);
             Pipe pipe = new Pipe(); Pipe other = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
            Request lone = new Request(bystander).prepRead(other.readFd, arena.allocate(8).address(), 8, 0);
            engine.submit(lone);
            Chain chain = new Chain(new Kind[] {Kind.WRITE, Kind.READ_PIPE, Kind.WRITE, Kind.FSYNC}, fd, pipe, arena,
                    clock, 0);
            CompletableFuture<Lane> lane = new CompletableFuture<>();
            if (submitterExits) {
                runOnThreadThatExits(() -> lane.complete(engine.submitLinkedRouted(chain.requests)));
            } else {
                lane.complete(engine.submitLinkedRouted(chain.requests));
            }
            assertEquals(onCaller, await(lane) instanceof CallerRing, "where the chain went");
            assertEquals(BLOCK, chain.recorders[0].awaitResult());
            CompletableFuture<CancelOutcome> outcome = engine.cancel(chain.requests[target]);
            if (target <= 1) {
                await(outcome); // decided before the data comes: the read waits, the write before it is done
            }
            pipe.write(READ_SIZE);
            for (Ordered r : chain.recorders) {
                r.awaitResult();
            }
            CancelOutcome decided = await(outcome);
            assertEquals(0, bystander.calls(), "the bystander still waits");
            other.write(8);
            assertEquals(8, bystander.awaitResult());
            pipe.write(1);
            boolean readRan = pipe.drain(64) == 1;
            closeWithin(engine);
            List<Integer> results = new ArrayList<>();
            for (Ordered r : chain.recorders) {
                assertEquals(1, r.calls(), "exactly once after close");
                results.add(r.results.get(0));
            }
            assertEquals(1, bystander.calls());
            byte[] bytes = Files.readAllBytes(file);
            List<Integer> present = new ArrayList<>();
            for (int b = 0; b * BLOCK < bytes.length; b++) {
                if (bytes[b * BLOCK] == (byte) (b + 1)) {
                    present.add(b);
                }
            }
            return new Canceled(results, decided, readRan, present);
        }
    }

    /**
     * engine.cancel of each member of a chain stopped at a pipe read: on a caller ring the members end as they do on
     * a Netty ring (but the read: see below), whether the submitter is alive or exited; in every case a
     * member ends either with its own result or, from the canceled one on, -ECANCELED, never run (the file and the
     * pipe show it), CANCELED only when the target ended -ECANCELED, and a bystander is untouched.
     */
    @Test
    void cancelOfEachMemberEndsAsOnANettyRing() throws Exception {
        RingEngineConfig caller = config().rings(1).callerRings(1).pageCacheFastPath(false);
        RingEngineConfig netty = config().rings(1).pageCacheFastPath(false).threadNamePrefix(NETTY_THREADS);
        for (int target = 0; target < 4; target++) {
            Canceled expected = cancelMember(netty, target, false, false);
            for (boolean exits : new boolean[] {false, true}) {
                Canceled got = cancelMember(caller, target, exits, true);
                String what = "cancel of member " + target + (exits ? ", submitter exited" : "") + ": " + got
                        + " vs Netty " + expected;
                List<Integer> results = got.results();
                boolean canceledFromHere = false;
                for (int i = 0; i < results.size(); i++) {
                    if (results.get(i) == -ErrnoTable.ECANCELED) {
                        canceledFromHere = true;
                    } else {
                        assertFalse(canceledFromHere, what + ": a member ran behind a canceled one");
                    }
                }
                assertEquals(results.get(1) == READ_SIZE, got.readRan(), what + ": the read ran iff it says so");
                assertEquals(results.get(2) == BLOCK, got.blocksPresent().contains(1), what + ": the second write");
                assertTrue(got.blocksPresent().contains(0), what + ": the first write");
                if (got.outcome() == CancelOutcome.CANCELED) {
                    assertEquals(-ErrnoTable.ECANCELED, results.get(target), what + ": CANCELED, so ended canceled");
                }
                if (target == 0) {
                    // Done before the cancel, on either ring. (The read, canceled, may be running in an io-wq worker
                    // on the caller ring, its write before it went there: it ends -EINTR, NOT_CANCELED, the rest
                    // -ECANCELED; on a Netty ring it waits poll-armed and ends -ECANCELED. A cancel of an unstarted
                    // member races the data on both rings. Either way nothing ran after what ended canceled.)
                    assertEquals(expected.results(), results, what);
                    assertEquals(CancelOutcome.ALREADY_DONE, got.outcome(), what);
                }
            }
        }
    }

    /**
     * The engine closes while chains whose submitters exited are being handed on (their reads' data arrives as the
     * close begins: a head held for its followers' CQEs, a chain on its way to a Netty ring, one in a Netty ring's
     * kernel): every member completes once, the members that ran form a prefix of the chain and the rest end
     * -ECANCELED by the close, a write is in the file exactly when it says it ran, a read consumed its data exactly when
     * it says so.
     */
    @Test
    void closeWhileExitedSubmittersChainsAreHandedOn() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        int round = 0;
        while (System.nanoTime() < end || round < 5) {
            round++;
            Path file = dir.resolve("close-" + round);
            AtomicInteger clock = new AtomicInteger();
            List<Chain> chains = new ArrayList<>();
            List<Pipe> pipes = new ArrayList<>();
            RingEngine engine = callerEngine();
            try (Arena arena = Arena.ofShared()) {
                int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
                for (int c = 0; c < 4; c++) {
                    Pipe pipe = new Pipe();
                    pipes.add(pipe);
                    Kind[] kinds = c % 2 == 0 ? new Kind[] {Kind.READ_PIPE, Kind.WRITE, Kind.FSYNC, Kind.WRITE}
                            : new Kind[] {Kind.WRITE, Kind.READ_PIPE, Kind.WRITE};
                    Chain chain = new Chain(kinds, fd, pipe, arena, clock, c * 4);
                    chains.add(chain);
                    runOnThreadThatExits(() -> engine.submitLinked(chain.requests));
                }
                for (int c = 0; c < pipes.size(); c++) {
                    pipes.get(c).write(READ_SIZE);
                    if (c == round % pipes.size()) {
                        closeWithin(engine);
                    }
                }
                closeWithin(engine);
                byte[] bytes = Files.readAllBytes(file);
                for (int c = 0; c < chains.size(); c++) {
                    Chain chain = chains.get(c);
                    String what = "round " + round + ", chain " + c + ": " + chain.results();
                    boolean canceled = false;
                    int last = 0;
                    for (int i = 0; i < chain.requests.length; i++) {
                        Ordered r = chain.recorders[i];
                        assertEquals(1, r.calls(), what + ": member " + i + " exactly once");
                        int res = r.results.get(0);
                        if (res == -ErrnoTable.ECANCELED) {
                            canceled = true;
                            assertTrue(r.byClose, what + ": member " + i + " canceled by the close");
                        } else {
                            assertFalse(canceled, what + ": member " + i + " ran behind a canceled one");
                            assertEquals(chain.expected(i), res, what + ": member " + i);
                            assertTrue(r.at > last, what + ": member " + i + " out of order");
                            last = r.at;
                        }
                        if (chain.block[i] >= 0) {
                            int b = chain.block[i];
                            boolean present = (long) b * BLOCK < bytes.length && bytes[b * BLOCK] == (byte) (b + 1);
                            assertEquals(res == BLOCK, present, what + ": block " + b + " in the file iff it ran");
                        }
                        if (chain.kinds[i] == Kind.READ_PIPE) {
                            pipes.get(c).write(1);
                            assertEquals(res == READ_SIZE ? 1 : 1 + READ_SIZE, pipes.get(c).drain(64),
                                    what + ": the pipe's data read iff the read ran");
                        }
                    }
                }
            } finally {
                engine.close();
                closeAll(pipes);
            }
        }
    }

    /**
     * A chain that finds its caller ring full (other threads' requests in it), and a chain of a thread at its
     * caller-ring depth, go to a Netty ring whole (nothing half-submitted in the caller ring) and run in full once
     * each; the requests in the caller ring (other threads' pipe reads, whose submitters exited, and the thread's own)
     * are untouched and complete with their data.
     */
    @Test
    void chainThatDoesNotFitGoesToANettyRingWhole() throws Exception {
        Path file = dir.resolve("data");
        AtomicInteger clock = new AtomicInteger();
        RingEngineConfig config = config().rings(1).callerRings(1).callerRingDepth(1).maxInFlightPerRing(4)
                .pageCacheFastPath(false);
        List<Pipe> others = pipes(3);
        try (RingEngine engine = callerEngine(config); Pipe pipe = new Pipe(); Pipe mine = new Pipe();
             Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
            List<Recorder> bystanders = new ArrayList<>();
            for (Pipe other : others) {
                Recorder bystander = new Recorder();
                bystanders.add(bystander);
                Request lone = new Request(bystander).prepRead(other.readFd, arena.allocate(8).address(), 8, 0);
                runOnThreadThatExits(() -> assertInstanceOf(CallerRing.class, engine.submitRouted(lone)));
            }
            Chain full = new Chain(new Kind[] {Kind.WRITE, Kind.FSYNC}, fd, pipe, arena, clock, 0);
            assertInstanceOf(Ring.class, engine.submitLinkedRouted(full.requests), "3 in flight, room for 4");
            full.assertRanInOrder("the caller ring full");
            for (int i = 0; i < others.size(); i++) {
                others.get(i).write(8);
                assertEquals(8, bystanders.get(i).awaitResult());
            }
            Recorder own = new Recorder();
            Request lone = new Request(own).prepRead(mine.readFd, arena.allocate(8).address(), 8, 0);
            assertInstanceOf(CallerRing.class, engine.submitRouted(lone));
            Chain atDepth = new Chain(new Kind[] {Kind.WRITE, Kind.FSYNC}, fd, pipe, arena, clock, 1);
            assertInstanceOf(Ring.class, engine.submitLinkedRouted(atDepth.requests), "depth 1, one in flight");
            atDepth.assertRanInOrder("beyond the thread's depth");
            assertEquals(0, own.calls());
            mine.write(8);
            assertEquals(8, own.awaitResult());
            // The thread's previous submission was at depth: one more chain on the Netty ring (as for one request,
            // SubmitterHome.lastDepth), then the caller ring again.
            Chain afterDepth = new Chain(new Kind[] {Kind.WRITE, Kind.FSYNC}, fd, pipe, arena, clock, 2);
            assertInstanceOf(Ring.class, engine.submitLinkedRouted(afterDepth.requests), "previous one at depth");
            afterDepth.assertRanInOrder("after a submission at depth");
            Chain fits = new Chain(new Kind[] {Kind.WRITE, Kind.NOP, Kind.FSYNC}, fd, pipe, arena, clock, 3);
            assertInstanceOf(CallerRing.class, engine.submitLinkedRouted(fits.requests), "room again");
            fits.assertRanInOrder("fits");
            closeWithin(engine);
            full.assertRanInOrder("after close");
            atDepth.assertRanInOrder("after close");
            afterDepth.assertRanInOrder("after close");
            fits.assertRanInOrder("after close");
            assertEquals(1, own.calls());
            for (Recorder b : bystanders) {
                assertEquals(1, b.calls());
            }
            assertEquals(4L * BLOCK, Files.size(file)); // one block per chain
        } finally {
            closeAll(others);
        }
    }

    /**
     * The engine's close cancels a chain member blocked in an io-wq worker (a pipe read behind a fallocate): the
     * kernel interrupts the worker, and the read ends -EINTR having read nothing. The close canceled it: it ends
     * -ECANCELED, canceled by the close, as the members behind it do, not with an error of its own.
     */
    @Test
    void closeEndsAMemberItInterruptedInIoWqCanceledByTheClose() throws Exception {
        // The close's cancel may come while the worker hands the read on from the fallocate, where the kernel finds
        // nothing to cancel: the close must cancel again (before, it waited for good). Many rounds: a race.
        for (int round = 0; round < 40; round++) {
            Path file = dir.resolve("interrupted-" + round);
            AtomicInteger clock = new AtomicInteger();
            RingEngine engine = callerEngine();
            try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
                int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
                Chain chain = new Chain(new Kind[] {Kind.FALLOCATE, Kind.READ_PIPE, Kind.WRITE}, fd, pipe, arena,
                        clock, 0);
                assertInstanceOf(CallerRing.class, engine.submitLinkedRouted(chain.requests));
                assertEquals(0, chain.recorders[0].awaitResult());
                closeWithin(engine);
                String what = "round " + round + ": " + chain.results();
                for (int i = 1; i < 3; i++) {
                    assertEquals(1, chain.recorders[i].calls(), what);
                    assertEquals(-ErrnoTable.ECANCELED, (int) chain.recorders[i].results.get(0), what + ": " + i);
                    assertTrue(chain.recorders[i].byClose, what + ": member " + i + " canceled by the close");
                }
                byte[] bytes = Files.readAllBytes(file); // the fallocate's zeros
                assertTrue(bytes.length == 0 || bytes[0] == 0, what + ": the write behind the read never ran");
            } finally {
                engine.close();
            }
        }
    }

    /**
     * writeDurable from many threads at once, on one file and on two, each thread exiting right after it submitted:
     * every future completes once with the full count, and every block is in the file with its own bytes.
     */
    @Test
    void writeDurableFromManyThreadsThatExit() throws Exception {
        int threads = 8;
        int perThread = 16;
        try (RingEngine engine = callerEngine(config().rings(1).callerRings(2).pageCacheFastPath(false));
             AsyncFile one = await(engine.open(dir.resolve("one"), READ, WRITE, CREATE));
             AsyncFile two = await(engine.open(dir.resolve("two"), READ, WRITE, CREATE))) {
            List<CompletableFuture<Integer>> futures = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Thread> started = new ArrayList<>();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                started.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < perThread; i++) {
                        int block = thread * perThread + i;
                        ByteBuffer src = ByteBuffer.allocateDirect(BLOCK);
                        while (src.hasRemaining()) {
                            src.put((byte) (block + 1));
                        }
                        src.flip();
                        AsyncFile f = block % 3 == 0 ? two : one;
                        futures.add(f.writeDurable(src, (long) block * BLOCK));
                    }
                }));
            }
            go.countDown();
            for (Thread t : started) {
                t.join();
            }
            assertEquals(threads * perThread, futures.size());
            for (CompletableFuture<Integer> f : futures) {
                assertEquals(BLOCK, await(f));
            }
            closeWithin(engine);
            byte[] a = Files.readAllBytes(dir.resolve("one"));
            byte[] b = Files.readAllBytes(dir.resolve("two"));
            for (int block = 0; block < threads * perThread; block++) {
                byte[] bytes = block % 3 == 0 ? b : a;
                assertEquals((byte) (block + 1), bytes[block * BLOCK], "block " + block);
                assertEquals((byte) (block + 1), bytes[block * BLOCK + BLOCK - 1], "block " + block);
            }
        }
    }

    /**
     * writeDurable on a file system that fills up midway (a 64 KiB tmpfs): the write falls short, which breaks the
     * link and cancels its fdatasync; the future reports the bytes written, made durable by a second fdatasync, and
     * its submitter exiting meanwhile changes nothing. A write with no room at all fails ENOSPC.
     */
    @Test
    void writeDurableThatFillsTheFileSystemReportsWhatIsDurable() throws Exception {
        Path mount = Files.createDirectories(dir.resolve("small"));
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor() == 0, "mounting a small tmpfs needs CAP_SYS_ADMIN");
        try (RingEngine engine = callerEngine();
             AsyncFile f = await(engine.open(mount.resolve("data"), READ, WRITE, CREATE))) {
            ByteBuffer big = ByteBuffer.allocateDirect(48 * 1024);
            CompletableFuture<Integer> first = f.writeDurable(big, 0);
            assertEquals(48 * 1024, await(first));
            for (boolean exits : new boolean[] {true, false}) {
                ByteBuffer more = ByteBuffer.allocateDirect(48 * 1024);
                CompletableFuture<CompletableFuture<Integer>> second = new CompletableFuture<>();
                long at = Files.size(mount.resolve("data"));
                if (exits) {
                    runOnThreadThatExits(() -> second.complete(f.writeDurable(more, at)));
                } else {
                    second.complete(f.writeDurable(more, at));
                }
                CompletableFuture<Integer> durable = await(second);
                if (at >= 64 * 1024) {
                    uringFailure(durable, ErrnoTable.ENOSPC);
                } else {
                    int written = await(durable);
                    assertTrue(written > 0 && written < 48 * 1024, "short: " + written);
                    assertEquals(at + written, Files.size(mount.resolve("data")), "the count is what is there");
                }
            }
        } finally {
            new ProcessBuilder("umount", "-l", mount.toString()).start().waitFor();
        }
    }

    /**
     * awaitInLane(CompletableFuture, long) refuses at once what it cannot wait for (a foreign future, another
     * engine's, a dependent stage, a done one, on a virtual thread or a fork/join worker), returns within a slice for
     * 0, negative and interrupted waits (the interrupt status kept), waits with a huge timeout until the operation is
     * done (also one handed to a Netty ring after its submitter exited), and works from inside a completion callback;
     * the operation completes once with its data in every case.
     */
    @Test
    void awaitInLaneOnFuturesOfEveryKind() throws Exception {
        try (RingEngine engine = callerEngine(); RingEngine otherEngine = callerEngine();
             Pipe pipe = new Pipe(); Pipe second = new Pipe(); Pipe third = new Pipe();
             AsyncFile in = await(engine.open(pipe.readPath(), READ));
             AsyncFile otherIn = await(otherEngine.open(second.readPath(), READ));
             AsyncFile thirdIn = await(engine.open(third.readPath(), READ))) {
            CompletableFuture<Integer> read = in.read(ByteBuffer.allocateDirect(16), 0);
            assertTrue(((LaneFuture<?>) read).callerLane() != null, "the read went to the caller ring");
            CompletableFuture<Integer> foreign = otherIn.read(ByteBuffer.allocateDirect(16), 0);
            assertFalse(engine.awaitInLane(new CompletableFuture<>(), Long.MAX_VALUE), "a plain future");
            assertFalse(engine.awaitInLane(foreign, Long.MAX_VALUE), "another engine's future");
            assertFalse(engine.awaitInLane(read.thenApply(n -> n), Long.MAX_VALUE), "a dependent stage");
            assertFalse(engine.awaitInLane(CompletableFuture.completedFuture(1), Long.MAX_VALUE), "a done future");
            CompletableFuture<Boolean> onVirtual = new CompletableFuture<>();
            Thread.ofVirtual().start(() -> onVirtual.complete(engine.awaitInLane(read, Long.MAX_VALUE))).join();
            assertFalse(await(onVirtual), "on a virtual thread");
            assertFalse(java.util.concurrent.ForkJoinPool.commonPool()
                    .submit(() -> engine.awaitInLane(read, Long.MAX_VALUE)).get(WAIT_SECONDS, TimeUnit.SECONDS),
                    "on a fork/join worker");
            for (long nanos : new long[] {0, -1, Long.MIN_VALUE, 1}) {
                engine.awaitInLane(read, nanos); // returns (whatever it says): no hang
                assertFalse(read.isDone());
            }
            Thread.currentThread().interrupt();
            try {
                engine.awaitInLane(read, Long.MAX_VALUE);
                assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
            } finally {
                Thread.interrupted();
            }
            // From inside a callback: a NOP's completion (run by this thread, in its submission) waits for the read.
            CompletableFuture<Boolean> insideCallback = new CompletableFuture<>();
            Request nop = new Request((r, res) -> insideCallback.complete(engine.awaitInLane(read, 1_000_000)))
                    .prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0);
            engine.submit(nop);
            await(insideCallback);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    CallerRing lane = ((LaneFuture<?>) read).callerLane();
                    waitUntil(() -> lane.waiters() > 0, () -> "a waiter inside the ring");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                pipe.write(16);
            });
            while (!read.isDone()) {
                assertTrue(engine.awaitInLane(read, Long.MAX_VALUE), "waits in the lane");
            }
            writer.join();
            assertEquals(16, await(read));
            // An operation whose submitter exited, handed to a Netty ring: a huge wait still ends when it is done.
            CompletableFuture<CompletableFuture<Integer>> orphan = new CompletableFuture<>();
            runOnThreadThatExits(() -> orphan.complete(thirdIn.read(ByteBuffer.allocateDirect(16), 0)));
            CompletableFuture<Integer> handedOn = await(orphan);
            Thread.ofPlatform().start(() -> third.write(16));
            while (!handedOn.isDone()) {
                if (!engine.awaitInLane(handedOn, Long.MAX_VALUE)) {
                    Thread.sleep(1);
                }
            }
            assertEquals(16, await(handedOn));
            second.write(16);
            assertEquals(16, await(foreign));
        }
    }

    /**
     * The engine closes while a chain's head is an {@code fdatasync} the kernel cannot stop (running in an io-wq
     * worker: the close's cancel answers -EALREADY) and the member behind it a pipe read that has not started (its
     * cancel answers -ENOENT: the kernel cannot find an unstarted linked member). When the sync ends the read starts
     * and waits for data that never comes: the close must cancel it then (before, close() waited for good).
     */
    @Test
    void closeCancelsAMemberThatStartsAfterTheClosesFirstCancel() throws Exception {
        Path file = dir.resolve("dirty");
        for (int round = 0; round < 3; round++) {
            Files.write(file, new byte[32 << 20]); // dirty pages: the fdatasync takes a while
            AtomicInteger clock = new AtomicInteger();
            RingEngine engine = callerEngine();
            try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
                int fd = (int) await(engine.open(file, READ, WRITE)).fd();
                Chain chain = new Chain(new Kind[] {Kind.FSYNC, Kind.READ_PIPE, Kind.WRITE}, fd, pipe, arena, clock,
                        0);
                assertInstanceOf(CallerRing.class, engine.submitLinkedRouted(chain.requests));
                closeWithin(engine);
                String what = "round " + round + ": " + chain.results();
                for (int i = 0; i < 3; i++) {
                    assertEquals(1, chain.recorders[i].calls(), what);
                }
                for (int i = 1; i < 3; i++) {
                    assertEquals(-ErrnoTable.ECANCELED, (int) chain.recorders[i].results.get(0), what + ": " + i);
                    assertTrue(chain.recorders[i].byClose, what + ": member " + i + " canceled by the close");
                }
            } finally {
                engine.close();
            }
        }
    }

    /**
     * The same on a Netty ring: its close cancelled what was in the kernel once ({@code Ring.closeOnRing}), so a chain
     * member that started after that cancel (behind a running fdatasync) kept the close waiting for good; it now
     * cancels again what is left once every cancel is answered ({@code Ring.cancelAgainForClose}).
     */
    @Test
    void nettyRingCloseCancelsAMemberThatStartsAfterTheClosesFirstCancel() throws Exception {
        assumeRings("the Netty rings' close");
        Path file = dir.resolve("dirty");
        Files.write(file, new byte[32 << 20]);
        AtomicInteger clock = new AtomicInteger();
        RingEngine engine = RingEngine.open(config().rings(1).pageCacheFastPath(false));
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE)).fd();
            Chain chain = new Chain(new Kind[] {Kind.FSYNC, Kind.READ_PIPE, Kind.WRITE}, fd, pipe, arena, clock, 0);
            assertInstanceOf(Ring.class, engine.submitLinkedRouted(chain.requests));
            closeWithin(engine);
            assertEquals(-ErrnoTable.ECANCELED, chain.recorders[1].awaitResult());
        } finally {
            engine.close();
        }
    }

    /**
     * Chains of 2..16 members with a member at {@code k} that falls short (a read at the end of a file) or fails (a
     * write to a descriptor open for reading): the members before it ran, the ones behind it end -ECANCELED and never
     * ran (their blocks are not in the file), whether the submitter waits or exits; each completes once.
     */
    @Test
    void shortOrFailedMemberInTheMiddleEndsTheRestCanceled() throws Exception {
        Path file = dir.resolve("data");
        Path empty = dir.resolve("empty");
        Files.createFile(empty);
        AtomicInteger clock = new AtomicInteger();
        List<Chain> chains = new ArrayList<>();
        List<Integer> breaks = new ArrayList<>();
        try (RingEngine engine = callerEngine(); Pipe unused = new Pipe(); Arena arena = Arena.ofShared()) {
            int fd = (int) await(engine.open(file, READ, WRITE, CREATE)).fd();
            int emptyFd = (int) await(engine.open(empty, READ)).fd();
            int blocks = 0;
            int seed = 0;
            for (int length : new int[] {2, 4, 16}) {
                for (int k : new int[] {0, length / 2, length - 2}) {
                    for (boolean fails : new boolean[] {false, true}) {
                        for (boolean exits : new boolean[] {false, true}) {
                            Kind[] kinds = mix(length, -1, seed++);
                            Chain chain = new Chain(kinds, fd, unused, arena, clock, blocks);
                            blocks += length;
                            Request breaking = fails
                                    ? new Request(chain.recorders[k]).prepWrite(emptyFd,
                                            arena.allocate(BLOCK, BLOCK).address(), BLOCK, 0)
                                    : new Request(chain.recorders[k]).prepRead(emptyFd,
                                            arena.allocate(BLOCK, BLOCK).address(), BLOCK, 0);
                            chain.requests[k] = breaking;
                            chain.block[k] = -1;
                            if (exits) {
                                runOnThreadThatExits(() -> engine.submitLinked(chain.requests));
                            } else {
                                assertInstanceOf(CallerRing.class, engine.submitLinkedRouted(chain.requests));
                            }
                            String what = "length " + length + ", breaks at " + k + (fails ? " (fails)" : " (short)")
                                    + (exits ? ", submitter exited" : "");
                            for (Ordered r : chain.recorders) {
                                r.awaitResult();
                            }
                            for (int i = 0; i < length; i++) {
                                int res = chain.recorders[i].results.get(0);
                                if (i < k) {
                                    assertEquals(chain.expected(i), res, what + ": member " + i + " " + chain.results());
                                } else if (i == k) {
                                    assertEquals(fails ? -ErrnoTable.EBADF : 0, res, what + ": the breaking member");
                                } else {
                                    assertEquals(-ErrnoTable.ECANCELED, res, what + ": member " + i);
                                }
                            }
                            chains.add(chain);
                            breaks.add(k);
                        }
                    }
                }
            }
            closeWithin(engine);
            byte[] bytes = Files.readAllBytes(file);
            for (int c = 0; c < chains.size(); c++) {
                Chain chain = chains.get(c);
                for (int i = 0; i < chain.requests.length; i++) {
                    assertEquals(1, chain.recorders[i].calls(), "exactly once after close");
                    int b = chain.block[i];
                    if (b >= 0) {
                        boolean present = (long) b * BLOCK < bytes.length && bytes[b * BLOCK] == (byte) (b + 1);
                        assertEquals(i < breaks.get(c), present, "chain " + c + ": block " + b + " there iff it ran");
                    }
                }
            }
        }
    }
}
