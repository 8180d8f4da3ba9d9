package io.uringaio.nio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.AbstractQueuedSynchronizer;
import java.util.concurrent.locks.LockSupport;

import io.uringaio.engine.AsyncFile;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A channel closed while another thread opens its companion JDK channel (through {@code /proc/self/fd/N}, on the
 * companion's first use). Before the fix the close did not wait for that open: the descriptor was closed, another file
 * took number N, and the companion then opened that other file, so an APPEND write, or a truncate, of the closed
 * channel landed in an unrelated file. The JDK provider under the channel is wrapped so the test holds the companion
 * open at its start (deterministic, no timing window).
 */
class CompanionCloseRaceTest {
    private static final long DEADLINE_SECONDS = 20;

    @TempDir
    Path dir;

    @Test
    void anAppendWriteRacingCloseNeverLandsInTheFileThatReusesTheNumber() throws Exception {
        Path closed = dir.resolve("closed");
        Path bystander = dir.resolve("bystander");
        HoldingProvider jdk = new HoldingProvider(FileSystems.getDefault().provider());
        FileChannel ch = UringFileChannel.open(SharedEngine.get(), jdk, closed,
                OpenSpec.of(Set.of(StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.APPEND),
                        false));
        int fd = fdOf(ch);
        AtomicReference<Throwable> writeFailure = new AtomicReference<>();
        Thread writer = Thread.ofPlatform().name("append-writer").start(() -> {
            try {
                ch.write(ByteBuffer.wrap("STRAY".getBytes(StandardCharsets.US_ASCII)));
            } catch (Throwable t) {
                writeFailure.set(t);
            }
        });
        raceCloseWithHeldCompanionOpen(jdk, ch::close, fd, bystander, writer);
        assertEquals("untouched", Files.readString(bystander),
                "an APPEND write of the closed channel landed in the file that reused its descriptor number");
        Throwable t = writeFailure.get();
        assertTrue(t == null || t instanceof ClosedChannelException, "unexpected failure " + t);
        // The write went to the closed channel's own file, or nowhere.
        String mine = Files.readString(closed);
        assertTrue(mine.isEmpty() || mine.equals("STRAY"), mine);
    }

    @Test
    void aTruncateRacingAsyncCloseNeverTruncatesTheFileThatReusesTheNumber() throws Exception {
        Path closed = dir.resolve("closed");
        Files.writeString(closed, "own bytes");
        Path bystander = dir.resolve("bystander");
        HoldingProvider jdk = new HoldingProvider(FileSystems.getDefault().provider());
        AsynchronousFileChannel ch = UringAsynchronousFileChannel.open(SharedEngine.get(), jdk, closed,
                OpenSpec.of(Set.of(StandardOpenOption.WRITE), false), null);
        int fd = fdOf(ch);
        AtomicReference<Throwable> truncateFailure = new AtomicReference<>();
        Thread truncater = Thread.ofPlatform().name("truncater").start(() -> {
            try {
                ch.truncate(0);
            } catch (Throwable t) {
                truncateFailure.set(t);
            }
        });
        raceCloseWithHeldCompanionOpen(jdk, ch::close, fd, bystander, truncater);
        assertEquals("untouched", Files.readString(bystander),
                "a truncate of the closed channel truncated the file that reused its descriptor number");
        Throwable t = truncateFailure.get();
        assertTrue(t == null || t instanceof ClosedChannelException, "unexpected failure " + t);
    }

    /**
     * With {@code user}'s companion open held at its start: closes the channel on another thread; once the close has
     * returned (before the fix) or is seen waiting for the companion open (after it), lets the open go on; once the
     * close returned, opens {@code bystander} (which takes the lowest free number, the closed one when nothing else
     * took it) with "untouched" in it. Returns when {@code user} and the close are done.
     */
    private static void raceCloseWithHeldCompanionOpen(HoldingProvider jdk, ThrowingRunnable close, int fd,
                                                       Path bystander, Thread user) throws Exception {
        assertTrue(jdk.entered.await(DEADLINE_SECONDS, TimeUnit.SECONDS), "companion open never started");
        CountDownLatch closeReturned = new CountDownLatch(1);
        AtomicReference<Throwable> closeFailure = new AtomicReference<>();
        Thread closer = Thread.ofPlatform().name("closer").start(() -> {
            try {
                close.run();
            } catch (Throwable t) {
                closeFailure.set(t);
            } finally {
                closeReturned.countDown();
            }
        });
        FileChannel reused = null;
        try {
            // Either the close returns (it did not wait for the companion open) or it waits on the companion's lock.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
            while (!closeReturned.await(1, TimeUnit.MILLISECONDS)
                    && !(LockSupport.getBlocker(closer) instanceof AbstractQueuedSynchronizer)) {
                assertTrue(System.nanoTime() < deadline, "close neither returned nor waited for the companion");
            }
            if (closeReturned.getCount() == 0) {
                reused = FileChannel.open(bystander, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                reused.write(ByteBuffer.wrap("untouched".getBytes(StandardCharsets.US_ASCII)));
                assumeTrue(bystander.equals(Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd))),
                        "the bystander did not take the closed number (another thread took it)");
            }
        } finally {
            jdk.release.countDown();
        }
        user.join(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS));
        closer.join(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS));
        assertTrue(!user.isAlive() && !closer.isAlive(), "user or close did not finish");
        assertEquals(null, closeFailure.get());
        if (reused == null) {
            Files.writeString(bystander, "untouched"); // the close waited: nothing could take the number meanwhile
        } else {
            reused.close();
        }
    }

    private static int fdOf(Object channel) throws ReflectiveOperationException {
        Field f = channel.getClass().getDeclaredField("file");
        f.setAccessible(true);
        return ((AsyncFile) f.get(channel)).fd();
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** The JDK's provider, with every companion open ({@code /proc/self/fd/...}) held at its start until released. */
    private static final class HoldingProvider extends FileSystemProvider {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final FileSystemProvider jdk;

        HoldingProvider(FileSystemProvider jdk) {
            this.jdk = jdk;
        }

        @Override
        public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
                throws IOException {
            if (path.toString().startsWith("/proc/self/fd/")) {
                entered.countDown();
                try {
                    if (!release.await(DEADLINE_SECONDS, TimeUnit.SECONDS)) {
                        throw new IOException("test hold never released");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            return jdk.newFileChannel(path, options, attrs);
        }

        @Override
        public String getScheme() {
            return jdk.getScheme();
        }

        @Override
        public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
            return jdk.newFileSystem(uri, env);
        }

        @Override
        public FileSystem getFileSystem(URI uri) {
            return jdk.getFileSystem(uri);
        }

        @Override
        public Path getPath(URI uri) {
            return jdk.getPath(uri);
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                                  FileAttribute<?>... attrs) throws IOException {
            return jdk.newByteChannel(path, options, attrs);
        }

        @Override
        public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
                throws IOException {
            return jdk.newDirectoryStream(dir, filter);
        }

        @Override
        public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
            jdk.createDirectory(dir, attrs);
        }

        @Override
        public void delete(Path path) throws IOException {
            jdk.delete(path);
        }

        @Override
        public void copy(Path source, Path target, CopyOption... options) throws IOException {
            jdk.copy(source, target, options);
        }

        @Override
        public void move(Path source, Path target, CopyOption... options) throws IOException {
            jdk.move(source, target, options);
        }

        @Override
        public boolean isSameFile(Path path, Path path2) throws IOException {
            return jdk.isSameFile(path, path2);
        }

        @Override
        public boolean isHidden(Path path) throws IOException {
            return jdk.isHidden(path);
        }

        @Override
        public FileStore getFileStore(Path path) throws IOException {
            return jdk.getFileStore(path);
        }

        @Override
        public void checkAccess(Path path, AccessMode... modes) throws IOException {
            jdk.checkAccess(path, modes);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            return jdk.getFileAttributeView(path, type, options);
        }

        @Override
        public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
                throws IOException {
            return jdk.readAttributes(path, type, options);
        }

        @Override
        public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
                throws IOException {
            return jdk.readAttributes(path, attributes, options);
        }

        @Override
        public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
                throws IOException {
            jdk.setAttribute(path, attribute, value, options);
        }
    }
}
