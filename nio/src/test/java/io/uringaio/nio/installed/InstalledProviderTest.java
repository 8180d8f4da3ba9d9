package io.uringaio.nio.installed;

import io.uringaio.nio.UringAsynchronousFileChannel;
import io.uringaio.nio.UringFileChannel;
import io.uringaio.nio.UringFileSystemProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs in the surefire execution that starts the JVM with
 * {@code -Djava.nio.file.spi.DefaultFileSystemProvider=io.uringaio.nio.UringFileSystemProvider}: unchanged JDK calls
 * land on the engine's channels, and the rest of the file system API still works on the wrapped paths.
 */
class InstalledProviderTest {
    @TempDir
    Path dir;

    @Test
    void theProviderIsTheJvmsDefault() {
        assertInstanceOf(UringFileSystemProvider.class, FileSystems.getDefault().provider());
        assertSame(FileSystems.getDefault(), Path.of("x").getFileSystem());
        assertSame(FileSystems.getDefault(), new File("x").toPath().getFileSystem());
        assertSame(FileSystems.getDefault(), dir.getFileSystem());
    }

    @Test
    void nettysIoUringStartsUnderTheProvider() {
        // Netty's io_uring start-up reads files and takes Path.toFile() while the provider is the default; a failure
        // there would silently land the engine on the thread pool.
        Throwable cause = io.netty.channel.uring.IoUring.unavailabilityCause();
        for (Throwable t = cause; t != null; t = t.getCause()) {
            for (StackTraceElement frame : t.getStackTrace()) {
                assertTrue(!frame.getClassName().startsWith("io.uringaio.nio"), "io_uring failed in the provider: "
                        + cause);
            }
        }
        assertEquals(cause == null ? io.uringaio.engine.Backend.IO_URING : io.uringaio.engine.Backend.THREAD_POOL,
                io.uringaio.nio.UringFiles.backend());
    }

    @Test
    void unchangedJdkCallsOpenTheEnginesChannels() throws Exception {
        Path p = dir.resolve("a.txt");
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            assertInstanceOf(UringFileChannel.class, ch);
            ch.write(ByteBuffer.wrap("one\n".getBytes()));
        }
        try (SeekableByteChannel ch = Files.newByteChannel(p)) {
            assertInstanceOf(UringFileChannel.class, ch);
            assertEquals(4, ch.size());
        }
        try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(p)) {
            assertInstanceOf(UringAsynchronousFileChannel.class, ch);
            ByteBuffer b = ByteBuffer.allocate(3);
            assertEquals(3, ch.read(b, 0).get());
        }
        Files.writeString(p, "two\n", StandardOpenOption.APPEND);
        assertEquals(List.of("one", "two"), Files.readAllLines(p));
        try (OutputStream out = Files.newOutputStream(dir.resolve("b.bin"))) {
            out.write(new byte[100_000]);
        }
        try (InputStream in = Files.newInputStream(dir.resolve("b.bin"))) {
            assertEquals(100_000, in.readAllBytes().length);
        }
        assertEquals(100_000, Files.size(dir.resolve("b.bin")));
    }

    @Test
    void directoriesAttributesCopyMoveAndWalkStillWork() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("x/y"));
        Files.writeString(sub.resolve("f"), "data");
        Files.copy(sub.resolve("f"), sub.resolve("g"));
        Files.move(sub.resolve("g"), dir.resolve("h"));
        Files.createSymbolicLink(dir.resolve("link"), Path.of("h"));
        assertEquals(Path.of("h"), Files.readSymbolicLink(dir.resolve("link")));
        assertEquals("data", Files.readString(dir.resolve("link")));
        try (Stream<Path> walk = Files.walk(dir)) {
            List<String> names = walk.map(q -> dir.relativize(q).toString()).sorted().toList();
            assertEquals(List.of("", "h", "link", "x", "x/y", "x/y/f"), names);
        }
        try (Stream<Path> list = Files.list(dir)) {
            assertTrue(list.allMatch(q -> q.getFileSystem() == FileSystems.getDefault()));
        }
        assertTrue(Files.isSameFile(dir.resolve("link"), dir.resolve("h")));
        assertEquals(4L, Files.readAttributes(dir.resolve("h"), "size").get("size"));
        assertTrue(FileSystems.getDefault().getPathMatcher("glob:**/*.txt").matches(dir.resolve("a/b.txt")));
        assertEquals(dir.toRealPath(), dir.resolve("x/..").toRealPath());
        Files.delete(dir.resolve("link"));
    }
}
