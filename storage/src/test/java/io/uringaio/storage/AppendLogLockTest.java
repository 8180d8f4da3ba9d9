package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;


import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** One writer per log directory: a second open, in this process or another, is refused; close releases it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogLockTest extends WithEngine {
    private static final long CHILD_SECONDS = 30;

    private List<Long> positions() throws Exception {
        List<Long> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (position, payload) -> found.add(position));
        return found;
    }

    @Test
    void aSecondOpenInThisProcessIsRefusedAndTheFirstWriterGoesOn() throws Exception {
        List<Long> acknowledged = new ArrayList<>();
        try (AppendLog first = AppendLog.open(engine, dir)) {
            acknowledged.add(await(first.append(record(1, 0, 100))));
            // Before the fix both opened, and two writers' records landed at the same positions.
            LogLockedException e = assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir));
            assertEquals(dir.toAbsolutePath(), e.directory());
            assertTrue(e.getMessage().contains(dir.toAbsolutePath().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("this process"), e.getMessage());
            assertThrows(LogLockedException.class, () -> LogRecovery.recover(dir), "recovery truncates: also locked");
            // The refused open released nothing: a third attempt is refused too, and the first writer goes on.
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir));
            for (int i = 1; i < 20; i++) {
                acknowledged.add(await(first.append(record(1, i, 100))));
            }
        }
        assertEquals(acknowledged, positions());
        try (AppendLog again = AppendLog.open(engine, dir)) {
            assertEquals(acknowledged.getLast() + RecordFrame.frameBytes(record(1, 19, 100).remaining()),
                    await(again.append(record(1, 20, 100))));
        }
        assertEquals(21, positions().size());
    }

    @Test
    void theLockFileDeletedWhileHeldStillKeepsASecondWriterOut() throws Exception {
        List<Long> acknowledged = new ArrayList<>();
        try (AppendLog first = AppendLog.open(engine, dir)) {
            acknowledged.add(await(first.append(record(4, 0, 100))));
            // Someone cleans the directory up. Before the fix, the second open created a new LOCK file (a new inode),
            // locked that one, and two writers wrote at the same positions.
            Files.delete(dir.resolve(DirectoryLock.FILE_NAME));
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir));
            assertThrows(LogLockedException.class, () -> LogRecovery.recover(dir));
            acknowledged.add(await(first.append(record(4, 1, 100))));
        }
        assertEquals(acknowledged, positions());
        try (AppendLog again = AppendLog.open(engine, dir)) {
            assertEquals(2, again.recovery().tailRecords());
        }
    }

    @Test
    void theSameDirectoryByASymlinkOrARelativePathIsTheSameLock() throws Exception {
        Path link = Files.createSymbolicLink(dir.resolveSibling(dir.getFileName() + "-link"), dir);
        try (AppendLog first = AppendLog.open(engine, dir)) {
            await(first.append(record(5, 0, 100)));
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, link));
            Path relative = Path.of("").toAbsolutePath().relativize(dir.toAbsolutePath());
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, relative));
        } finally {
            Files.delete(link);
        }
    }

    @Test
    void twoThreadsOpeningAppendingAndClosingOneLogNeverWriteAtOnce() throws Exception {
        // Each round: open (or LogLockedException), append, close. A writer's appends land at the tail its open
        // recovered; two at once would acknowledge the same positions twice.
        java.util.Set<Long> acknowledged = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.concurrent.atomic.AtomicInteger opens = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger doubled = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Throwable> error = new java.util.concurrent.atomic.AtomicReference<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        AppendLogConfig config = new AppendLogConfig().segmentBytes(256 << 10);
        Runnable writer = () -> {
            int i = 0;
            while (System.nanoTime() < deadline && error.get() == null) {
                try (AppendLog log = AppendLog.open(engine, dir, config)) {
                    opens.incrementAndGet();
                    for (int k = 0; k < 3; k++) {
                        if (!acknowledged.add(await(log.append(record(8, i++, 50))))) {
                            doubled.incrementAndGet();
                        }
                    }
                } catch (LogLockedException e) {
                    refused.incrementAndGet();
                } catch (Throwable t) {
                    error.compareAndSet(null, t);
                }
            }
        };
        Thread a = Thread.ofPlatform().start(writer);
        Thread b = Thread.ofPlatform().start(writer);
        a.join();
        b.join();
        if (error.get() != null) {
            throw new AssertionError("a writer failed", error.get());
        }
        assertEquals(0, doubled.get(), "positions acknowledged twice");
        assertTrue(opens.get() >= 2, "opens " + opens.get());
        List<Long> found = positions();
        assertEquals(acknowledged.size(), found.size(), "refused " + refused.get());
        assertEquals(new java.util.TreeSet<>(acknowledged), new java.util.TreeSet<>(found));
    }

    @Test
    void anOpenThatFailsMidwayReleasesTheLock() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(64 << 10))) {
            for (int i = 0; i < 10; i++) {
                await(log.append(record(2, i, 100)));
            }
        }
        // A flipped bit in the first record, with nine acknowledged groups after it: recovery refuses the log.
        try (FileChannel ch = FileChannel.open(dir.resolve(LogSegment.fileName(0)), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, RecordFrame.HEADER_BYTES);
            ch.write(ByteBuffer.wrap(new byte[] {(byte) (b.get(0) ^ 1)}), RecordFrame.HEADER_BYTES);
        }
        assertThrows(LogCorruptedException.class, () -> AppendLog.open(engine, dir));
        assertThrows(LogCorruptedException.class, () -> AppendLog.open(engine, dir), "not LogLockedException");
        try (AppendLog repaired = AppendLog.open(engine, dir, new AppendLogConfig().repairByTruncation(true))) {
            assertEquals(0, repaired.recovery().tail());
        }
    }

    @Test
    void anotherProcessHoldingTheLogIsNamed() throws Exception {
        Path stdout = dir.resolveSibling(dir.getFileName() + "-child.out");
        Path stderr = dir.resolveSibling(dir.getFileName() + "-child.err");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LockHolderChild.class.getName(), dir.toString())
                .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        try {
            String locked = awaitLine(child, stdout, "locked ");
            long pid = Long.parseLong(locked.substring("locked ".length()).trim());
            assertEquals(child.pid(), pid);
            LogLockedException e = assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir));
            assertTrue(e.getMessage().contains("another process (pid " + pid + ")"), e.getMessage());
            assertThrows(LogLockedException.class, () -> LogRecovery.recover(dir));
            child.getOutputStream().close(); // the child closes its log and exits
            assertTrue(child.waitFor(CHILD_SECONDS, TimeUnit.SECONDS), "child did not exit");
            assertEquals(0, child.exitValue(), () -> "child failed: " + read(stderr));
            assertTrue(read(stdout).contains("closed"));
        } finally {
            child.destroyForcibly();
            child.waitFor(CHILD_SECONDS, TimeUnit.SECONDS);
        }
        try (AppendLog log = AppendLog.open(engine, dir)) {
            assertEquals(1, log.recovery().tailRecords(), "the child's record");
            await(log.append(record(3, 0, 10)));
        }
        assertEquals(2, positions().size());
    }

    @Test
    void aKilledHolderLeavesTheLogFree() throws Exception {
        Path stdout = dir.resolveSibling(dir.getFileName() + "-killed.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                LockHolderChild.class.getName(), dir.toString())
                .redirectOutput(stdout.toFile())
                .redirectError(dir.resolveSibling(dir.getFileName() + "-killed.err").toFile()).start();
        try {
            awaitLine(child, stdout, "locked ");
            assertThrows(LogLockedException.class, () -> AppendLog.open(engine, dir));
        } finally {
            child.destroyForcibly(); // SIGKILL: the kernel drops the flock with the process's descriptors
            assertTrue(child.waitFor(CHILD_SECONDS, TimeUnit.SECONDS), "child did not die");
        }
        try (AppendLog log = AppendLog.open(engine, dir)) {
            assertEquals(1, log.recovery().tailRecords());
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.US_ASCII) : "";
        } catch (java.io.IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** The first line of {@code file} starting with {@code prefix}, polled until the child dies or the deadline. */
    private static String awaitLine(Process child, Path file, String prefix) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CHILD_SECONDS);
        while (System.nanoTime() < deadline) {
            for (String line : read(file).split("\n")) {
                if (line.startsWith(prefix) && line.length() > prefix.length()) {
                    return line;
                }
            }
            if (!child.isAlive()) {
                fail("child exited (" + child.exitValue() + ") before printing '" + prefix + "': "
                        + read(file.resolveSibling(file.getFileName().toString().replace(".out", ".err"))));
            }
            Thread.sleep(10);
        }
        throw new AssertionError("child printed no '" + prefix + "' within " + CHILD_SECONDS + " s");
    }
}
