package io.uringaio.nio;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link FileChannel} whose reads, writes and syncs go through a {@link RingEngine}: io_uring, or the engine's thread
 * pool where io_uring is unavailable; except that on a platform thread a single-buffer write to a file opened without
 * {@code DIRECT}, and {@code force}, are system calls on that thread ({@link AsyncFile#writeBlocking},
 * {@link AsyncFile#syncBlocking}): io_uring would hand each to a kernel worker thread. Behaves as the JDK's {@code FileChannel} documents (positions, limits, end of
 * file, {@link ClosedChannelException}, {@link java.nio.channels.AsynchronousCloseException},
 * {@link ClosedByInterruptException}).
 *
 * <p>Reads of a file opened without {@code DIRECT} take the engine's page-cache fast path: cached bytes are copied on
 * the calling thread without a ring round trip. A thread waiting for the ring parks on a {@code CompletableFuture}, so
 * a virtual thread unmounts from its carrier instead of pinning it. Unlike the JDK's channel there is no monitor around
 * positional reads: they run in parallel.
 *
 * <p>What the ring does not do goes to a companion JDK {@code FileChannel} on the same open file (opened on first
 * need through {@code /proc/self/fd}): {@link #lock}/{@link #tryLock} (POSIX record locks, seen by other processes),
 * {@link #map} (mmap), {@link #truncate}, {@link #transferTo}/{@link #transferFrom} and the writes of an
 * {@code APPEND} channel (which must be atomic appends, {@code O_APPEND}).
 */
public final class UringFileChannel extends FileChannel {
    /** The most buffers one scatter or gather passes to the kernel (Linux's UIO_MAXIOV, the JDK's IOV_MAX). */
    private static final int IOV_MAX = 1024;

    private final AsyncFile file;
    private final Path path;
    private final FileSystemProvider jdk;
    private final OpenSpec spec;
    /** O_DIRECT block size, 0 when not direct. */
    private final int alignment;
    /** Serializes relative reads and writes with position changes; never held by positional I/O. */
    private final ReentrantLock positionLock = new ReentrantLock();
    private volatile long position;
    private final ReentrantLock companionLock = new ReentrantLock();
    private volatile FileChannel companion;
    /** Set for the channel of a stream (see {@link #setUninterruptible}): an interrupt neither ends nor closes it. */
    private volatile boolean uninterruptible;
    /** Closes the file if this channel becomes unreachable unclosed; run by close too. */
    private final java.lang.ref.Cleaner.Cleanable cleanable;

    private UringFileChannel(AsyncFile file, Path path, FileSystemProvider jdk, OpenSpec spec, int alignment) {
        this.cleanable = SharedEngine.CLEANER.register(this, closer(file));
        this.file = file;
        this.path = path;
        this.jdk = jdk;
        this.spec = spec;
        this.alignment = alignment;
    }

    /**
     * Opens {@code path} (a path of {@code jdk}'s file system) on {@code engine}.
     *
     * @param attrs file attributes for a file this call creates (its permissions; see {@link OpenSpec#creationMode})
     */
    static UringFileChannel open(RingEngine engine, FileSystemProvider jdk, Path path, OpenSpec spec,
                                 java.nio.file.attribute.FileAttribute<?>... attrs) throws IOException {
        AsyncFile file;
        try {
            file = AsyncFile.open(engine, path, OpenSpec.creationMode(attrs), spec.engineOptions()).join();
        } catch (CompletionException e) {
            throw OpenSpec.translate(e.getCause(), path);
        }
        int alignment;
        try {
            // After the open, as the JDK: a CREATE or CREATE_NEW direct channel's file did not exist before it.
            alignment = spec.direct() ? (int) jdk.getFileStore(path).getBlockSize() : 0;
        } catch (IOException | RuntimeException e) {
            file.closeAsync();
            throw e;
        }
        if (spec.deleteOnClose()) {
            // As the JDK does on Unix: unlink right after opening, so the name is gone and the data with the channel.
            try {
                jdk.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort, as in the JDK
            }
        }
        return new UringFileChannel(file, path, jdk, spec, alignment);
    }

    // ---------------------------------------------------------------- relative reads and writes

    @Override
    public int read(ByteBuffer dst) throws IOException {
        // In the JDK's order: a closed channel, the mode, then the buffer (null too).
        ensureOpen();
        checkReadable();
        checkReadOnlyDst(Objects.requireNonNull(dst, "dst"));
        return (int) atPosition(new ByteBuffer[] {dst}, false, at -> count(file.read(dst, at)));
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, dsts.length);
        ensureOpen();
        checkReadable();
        // Every buffer in the range, as the JDK: also one with no room, which the scatter then leaves out.
        for (int i = offset; i < offset + length; i++) {
            checkReadOnlyDst(Objects.requireNonNull(dsts[i], "buffer"));
        }
        ByteBuffer[] slice = slice(dsts, offset, length);
        return atPosition(slice, slice.length == 0,
                at -> count(slice.length == 1 ? file.read(slice[0], at) : file.readv(slice, at)));
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        // In the JDK's order: a closed channel, the mode, then the buffer (null too).
        ensureOpen();
        checkWritable();
        Objects.requireNonNull(src, "src");
        if (spec.append()) {
            return guardCompanion(() -> companion().write(src));
        }
        return (int) atPosition(new ByteBuffer[] {src}, false, at -> writeAt(src, at));
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, srcs.length);
        ensureOpen();
        checkWritable();
        if (spec.append()) {
            return guardCompanion(() -> companion().write(srcs, offset, length));
        }
        ByteBuffer[] slice = slice(srcs, offset, length);
        return atPosition(slice, slice.length == 0,
                at -> slice.length == 1 ? writeAt(slice[0], at) : count(file.writev(slice, at)));
    }

    /** A transfer of the engine's, started at a file position; its byte count. */
    @FunctionalInterface
    private interface Transfer {
        long at(long position) throws IOException;
    }

    /** The byte count of an engine transfer, waited for. */
    private static long count(CompletableFuture<? extends Number> transfer) throws IOException {
        return await(transfer).longValue();
    }

    /**
     * Whether this thread does the channel's writes of a file opened without {@code DIRECT}, and its syncs (with
     * {@code sync}), itself with plain system calls ({@link AsyncFile#writeBlocking}, {@link AsyncFile#syncBlocking})
     * rather than through a ring: io_uring hands every sync, and buffered writes on file systems such as ext4, to a
     * kernel worker thread, whose wake-up and the completion's way back cost a platform thread that waits for them
     * more than the call (the JDK's channel makes the same calls directly). A virtual thread goes through the ring,
     * which lets it unmount instead of pinning its carrier in a system call; so does one of the engine's threads.
     */
    private boolean onCallersThread(boolean sync) {
        return (sync || alignment == 0) && syncsOnCallersThread(file);
    }

    /**
     * Whether a sync of {@code file} on this thread is a system call here ({@link AsyncFile#syncBlocking}): a platform
     * thread that is not one of the engine's (see {@link #onCallersThread}); for both channels.
     */
    static boolean syncsOnCallersThread(AsyncFile file) {
        return !Thread.currentThread().isVirtual() && !file.engine().isEngineThread();
    }

    /** One buffer's write at {@code at}: on this thread where {@link #onCallersThread} says so, else through a ring. */
    private int writeAt(ByteBuffer src, long at) throws IOException {
        return onCallersThread(false) ? file.writeBlocking(src, at) : await(file.write(src, at));
    }

    /**
     * One relative transfer: under the position lock, at the channel's position, which then advances by the count.
     * A blocking section as in the JDK ({@code begin}/{@code end}): an interrupt or an asynchronous close during it
     * closes the channel and throws {@code ClosedByInterruptException} / {@code AsynchronousCloseException}.
     *
     * @param buffers the buffers, checked against the O_DIRECT alignment at the position
     * @param nothing true when there is nothing to transfer (no buffers): 0 without a request
     */
    private long atPosition(ByteBuffer[] buffers, boolean nothing, Transfer transfer) throws IOException {
        positionLock.lock();
        try {
            checkDirect(position, buffers);
            long n = 0;
            try {
                beginBlocking();
                if (!isOpen() || nothing) {
                    return 0;
                }
                n = transfer.at(position);
                if (n > 0) {
                    position += n;
                }
                return n;
            } finally {
                endBlocking(n > 0);
            }
        } finally {
            positionLock.unlock();
        }
    }

    // ---------------------------------------------------------------- positional reads and writes

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        Objects.requireNonNull(dst, "dst");
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureOpen();
        checkReadable();
        checkReadOnlyDst(dst);
        checkDirect(position, dst);
        int n = 0;
        try {
            beginBlocking();
            if (!isOpen()) {
                return 0;
            }
            n = await(file.read(dst, position));
            return n;
        } finally {
            endBlocking(n > 0);
        }
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        ensureOpen();
        checkWritable();
        if (spec.append()) {
            return guardCompanion(() -> companion().write(src, position));
        }
        checkDirect(position, src);
        int n = 0;
        try {
            beginBlocking();
            if (!isOpen()) {
                return 0;
            }
            n = writeAt(src, position);
            return n;
        } finally {
            endBlocking(n > 0);
        }
    }

    // ---------------------------------------------------------------- position, size, truncate, force

    @Override
    public long position() throws IOException {
        ensureOpen();
        if (spec.append()) {
            return size();
        }
        // A blocking section as in the JDK (where this is a seek): an interrupt pending closes the channel.
        boolean done = false;
        try {
            beginBlocking();
            if (!isOpen()) {
                return 0;
            }
            long p = position;
            done = true;
            return p;
        } finally {
            endBlocking(done);
        }
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        ensureOpen(); // before the argument check, as the JDK: a closed channel wins over -1
        if (newPosition < 0) {
            throw new IllegalArgumentException();
        }
        positionLock.lock();
        try {
            // A blocking section as in the JDK (where this is a seek): an interrupt pending closes the channel.
            boolean done = false;
            try {
                beginBlocking();
                if (!isOpen()) {
                    return this;
                }
                position = newPosition;
                done = true;
            } finally {
                endBlocking(done);
            }
        } finally {
            positionLock.unlock();
        }
        return this;
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        long size = -1;
        try {
            beginBlocking();
            if (!isOpen()) {
                return -1;
            }
            size = await(file.size());
            return size;
        } finally {
            endBlocking(size >= 0);
        }
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        ensureOpen(); // before the argument check, as the JDK: a closed channel wins over -1
        if (size < 0) {
            throw new IllegalArgumentException("Negative size");
        }
        checkWritable();
        positionLock.lock();
        try {
            guardCompanion(() -> companion().truncate(size));
            if (position > size) {
                position = size;
            }
        } finally {
            positionLock.unlock();
        }
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        ensureOpen();
        boolean done = false;
        try {
            beginBlocking();
            if (!isOpen()) {
                return;
            }
            if (onCallersThread(true)) {
                file.syncBlocking(metaData);
            } else {
                await(metaData ? file.fsync() : file.fdatasync());
            }
            done = true;
        } finally {
            endBlocking(done);
        }
    }

    // ---------------------------------------------------------------- transfers, locks, map: the JDK companion

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        ensureOpen();
        // The companion sees a uring target as an arbitrary channel and would only find it read-only when it writes:
        // never for a transfer of nothing. The JDK checks a file channel target's mode up front, in this order.
        if (target instanceof UringFileChannel u && u.isOpen()) {
            checkReadable();
            u.checkWritable();
        }
        return guardCompanion(() -> companion().transferTo(position, count, target));
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        ensureOpen();
        // As in transferTo: the JDK refuses a write-only file channel source up front, whatever the count.
        if (src instanceof UringFileChannel u && u.isOpen()) {
            u.checkReadable();
        }
        return guardCompanion(() -> companion().transferFrom(src, position, count));
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        ensureOpen();
        FileLock lock = guardCompanion(() -> companion().lock(position, size, shared));
        return new CompanionLock(this, lock);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        ensureOpen();
        FileLock lock = guardCompanion(() -> companion().tryLock(position, size, shared));
        return lock == null ? null : new CompanionLock(this, lock);
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        ensureOpen();
        return guardCompanion(() -> companion().map(mode, position, size));
    }

    @Override
    public MemorySegment map(MapMode mode, long offset, long size, Arena arena) throws IOException {
        ensureOpen();
        return guardCompanion(() -> companion().map(mode, offset, size, arena));
    }

    // ---------------------------------------------------------------- close

    @Override
    protected void implCloseChannel() throws IOException {
        FileChannel c = takeCompanion();
        IOException failure = null;
        if (c != null) {
            try {
                c.close();
            } catch (IOException e) {
                failure = e;
            }
        }
        cleanable.clean();
        try {
            file.closeAsync().join();
        } catch (CompletionException e) {
            IOException io = OpenSpec.translate(e.getCause(), path);
            if (failure == null) {
                failure = io;
            } else {
                failure.addSuppressed(io);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * The companion, if one was opened, for the close; under the companion's lock, so a companion open that passed its
     * open check finishes first (and is closed here) before the descriptor is closed. Without the lock, a close could
     * close the descriptor under that open, another file could take the number, and the companion would open that file
     * through {@code /proc/self/fd}: an APPEND write or a truncate of this channel landed in an unrelated file. One
     * that starts after the close began sees the channel closed.
     */
    private FileChannel takeCompanion() {
        companionLock.lock();
        try {
            return companion;
        } finally {
            companionLock.unlock();
        }
    }

    /** The cleaning action: must not capture the channel. */
    static Runnable closer(AsyncFile file) {
        return file::closeAsync;
    }

    /** The path this channel was opened on (of the JDK's file system). */
    Path path() {
        return path;
    }

    @Override
    public String toString() {
        return "UringFileChannel[" + path + "]";
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Makes this channel ignore interrupts, as the JDK makes the channels behind {@code Files.newInputStream},
     * {@code Files.newOutputStream} and {@code Files.readAllBytes} (streams, like {@code FileInputStream}, are not
     * interruptible): an interrupt neither fails a call nor closes the channel, and the thread keeps its status.
     */
    void setUninterruptible() {
        uninterruptible = true;
    }

    /** {@code begin()}, unless this channel is uninterruptible (the JDK's FileChannelImpl.beginBlocking). */
    private void beginBlocking() {
        if (!uninterruptible) {
            begin();
        }
    }

    /** {@code end(completed)}, unless this channel is uninterruptible. */
    private void endBlocking(boolean completed) throws java.nio.channels.AsynchronousCloseException {
        if (!uninterruptible) {
            end(completed);
        }
    }

    /** Waits for an engine result without pinning a virtual thread's carrier; failures as they would be thrown. */
    static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.join();
        } catch (CompletionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(cause);
        }
    }

    /** The companion JDK channel on the same open file description's file, opened on first need. */
    private FileChannel companion() throws IOException {
        FileChannel c = companion;
        if (c != null) {
            return c;
        }
        companionLock.lock();
        try {
            if (companion == null) {
                ensureOpen();
                Path self = jdk.getPath(URI.create("file:///proc/self/fd/" + file.fd()));
                companion = jdk.newFileChannel(self, spec.companionOptions());
            }
            return companion;
        } finally {
            companionLock.unlock();
        }
    }

    /**
     * Runs a call on the companion: when the companion was closed by an interrupt, this channel closes too, so the
     * caller sees what the JDK's channel would have done to itself. A lock reports that interrupt as
     * {@code FileLockInterruptionException} (the JDK's lock closes its channel too, then throws that).
     */
    private <T> T guardCompanion(CompanionCall<T> call) throws IOException {
        try {
            // An uninterruptible channel's companion (an interruptible JDK channel) must not see the interrupt status.
            return CompanionCall.withInterruptSetAside(uninterruptible, call);
        } catch (ClosedByInterruptException | FileLockInterruptionException e) {
            try {
                close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!isOpen()) {
            throw new ClosedChannelException();
        }
    }

    private void checkReadable() {
        if (!spec.read()) {
            throw new NonReadableChannelException();
        }
    }

    private void checkWritable() {
        if (!spec.write()) {
            throw new NonWritableChannelException();
        }
    }

    private static void checkReadOnlyDst(ByteBuffer dst) {
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
    }

    /**
     * The buffers of {@code buffers[offset..offset+length)} that have bytes remaining, at most {@link #IOV_MAX}, as
     * the JDK picks them: a buffer with nothing remaining takes no iovec. Counting the first {@code IOV_MAX} array
     * slots instead would make a gather of more buffers write 0 once those are done, and a write-until-done loop spin.
     * They hold at most the kernel's {@code MAX_RW_COUNT} bytes, the most one call transfers (the engine refuses a
     * vector of more), unless the first alone holds more: then it is the only one, and goes as a single buffer.
     */
    private static ByteBuffer[] slice(ByteBuffer[] buffers, int offset, int length) {
        ByteBuffer[] slice = new ByteBuffer[Math.min(length, IOV_MAX)];
        int n = 0;
        long total = 0;
        for (int i = offset; i < offset + length && n < slice.length; i++) {
            ByteBuffer b = Objects.requireNonNull(buffers[i], "buffer");
            int remaining = b.remaining();
            if (remaining == 0) {
                continue;
            }
            if (n > 0 && total + remaining > Uapi.MAX_RW_COUNT) {
                break; // a short transfer, as the kernel's own truncation of a longer vector would give
            }
            slice[n++] = b;
            total += remaining;
        }
        return n == slice.length ? slice : Arrays.copyOf(slice, n);
    }

    /** The JDK's O_DIRECT checks, with its messages. */
    private void checkDirect(long position, ByteBuffer... buffers) throws IOException {
        if (alignment == 0) {
            return;
        }
        if (position % alignment != 0) {
            throw new IOException("Channel position (" + position + ") is not a multiple of the block size ("
                    + alignment + ")");
        }
        for (ByteBuffer b : buffers) {
            if (b.isDirect()) {
                long address = MemorySegment.ofBuffer(b).address();
                if (address % alignment != 0) {
                    throw new IOException("Current location of the bytebuffer (" + b.position()
                            + ") is not a multiple of the block size (" + alignment + ")");
                }
            }
            if (b.remaining() % alignment != 0) {
                throw new IOException("Number of remaining bytes (" + b.remaining()
                        + ") is not a multiple of the block size (" + alignment + ")");
            }
        }
    }
}
