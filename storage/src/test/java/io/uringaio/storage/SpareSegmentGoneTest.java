package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
 * The next segment, prepared ahead ({@link LogSegment#SPARE_NAME}), deleted or replaced by another hand while the log
 * is open. It holds no record, but the roll-over renamed it without looking: a missing spare failed the rename and
 * poisoned the log (reported as a failed "write+fdatasync" of the old segment, EIO), refusing every append until a
 * reopen; a directory put there was renamed into a segment's name, and every open after it refused the log as
 * corrupt. Now a roll-over that finds no regular file there prepares the segment anew, and the log goes on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SpareSegmentGoneTest extends WithEngine {
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(64 << 10);

    private void rollsOverWith(String what, Path dir, java.util.function.Consumer<Path> damage) throws Exception {
        Path spare = dir.resolve(LogSegment.SPARE_NAME);
        List<Long> acknowledged = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            acknowledged.add(await(log.append(ByteBuffer.allocate(100))));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StorageTesting.DEADLINE_SECONDS);
            while (!Files.exists(spare)) {
                assertTrue(System.nanoTime() < deadline, "no spare prepared");
                Thread.sleep(1);
            }
            damage.accept(spare);
            for (int i = 0; i < 10; i++) { // 100 KiB: one roll-over at least
                acknowledged.add(await(log.append(ByteBuffer.allocate(10 << 10).putInt(0, i))));
            }
            assertNull(log.poisonCause(), what);
            assertTrue(log.stats().rolls() >= 1, what + ": " + log.stats());
        }
        List<Long> read = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            log.read(0, (p, b) -> read.add(p));
        }
        assertEquals(acknowledged, read, what + ": every acknowledged record, after a reopen");
    }

    @Test
    void aSpareDeletedUnderTheLogIsPreparedAnewAtTheRollOver() throws Exception {
        rollsOverWith("deleted", dir, spare -> {
            try {
                Files.delete(spare);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void anEmptyDirectoryInPlaceOfTheSpareIsReplacedNotRenamedIntoTheLog() throws Exception {
        rollsOverWith("a directory", dir, spare -> {
            try {
                Files.delete(spare);
                Files.createDirectory(spare);
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    /**
     * A hard link to the log's own first segment under the spare's name: the roll-over renamed it into the next
     * segment, whose groups then overwrote the first segment's acknowledged records (one inode under two names).
     */
    @Test
    void aHardLinkToASegmentInPlaceOfTheSpareIsReplacedNotWrittenInto() throws Exception {
        rollsOverWith("a hard link to segment 0", dir, spare -> {
            try {
                Files.delete(spare);
                Files.createLink(spare, dir.resolve(LogSegment.fileName(0)));
            } catch (java.io.IOException e) {
                throw new AssertionError(e);
            }
        });
    }
}
