package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The future {@link AppendLog#closeAsync()} returns is the caller's: {@code orTimeout}, {@code cancel} or
 * {@code complete} on it (the usual "close, but not forever") ends that future only. The log's own close goes on, and
 * a later {@code close()}/{@code closeAsync()} reports when it really ended. Before, every caller shared one future: a
 * timed-out close made every later {@code close()} fail with the timeout although the log closed cleanly, and a
 * completed one made {@code close()} return while the group was still in flight and the directory still locked.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogCloseFutureTest extends WithEngine {
    @Test
    void aCloseFutureTimedOutOrCompletedByItsCallerLeavesTheRealCloseToReportItself() throws Exception {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(1, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().segmentBytes(64 << 10).segmentIoWrapper(faults.wrapper());
        AppendLog log = AppendLog.open(engine, dir, config);
        assertEquals(0L, await(log.append(ByteBuffer.wrap(new byte[] {1}))));
        CompletableFuture<Long> held = log.append(ByteBuffer.wrap(new byte[] {2})); // group write 1: stalled
        StorageTesting.awaitWrites(faults, 2);

        CompletionException timedOut = assertThrows(CompletionException.class,
                () -> log.closeAsync().orTimeout(50, TimeUnit.MILLISECONDS).join());
        assertInstanceOf(TimeoutException.class, timedOut.getCause());
        assertTrue(log.closeAsync().complete(null), "the caller may complete its own future");
        log.closeAsync().cancel(true);
        CompletableFuture<Void> real = log.closeAsync();
        assertFalse(real.isDone(), "the close waits for the stalled group");
        assertFalse(held.isDone());
        assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir, config), "still open");

        gate.complete(null);
        assertEquals(9L, await(held));
        log.close(); // returns normally: the close ended cleanly
        assertEquals(null, await(real), "the future taken before the end reports it");
        assertEquals(null, await(log.closeAsync()));
        try (AppendLog reopened = AppendLog.open(engine, dir, config)) {
            assertEquals(18, reopened.tailPosition());
        }
    }

    @Test
    void aCanceledCloseFutureDoesNotMakeCloseThrow() throws Exception {
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10));
        await(log.append(ByteBuffer.wrap(new byte[] {3})));
        CompletableFuture<Void> mine = log.closeAsync();
        mine.cancel(true); // may come too late to cancel anything: the close may already be done
        assertTrue(mine.isDone());
        log.close(); // never the caller's CancellationException
        if (mine.isCancelled()) {
            assertThrows(CancellationException.class, mine::join);
        }
        assertFalse(log.closeAsync().isCompletedExceptionally());
    }
}
