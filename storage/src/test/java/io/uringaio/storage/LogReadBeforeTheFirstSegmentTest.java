package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A log whose oldest segment was removed (a storage engine drops the log before its checkpoint) starts at its first
 * remaining segment's base. A read from a position before that base names no record the log holds: it is refused
 * ({@code IllegalArgumentException}, as both reads' javadoc says), where before it silently began at the first
 * remaining record, so that a reader resuming from its saved position skipped every record in between unaware.
 * Position 0 still reads from the first record there is. Nothing changes: the files' bytes, the durable position,
 * appends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogReadBeforeTheFirstSegmentTest extends WithEngine {
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(4096);

    private static List<Long> positions(Path log, long from) throws Exception {
        List<Long> visited = new ArrayList<>();
        LogRecovery.read(log, from, (p, b) -> visited.add(p));
        return visited;
    }

    @Test
    void aReadFromBeforeTheFirstSegmentIsRefusedNotSkippedAhead() throws Exception {
        List<Long> appended = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            for (int i = 0; i < 100; i++) {
                appended.add(await(log.append(ByteBuffer.wrap(new byte[100]))));
            }
        }
        List<Long> bases = LogSegment.list(dir);
        assertTrue(bases.size() >= 3, "segments " + bases);
        long first = bases.get(1);
        Files.delete(dir.resolve(LogSegment.fileName(0))); // the oldest segment, dropped
        List<Long> kept = appended.stream().filter(p -> p >= first).toList();

        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            long durable = log.durablePosition();
            byte[][] before = contents(bases.subList(1, bases.size()));
            List<Long> visited = new ArrayList<>();
            long saved = appended.get(1); // a reader's saved position, in the dropped segment
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> log.read(saved, (p, b) -> visited.add(p)));
            assertTrue(e.getMessage().contains(String.valueOf(first)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> log.read(1, (p, b) -> visited.add(p)));
            assertThrows(IllegalArgumentException.class, () -> log.read(first - 1, (p, b) -> visited.add(p)));
            assertThrows(IllegalArgumentException.class, () -> positions(dir, saved));
            assertEquals(List.of(), visited, "nothing visited");

            log.read(0, (p, b) -> visited.add(p));
            assertEquals(kept, visited, "0: from the first record there is");
            visited.clear();
            log.read(first, (p, b) -> visited.add(p));
            assertEquals(kept, visited, "the first segment's base");
            assertEquals(kept, positions(dir, 0));

            assertEquals(durable, log.durablePosition());
            byte[][] after = contents(bases.subList(1, bases.size()));
            for (int i = 0; i < before.length; i++) {
                assertArrayEquals(before[i], after[i], "segment " + bases.get(i + 1));
            }
            assertEquals(durable, await(log.append(ByteBuffer.wrap(new byte[] {7}))), "appends go on");
        }
    }

    private byte[][] contents(List<Long> bases) throws Exception {
        byte[][] all = new byte[bases.size()][];
        for (int i = 0; i < all.length; i++) {
            all[i] = Files.readAllBytes(dir.resolve(LogSegment.fileName(bases.get(i))));
        }
        return all;
    }
}
