package io.uringaio.nio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The provider used explicitly (no JVM flag): wrapped paths route the JDK's own calls to the engine. */
class UringFileSystemProviderTest {
    @TempDir
    Path dir;

    @Test
    void wrappedPathsRouteFilesCallsToTheEngine() throws IOException {
        Path root = UringFiles.path(dir);
        assertInstanceOf(UringFileSystemProvider.class, root.getFileSystem().provider());
        Path file = root.resolve("a").resolve("b.txt");
        assertSame(root.getFileSystem(), file.getFileSystem());
        Files.createDirectories(file.getParent());
        Files.writeString(file, "through the ring");
        try (SeekableByteChannel ch = Files.newByteChannel(file)) {
            assertInstanceOf(UringFileChannel.class, ch);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            assertInstanceOf(UringFileChannel.class, ch);
        }
        try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(file)) {
            assertInstanceOf(UringAsynchronousFileChannel.class, ch);
        }
        assertEquals("through the ring", Files.readString(file));
        assertEquals(dir.resolve("a/b.txt").toFile(), file.toFile());
        assertEquals(file, root.getFileSystem().getPath(dir.resolve("a/b.txt").toString()));
        assertNotEquals(file, dir.resolve("a/b.txt"), "a wrapped path is not the JDK's");
        assertEquals(root.relativize(file).toString(), "a/b.txt");
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(file.getParent())) {
            List<Path> list = new ArrayList<>();
            entries.forEach(list::add);
            assertEquals(List.of(file), list);
        }
        assertThrows(ProviderMismatchException.class, () -> root.resolve(dir));
    }

    @Test
    void theExplicitOpensTakeOptionsAsTheJdksOpenDoes() throws IOException {
        Path f = dir.resolve("f");
        Files.writeString(f, "hello");
        // a repeated option is no error for FileChannel.open / AsynchronousFileChannel.open; a null one is an NPE
        StandardOpenOption r = StandardOpenOption.READ;
        try (FileChannel jdk = FileChannel.open(f, r, r); FileChannel ours = UringFiles.newFileChannel(f, r, r);
             AsynchronousFileChannel jdkAsync = AsynchronousFileChannel.open(f, r, r);
             AsynchronousFileChannel ourAsync = UringFiles.newAsynchronousFileChannel(f, r, r)) {
            assertInstanceOf(UringFileChannel.class, ours);
            assertInstanceOf(UringAsynchronousFileChannel.class, ourAsync);
            assertEquals(jdk.size(), ours.size());
            assertEquals(jdkAsync.size(), ourAsync.size());
        }
        assertThrows(NullPointerException.class, () -> FileChannel.open(f, r, null));
        assertThrows(NullPointerException.class, () -> UringFiles.newFileChannel(f, r, null));
        assertThrows(NullPointerException.class, () -> AsynchronousFileChannel.open(f, r, null));
        assertThrows(NullPointerException.class, () -> UringFiles.newAsynchronousFileChannel(f, r, null));
        assertEquals("hello", Files.readString(f));
    }

    /**
     * POSIX record locks belong to the process and the file: closing any descriptor of the file drops them all. An
     * open with creation attributes must not open and close the file on the side (it did, to let the JDK apply the
     * attributes), or it silently ends a lock another channel of the process holds on that file.
     */
    @Test
    void anOpenWithCreationAttributesLeavesTheProcesssLocksOnTheFile() throws Exception {
        Path f = dir.resolve("locked");
        Files.writeString(f, "hello");
        Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rw-------");
        try (FileChannel holder = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
             java.nio.channels.FileLock lock = holder.lock()) {
            assertEquals("BUSY", ChildJvm.run(LockHolderMain.class, f.toString()).trim());
            try (FileChannel ch = UringFiles.newFileChannel(f, Set.of(StandardOpenOption.WRITE,
                    StandardOpenOption.CREATE), PosixFilePermissions.asFileAttribute(perms));
                 AsynchronousFileChannel ach = UringFiles.newAsynchronousFileChannel(f, Set.of(
                         StandardOpenOption.WRITE, StandardOpenOption.CREATE), null,
                         PosixFilePermissions.asFileAttribute(perms))) {
                assertInstanceOf(UringFileChannel.class, ch);
                assertInstanceOf(UringAsynchronousFileChannel.class, ach);
                assertTrue(lock.isValid());
                assertEquals("BUSY", ChildJvm.run(LockHolderMain.class, f.toString()).trim(),
                        "the lock is still held, for another process too");
            }
        }
        assertEquals("hello", Files.readString(f));
        assertEquals(PosixFilePermissions.fromString("rw-r--r--"), Files.getPosixFilePermissions(f),
                "an existing file keeps its permissions");
    }

    @Test
    void creationAttributesAreApplied() throws IOException {
        Path file = dir.resolve("perm");
        Set<PosixFilePermission> perms = PosixFilePermissions.fromString("rw-------");
        try (FileChannel ch = UringFiles.newFileChannel(file, Set.of(StandardOpenOption.WRITE,
                StandardOpenOption.CREATE_NEW), PosixFilePermissions.asFileAttribute(perms))) {
            assertInstanceOf(UringFileChannel.class, ch);
            ch.write(ByteBuffer.wrap(new byte[3]));
        }
        assertEquals(perms, Files.getPosixFilePermissions(file));
        assertEquals(3, Files.size(file));
    }

    @Test
    void thePropertyTurnsTheEngineOff() throws IOException {
        Path file = Files.writeString(dir.resolve("off"), "x");
        System.setProperty("uringaio.nio.enabled", "false");
        try {
            try (FileChannel ch = UringFiles.newFileChannel(file, StandardOpenOption.READ)) {
                assertFalse(ch instanceof UringFileChannel, "the JDK's channel: " + ch);
                assertEquals(1, ch.size());
            }
            try (AsynchronousFileChannel ch = UringFiles.newAsynchronousFileChannel(file,
                    StandardOpenOption.READ)) {
                assertFalse(ch instanceof UringAsynchronousFileChannel);
            }
            assertEquals(null, UringFiles.backend());
        } finally {
            System.clearProperty("uringaio.nio.enabled");
        }
        try (FileChannel ch = UringFiles.newFileChannel(file, StandardOpenOption.READ)) {
            assertInstanceOf(UringFileChannel.class, ch);
        }
    }

    @Test
    void aFifoGetsTheJdksChannelSoAnInterruptEndsABlockedRead() throws Exception {
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Path directory = Files.createDirectory(dir.resolve("d"));
        try (FileChannel ch = UringFiles.newFileChannel(directory, StandardOpenOption.READ)) {
            assertFalse(ch instanceof UringFileChannel, "a directory: " + ch);
            ch.force(true);
        }
        java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch opened = new java.util.concurrent.CountDownLatch(1);
        Thread reader = Thread.ofPlatform().start(() -> {
            try (FileChannel ch = UringFiles.newFileChannel(fifo, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                assertFalse(ch instanceof UringFileChannel, "a FIFO: " + ch);
                opened.countDown();
                ch.read(ByteBuffer.allocate(1));
                outcome.complete(null);
            } catch (Throwable e) {
                outcome.complete(e);
            }
        });
        assertTrue(opened.await(10, java.util.concurrent.TimeUnit.SECONDS));
        // The read is blocked (nothing writes); interrupting it must close the channel and end the read.
        while (reader.getState() != Thread.State.RUNNABLE && reader.isAlive()) {
            Thread.onSpinWait();
        }
        reader.interrupt();
        assertInstanceOf(java.nio.channels.ClosedByInterruptException.class,
                outcome.get(10, java.util.concurrent.TimeUnit.SECONDS));
        reader.join();
    }

    @Test
    void anUnreachableUnclosedChannelClosesItsFile() throws Exception {
        Path file = Files.writeString(dir.resolve("leaked"), "x");
        openAndDrop(file);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (descriptorsOn(file) > 0) {
            assertTrue(System.nanoTime() < deadline, "the leaked channel's descriptors are still open");
            System.gc();
            Thread.sleep(20);
        }
    }

    private static void openAndDrop(Path file) throws IOException {
        FileChannel ch = UringFiles.newFileChannel(file, StandardOpenOption.READ);
        AsynchronousFileChannel afc = UringFiles.newAsynchronousFileChannel(file, StandardOpenOption.READ);
        assertInstanceOf(UringFileChannel.class, ch);
        assertInstanceOf(UringAsynchronousFileChannel.class, afc);
        assertEquals(2, descriptorsOn(file));
    }

    private static long descriptorsOn(Path file) throws IOException {
        Path real = file.toRealPath();
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void defaultFileSystemIsUntouchedWithoutTheFlag() {
        assertFalse(FileSystems.getDefault().provider() instanceof UringFileSystemProvider);
        assertTrue(UringFiles.path(dir).isAbsolute());
    }

    @Test
    void watchEventsAndKeysNameWrappedPaths() throws Exception {
        // On the JDK's file system dir.resolve((Path) event.context()) works; with unwrapped contexts a wrapped dir
        // would refuse them as foreign paths (ProviderMismatchException).
        Path root = UringFiles.path(dir);
        try (java.nio.file.WatchService ws = root.getFileSystem().newWatchService()) {
            java.nio.file.WatchKey key = root.register(ws, java.nio.file.StandardWatchEventKinds.ENTRY_CREATE);
            assertEquals(root, key.watchable());
            Files.createFile(root.resolve("new"));
            java.nio.file.WatchKey taken = ws.poll(30, java.util.concurrent.TimeUnit.SECONDS);
            assertSame(key, taken, "the key register returned");
            List<java.nio.file.WatchEvent<?>> events = taken.pollEvents();
            assertFalse(events.isEmpty());
            for (java.nio.file.WatchEvent<?> e : events) {
                assertEquals(java.nio.file.StandardWatchEventKinds.ENTRY_CREATE, e.kind());
                Path name = (Path) e.context();
                assertEquals(root.resolve("new"), root.resolve(name));
                assertInstanceOf(UringFileSystemProvider.class, name.getFileSystem().provider());
            }
            assertTrue(taken.reset());
            taken.cancel();
            assertFalse(taken.isValid());
        }
    }

    @Test
    void comparingWithAForeignPathThrowsClassCastExceptionAsPathSays() {
        Path root = UringFiles.path(dir);
        assertThrows(ClassCastException.class, () -> root.compareTo(dir));
        assertThrows(ClassCastException.class, () -> dir.compareTo(root), "the JDK's path, the other way round");
        assertThrows(NullPointerException.class, () -> root.startsWith((Path) null));
        assertThrows(NullPointerException.class, () -> root.endsWith((Path) null));
        assertFalse(root.startsWith(dir), "a foreign path never starts one of ours");
        assertEquals(0, root.compareTo(UringFiles.path(dir)));
    }
}
