package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A hostile pass over {@link RecordFuture}'s futex waits (the log's {@link io.uringaio.engine.internal.sys.FutexBoard}): threads blocked in {@code join},
 * {@code get} and {@code get(timeout)} on a log's records, while the records are held back in the fsync seam
 * ({@link FaultInjection}), acknowledged, failed, or completed by a caller. Every case checks the outcome and that the
 * bystanders (other records, other sleepers, the log's durable position, later appends) are unaffected, and that no
 * sleeper is left counted in.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecordFutureTest extends WithEngine {
    /** "Does not hang" bound for one wait, generous for a loaded 2-core box. */
    private static final long HANG_SECONDS = 10;
    /** "Promptly": a woken or interrupted sleeper returns well within this (its sleeps are sliced at 10 ms). */
    private static final long PROMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(1000);

    private final List<CompletableFuture<Void>> gates = new ArrayList<>();

    /** Before the engine closes ({@link WithEngine}): a failed test leaves no sleeper behind. */
    @AfterEach
    void openGates() {
        gates.forEach(g -> g.complete(null));
    }

    // ---------------------------------------------------------------- helpers

    /** How a waiting thread's wait ended. */
    record Outcome(Object value, Throwable thrown, boolean interruptedAfter, long endNanos) {
    }

    /** A thread running one wait; its outcome completes when the wait returns or throws. */
    record Waiter(Thread thread, CompletableFuture<Outcome> outcome) {
        Outcome end() throws Exception {
            try {
                return outcome.get(HANG_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError(thread.getName() + " still waits after " + HANG_SECONDS + " s", e);
            }
        }
    }

    private static Waiter waiter(String name, boolean virtual, boolean interruptFirst, Callable<?> wait) {
        CompletableFuture<Outcome> outcome = new CompletableFuture<>();
        Runnable body = () -> {
            if (interruptFirst) {
                Thread.currentThread().interrupt();
            }
            Object value = null;
            Throwable thrown = null;
            try {
                value = wait.call();
            } catch (Throwable t) {
                thrown = t;
            }
            outcome.complete(new Outcome(value, thrown, Thread.currentThread().isInterrupted(), System.nanoTime()));
        };
        Thread t = (virtual ? Thread.ofVirtual() : Thread.ofPlatform().daemon()).name(name).start(body);
        return new Waiter(t, outcome);
    }

    private static Waiter waiter(String name, Callable<?> wait) {
        return waiter(name, false, false, wait);
    }

    /** Waits until {@code n} threads are counted in to sleep on {@code log}'s records. */
    private static void awaitSleepers(AppendLog log, int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        while (log.sleepers() < n) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(n + " sleepers expected, " + log.sleepers() + "; " + log.pipelineState());
            }
            Thread.sleep(1);
        }
    }

    /** Waits until no thread is counted in on {@code log} (a sleeper leaves the count as its wait returns). */
    private static void awaitNoSleepers(AppendLog log) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_SECONDS);
        while (log.sleepers() != 0) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("sleepers left counted in: " + log.sleepers());
            }
            Thread.sleep(1);
        }
    }

    /**
     * Opens a gate when a test's try block ends, before the log in it closes (resources close in reverse order): a
     * close waits for held records, so a failed assertion would otherwise turn into a hang.
     */
    @FunctionalInterface
    private interface Release extends AutoCloseable {
        @Override
        void close();
    }

    /** A gate that the test releases; released anyway after the test. */
    private CompletableFuture<Void> gate() {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        gates.add(gate);
        return gate;
    }

    /** A log whose first group write (write 0) is held back until {@code gate} completes. */
    private AppendLog heldLog(Path where, CompletableFuture<Void> gate) throws Exception {
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        return AppendLog.open(engine, where, new AppendLogConfig().segmentIoWrapper(faults.wrapper()));
    }

    private static long frame(ByteBuffer record) {
        return RecordFrame.frameBytes(record.remaining());
    }

    /** Every record of the log at {@code where}, reopened: position to payload. */
    private Map<Long, ByteBuffer> readBack(Path where) throws Exception {
        Map<Long, ByteBuffer> found = new TreeMap<>();
        try (AppendLog reopened = AppendLog.open(engine, where)) {
            reopened.read(0, (position, payload) -> {
                ByteBuffer copy = ByteBuffer.allocate(payload.remaining());
                copy.put(payload.duplicate()).flip();
                assertNull(found.put(position, copy), "position read twice: " + position);
                return true;
            });
        }
        return found;
    }

    private static Throwable rootOf(Throwable t) {
        return AppendLog.unwrap(t);
    }

    // ---------------------------------------------------------------- 1. many joiners

    @Test
    void sixteenPlatformThreadsJoiningInALoopGetTheirExactDistinctPositionsAndTheLogHoldsExactlyThoseRecords()
            throws Exception {
        Path where = dir.resolve("wal");
        int threads = 16;
        long runNanos = TimeUnit.SECONDS.toNanos(2);
        Map<Long, ByteBuffer> written = new ConcurrentHashMap<>();
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        AtomicInteger joins = new AtomicInteger();
        long durableAtEnd;
        long tailAtEnd;
        try (AppendLog log = AppendLog.open(engine, where)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> appenders = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                appenders.add(Thread.ofPlatform().name("joiner-" + t).start(() -> {
                    try {
                        start.await();
                        long until = System.nanoTime() + runNanos;
                        long previous = -1;
                        for (long i = 0; System.nanoTime() - until < 0; i++) {
                            ByteBuffer r = record(7, id * 1_000_000L + i, 200);
                            long position = log.append(r).join();
                            // its own records come back in order, each at least durable when join returns
                            assertTrue(position > previous, "out of order: " + position + " after " + previous);
                            assertTrue(log.durablePosition() >= position + frame(r), "join before durable");
                            assertNull(written.put(position, r), "position given twice: " + position);
                            previous = position;
                            joins.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            start.countDown();
            for (Thread t : appenders) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(t.isAlive(), t.getName() + " hangs: " + log.pipelineState());
            }
            assertEquals(List.of(), errors);
            assertEquals(0, log.sleepers(), "a sleeper left counted in");
            durableAtEnd = log.durablePosition();
            tailAtEnd = log.tailPosition();
            assertEquals(tailAtEnd, durableAtEnd);
            assertEquals(joins.get(), log.stats().records());
        }
        assertTrue(joins.get() >= threads, "each thread appended at least once: " + joins.get());
        Map<Long, ByteBuffer> found = readBack(where);
        assertEquals(new TreeMap<>(written).keySet(), found.keySet(), "no record lost or doubled");
        for (Map.Entry<Long, ByteBuffer> e : found.entrySet()) {
            assertEquals(written.get(e.getKey()).rewind(), e.getValue(), "payload at " + e.getKey());
        }
    }

    // ---------------------------------------------------------------- 2, 3. interrupts

    @Test
    void getInterruptedWhileAsleepThrowsPromptlyClearsTheStatusAndTheRecordStillBecomesDurable() throws Exception {
        CompletableFuture<Void> gate = gate();
        try (AppendLog log = heldLog(dir.resolve("wal"), gate); Release open = () -> gate.complete(null)) {
            ByteBuffer r = record(2, 0, 100);
            long expected = log.tailPosition();
            CompletableFuture<Long> f = log.append(r);
            Waiter victim = waiter("victim", f::get);
            Waiter bystander = waiter("bystander", f::get);
            awaitSleepers(log, 2);

            long interruptedAt = System.nanoTime();
            victim.thread().interrupt();
            Outcome out = victim.end();
            assertInstanceOf(InterruptedException.class, out.thrown());
            assertFalse(out.interruptedAfter(), "CompletableFuture.get clears the status it reports");
            assertTrue(out.endNanos() - interruptedAt < PROMPT_NANOS,
                    "interrupt noticed after " + (out.endNanos() - interruptedAt) / 1000 + " µs");

            // Bystanders: the other sleeper sleeps on, the record is not failed, nothing moved.
            assertEquals(1, log.sleepers());
            assertFalse(bystander.outcome().isDone());
            assertFalse(f.isDone());
            assertNull(log.poisonCause());

            gate.complete(null);
            assertEquals(expected, bystander.end().value());
            assertEquals(expected, await(f));
            assertEquals(expected + frame(r), log.durablePosition());
            assertEquals(expected + frame(r), await(log.append(record(2, 1, 100))));
            awaitNoSleepers(log);
        }
    }

    @Test
    void getOnAnAlreadyInterruptedThreadThrowsAtOnceButReturnsTheValueWhenDone() throws Exception {
        CompletableFuture<Void> gate = gate();
        try (AppendLog log = heldLog(dir.resolve("wal"), gate); Release open = () -> gate.complete(null)) {
            CompletableFuture<Long> f = log.append(record(3, 0, 100));
            Outcome early = waiter("early", false, true, f::get).end();
            assertInstanceOf(InterruptedException.class, early.thrown());
            assertFalse(early.interruptedAfter());
            Outcome timed = waiter("timed", false, true, () -> f.get(5, TimeUnit.SECONDS)).end();
            assertInstanceOf(InterruptedException.class, timed.thrown());
            assertFalse(timed.interruptedAfter());
            assertEquals(0, log.sleepers());

            gate.complete(null);
            long position = await(f);
            // done: the value, and the interrupt stays for the caller (as CompletableFuture)
            Outcome late = waiter("late", false, true, f::get).end();
            assertEquals(position, late.value());
            assertTrue(late.interruptedAfter());
        }
    }

    @Test
    void joinOnAnInterruptedThreadKeepsWaitingReturnsThePositionAndKeepsTheInterrupt() throws Exception {
        CompletableFuture<Void> gate = gate();
        try (AppendLog log = heldLog(dir.resolve("wal"), gate); Release open = () -> gate.complete(null)) {
            ByteBuffer r = record(4, 0, 100);
            long expected = log.tailPosition();
            CompletableFuture<Long> f = log.append(r);
            Waiter preInterrupted = waiter("pre-interrupted", false, true, f::join);
            Waiter interruptedAsleep = waiter("interrupted-asleep", f::join);
            awaitSleepers(log, 2);
            interruptedAsleep.thread().interrupt();
            preInterrupted.thread().interrupt(); // again, while asleep
            // Still asleep, both: join is not interruptible. The record gives no sign before the gate opens, so
            // this looks at the count after the interrupts: a join that wrongly returned would leave it.
            assertEquals(2, log.sleepers());
            assertFalse(preInterrupted.outcome().isDone());
            assertFalse(interruptedAsleep.outcome().isDone());

            gate.complete(null);
            for (Waiter w : List.of(preInterrupted, interruptedAsleep)) {
                Outcome out = w.end();
                assertNull(out.thrown(), w.thread().getName());
                assertEquals(expected, out.value());
                assertTrue(out.interruptedAfter(), "join keeps the interrupt: " + w.thread().getName());
            }
            assertEquals(expected + frame(r), log.durablePosition());
            awaitNoSleepers(log);
        }
    }

    // ---------------------------------------------------------------- 4. timed get

    @Test
    void timedGetTimesOutForZeroNegativeAndTinyTimeoutsAndNeverHangs() throws Exception {
        CompletableFuture<Void> gate = gate();
        try (AppendLog log = heldLog(dir.resolve("wal"), gate); Release open = () -> gate.complete(null)) {
            ByteBuffer r = record(5, 0, 100);
            long expected = log.tailPosition();
            CompletableFuture<Long> f = log.append(r);
            Object[][] timeouts = {
                {0L, TimeUnit.NANOSECONDS}, {0L, TimeUnit.DAYS}, {-1L, TimeUnit.NANOSECONDS},
                {-1L, TimeUnit.DAYS}, {Long.MIN_VALUE, TimeUnit.NANOSECONDS}, {Long.MIN_VALUE, TimeUnit.DAYS},
                {-Long.MAX_VALUE, TimeUnit.NANOSECONDS}, {-Long.MAX_VALUE, TimeUnit.SECONDS},
                {Long.MIN_VALUE / 2, TimeUnit.NANOSECONDS}, {1L, TimeUnit.NANOSECONDS},
                {1L, TimeUnit.MICROSECONDS}, {1L, TimeUnit.MILLISECONDS}, {20L, TimeUnit.MILLISECONDS},
            };
            for (Object[] t : timeouts) {
                long timeout = (Long) t[0];
                TimeUnit unit = (TimeUnit) t[1];
                Outcome out = waiter("get(" + timeout + " " + unit + ")", () -> f.get(timeout, unit)).end();
                assertInstanceOf(TimeoutException.class, out.thrown(), "get(" + timeout + ", " + unit + ")");
                assertFalse(out.interruptedAfter());
            }
            assertEquals(0, log.sleepers(), "a timed-out get left counted in");
            assertFalse(f.isDone(), "a timeout does not touch the record");
            assertNull(log.poisonCause());

            // Long timeouts, through the overflow edges: they wait, and return the position once durable.
            List<Waiter> longWaits = new ArrayList<>();
            Object[][] longTimeouts = {
                {Long.MAX_VALUE, TimeUnit.NANOSECONDS}, {Long.MAX_VALUE, TimeUnit.DAYS},
                {Long.MAX_VALUE / 2, TimeUnit.NANOSECONDS}, {Long.MAX_VALUE / 2 - 1, TimeUnit.NANOSECONDS},
                {Long.MAX_VALUE / 2 + 1, TimeUnit.NANOSECONDS}, {Long.MAX_VALUE / 1000, TimeUnit.MICROSECONDS},
                {HANG_SECONDS, TimeUnit.SECONDS},
            };
            for (Object[] t : longTimeouts) {
                long timeout = (Long) t[0];
                TimeUnit unit = (TimeUnit) t[1];
                longWaits.add(waiter("get(" + timeout + " " + unit + ")", () -> f.get(timeout, unit)));
            }
            awaitSleepers(log, longWaits.size());
            for (Waiter w : longWaits) {
                assertFalse(w.outcome().isDone(), () -> w.thread().getName() + " returned early: " + w.outcome().join());
            }
            gate.complete(null);
            for (Waiter w : longWaits) {
                Outcome out = w.end();
                assertNull(out.thrown(), w.thread().getName());
                assertEquals(expected, out.value(), w.thread().getName());
            }
            // Done: every timeout, however odd, gives the value.
            for (Object[] t : timeouts) {
                assertEquals(expected, f.get((Long) t[0], (TimeUnit) t[1]));
            }
            assertEquals(expected + frame(r), log.durablePosition());
            awaitNoSleepers(log);
        }
    }

    // ---------------------------------------------------------------- 5. callers completing the future

    /** One way a caller completes the future it got, and what a sleeper sees then. */
    private record CallerCompletion(String name, Consumer<CompletableFuture<Long>> act, Class<?> joinThrows,
                                    Object value) {
    }

    private static final RuntimeException BOOM = new IllegalStateException("the caller's own failure");

    private static List<CallerCompletion> callerCompletions() {
        return List.of(
                new CallerCompletion("cancel", f -> f.cancel(true), CancellationException.class, null),
                new CallerCompletion("complete", f -> f.complete(-42L), null, -42L),
                new CallerCompletion("completeExceptionally", f -> f.completeExceptionally(BOOM),
                        CompletionException.class, null),
                new CallerCompletion("obtrudeValue", f -> f.obtrudeValue(-7L), null, -7L),
                new CallerCompletion("obtrudeException", f -> f.obtrudeException(BOOM),
                        CompletionException.class, null),
                new CallerCompletion("completeAsync", f -> f.completeAsync(() -> -9L, Runnable::run), null, -9L),
                new CallerCompletion("orTimeout", f -> f.orTimeout(1, TimeUnit.NANOSECONDS),
                        CompletionException.class, null),
                new CallerCompletion("completeOnTimeout", f -> f.completeOnTimeout(-5L, 1, TimeUnit.NANOSECONDS),
                        null, -5L));
    }

    @Test
    void aCallerCompletingTheFutureWakesItsSleepersPromptlyAndLeavesTheLogUndisturbed() throws Exception {
        int n = 0;
        for (CallerCompletion c : callerCompletions()) {
            CompletableFuture<Void> gate = gate();
            Path where = dir.resolve("wal-" + n++);
            List<Long> durablePositions = new ArrayList<>();
            try (AppendLog log = heldLog(where, gate); Release open = () -> gate.complete(null)) {
                ByteBuffer r0 = record(6, 0, 100);
                ByteBuffer r1 = record(6, 1, 100);
                long p0 = log.tailPosition();
                CompletableFuture<Long> bystanderFuture = log.append(r0);   // group 0, held
                CompletableFuture<Long> victim = log.append(r1);            // behind it, acknowledged after it
                Waiter joiner = waiter(c.name() + "-join", victim::join);
                Waiter getter = waiter(c.name() + "-get", victim::get);
                Waiter timed = waiter(c.name() + "-timed", () -> victim.get(HANG_SECONDS * 2, TimeUnit.SECONDS));
                Waiter bystander = waiter(c.name() + "-bystander", bystanderFuture::join);
                awaitSleepers(log, 4);

                long actedAt = System.nanoTime();
                c.act().accept(victim);
                for (Waiter w : List.of(joiner, getter, timed)) {
                    Outcome out = w.end();
                    String what = c.name() + " / " + w.thread().getName();
                    assertTrue(out.endNanos() - actedAt < PROMPT_NANOS,
                            what + " woke after " + (out.endNanos() - actedAt) / 1000 + " µs");
                    if (c.value() != null) {
                        assertNull(out.thrown(), what);
                        assertEquals(c.value(), out.value(), what);
                    } else if (w == joiner) {
                        assertInstanceOf(c.joinThrows(), out.thrown(), what);
                    } else if (c.joinThrows() == CancellationException.class) {
                        assertInstanceOf(CancellationException.class, out.thrown(), what);
                    } else {
                        assertInstanceOf(ExecutionException.class, out.thrown(), what);
                    }
                }
                // The bystander's record sleeps on, untouched.
                assertFalse(bystander.outcome().isDone(), c.name());
                assertEquals(1, log.sleepers(), c.name());

                gate.complete(null);
                assertEquals(p0, bystander.end().value(), c.name());
                assertEquals(p0, await(bystanderFuture));
                // The log acknowledges the completed record too: no throw anywhere, nothing poisoned, durable past it.
                long p2 = await(log.append(record(6, 2, 100)));
                assertEquals(p0 + frame(r0) + frame(r1), p2, c.name());
                assertNull(log.poisonCause(), c.name());
                assertEquals(p2 + frame(record(6, 2, 100)), log.durablePosition(), c.name());
                assertEquals(3, log.stats().records(), c.name());
                awaitNoSleepers(log);
                durablePositions.add(p0);
                durablePositions.add(p0 + frame(r0));
                durablePositions.add(p2);
            }
            assertEquals(durablePositions, List.copyOf(readBack(where).keySet()), c.name());
        }
    }

    // ---------------------------------------------------------------- 6. virtual threads

    @Test
    void virtualThreadsJoinWithCorrectPositionsAndBlockedOnesDoNotPinTheirCarriers() throws Exception {
        CompletableFuture<Void> gate = gate();
        Path where = dir.resolve("wal");
        Map<Long, ByteBuffer> written = new ConcurrentHashMap<>();
        try (AppendLog log = heldLog(where, gate); Release open = () -> gate.complete(null)) {
            // More blocked virtual joiners than carriers: if they held their carriers, nothing else would run.
            int blocked = 4 * Runtime.getRuntime().availableProcessors() + 8;
            ByteBuffer first = record(8, 0, 100);
            long p0 = log.tailPosition();
            CompletableFuture<Long> held = log.append(first);
            written.put(p0, first);
            List<Waiter> joiners = new ArrayList<>();
            for (int i = 0; i < blocked; i++) {
                joiners.add(waiter("vjoin-" + i, true, false, held::join));
            }
            CountDownLatch ran = new CountDownLatch(1);
            Thread.ofVirtual().start(ran::countDown);
            assertTrue(ran.await(HANG_SECONDS, TimeUnit.SECONDS), "blocked virtual joiners starve the carriers");
            assertEquals(0, log.sleepers(), "virtual threads use CompletableFuture's own waits");

            gate.complete(null);
            for (Waiter w : joiners) {
                assertEquals(p0, w.end().value());
            }
            // Then many virtual appenders, each joining its records in turn.
            List<Waiter> appenders = new ArrayList<>();
            for (int t = 0; t < 64; t++) {
                int id = t;
                appenders.add(waiter("vappend-" + t, true, false, () -> {
                    long previous = -1;
                    for (int i = 0; i < 10; i++) {
                        ByteBuffer r = record(8, 1 + id * 1000L + i, 100);
                        long position = log.append(r).join();
                        assertTrue(position > previous);
                        assertNull(written.put(position, r), "position given twice: " + position);
                        previous = position;
                    }
                    return null;
                }));
            }
            for (Waiter w : appenders) {
                assertNull(w.end().thrown(), w.thread().getName());
            }
            assertEquals(log.tailPosition(), log.durablePosition());
        }
        assertEquals(new TreeMap<>(written).keySet(), readBack(where).keySet());
    }

    // ---------------------------------------------------------------- 7. poison and close while asleep

    @Test
    void aLogPoisonedWhileThreadsSleepFailsEverySleeperPromptlyWithThePoison() throws Exception {
        CompletableFuture<Void> gate = gate();
        FaultInjection faults = new FaultInjection()
                .at(0, (real, src, position) -> gate.thenCompose(
                        v -> FaultInjection.fsyncFails(ErrnoTable.EIO, false).write(real, src, position)));
        try (AppendLog log = AppendLog.open(engine, dir.resolve("wal"),
                new AppendLogConfig().segmentIoWrapper(faults.wrapper()));
             Release open = () -> gate.complete(null)) {
            CompletableFuture<Long> f0 = log.append(record(9, 0, 100));  // write 0: fails
            CompletableFuture<Long> f1 = log.append(record(9, 1, 100));  // behind it: fails with it
            CompletableFuture<Long> f2 = log.append(record(9, 2, 100));
            Waiter joiner = waiter("join", f0::join);
            Waiter getter = waiter("get", f1::get);
            Waiter timed = waiter("timed", () -> f2.get(HANG_SECONDS * 2, TimeUnit.SECONDS));
            Waiter otherJoiner = waiter("join-other", f2::join);
            awaitSleepers(log, 4);
            long start = log.durablePosition();

            long failedAt = System.nanoTime();
            gate.complete(null);
            LogPoisonedException poison = null;
            for (Waiter w : List.of(joiner, getter, timed, otherJoiner)) {
                Outcome out = w.end();
                assertTrue(out.endNanos() - failedAt < PROMPT_NANOS, w.thread().getName() + " woke late");
                Throwable t = out.thrown();
                Class<? extends Throwable> expected = w == joiner || w == otherJoiner ? CompletionException.class
                        : ExecutionException.class;
                assertTrue(expected.isInstance(t), w.thread().getName() + ": " + t);
                LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, t.getCause());
                if (poison == null) {
                    poison = p;
                }
                assertSame(poison, p, "one failure for all");
            }
            assertEquals(ErrnoTable.EIO, poison.errno());
            assertSame(poison, log.poisonCause());
            assertSame(poison, failure(log.append(record(9, 3, 100))));
            assertEquals(start, log.durablePosition());
            awaitNoSleepers(log);
        }
    }

    @Test
    void theEngineClosedWhileThreadsSleepFailsEverySleeperAndNoneHangs() throws Exception {
        CompletableFuture<Void> gate = gate();
        try (AppendLog log = heldLog(dir.resolve("wal"), gate); Release open = () -> gate.complete(null)) {
            CompletableFuture<Long> f0 = log.append(record(10, 0, 100));  // held: written only after the engine closes
            Waiter joiner = waiter("join", f0::join);
            Waiter getter = waiter("get", f0::get);
            awaitSleepers(log, 2);
            engine.close();
            gate.complete(null); // its write now meets a closed engine: the log is poisoned
            Throwable joined = joiner.end().thrown();
            Throwable got = getter.end().thrown();
            assertInstanceOf(CompletionException.class, joined);
            assertInstanceOf(ExecutionException.class, got);
            LogPoisonedException poison = assertInstanceOf(LogPoisonedException.class, joined.getCause());
            assertSame(poison, got.getCause());
            assertSame(poison, log.poisonCause());
            awaitNoSleepers(log);
        }
    }

    @Test
    void closingTheLogWhileThreadsSleepLetsThemReturnTheirPositionsAndRefusesLaterAppends() throws Exception {
        CompletableFuture<Void> gate = gate();
        AppendLog log = heldLog(dir.resolve("wal"), gate);
        ByteBuffer r0 = record(11, 0, 100);
        ByteBuffer r1 = record(11, 1, 100);
        long p0 = log.tailPosition();
        CompletableFuture<Long> f0 = log.append(r0);
        CompletableFuture<Long> f1 = log.append(r1);
        Waiter joiner = waiter("join", f0::join);
        Waiter getter = waiter("get", f1::get);
        Waiter timed = waiter("timed", () -> f1.get(HANG_SECONDS * 2, TimeUnit.SECONDS));
        awaitSleepers(log, 3);
        CompletableFuture<Void> closed = log.closeAsync();
        // A close waits for accepted appends: the sleepers sleep on, refused appends fail at once.
        assertInstanceOf(LogClosedException.class, failure(log.append(record(11, 2, 100))));
        assertFalse(closed.isDone());
        assertEquals(3, log.sleepers());

        gate.complete(null);
        assertEquals(p0, joiner.end().value());
        assertEquals(p0 + frame(r0), getter.end().value());
        assertEquals(p0 + frame(r0), timed.end().value());
        await(closed);
        assertEquals(p0 + frame(r0) + frame(r1), log.durablePosition());
        awaitNoSleepers(log);
    }

    // ---------------------------------------------------------------- 8. dependents

    @Test
    void dependentsArePlainFuturesAndThrowingCallbacksDoNotBreakTheAcknowledgementOfOthers() throws Exception {
        CompletableFuture<Void> gate = gate();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        Path where = dir.resolve("wal");
        try (AppendLog log = AppendLog.open(engine, where,
                new AppendLogConfig().maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper()));
             Release open = () -> gate.complete(null)) {
            long p0 = log.tailPosition();
            CompletableFuture<Long> f0 = log.append(record(12, 0, 100)); // group 0, held
            StorageTesting.awaitWrites(faults, 1);
            List<CompletableFuture<Long>> group1 = new ArrayList<>();
            for (int i = 1; i <= 4; i++) {
                group1.add(log.append(record(12, i, 100)));             // group 1, queued behind it
            }
            AtomicInteger callbacks = new AtomicInteger();
            // Callbacks that throw, on the first record of each group, registered before the others' sleepers.
            for (CompletableFuture<Long> f : List.of(f0, group1.getFirst())) {
                f.whenComplete((v, e) -> {
                    callbacks.incrementAndGet();
                    throw new IllegalStateException("callback throws");
                });
                f.thenRun(() -> {
                    callbacks.incrementAndGet();
                    throw new AssertionError("an Error from a callback");
                });
            }
            CompletableFuture<Long> plus = f0.thenApply(p -> p + 1);
            CompletableFuture<Long> composed = group1.get(1).thenCompose(p -> CompletableFuture.completedFuture(-p));
            CompletableFuture<Long> copy = group1.get(2).copy();
            assertFalse(plus instanceof RecordFuture, "a dependent is a plain future");
            assertFalse(composed instanceof RecordFuture);
            assertFalse(copy instanceof RecordFuture);
            Waiter sleeper = waiter("bystander", () -> group1.getLast().join());
            Waiter plusJoiner = waiter("dependent", plus::join);
            awaitSleepers(log, 1);

            gate.complete(null);
            long p1 = await(group1.getFirst());
            assertEquals(p0 + 1, plusJoiner.end().value());
            assertEquals(await(group1.getLast()), sleeper.end().value());
            assertEquals(-await(group1.get(1)), await(composed));
            assertEquals(await(group1.get(2)), await(copy));
            assertEquals(4, callbacks.get());
            assertEquals(p0, await(f0));
            assertTrue(p1 > p0);
            assertNull(log.poisonCause());
            assertEquals(log.tailPosition(), log.durablePosition());
            long later = await(log.append(record(12, 9, 100)));
            assertEquals(log.tailPosition(), log.durablePosition());
            assertTrue(later > await(group1.getLast()));
            awaitNoSleepers(log);
        }
        assertEquals(6, readBack(where).size());
    }

    @Test
    void aSleeperWhoseRecordIsCompletedReturnsWhileALaterCallbackOfTheSameAcknowledgementStillRuns()
            throws Exception {
        // The acknowledging thread wakes sleepers once, after the whole acknowledgement; a callback of a later record
        // that waits for an earlier record's joiner (it would return at once with CompletableFuture's unpark per
        // future) must not deadlock the two: the sleeper notices its completed future by itself (its sliced sleep).
        CompletableFuture<Void> gate = gate();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        try (AppendLog log = AppendLog.open(engine, dir.resolve("wal"),
                new AppendLogConfig().maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper()));
             Release open = () -> gate.complete(null)) {
            CompletableFuture<Long> held = log.append(record(15, 0, 100));  // group 0, held
            StorageTesting.awaitWrites(faults, 1);
            long p1 = log.tailPosition();
            CompletableFuture<Long> first = log.append(record(15, 1, 100));  // group 1: acknowledged together
            CompletableFuture<Long> second = log.append(record(15, 2, 100));
            CountDownLatch firstReturned = new CountDownLatch(1);
            CompletableFuture<Boolean> callbackSaw = new CompletableFuture<>();
            second.whenComplete((v, e) -> {
                try {
                    callbackSaw.complete(firstReturned.await(HANG_SECONDS, TimeUnit.SECONDS));
                } catch (InterruptedException ie) {
                    callbackSaw.completeExceptionally(ie);
                }
            });
            Waiter joiner = waiter("first-joiner", () -> {
                long position = first.join();
                firstReturned.countDown();
                return position;
            });
            awaitSleepers(log, 1);
            gate.complete(null);
            assertEquals(p1, joiner.end().value());
            assertTrue(await(callbackSaw), "the joiner returned only after the acknowledgement's callbacks");
            assertTrue(await(second) > p1);
            assertTrue(await(held) < p1);
            assertEquals(log.tailPosition(), log.durablePosition());
            awaitNoSleepers(log);
        }
    }

    @Test
    void anAppendFromACompletionOnAThreadThatIsNotTheEnginesDoesNotLeadInsideItsOwnAcknowledgement() throws Exception {
        // A group's I/O can end before the log attaches its completion (under load), or on whatever thread completes
        // it: then the appending (or gate-opening) thread acknowledges, and the appends made from the completions run
        // on it, not on a ring thread. Such an append must not wait as the next group's leader: the acknowledgement
        // it runs in (acking > 0) would never end, so the wait never ends either (AppendLogGroupWaitTest's
        // anAppendOnAnEngineThreadDoesNotWaitAsLeader hung so once, for its whole 60 s).
        long hour = TimeUnit.HOURS.toNanos(1);
        CompletableFuture<Void> gate = gate();
        FaultInjection faults = new FaultInjection()
                .at(0, (real, src, position) -> gate.thenApply(v -> src.remaining())); // "durable" on the opener
        try (AppendLog log = AppendLog.open(engine, dir.resolve("wal"),
                new AppendLogConfig().maxGroupWaitNanos(hour).segmentIoWrapper(faults.wrapper()));
             Release open = () -> gate.complete(null)) {
            ByteBuffer r0 = record(16, 0, 100);
            long p0 = log.tailPosition();
            CompletableFuture<Long> next = log.append(r0).thenCompose(p -> {
                log.assumeGroupsAcknowledged(8, hour);
                return log.append(record(16, 1, 100));
            });
            StorageTesting.awaitWrites(faults, 1);
            Outcome opened = waiter("opener", () -> gate.complete(null)).end();
            assertNull(opened.thrown());
            assertEquals(p0 + frame(r0), await(next));
            assertEquals(0, log.leaderWaits());
            assertEquals(log.tailPosition(), log.durablePosition());
        }
    }

    // ---------------------------------------------------------------- 9. two logs

    @Test
    void sleepersOnOneLogAreNeitherWokenWronglyNorStuckByAnotherLogsAcknowledgements() throws Exception {
        CompletableFuture<Void> gateA = gate();
        try (AppendLog a = heldLog(dir.resolve("a"), gateA);
             AppendLog b = AppendLog.open(engine, dir.resolve("b"));
             Release open = () -> gateA.complete(null)) {
            long pa = a.tailPosition();
            CompletableFuture<Long> fa = a.append(record(13, 0, 100));
            Waiter onA = waiter("on-a", fa::join);
            Waiter onATimed = waiter("on-a-timed", () -> fa.get(HANG_SECONDS * 2, TimeUnit.SECONDS));
            awaitSleepers(a, 2);
            // Log B acknowledges many records, with its own sleepers, while A's sleep on.
            List<Waiter> onB = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                onB.add(waiter("on-b-" + t, () -> {
                    Set<Long> mine = new HashSet<>();
                    for (int i = 0; i < 50; i++) {
                        assertTrue(mine.add(b.append(record(13, 1 + id * 100L + i, 100)).join()));
                    }
                    return mine.size();
                }));
            }
            for (Waiter w : onB) {
                assertEquals(50, w.end().value(), w.thread().getName());
            }
            assertEquals(0, b.sleepers());
            assertEquals(200, b.stats().records());
            assertEquals(2, a.sleepers(), "A's sleepers sleep on");
            assertFalse(onA.outcome().isDone());
            assertFalse(onATimed.outcome().isDone());
            assertFalse(fa.isDone());

            long releasedAt = System.nanoTime();
            gateA.complete(null);
            for (Waiter w : List.of(onA, onATimed)) {
                Outcome out = w.end();
                assertEquals(pa, out.value());
                assertTrue(out.endNanos() - releasedAt < PROMPT_NANOS * 5, "A's sleeper woke late");
            }
            awaitNoSleepers(a);
        }
    }

    // ---------------------------------------------------------------- fork/join workers

    @Test
    void waitsOnAForkJoinWorkerAreManagedBlocksAsWithCompletableFuture() throws Exception {
        // CompletableFuture's waits on a ForkJoinPool worker block through ForkJoinPool.managedBlock: the pool adds a
        // spare worker, so a task queued behind the waiter still runs. Here the task behind it is what lets the record
        // become durable (it opens the gate): a wait that does not tell the pool it blocks starves it.
        List<Function<CompletableFuture<Long>, Callable<Long>>> waits = List.of(
                f -> f::join, f -> f::get, f -> () -> f.get(HANG_SECONDS * 2, TimeUnit.SECONDS));
        for (int i = 0; i < waits.size(); i++) {
            CompletableFuture<Void> gate = gate();
            ForkJoinPool pool = new ForkJoinPool(1);
            try (AppendLog log = heldLog(dir.resolve("wal-" + i), gate); Release open = () -> gate.complete(null)) {
                long expected = log.tailPosition();
                Callable<Long> wait = waits.get(i).apply(log.append(record(14, i, 100)));
                CountDownLatch waiting = new CountDownLatch(1);
                var waited = pool.submit(() -> {
                    waiting.countDown();
                    return wait.call();
                });
                assertTrue(waiting.await(HANG_SECONDS, TimeUnit.SECONDS));
                var opener = pool.submit(() -> gate.complete(null));
                try {
                    assertEquals(expected, waited.get(HANG_SECONDS, TimeUnit.SECONDS), "wait " + i);
                    assertTrue(opener.get(HANG_SECONDS, TimeUnit.SECONDS));
                } catch (TimeoutException e) {
                    throw new AssertionError("wait " + i + ": the pool's only worker sleeps; the task behind it "
                            + "never ran", e);
                } finally {
                    gate.complete(null);
                }
                awaitNoSleepers(log);
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
