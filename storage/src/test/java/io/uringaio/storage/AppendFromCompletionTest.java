package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Code run by a record's completion (on a ring thread, or whichever thread acknowledges) calls back into the log:
 * an append with the pending-bytes budget full, a blocking close. Neither may wait for what only its own thread can
 * do next (finish the acknowledgement, reap the ring): no hang, every record acknowledged durable and read back.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AppendFromCompletionTest extends WithEngine {
    private static ByteBuffer bytes(int n, int seed) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) seed);
        return ByteBuffer.wrap(b);
    }

    @Test
    void anAppendFromACompletionWithTheBudgetFullDoesNotWaitForItsOwnAcknowledgement() throws Exception {
        // The budget holds one record: the acknowledged one's bytes return to it only after its completions ran, on
        // this very thread. Before the fix the second append waited for them forever (the log and the ring hung).
        AppendLogConfig config = new AppendLogConfig().maxPendingBytes(4096);
        List<Long> positions = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            CompletableFuture<Long> second = log.append(bytes(3000, 1))
                    .thenCompose(first -> {
                        positions.add(first);
                        return log.append(bytes(3000, 2));
                    });
            positions.add(await(second));
            // Bystander: an append from the test thread still waits its turn and goes through.
            positions.add(await(log.append(bytes(3000, 3))));
        }
        List<Long> read = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> read.add(p));
        assertEquals(positions, read);
    }

    /**
     * A completion of a record appends another and blocks on it: that append goes out only when the acknowledgement
     * running the completion returns, so the wait hung the thread (a ring thread: the log and the engine with it).
     * Now join and get fail at once with IllegalStateException; the second record still becomes durable, and a wait
     * for it outside the acknowledgement (or for a record already durable inside it) works.
     */
    @Test
    void aWaitInsideAnAcknowledgementForARecordOfTheSameLogFailsFast() throws Exception {
        // The first write is held until the completion is attached, so that it runs inside the acknowledgement.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentIoWrapper(faults.wrapper()))) {
            CompletableFuture<CompletableFuture<Long>> second = new CompletableFuture<>();
            CompletableFuture<Throwable> joined = new CompletableFuture<>();
            CompletableFuture<Throwable> got = new CompletableFuture<>();
            CompletableFuture<Long> first = log.append(bytes(100, 1));
            CompletableFuture<Long> seenInside = first.thenApply(position -> {
                CompletableFuture<Long> appended = log.append(bytes(100, 2));
                second.complete(appended);
                joined.complete(thrown(appended::join));
                got.complete(thrown(appended::get));
                return first.join(); // durable already: no wait, no refusal
            });
            gate.complete(null);
            assertEquals(await(first), await(seenInside));
            assertInstanceOf(IllegalStateException.class, await(joined));
            assertInstanceOf(IllegalStateException.class, await(got));
            assertTrue(await(await(second)) > await(first), "the second record became durable after the first");
        }
        List<Long> read = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> read.add(p));
        assertEquals(2, read.size());
    }

    /**
     * Acknowledgements of two logs nest on one thread: inside log A's acknowledgement, a record of log B is
     * acknowledged on the same thread, and B's completion blocks on a record of A appended inside A's acknowledgement.
     * That record goes out only once A's acknowledgement (the outer frame, on this very thread) returns. Before, only
     * the innermost log was checked: the wait passed the check and hung the thread for good, and A with it. Now it
     * fails at once with IllegalStateException, and both logs go on: every record durable and read back.
     */
    @Test
    @Timeout(value = 20, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aWaitInsideANestedAcknowledgementForARecordOfTheOuterLogFailsFast() throws Exception {
        CompletableFuture<Integer> writtenA = new CompletableFuture<>();
        CompletableFuture<Void> releaseA = new CompletableFuture<>();
        CompletableFuture<Integer> writtenB = new CompletableFuture<>();
        CompletableFuture<Void> releaseB = new CompletableFuture<>();
        FaultInjection faultsA = new FaultInjection().at(0, handedOver(writtenA, releaseA));
        FaultInjection faultsB = new FaultInjection().at(0, handedOver(writtenB, releaseB));
        java.nio.file.Path dirA = dir.resolve("a");
        java.nio.file.Path dirB = dir.resolve("b");
        CompletableFuture<Throwable> nested = new CompletableFuture<>();
        CompletableFuture<Long> secondA;
        CompletableFuture<Long> firstB;
        long firstA;
        try (AppendLog a = AppendLog.open(engine, dirA, new AppendLogConfig().segmentIoWrapper(faultsA.wrapper()));
             AppendLog b = AppendLog.open(engine, dirB, new AppendLogConfig().segmentIoWrapper(faultsB.wrapper()))) {
            CompletableFuture<CompletableFuture<Long>> appendedInside = new CompletableFuture<>();
            CompletableFuture<CompletableFuture<Long>> appendedToB = new CompletableFuture<>();
            CompletableFuture<Long> first = a.append(bytes(100, 1));
            first.thenRun(() -> { // A's acknowledgement, on this thread (it completes releaseA below)
                CompletableFuture<Long> inside = a.append(bytes(100, 2));
                appendedInside.complete(inside);
                CompletableFuture<Long> toB = b.append(bytes(100, 3));
                appendedToB.complete(toB);
                toB.thenRun(() -> nested.complete(thrown(inside::join))); // B's acknowledgement, nested in A's
                writtenB.join();
                releaseB.complete(null); // this thread acknowledges B's group, inside A's acknowledgement
            });
            writtenA.join();
            releaseA.complete(null); // this thread acknowledges A's first group
            assertTrue(nested.isDone(), "B's completion ran inside A's acknowledgement, on this thread");
            assertInstanceOf(IllegalStateException.class, nested.join());
            firstA = await(first);
            secondA = await(appendedInside);
            firstB = await(appendedToB);
            assertTrue(await(secondA) > firstA, "the record appended inside became durable after the first");
            await(firstB);
            // Bystanders: both logs still take appends.
            await(a.append(bytes(100, 4)));
            await(b.append(bytes(100, 5)));
        }
        List<Long> readA = new ArrayList<>();
        LogRecovery.read(dirA, 0, (p, bytes) -> readA.add(p));
        assertEquals(List.of(firstA, secondA.join()), readA.subList(0, 2));
        assertEquals(3, readA.size());
        List<Long> readB = new ArrayList<>();
        LogRecovery.read(dirB, 0, (p, bytes) -> readB.add(p));
        assertEquals(2, readB.size());
        assertEquals(firstB.join(), readB.get(0));
    }

    /**
     * The real write, its result held until {@code release} completes: the thread that completes {@code release}
     * (after {@code written}) runs the log's completion of the group.
     */
    private static FaultInjection.Fault handedOver(CompletableFuture<Integer> written,
                                                   CompletableFuture<Void> release) {
        return (real, src, position) -> {
            real.writeDurable(src, position).whenComplete((n, failure) -> {
                if (failure != null) {
                    written.completeExceptionally(failure);
                } else {
                    written.complete(n);
                }
            });
            return written.thenCombine(release, (n, ignored) -> n);
        };
    }

    private static Throwable thrown(java.util.concurrent.Callable<?> wait) {
        try {
            wait.call();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    @Test
    void aBlockingCloseFromACompletionDoesNotWaitOnTheThreadItNeeds() throws Exception {
        // The write is held until the completion is attached, so that it runs on the ring thread that reaps the write.
        // Before the fix close() waited there for the close, which needs that thread: the log never closed, and the
        // engine's close waited forever for its requests.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentIoWrapper(faults.wrapper()));
        CompletableFuture<Throwable> closedInside = new CompletableFuture<>();
        boolean[] onEngineThread = new boolean[1];
        CompletableFuture<Long> appended = log.append(bytes(100, 1)).whenComplete((v, f) -> {
            onEngineThread[0] = engine.isEngineThread();
            try {
                log.close();
                closedInside.complete(null);
            } catch (Throwable t) {
                closedInside.complete(t);
            }
        });
        gate.complete(null);
        long p = await(appended);
        assertEquals(null, await(closedInside), "close from a completion threw");
        assertTrue(onEngineThread[0], "the completion ran on the engine's thread");
        await(log.closeAsync()); // the close completes
        assertInstanceOf(LogClosedException.class, StorageTesting.failure(log.append(bytes(10, 2))));
        List<Long> read = new ArrayList<>();
        LogRecovery.read(dir, 0, (q, b) -> read.add(q));
        assertEquals(List.of(p), read);
        try (AppendLog again = AppendLog.open(engine, dir)) {
            assertTrue(again.recovery().tail() > p, "the lock was released");
        }
    }
}
