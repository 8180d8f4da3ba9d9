package io.uringaio.nio;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Objects;

/**
 * A path of the {@link UringFileSystem}: a JDK path wrapped so that {@code Files.*} calls on it reach the
 * {@link UringFileSystemProvider}. Every operation is the wrapped path's, with paths wrapped and unwrapped at the edge.
 */
final class UringPath implements Path {
    private final UringFileSystem fs;
    private final Path delegate;

    UringPath(UringFileSystem fs, Path delegate) {
        this.fs = fs;
        this.delegate = delegate;
    }

    /** The JDK path this path wraps. */
    Path delegate() {
        return delegate;
    }

    private Path wrap(Path p) {
        return fs.wrap(p);
    }

    private Path unwrap(Path other) {
        if (other instanceof UringPath u) {
            return u.delegate;
        }
        if (other == null) {
            throw new NullPointerException();
        }
        throw new ProviderMismatchException();
    }

    @Override
    public UringFileSystem getFileSystem() {
        return fs;
    }

    @Override
    public boolean isAbsolute() {
        return delegate.isAbsolute();
    }

    @Override
    public Path getRoot() {
        return wrap(delegate.getRoot());
    }

    @Override
    public Path getFileName() {
        return wrap(delegate.getFileName());
    }

    @Override
    public Path getParent() {
        return wrap(delegate.getParent());
    }

    @Override
    public int getNameCount() {
        return delegate.getNameCount();
    }

    @Override
    public Path getName(int index) {
        return wrap(delegate.getName(index));
    }

    @Override
    public Path subpath(int beginIndex, int endIndex) {
        return wrap(delegate.subpath(beginIndex, endIndex));
    }

    @Override
    public boolean startsWith(Path other) {
        return Objects.requireNonNull(other) instanceof UringPath u && delegate.startsWith(u.delegate);
    }

    @Override
    public boolean endsWith(Path other) {
        return Objects.requireNonNull(other) instanceof UringPath u && delegate.endsWith(u.delegate);
    }

    @Override
    public Path normalize() {
        return wrap(delegate.normalize());
    }

    @Override
    public Path resolve(Path other) {
        return wrap(delegate.resolve(unwrap(other)));
    }

    @Override
    public Path relativize(Path other) {
        return wrap(delegate.relativize(unwrap(other)));
    }

    @Override
    public URI toUri() {
        return delegate.toUri();
    }

    @Override
    public Path toAbsolutePath() {
        return wrap(delegate.toAbsolutePath());
    }

    @Override
    public Path toRealPath(LinkOption... options) throws IOException {
        return wrap(delegate.toRealPath(options));
    }

    /**
     * A {@code File} for this path. Not the delegate's {@code toFile()}: that refuses a path whose file system is
     * not the JVM's default, which the wrapped JDK path is not when this provider is installed as the default.
     */
    @Override
    public File toFile() {
        return new File(delegate.toString());
    }

    @Override
    public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events, WatchEvent.Modifier... modifiers)
            throws IOException {
        if (watcher instanceof UringWatchService ws) {
            return ws.wrap(delegate.register(ws.delegate(), events, modifiers));
        }
        return delegate.register(watcher, events, modifiers); // the JDK refuses a foreign watcher its own way

    }

    @Override
    public int compareTo(Path other) {
        if (!(other instanceof UringPath u)) {
            // Path.compareTo's contract for another provider's path (the JDK's paths cast, as this does)
            throw new ClassCastException(other.getClass().getName() + " is not a " + UringPath.class.getName());
        }
        return delegate.compareTo(u.delegate);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof UringPath u && u.fs == fs && delegate.equals(u.delegate);
    }

    @Override
    public int hashCode() {
        return delegate.hashCode();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }
}
