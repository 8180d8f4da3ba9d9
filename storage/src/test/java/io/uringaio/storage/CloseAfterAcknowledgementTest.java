package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.UringIOException;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A close that finds the last groups durable but their acknowledgement still running (a record's dependent is slow)
 * ends only once that acknowledgement has: every accepted record's future is complete when the close is. It ended as
 * soon as the groups had left the pipeline: {@code close()} returned, and the directory was unlocked, with futures of
 * durable records still pending. Also when a group fails, poisoning the log, during that acknowledgement.
 *
 * <p>The acknowledgement runs on a thread of the test's ({@code ackThread}: the group's write completes there), so that
 * a dependent blocking it holds no ring thread.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CloseAfterAcknowledgementTest extends WithEngine {
    private final ExecutorService ackThread = Executors.newSingleThreadExecutor();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CompletableFuture<Void> inDependent = new CompletableFuture<>();
    private final AtomicBoolean dependentReturned = new AtomicBoolean();

    @AfterEach
    void stopAckThread() {
        release.countDown();
        ackThread.shutdownNow();
    }

    /** A dependent of {@code record} that holds its acknowledgement until {@link #release}. */
    private void holdTheAcknowledgementOf(CompletableFuture<Long> record) {
        record.thenRun(() -> {
            inDependent.complete(null);
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            dependentReturned.set(true);
        });
    }

    /** Closes while the acknowledgement is held; returns what {@code atClose} saw when the close completed. */
    private <T> T closeWhileHeld(AppendLog log, java.util.function.Supplier<T> atClose) throws Exception {
        AtomicReference<T> seen = new AtomicReference<>();
        CompletableFuture<Void> closing = log.closeAsync();
        CompletableFuture<Void> observed = closing.thenRun(() -> seen.set(atClose.get()));
        try {
            closing.get(1, TimeUnit.SECONDS); // before the fix: closed at once, the acknowledgement still held
        } catch (TimeoutException expected) {
            // the close waits for the acknowledgement
        }
        release.countDown();
        await(closing);
        await(observed);
        return seen.get();
    }

    @Test
    void aCloseWaitsForTheAcknowledgementUnderWay() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection()
                .at(0, FaultInjection.stallUntil(gate))
                .at(1, (real, src, position) -> real.writeDurable(src, position).thenApplyAsync(n -> n, ackThread));
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10)
                .maxGroupsInFlight(1).segmentIoWrapper(faults.wrapper()));
        CompletableFuture<Long> first = log.append(ByteBuffer.wrap(new byte[] {1}));
        StorageTesting.awaitWrites(faults, 1);
        CompletableFuture<Long> a = log.append(ByteBuffer.wrap(new byte[] {2})); // a and b: group 1
        CompletableFuture<Long> b = log.append(ByteBuffer.wrap(new byte[] {3}));
        holdTheAcknowledgementOf(a);
        gate.complete(null);
        await(inDependent);
        assertEquals(0L, await(first));

        assertEquals(Boolean.TRUE, closeWhileHeld(log, b::isDone), "b's future was complete when the close was");
        assertEquals(18L, await(b));
    }

    @Test
    void aCloseOfALogPoisonedDuringTheAcknowledgementEndsAfterIt() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        CompletableFuture<Void> firstAcknowledged = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection()
                .at(0, FaultInjection.stallUntil(gate))
                // a's group: written once the first is acknowledged, completed on ackThread
                .at(1, (real, src, position) -> firstAcknowledged.thenCompose(v -> real.writeDurable(src, position))
                        .thenApplyAsync(n -> n, ackThread))
                // b's group: fails while a's acknowledgement is held
                .at(2, (real, src, position) -> inDependent.thenComposeAsync(v -> CompletableFuture.failedFuture(
                        new UringIOException(5, "write+fdatasync", real.file().path().toString()))));
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10)
                .maxGroupsInFlight(2).segmentIoWrapper(faults.wrapper()));
        CompletableFuture<Long> first = log.append(ByteBuffer.wrap(new byte[] {1}));
        first.thenRun(() -> firstAcknowledged.complete(null));
        StorageTesting.awaitWrites(faults, 1);
        CompletableFuture<Long> a = log.append(ByteBuffer.wrap(new byte[] {2}));
        StorageTesting.awaitWrites(faults, 2);
        CompletableFuture<Long> b = log.append(ByteBuffer.wrap(new byte[] {3}));
        holdTheAcknowledgementOf(a);
        gate.complete(null);
        await(inDependent);
        assertInstanceOf(LogPoisonedException.class, StorageTesting.failure(b));

        assertEquals(Boolean.TRUE, closeWhileHeld(log, dependentReturned::get),
                "the close completed after the acknowledgement under way");
        assertEquals(9L, await(a));
        assertTrue(log.poisonCause() != null);
    }
}
