package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code LOCK} as a hard link to another file: {@code O_NOFOLLOW} does not see a hard link (it is the file itself), so
 * the open truncated whatever file the name shares its inode with and wrote its pid there. Linked to the log's own
 * segment, that cut every acknowledged record, and the next recovery took the pid's bytes for a torn tail and cut
 * the rest, silently: an empty log. Now a {@code LOCK} with more than one link is left alone (only the message of a
 * refused open misses the pid), as a FIFO there is; the lock itself is on the directory and does not need it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LockFileHardLinkTest extends WithEngine {
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(256 << 10);

    private List<byte[]> writeRecords(Path directory, long seed, int n) throws Exception {
        List<byte[]> payloads = new ArrayList<>();
        try (AppendLog log = AppendLog.open(engine, directory, SMALL)) {
            for (int i = 0; i < n; i++) {
                ByteBuffer r = record(seed, i, 300);
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

    private static List<byte[]> readAll(Path directory) throws Exception {
        List<byte[]> found = new ArrayList<>();
        LogRecovery.read(directory, 0, (p, b) -> found.add(bytes(b)));
        return found;
    }

    private static void assertSameRecords(List<byte[]> expected, List<byte[]> actual) {
        assertEquals(expected.size(), actual.size(), "records");
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i), actual.get(i), "record " + i);
        }
    }

    @Test
    void aLockFileHardLinkedToTheLogsOwnSegmentLeavesTheSegmentWhole() throws Exception {
        List<byte[]> written = writeRecords(dir, 51, 5);
        Path segment = dir.resolve(LogSegment.fileName(0));
        byte[] before = Files.readAllBytes(segment);
        Path lockFile = dir.resolve(DirectoryLock.FILE_NAME);
        Files.delete(lockFile);
        Files.createLink(lockFile, segment);

        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            assertEquals(5, log.recovery().tailRecords(), "recovery found every record");
            assertArrayEquals(before, Files.readAllBytes(segment), "the segment's bytes, unchanged by the open");
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir, SMALL),
                    "a second open is still refused: the lock is the directory's");
            ByteBuffer more = record(51, 5, 300);
            written.add(bytes(more));
            await(log.append(more));
        }
        assertSameRecords(written, readAll(dir));
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            assertEquals(6, log.recovery().tailRecords(), "a reopen finds the six records");
        }
    }

    @Test
    void aLockFileHardLinkedToAnotherLogsLockLeavesThatLogsFileAlone() throws Exception {
        Path other = Files.createDirectory(dir.resolve("other"));
        Path mine = Files.createDirectory(dir.resolve("mine"));
        List<byte[]> written = writeRecords(mine, 52, 2);
        try (AppendLog otherLog = AppendLog.open(engine, other, SMALL)) {
            Path otherLock = other.resolve(DirectoryLock.FILE_NAME);
            Files.writeString(otherLock, "424242\n", StandardCharsets.US_ASCII); // as another process would leave it
            Files.delete(mine.resolve(DirectoryLock.FILE_NAME));
            Files.createLink(mine.resolve(DirectoryLock.FILE_NAME), otherLock);

            try (AppendLog log = AppendLog.open(engine, mine, SMALL)) {
                assertEquals("424242\n", Files.readString(otherLock, StandardCharsets.US_ASCII),
                        "the other log's lock file, untouched");
                assertEquals(0L, await(otherLog.append(ByteBuffer.wrap(new byte[] {1}))), "the other log goes on");
                ByteBuffer more = record(52, 2, 300);
                written.add(bytes(more));
                await(log.append(more));
            }
        }
        assertSameRecords(written, readAll(mine));
        assertEquals(1, readAll(other).size(), "the other log's one record");
    }

    /**
     * Two JVMs: a child process holds log B; this process's log A has its {@code LOCK} hard-linked to B's. Opening A
     * overwrote B's {@code LOCK} with this process's pid, and a refused open of B then named this process as B's
     * holder. Now B's file keeps the child's pid, and B stays the child's.
     */
    @Test
    void aLockFileHardLinkedToTheLockOfALogOpenInAnotherProcessLeavesItAlone() throws Exception {
        Path b = Files.createDirectory(dir.resolve("b"));
        Path a = Files.createDirectory(dir.resolve("a"));
        List<byte[]> written = writeRecords(a, 53, 1);
        Path stdout = dir.resolve("child.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LockHolderChild.class.getName(), b.toString())
                .redirectOutput(stdout.toFile()).redirectError(dir.resolve("child.err").toFile()).start();
        try {
            long pid = Long.parseLong(awaitLine(child, stdout, "locked ").substring("locked ".length()).trim());
            Path bLock = b.resolve(DirectoryLock.FILE_NAME);
            String bLockBefore = Files.readString(bLock, StandardCharsets.US_ASCII);
            assertEquals(pid + "\n", bLockBefore);
            Files.delete(a.resolve(DirectoryLock.FILE_NAME));
            Files.createLink(a.resolve(DirectoryLock.FILE_NAME), bLock);

            try (AppendLog log = AppendLog.open(engine, a, SMALL)) {
                assertEquals(bLockBefore, Files.readString(bLock, StandardCharsets.US_ASCII), "B's lock file");
                LogLockedException refused = assertThrows(LogLockedException.class, () -> AppendLog.open(engine, b));
                assertTrue(refused.getMessage().contains("another process (pid " + pid + ")"), refused.getMessage());
                ByteBuffer more = record(53, 1, 300);
                written.add(bytes(more));
                await(log.append(more));
            }
            child.getOutputStream().close(); // the child closes its log and exits
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "child did not exit");
            assertEquals(0, child.exitValue());
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertSameRecords(written, readAll(a));
        assertEquals(1, readAll(b).size(), "the child's record in B");
    }

    /** The first line of {@code file} starting with {@code prefix}, polled until the child dies or 30 s pass. */
    private static String awaitLine(Process child, Path file, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            String text = Files.exists(file) ? Files.readString(file, StandardCharsets.US_ASCII) : "";
            for (String line : text.split("\n")) {
                if (line.startsWith(prefix) && line.length() > prefix.length()) {
                    return line;
                }
            }
            assertTrue(child.isAlive(), "the child exited before printing '" + prefix + "'");
            Thread.sleep(10);
        }
        throw new AssertionError("the child printed no '" + prefix + "' within 30 s");
    }
}
