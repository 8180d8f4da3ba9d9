package io.uringaio.nio;

import io.uringaio.engine.RingEngine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.spi.FileSystemProvider;
import java.util.Collections;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;

/**
 * A {@code file:} provider that wraps the JDK's default one and opens {@link FileChannel}s, byte channels and
 * {@link AsynchronousFileChannel}s on the uring-aio engine ({@link UringFileChannel},
 * {@link UringAsynchronousFileChannel}); everything else (directories, attributes, copy, move, watch, file stores)
 * is the JDK's.
 *
 * <p>Installed as the JVM's default with
 * {@code -Djava.nio.file.spi.DefaultFileSystemProvider=io.uringaio.nio.UringFileSystemProvider} (the class on the
 * class path), an unchanged application's {@code FileChannel.open}, {@code Files.newByteChannel},
 * {@code Files.newInputStream}/{@code newOutputStream} and {@code AsynchronousFileChannel.open} run on the engine.
 * Without the property, {@link UringFiles} opens channels explicitly.
 *
 * <p>Installed as the default, it cannot serve what the JDK reserves to its built-in provider: Unix-domain socket
 * addresses ({@code UnixDomainSocketAddress.of} refuses a path of a default file system that is not the JDK's own, with
 * IllegalArgumentException, and an unnamed bind is UnsupportedOperationException). An application that needs those
 * keeps the JDK's provider and opens its files through {@link UringFiles}.
 *
 * <p>The engine is one shared instance, started on first open (io_uring, else the engine's thread pool where io_uring
 * is blocked). {@code -Duringaio.nio.enabled=false} makes this provider hand out the JDK's own channels.
 */
public final class UringFileSystemProvider extends FileSystemProvider {
    private static volatile UringFileSystemProvider explicit;

    private final FileSystemProvider delegate;
    private final UringFileSystem fileSystem;

    /**
     * The constructor the JDK calls when this class is named by {@code java.nio.file.spi.DefaultFileSystemProvider}.
     *
     * @param delegate the JDK's built-in default provider
     */
    public UringFileSystemProvider(FileSystemProvider delegate) {
        if (delegate instanceof UringFileSystemProvider u) {
            delegate = u.delegate;
        }
        this.delegate = delegate;
        this.fileSystem = new UringFileSystem(this, delegate.getFileSystem(URI.create("file:///")));
    }

    /** A provider over the current default one (for explicit use; see {@link UringFiles}). */
    public UringFileSystemProvider() {
        this(FileSystems.getDefault().provider());
    }

    /** The provider {@link UringFiles} uses: the installed default if it is this class, else one made once. */
    static UringFileSystemProvider instance() {
        if (FileSystems.getDefault().provider() instanceof UringFileSystemProvider installed) {
            return installed;
        }
        UringFileSystemProvider p = explicit;
        if (p == null) {
            synchronized (UringFileSystemProvider.class) {
                if (explicit == null) {
                    explicit = new UringFileSystemProvider();
                }
                p = explicit;
            }
        }
        return p;
    }

    /** The wrapped JDK provider. */
    FileSystemProvider jdkProvider() {
        return delegate;
    }

    /** This provider's file system (the default one when installed). */
    UringFileSystem fileSystem() {
        return fileSystem;
    }

    /** {@code path} as a path of the JDK's file system: unwrapped, or as it is if it already is one. */
    Path unwrap(Path path) {
        if (path instanceof UringPath u) {
            return u.delegate();
        }
        if (path == null) {
            throw new NullPointerException("path");
        }
        if (path.getFileSystem().provider() == delegate) {
            return path;
        }
        throw new ProviderMismatchException(path.getClass().getName());
    }

    /** {@code path} as a path of this provider's file system. */
    Path wrap(Path path) {
        return fileSystem.wrap(path);
    }

    // ---------------------------------------------------------------- channels: the engine

    @Override
    public FileChannel newFileChannel(Path path, Set<? extends OpenOption> options, FileAttribute<?>... attrs)
            throws IOException {
        Path p = unwrap(path);
        checkCreationAttributes(attrs);
        RingEngine engine = SharedEngine.enabled() ? SharedEngine.get() : null;
        if (engine == null) {
            return delegate.newFileChannel(p, options, attrs);
        }
        OpenSpec spec = OpenSpec.of(options, true); // before the file is looked at, as the JDK checks them
        refuseCreatingDot(spec, p);
        if (!engineCanName(p) || !regularOrAbsent(p, options)) {
            return delegate.newFileChannel(p, options, attrs);
        }
        return UringFileChannel.open(engine, delegate, p, spec, attrs);
    }

