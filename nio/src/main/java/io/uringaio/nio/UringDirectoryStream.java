package io.uringaio.nio;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.util.Iterator;
import java.util.Set;

/**
 * The JDK's directory stream seen through the uring file system: entries are wrapped paths. Where the JDK's stream is
 * a {@link SecureDirectoryStream} (Linux), so is this one ({@link Secure}): libraries test for it and refuse, or fall
 * back to a racy walk, without it (Guava's {@code MoreFiles.deleteRecursively} throws
 * {@code InsecureRecursiveDeleteException}).
 */
class UringDirectoryStream implements DirectoryStream<Path> {
    final DirectoryStream<Path> delegate;
    final UringFileSystemProvider provider;

    private UringDirectoryStream(DirectoryStream<Path> delegate, UringFileSystemProvider provider) {
        this.delegate = delegate;
        this.provider = provider;
    }

    /** {@code delegate} wrapped: a {@link Secure} one if it is secure. */
    static DirectoryStream<Path> of(DirectoryStream<Path> delegate, UringFileSystemProvider provider) {
        return delegate instanceof SecureDirectoryStream<Path> secure ? new Secure(secure, provider)
                : new UringDirectoryStream(delegate, provider);
    }

    @Override
    public Iterator<Path> iterator() {
        Iterator<Path> it = delegate.iterator();
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public Path next() {
                return provider.wrap(it.next());
            }
        };
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    /**
     * The secure kind: every call is the JDK's stream's, relative to its open directory, with path arguments
     * unwrapped (another provider's path: ProviderMismatchException, as the JDK's). Files opened here get the JDK's
     * channel (a file opened relative to a directory descriptor does not go through the engine).
     */
    static final class Secure extends UringDirectoryStream implements SecureDirectoryStream<Path> {
        private final SecureDirectoryStream<Path> secure;

        Secure(SecureDirectoryStream<Path> delegate, UringFileSystemProvider provider) {
            super(delegate, provider);
            this.secure = delegate;
        }

        @Override
        public SecureDirectoryStream<Path> newDirectoryStream(Path path, LinkOption... options) throws IOException {
            return new Secure(secure.newDirectoryStream(provider.unwrap(path), options), provider);
        }

        @Override
        public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                                  FileAttribute<?>... attrs) throws IOException {
            return secure.newByteChannel(provider.unwrap(path), options, attrs);
        }

        @Override
        public void deleteFile(Path path) throws IOException {
            secure.deleteFile(provider.unwrap(path));
        }

        @Override
        public void deleteDirectory(Path path) throws IOException {
            secure.deleteDirectory(provider.unwrap(path));
        }

        /** {@code targetdir}: one of these (its JDK stream is the target), else the JDK's to refuse. */
        @Override
        public void move(Path srcpath, SecureDirectoryStream<Path> targetdir, Path targetpath) throws IOException {
            SecureDirectoryStream<Path> target = targetdir instanceof Secure s ? s.secure : targetdir;
            secure.move(provider.unwrap(srcpath), target, provider.unwrap(targetpath));
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Class<V> type) {
            return secure.getFileAttributeView(type);
        }

        @Override
        public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
            return secure.getFileAttributeView(provider.unwrap(path), type, options);
        }
    }
}
