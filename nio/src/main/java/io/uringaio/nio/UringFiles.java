package io.uringaio.nio;

import java.io.IOException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.util.Collections;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ExecutorService;

/**
 * Explicit entry points, for applications that do not install {@link UringFileSystemProvider} as the JVM's default:
 * channels on the engine for paths of the default file system.
 */
public final class UringFiles {
    private UringFiles() {
    }

    /** Like {@link FileChannel#open(Path, OpenOption...)}, on the engine. */
    public static FileChannel newFileChannel(Path path, OpenOption... options) throws IOException {
        return newFileChannel(path, asSet(options));
    }

    /**
     * The options as the JDK's {@code open(Path, OpenOption...)} collects them: a repeated option is no error
     * ({@code Set.of} would refuse it with IllegalArgumentException), a null one is the provider's to refuse (NPE).
     */
    private static Set<OpenOption> asSet(OpenOption... options) {
        Set<OpenOption> set = new HashSet<>();
        Collections.addAll(set, options);
        return set;
    }

    /** Like {@link FileChannel#open(Path, Set, FileAttribute[])}, on the engine. */
    public static FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        return UringFileSystemProvider.instance().newFileChannel(path, options, attrs);
    }

    /** Like {@link AsynchronousFileChannel#open(Path, OpenOption...)}, on the engine. */
    public static AsynchronousFileChannel newAsynchronousFileChannel(Path path, OpenOption... options)
            throws IOException {
        return UringFileSystemProvider.instance().newAsynchronousFileChannel(path, asSet(options), null);
    }

    /** Like {@link AsynchronousFileChannel#open(Path, Set, ExecutorService, FileAttribute[])}, on the engine. */
    public static AsynchronousFileChannel newAsynchronousFileChannel(Path path, Set<? extends OpenOption> options,
                                                                     ExecutorService executor,
                                                                     FileAttribute<?>... attrs) throws IOException {
        return UringFileSystemProvider.instance().newAsynchronousFileChannel(path, options, executor, attrs);
    }

    /**
     * The backend of the provider's shared engine (starting it if need be): {@code IO_URING}, or {@code THREAD_POOL}
     * where io_uring is unavailable or {@code -Duringaio.backend=THREAD_POOL} asks for it; null when the provider is
     * turned off ({@code -Duringaio.nio.enabled=false}).
     */
    public static io.uringaio.engine.Backend backend() {
        if (!SharedEngine.enabled()) {
            return null;
        }
        io.uringaio.engine.RingEngine engine = SharedEngine.get();
        return engine == null ? null : engine.backend();
    }

    /**
     * The counters of the provider's shared engine (requests submitted and completed, page-cache hits...), or null
     * when the provider is turned off or the engine not started yet.
     */
    public static io.uringaio.engine.EngineStats stats() {
        if (!SharedEngine.enabled()) {
            return null;
        }
        io.uringaio.engine.RingEngine engine = SharedEngine.started();
        return engine == null ? null : engine.stats();
    }

    /**
     * {@code path} as a path of the uring provider's file system, so that {@code Files.newByteChannel},
     * {@code FileChannel.open}, {@code Files.newInputStream} (and libraries using them) on it and on every path
     * resolved from it go through the engine.
     */
    public static Path path(Path path) {
        UringFileSystemProvider provider = UringFileSystemProvider.instance();
        return provider.wrap(provider.unwrap(path));
    }
}