    @Override
    public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
                                              FileAttribute<?>... attrs) throws IOException {
        FileChannel channel = newFileChannel(path, options, attrs);
        if (options.isEmpty() && channel instanceof UringFileChannel u && calledByReadAllBytes()) {
            u.setUninterruptible();
        }
        return channel;
    }

    /**
     * Whether {@code Files.readAllBytes} (and so {@code readString}) is opening the channel: the JDK makes its own
     * channel uninterruptible there, which it cannot do for ours, so an interrupted thread would fail a read the JDK
     * completes. It opens with no options; only such opens pay for this look at the few frames above.
     */
    private static boolean calledByReadAllBytes() {
        return StackWalker.getInstance().walk(frames -> frames.limit(8).anyMatch(
                f -> f.getMethodName().equals("readAllBytes") && f.getClassName().equals("java.nio.file.Files")));
    }

    /**
     * As the JDK's: APPEND and WRITE refused, the channel's stream; uninterruptible like the JDK's (streams, like
     * {@code FileInputStream}, are not interruptible).
     */
    @Override
    public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
        for (OpenOption option : options) {
            if (option == StandardOpenOption.APPEND || option == StandardOpenOption.WRITE) {
                throw new UnsupportedOperationException("'" + option + "' not allowed");
            }
        }
        Set<OpenOption> set = new HashSet<>();
        Collections.addAll(set, options);
        ReadableByteChannel channel = newFileChannel(path, set);
        if (channel instanceof UringFileChannel u) {
            u.setUninterruptible();
        }
        return Channels.newInputStream(channel);
    }

    /**
     * As the JDK's: no options means CREATE, TRUNCATE_EXISTING and WRITE; READ refused; WRITE added; uninterruptible
     * like the JDK's.
     */
    @Override
    public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
        Set<OpenOption> set = new HashSet<>();
        if (options.length == 0) {
            set.add(StandardOpenOption.CREATE);
            set.add(StandardOpenOption.TRUNCATE_EXISTING);
        } else {
            for (OpenOption option : options) {
                if (option == StandardOpenOption.READ) {
                    throw new IllegalArgumentException("READ not allowed");
                }
                set.add(option);
            }
        }
        set.add(StandardOpenOption.WRITE);
        WritableByteChannel channel = newByteChannel(path, set);
        if (channel instanceof UringFileChannel u) {
            u.setUninterruptible();
        }
        return Channels.newOutputStream(channel);
    }

    @Override
    public AsynchronousFileChannel newAsynchronousFileChannel(Path path, Set<? extends OpenOption> options,
                                                              ExecutorService executor, FileAttribute<?>... attrs)
            throws IOException {
        Path p = unwrap(path);
        checkCreationAttributes(attrs);
        RingEngine engine = SharedEngine.enabled() ? SharedEngine.get() : null;
        if (engine == null) {
            return delegate.newAsynchronousFileChannel(p, options, executor, attrs);
        }
        OpenSpec spec = OpenSpec.ofAsynchronous(options); // before the file is looked at, as the JDK checks them
        refuseCreatingDot(spec, p);
        if (!engineCanName(p) || !regularOrAbsent(p, options)) {
            return delegate.newAsynchronousFileChannel(p, options, executor, attrs);
        }
        return UringAsynchronousFileChannel.open(engine, delegate, p, spec, executor, attrs);
    }

    /**
     * {@code CREATE_NEW} of a name that is "." (alone or last) is FileAlreadyExistsException before any look at the
     * file, as in the JDK ("to avoid confusing error": the kernel's answer would be ENOENT or ENOTDIR for
     * {@code missing/.} or {@code file/.}, and EISDIR for a directory's).
     */
    private static void refuseCreatingDot(OpenSpec spec, Path p) throws FileAlreadyExistsException {
        if (spec.write() && spec.createNew()) {
            String name = p.toString();
            if (name.equals(".") || name.endsWith("/.")) {
                throw new FileAlreadyExistsException(name);
            }
        }
    }

    /** Whether the JVM encodes file names in UTF-8 (sun.jnu.encoding), as the engine's open does. */
    private static final boolean UTF8_NAMES = "UTF-8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding", "UTF-8"))
            || "UTF8".equalsIgnoreCase(System.getProperty("sun.jnu.encoding"));

    /**
     * Whether the engine's open names the same file as the JDK's: it passes the path's string as UTF-8, the JDK the
     * path's own bytes. They differ for a name that is not valid UTF-8 (made by another program, found by listing a
     * directory: its string has U+FFFD where the bytes were), and for any non-ASCII name where the JVM's file name
     * encoding is not UTF-8. Those go to the JDK's channel; a scan of the name costs nothing next to the open.
     */
    static boolean engineCanName(Path p) {
        String name = p.toString();
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 0x80 && (!UTF8_NAMES || c == '\uFFFD')) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether {@code p} is a regular file (or does not exist yet): FIFOs, devices and directories get the JDK's
     * channel. A read of a FIFO can wait forever, and the engine's file lets requests in flight finish before it
     * closes: an interrupt (which closes the channel) would hang; the JDK signals the blocked thread instead.
     */
    private boolean regularOrAbsent(Path p, Set<? extends OpenOption> options) throws IOException {
        // DELETE_ON_CLOSE opens with O_NOFOLLOW too: a link is the JDK's to refuse, with its own exception.
        boolean noFollow = options.contains(LinkOption.NOFOLLOW_LINKS)
                || options.contains(StandardOpenOption.DELETE_ON_CLOSE);
        LinkOption[] links = noFollow ? new LinkOption[] {LinkOption.NOFOLLOW_LINKS} : new LinkOption[0];
        BasicFileAttributes attributes = delegate.readAttributesIfExists(p, BasicFileAttributes.class, links);
        return attributes == null || attributes.isRegularFile();
    }

    /**
     * Refuses creation attributes as the JDK's provider does, up front and whatever the options (also for a file
     * that exists, or an open that does not create): see {@link OpenSpec#creationMode}.
     */
    static void checkCreationAttributes(FileAttribute<?>... attrs) {
        OpenSpec.creationMode(attrs);
    }

    // ---------------------------------------------------------------- everything else: the JDK

    @Override
    public String getScheme() {
        return delegate.getScheme();
    }

    @Override
    public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
        return delegate.newFileSystem(uri, env);
    }

    @Override
    public FileSystem newFileSystem(Path path, Map<String, ?> env) throws IOException {
        return delegate.newFileSystem(unwrap(path), env);
    }

    @Override
    public FileSystem getFileSystem(URI uri) {
        delegate.getFileSystem(uri);
        return fileSystem;
    }

    @Override
    public Path getPath(URI uri) {
        return wrap(delegate.getPath(uri));
    }

    @Override
    public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
            throws IOException {
        Path d = unwrap(dir);
        Objects.requireNonNull(filter, "filter"); // at the call, as the JDK: not at the first entry
        return UringDirectoryStream.of(delegate.newDirectoryStream(d, entry -> filter.accept(wrap(entry))), this);
    }

    @Override
    public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
        delegate.createDirectory(unwrap(dir), attrs);
    }

    @Override
    public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs) throws IOException {
        delegate.createSymbolicLink(unwrap(link), unwrap(target), attrs);
    }

    @Override
    public void createLink(Path link, Path existing) throws IOException {
        delegate.createLink(unwrap(link), unwrap(existing));
    }

    @Override
    public Path readSymbolicLink(Path link) throws IOException {
        return wrap(delegate.readSymbolicLink(unwrap(link)));
    }

    @Override
    public void delete(Path path) throws IOException {
        delegate.delete(unwrap(path));
    }

    @Override
    public boolean deleteIfExists(Path path) throws IOException {
        return delegate.deleteIfExists(unwrap(path));
    }

    @Override
    public void copy(Path source, Path target, CopyOption... options) throws IOException {
        delegate.copy(unwrap(source), unwrap(target), options);
    }

    @Override
    public void move(Path source, Path target, CopyOption... options) throws IOException {
        delegate.move(unwrap(source), unwrap(target), options);
    }

    /**
     * As {@link java.nio.file.Files#isSameFile} documents: equal paths are the same file without a look at the file
     * system, and a second path of another provider is never the same file (false, not ProviderMismatchException);
     * a path of the JDK's default file system counts as another provider's here, as it does for the JDK's own.
     */
    @Override
    public boolean isSameFile(Path path, Path path2) throws IOException {
        Path p = unwrap(path);
        if (path.equals(path2)) {
            return true;
        }
        if (!(Objects.requireNonNull(path2, "path2") instanceof UringPath other)) {
            return false;
        }
        return delegate.isSameFile(p, other.delegate());
    }

    @Override
    public boolean isHidden(Path path) throws IOException {
        return delegate.isHidden(unwrap(path));
    }

    @Override
    public FileStore getFileStore(Path path) throws IOException {
        return delegate.getFileStore(unwrap(path));
    }

    @Override
    public void checkAccess(Path path, AccessMode... modes) throws IOException {
        delegate.checkAccess(unwrap(path), modes);
    }

    @Override
    public boolean exists(Path path, LinkOption... options) {
        return delegate.exists(unwrap(path), options);
    }

    @Override
    public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type, LinkOption... options) {
        return delegate.getFileAttributeView(unwrap(path), type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        return delegate.readAttributes(unwrap(path), type, options);
    }

    @Override
    public <A extends BasicFileAttributes> A readAttributesIfExists(Path path, Class<A> type, LinkOption... options)
            throws IOException {
        return delegate.readAttributesIfExists(unwrap(path), type, options);
    }

    @Override
    public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
            throws IOException {
        return delegate.readAttributes(unwrap(path), attributes, options);
    }

    @Override
    public void setAttribute(Path path, String attribute, Object value, LinkOption... options) throws IOException {
        delegate.setAttribute(unwrap(path), attribute, value, options);
    }
}
