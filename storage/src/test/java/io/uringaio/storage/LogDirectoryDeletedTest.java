package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An open log's directory removed ({@code rm -rf}), or the segment being written deleted, while the log appends. The
 * segment is open by descriptor, so its writes and syncs go on succeeding into a file without a name: a record
 * acknowledged there is one no open will ever find. The log checks, after each group's {@code fdatasync} and before it
 * acknowledges the group, that the segment still has a name, and else poisons itself with
 * {@link LogSegmentDeletedException} as the cause: nothing written after the deletion is acknowledged.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogDirectoryDeletedTest extends WithEngine {
    private static void removeTree(Path root) throws Exception {
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** The failure of {@code f} (which must fail). */
    private static Throwable failureOf(CompletableFuture<Long> f) throws Exception {
        try {
            long position = f.get(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
            return fail("acknowledged at " + position + ", in a segment no open will find");
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    private static void assertSegmentDeleted(Throwable failure, Path segment) {
        LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, failure);
        LogSegmentDeletedException cause = assertInstanceOf(LogSegmentDeletedException.class,
                AppendLog.unwrap(p.getCause()), p.toString());
        assertTrue(cause.getMessage().contains(segment.toString()), cause.getMessage());
    }

    @Test
    void noAppendIsAcknowledgedAfterTheDirectoryWasRemoved() throws Exception {
        Path mine = dir.resolve("log");
        Path bystanderDir = dir.resolve("bystander");
        try (AppendLog log = AppendLog.open(engine, mine);
             AppendLog bystander = AppendLog.open(engine, bystanderDir)) {
            long before = await(log.append(ByteBuffer.wrap(new byte[] {1})));
            assertEquals(0, before);
            long durable = log.durablePosition();
            removeTree(mine);

            assertSegmentDeleted(failureOf(log.append(ByteBuffer.wrap(new byte[] {2}))),
                    mine.resolve(LogSegment.fileName(0)));
            assertEquals(durable, log.durablePosition(), "nothing acknowledged after the removal");
            assertSegmentDeleted(failureOf(log.append(ByteBuffer.wrap(new byte[] {3}))),
                    mine.resolve(LogSegment.fileName(0)));
            assertTrue(log.poisonCause() != null);

            // The bystander, another log of the same engine, goes on.
            assertEquals(0L, await(bystander.append(ByteBuffer.wrap(new byte[] {4}))));
            assertEquals(RecordFrame.frameBytes(1), await(bystander.append(ByteBuffer.wrap(new byte[] {5}))));
        }
        assertTrue(Files.notExists(mine), "nothing recreated the removed directory");
        List<Long> read = new ArrayList<>();
        LogRecovery.read(bystanderDir, 0, (p, b) -> read.add(p));
        assertEquals(List.of(0L, RecordFrame.frameBytes(1)), read);
    }

    @Test
    void noAppendIsAcknowledgedAfterTheSegmentWasDeleted() throws Exception {
        Path segment = dir.resolve(LogSegment.fileName(0));
        try (AppendLog log = AppendLog.open(engine, dir)) {
            await(log.append(ByteBuffer.wrap(new byte[] {1})));
            Files.delete(segment);
            assertSegmentDeleted(failureOf(log.append(ByteBuffer.wrap(new byte[] {2}))), segment);
        }
    }

    @Test
    void aRenamedDirectoryStillAcknowledgesItsAppends() throws Exception {
        // The records of a renamed directory are where it is now: an open there finds them (LogDirectoryMovedTest
        // covers what the log then refuses by name).
        Path mine = dir.resolve("log");
        Path moved = dir.resolve("moved");
        try (AppendLog log = AppendLog.open(engine, mine)) {
            await(log.append(ByteBuffer.wrap(new byte[] {1})));
            Files.move(mine, moved);
            assertEquals(RecordFrame.frameBytes(1), await(log.append(ByteBuffer.wrap(new byte[] {2}))));
        }
        List<Long> read = new ArrayList<>();
        LogRecovery.read(moved, 0, (p, b) -> read.add(p));
        assertEquals(List.of(0L, RecordFrame.frameBytes(1)), read);
    }
}
