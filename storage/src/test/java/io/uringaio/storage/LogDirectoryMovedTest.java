package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A log's directory renamed while the log is open, and another log opened under the old name. The segment being
 * written is open by descriptor and keeps its records, but the log reached its directory by name for everything else:
 * a roll-over renamed the other log's prepared segment into a segment of its own, in the other log's directory, and
 * wrote its records there (lost to its own directory, and a foreign segment in the other's, whose next roll then found
 * no spare); a read read the other log's records and reported them corrupt; a close deleted the other log's spare.
 * Now the log checks that its path still names the directory it locked (device and inode) before it uses a name, and
 * refuses typed ({@link LogDirectoryMovedException}): a roll poisons the log, a read throws, a close leaves the
 * spare. The records acknowledged before stay where they were written; the other log is untouched.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogDirectoryMovedTest extends WithEngine {
    private static final int SEGMENT = 256 << 10;
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(SEGMENT);

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    private static Map<String, byte[]> files(Path directory) throws Exception {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> list = Files.list(directory)) {
            for (Path f : list.toList()) {
                files.put(f.getFileName().toString(), Files.readAllBytes(f));
            }
        }
        return files;
    }

    /** Waits (bounded) until the log in {@code directory} has its next segment prepared to full size. */
    private static void awaitSpare(Path directory) throws Exception {
        Path spare = directory.resolve(LogSegment.SPARE_NAME);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(StorageTesting.DEADLINE_SECONDS);
        while (!Files.exists(spare) || Files.size(spare) < SEGMENT) {
            assertTrue(System.nanoTime() < deadline, "the other log prepared no next segment");
            Thread.sleep(1);
        }
    }

    /** The failure of {@code f}, or null once it succeeds. */
    private static Throwable outcome(CompletableFuture<Long> f) throws Exception {
        try {
            f.get(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        }
    }

    @Test
    void aLogWhoseDirectoryWasRenamedAndReplacedWritesNothingIntoTheOtherLog() throws Exception {
        Path mine = dir.resolve("log");
        Path moved = dir.resolve("log-moved");
        List<byte[]> acknowledged = new ArrayList<>();
        AppendLog log = AppendLog.open(engine, mine, SMALL);
        try {
            for (int i = 0; i < 3; i++) {
                ByteBuffer r = StorageTesting.record(61, i, 300);
                await(log.append(r));
                acknowledged.add(bytes(r));
            }
            Files.move(mine, moved);
            try (AppendLog other = AppendLog.open(engine, mine, SMALL)) {
                assertEquals(0L, await(other.append(ByteBuffer.wrap(new byte[] {7}))));
                awaitSpare(mine); // the other log's next segment, prepared: the name a roll renames
                Map<String, byte[]> othersFiles = files(mine);

                LogDirectoryMovedException readRefused = assertThrows(LogDirectoryMovedException.class,
                        () -> log.read(0, (p, b) -> true), "a read of the moved log");
                assertTrue(readRefused.getMessage().contains(mine.toString()), readRefused.getMessage());

                // Records of 16 KiB: the 17th does not fit in the first segment and rolls the log over.
                Throwable poisoned = null;
                for (int i = 0; i < 20 && poisoned == null; i++) {
                    ByteBuffer r = ByteBuffer.allocate(16 << 10).putInt(0, i);
                    CompletableFuture<Long> f = log.append(r);
                    poisoned = outcome(f);
                    if (poisoned == null) {
                        acknowledged.add(bytes(r));
                    }
                }
                LogPoisonedException p = assertInstanceOf(LogPoisonedException.class, poisoned, "the roll poisons");
                assertInstanceOf(LogDirectoryMovedException.class, AppendLog.unwrap(p.getCause()), p.toString());
                log.close();

                assertEquals(othersFiles.keySet(), files(mine).keySet(), "the other log's directory: the same files");
                othersFiles.forEach((name, content) -> {
                    try {
                        assertArrayEquals(content, Files.readAllBytes(mine.resolve(name)), name);
                    } catch (java.io.IOException e) {
                        throw new AssertionError(e);
                    }
                });
                assertEquals(RecordFrame.frameBytes(1), await(other.append(ByteBuffer.wrap(new byte[] {8}))),
                        "the other log goes on");
            }
        } finally {
            log.close();
        }
        List<byte[]> read = new ArrayList<>();
        LogRecovery.read(moved, 0, (p, b) -> read.add(bytes(b)));
        assertEquals(acknowledged.size(), read.size(), "every acknowledged record, in the moved directory");
        for (int i = 0; i < read.size(); i++) {
            assertArrayEquals(acknowledged.get(i), read.get(i), "record " + i);
        }
        assertTrue(Files.exists(moved.resolve(LogSegment.fileName(0))));
    }
}
