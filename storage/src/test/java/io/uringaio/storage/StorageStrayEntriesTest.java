package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.UringIOException;

import java.io.FileOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What another hand leaves in a log directory: entries under a segment's name that are no segment file (a FIFO, a
 * directory), a name that reads as a segment's only to {@code Character.isDigit}, a {@code LOCK} that is a symbolic
 * link. The log's records stay as they were, the stray entry is untouched, and the open either ignores it (not a name
 * the log writes) or refuses typed, at once, naming it: never a hang, never a log that cannot be opened again, never a
 * write outside the directory.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StorageStrayEntriesTest extends WithEngine {
    /** Linux's errno for a symbolic link where O_NOFOLLOW forbids one (ErrnoTable names no constant for it). */
    private static final int ELOOP = 40;
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(256 << 10);

    /** Writes {@code n} records, closes, and returns their payloads. */
    private List<byte[]> writeRecords(int n) throws Exception {
        List<byte[]> payloads = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            for (int i = 0; i < n; i++) {
                ByteBuffer r = record(41, i, 300);
                payloads.add(bytes(r));
                await(log.append(r));
            }
        }
        return payloads;
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        return a;
    }

    private List<byte[]> readAll() throws Exception {
        List<byte[]> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> found.add(bytes(b)));
        return found;
    }

    private static void assertSameRecords(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "records");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "record " + i);
        }
    }

    /**
     * A file named with twenty non-ASCII decimal digits (here Arabic-Indic) is no segment of the log's (it names them
     * with ASCII digits), but {@code Character.isDigit} and {@code Long.parseLong} read it as base 100: recovery then
     * looked for {@code 00000000000000000100.log}, which does not exist, and every open failed with
     * NoSuchFileException, for good.
     */
    @Test
    void aNameOfNonAsciiDigitsIsNoSegmentAndIsLeftAlone() throws Exception {
        List<byte[]> written = writeRecords(5);
        String digits = "\u0660".repeat(17) + "\u0661\u0660\u0660";
        Path stray;
        try {
            stray = dir.resolve(digits + LogSegment.SUFFIX);
        } catch (InvalidPathException e) {
            assumeTrue(false, "the file system encoding cannot name the file: " + e.getMessage());
            return;
        }
        Files.write(stray, new byte[] {1, 2, 3});

        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            assertEquals(1, log.recovery().segments());
            assertEquals(0, log.recovery().deletedSegments());
            assertEquals(log.tailPosition(), log.durablePosition());
            await(log.append(ByteBuffer.wrap(new byte[] {9})));
        }
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(stray), "the stray file is untouched");
        assertEquals(-1, LogSegment.baseOf(stray), "not a segment name");
        List<byte[]> expected = new ArrayList<>(written);
        expected.add(new byte[] {9});
        assertSameRecords(expected, readAll());
    }

    /**
     * A FIFO under the name of the next segment: opening it for reading waits for a writer that never comes, so the
     * log's open hung. It is no segment: the open refuses the log typed, naming it, and leaves it there.
     */
    @Test
    void aFifoUnderASegmentsNameFailsTheOpenTypedInsteadOfHangingIt() throws Exception {
        List<byte[]> written = writeRecords(3);
        Path fifo = dir.resolve(LogSegment.fileName(1 << 20));
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).redirectErrorStream(true).start();
        assumeTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo unavailable");

        CompletableFuture<Object> opening = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
                opening.complete(log);
            } catch (Throwable t) {
                opening.complete(t);
            }
        });
        Object outcome;
        try {
            outcome = opening.get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            try (FileOutputStream unblock = new FileOutputStream(fifo.toFile())) {
                // the open waits in open(2) for a writer: this is one, so that the test's thread ends
            }
            fail("AppendLog.open hung on a FIFO named as a segment");
            return;
        }
        LogCorruptedException refused = assertInstanceOf(LogCorruptedException.class, outcome);
        assertEquals(fifo, refused.segment());
        assertTrue(Files.readAttributes(fifo, java.nio.file.attribute.BasicFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS).isOther(), "the FIFO is left where it was");
        assertSameRecords(written, readRecordsOfTheFirstSegment());
        // The lock was released by the failed open: with the FIFO gone, the log opens and holds its records.
        Files.delete(fifo);
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            assertEquals(1, log.recovery().segments());
        }
        assertSameRecords(written, readAll());
    }

    /** A directory under a segment's name: refused typed as a FIFO is (it failed with EISDIR from a read before). */
    @Test
    void aDirectoryUnderASegmentsNameIsReportedAsNoSegment() throws Exception {
        List<byte[]> written = writeRecords(3);
        Path directory = Files.createDirectory(dir.resolve(LogSegment.fileName(1 << 20)));
        LogCorruptedException refused = assertThrows(LogCorruptedException.class,
                () -> AppendLog.open(engine, dir, SMALL).close());
        assertEquals(directory, refused.segment());
        assertThrows(LogCorruptedException.class, () -> LogRecovery.read(dir, 0, (p, b) -> true));
        assertTrue(Files.isDirectory(directory));
        Files.delete(directory);
        assertSameRecords(written, readAll());
    }

    private List<byte[]> readRecordsOfTheFirstSegment() throws Exception {
        List<byte[]> found = new ArrayList<>();
        try (var channel = java.nio.channels.FileChannel.open(dir.resolve(LogSegment.fileName(0)))) {
            new SegmentScanner(channel, 0).scan(0, Long.MAX_VALUE, (p, b) -> found.add(bytes(b)));
        }
        return found;
    }

    /**
     * {@code LOCK} replaced by a symbolic link to a file elsewhere: the open followed it, truncated that file and wrote
     * its pid into it. It refuses now (ELOOP, naming the lock file), writes nothing anywhere, and holds no lock.
     */
    @Test
    void aLockFileThatIsASymbolicLinkIsNotFollowed() throws Exception {
        List<byte[]> written = writeRecords(2);
        Path elsewhere = Files.createTempDirectory("uringaio-lock-target");
        Path precious = Files.writeString(elsewhere.resolve("precious"), "keep me\n");
        try {
            Path lockFile = dir.resolve(DirectoryLock.FILE_NAME);
            Files.deleteIfExists(lockFile);
            Files.createSymbolicLink(lockFile, precious);

            UringIOException refused = assertThrows(UringIOException.class,
                    () -> AppendLog.open(engine, dir, SMALL).close());
            assertEquals(ELOOP, refused.errno(), refused.toString());
            assertEquals("keep me\n", Files.readString(precious, StandardCharsets.US_ASCII),
                    "the file the link names is untouched");
            assertTrue(Files.isSymbolicLink(lockFile));

            Files.delete(lockFile); // no lock was left held: the log opens at once
            try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
                assertFalse(Files.isSymbolicLink(lockFile));
            }
            assertSameRecords(written, readAll());
        } finally {
            Files.deleteIfExists(precious);
            Files.deleteIfExists(elsewhere);
        }
    }

    /**
     * {@code LOCK} is a FIFO: the holder's pid write leaves it alone (no regular file), and a second open, refused,
     * read it for the holder's pid: opening a FIFO to read waits for a writer, so the refusal never came.
     */
    @Test
    void aSecondOpenIsRefusedPromptlyWhenTheLockFileIsAFifo() throws Exception {
        Path lockFile = dir.resolve(DirectoryLock.FILE_NAME);
        Process mkfifo = new ProcessBuilder("mkfifo", lockFile.toString()).redirectErrorStream(true).start();
        assumeTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0, "mkfifo unavailable");
        try (AppendLog first = AppendLog.open(engine, dir, SMALL)) {
            CompletableFuture<Object> second = new CompletableFuture<>();
            Thread.ofPlatform().daemon().start(() -> {
                try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
                    second.complete(log);
                } catch (Throwable t) {
                    second.complete(t);
                }
            });
            Object outcome;
            try {
                outcome = second.get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                try (FileOutputStream unblock = new FileOutputStream(lockFile.toFile())) {
                    // the refused open waits in open(2) for a writer of the FIFO: this is one
                }
                fail("a refused open hung reading a FIFO as the lock file");
                return;
            }
            LogLockedException refused = assertInstanceOf(LogLockedException.class, outcome);
            assertTrue(refused.getMessage().contains(dir.toString()), refused.getMessage());
            assertEquals(0L, await(first.append(ByteBuffer.wrap(new byte[] {5}))), "the first writer goes on");
        }
    }

    private static <T> T assertInstanceOf(Class<T> type, Object value) {
        if (!type.isInstance(value)) {
            if (value instanceof Throwable t) {
                throw new AssertionError("expected " + type.getSimpleName() + ", got " + t, t);
            }
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + value);
        }
        return type.cast(value);
    }
}
