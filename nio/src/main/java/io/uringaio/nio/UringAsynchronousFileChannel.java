package io.uringaio.nio;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.spi.FileSystemProvider;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An {@link AsynchronousFileChannel} on a {@link RingEngine}: reads, writes and syncs are engine requests.
 *
 * <p><b>Handlers</b> run on the executor given to {@code open}, else on a virtual thread of their own; never on a
 * ring's thread. A {@code Future} result is a plain {@link Future} (not a {@code CompletableFuture}), so no code
 * chained on it can run on a ring's thread either.
 *
 * <p><b>Close</b> lets the requests in the kernel finish, then closes the descriptor; an operation that had not
 * completed when {@link #close()} was called completes with {@link AsynchronousCloseException}, as the JDK documents.
 *
 * <p>Locks, {@link #truncate} and {@code APPEND}-free {@link #size} work as in {@link UringFileChannel}: locks and
 * truncate through a companion JDK {@code FileChannel} on the same open file.
 */
public final class UringAsynchronousFileChannel extends AsynchronousFileChannel {
    /** Handlers of channels opened without an executor: each on a virtual thread of its own. */
    private static final Executor DEFAULT_HANDLER_EXECUTOR =
            command -> Thread.ofVirtual().name("uring-aio-nio-handler").start(command);

    private final AsyncFile file;
    private final FileSystemProvider jdk;
    private final OpenSpec spec;
    private final Executor executor;
    private volatile boolean open = true;
    private final ReentrantLock companionLock = new ReentrantLock();
    private volatile FileChannel companion;
    /** Closes the file if this channel becomes unreachable unclosed; run by close too. */
    private final java.lang.ref.Cleaner.Cleanable cleanable;

    private UringAsynchronousFileChannel(AsyncFile file, FileSystemProvider jdk, OpenSpec spec, Executor executor) {
        this.cleanable = SharedEngine.CLEANER.register(this, UringFileChannel.closer(file));
        this.file = file;
        this.jdk = jdk;
        this.spec = spec;
        this.executor = executor != null ? executor : DEFAULT_HANDLER_EXECUTOR;
    }

    static UringAsynchronousFileChannel open(RingEngine engine, FileSystemProvider jdk, Path path, OpenSpec spec,
                                             ExecutorService executor, FileAttribute<?>... attrs) throws IOException {
        if (spec.append()) {
            throw new UnsupportedOperationException("APPEND not allowed");
        }
        AsyncFile file;
        try {
            file = AsyncFile.open(engine, path, OpenSpec.creationMode(attrs), spec.engineOptions()).join();
        } catch (CompletionException e) {
            throw OpenSpec.translate(e.getCause(), path);
        }
        if (spec.deleteOnClose()) {
            try {
                jdk.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort, as in the JDK
            }
        }
        return new UringAsynchronousFileChannel(file, jdk, spec, executor);
    }

    // ---------------------------------------------------------------- read, write

    @Override
    public Future<Integer> read(ByteBuffer dst, long position) {
        return view(startRead(dst, position));
    }

    @Override
    public <A> void read(ByteBuffer dst, long position, A attachment,
                         CompletionHandler<Integer, ? super A> handler) {
        Objects.requireNonNull(handler, "handler");
        dispatch(startRead(dst, position), attachment, handler);
    }

    @Override
    public Future<Integer> write(ByteBuffer src, long position) {
        return view(startWrite(src, position));
    }

    @Override
    public <A> void write(ByteBuffer src, long position, A attachment,
                          CompletionHandler<Integer, ? super A> handler) {
        Objects.requireNonNull(handler, "handler");
        dispatch(startWrite(src, position), attachment, handler);
    }

    private CompletableFuture<Integer> startRead(ByteBuffer dst, long position) {
        // In the JDK's order: the position, the channel's mode, then the buffer.
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        if (!spec.read()) {
            throw new NonReadableChannelException();
        }
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("Read-only buffer");
        }
        if (!open) {
            return CompletableFuture.failedFuture(new ClosedChannelException());
        }
        return closeAware(file.read(dst, position));
    }

    private CompletableFuture<Integer> startWrite(ByteBuffer src, long position) {
        // In the JDK's order: the position, the channel's mode, a closed channel (a failed operation, whatever the
        // buffer, even null), then the buffer.
        if (position < 0) {
            throw new IllegalArgumentException("Negative position");
        }
        if (!spec.write()) {
            throw new NonWritableChannelException();
        }
        if (!open) {
            return CompletableFuture.failedFuture(new ClosedChannelException());
        }
        Objects.requireNonNull(src, "src");
        return closeAware(file.write(src, position));
    }

    /** An operation that was still running when the channel was closed fails with AsynchronousCloseException. */
    private <T> CompletableFuture<T> closeAware(CompletableFuture<T> op) {
        if (op.isDone()) {
            return op;
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        op.whenComplete((value, failure) -> {
            if (!open) {
                result.completeExceptionally(new AsynchronousCloseException());
            } else if (failure != null) {
                result.completeExceptionally(unwrap(failure));
            } else {
                result.complete(value);
            }
        });
        return result;
    }

    /**
     * Runs the handler on the executor once {@code op} is done; never on the completing (ring) thread. An executor
     * that refuses it (saturated, shut down) does not lose the completion: the operation already happened, so the
     * handler runs on a thread of its own instead. (The JDK runs the operation itself on the executor, so a refusal
     * there is thrown to the caller before anything is done; ours is in the kernel before the handler needs it.)
     *
     * <p>An application's executor is not asked from a ring's thread: its {@code execute} is code of the application
     * too, which may run the task right there (caller-runs) or wait for room in a bounded queue, and that ring's
     * thread serves every channel of the process. From there the hand-over itself goes to a virtual thread.
     */
    private <V, A> void dispatch(CompletableFuture<V> op, A attachment, CompletionHandler<V, ? super A> handler) {
        op.whenComplete((value, failure) -> {
            Runnable call = failure == null ? () -> handler.completed(value, attachment)
                    : () -> handler.failed(unwrap(failure), attachment);
            if (executor != DEFAULT_HANDLER_EXECUTOR && file.engine().isEngineThread()) {
                DEFAULT_HANDLER_EXECUTOR.execute(() -> handOver(call));
            } else {
                handOver(call);
            }
        });
    }

    /** Gives a handler's call to the executor, or runs it on a thread of its own if the executor refuses it. */
    private void handOver(Runnable call) {
        try {
            executor.execute(call);
        } catch (RejectedExecutionException refused) {
            DEFAULT_HANDLER_EXECUTOR.execute(call);
        }
    }

    // ---------------------------------------------------------------- size, truncate, force

    @Override
    public long size() throws IOException {
        ensureOpen();
        return UringFileChannel.await(file.size());
    }

    @Override
    public AsynchronousFileChannel truncate(long size) throws IOException {
        // In the JDK's order: the size, the channel's mode, then whether it is open.
        if (size < 0) {
            throw new IllegalArgumentException("Negative size");
        }
        if (!spec.write()) {
            throw new NonWritableChannelException();
        }
        ensureOpen();
        uninterruptibly(() -> companion().truncate(size));
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        ensureOpen();
        // A blocking call: a platform thread syncs itself (io_uring hands every sync to a kernel worker thread, whose
        // wake-up costs the waiting caller more than the call); a virtual thread goes through the ring and unmounts.
        if (UringFileChannel.syncsOnCallersThread(file)) {
            file.syncBlocking(metaData);
        } else {
            UringFileChannel.await(metaData ? file.fsync() : file.fdatasync());
        }
    }

    // ---------------------------------------------------------------- locks

    @Override
    public Future<FileLock> lock(long position, long size, boolean shared) {
        return view(startLock(position, size, shared));
    }

    @Override
    public <A> void lock(long position, long size, boolean shared, A attachment,
                         CompletionHandler<FileLock, ? super A> handler) {
        Objects.requireNonNull(handler, "handler");
        dispatch(startLock(position, size, shared), attachment, handler);
    }

    private CompletableFuture<FileLock> startLock(long position, long size, boolean shared) {
        checkLock(shared);
        if (!open) {
            return CompletableFuture.failedFuture(new ClosedChannelException());
        }
        try {
            // Uncontended (the usual case): at once, and overlaps throw here as in the JDK.
            FileLock lock = uninterruptibly(() -> companion().tryLock(position, size, shared));
            if (lock != null) {
                return CompletableFuture.completedFuture(new CompanionLock(this, lock));
            }
        } catch (IOException e) {
            return CompletableFuture.failedFuture(open ? e : new AsynchronousCloseException());
        }
        CompletableFuture<FileLock> result = new CompletableFuture<>();
        // A platform thread: the wait is in fcntl(F_SETLKW), which a close ends by signalling the waiting thread
        // (the JDK channel's NativeThreadSet). A virtual thread there cannot be signalled, and the close would wait
        // for the lock's holder to let go, possibly forever.
        Thread.ofPlatform().daemon().name("uring-aio-nio-lock").start(() -> {
            try {
                FileLock lock = companion().lock(position, size, shared);
                if (!result.complete(new CompanionLock(this, lock))) {
                    lock.release(); // its future was cancelled: nobody will ever release it
                }
            } catch (Throwable t) {
                result.completeExceptionally(open ? t : new AsynchronousCloseException());
            }
        });
        return result;
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        checkLock(shared);
        ensureOpen();
        FileLock lock = uninterruptibly(() -> companion().tryLock(position, size, shared));
        return lock == null ? null : new CompanionLock(this, lock);
    }

    private void checkLock(boolean shared) {
        if (shared && !spec.read()) {
            throw new NonReadableChannelException();
        }
        if (!shared && !spec.write()) {
            throw new NonWritableChannelException();
        }
    }

    // ---------------------------------------------------------------- open, close

    @Override
    public boolean isOpen() {
        return open;
    }

    @Override
    public void close() throws IOException {
        if (!open) {
            return;
        }
        open = false;
        // Under the companion's lock: a companion open that passed its open check finishes first and is closed here,
        // before the descriptor is; else it could open, through /proc/self/fd, whatever file took the number next
        // (see UringFileChannel#takeCompanion).
        FileChannel c;
        companionLock.lock();
        try {
            c = companion;
        } finally {
            companionLock.unlock();
        }
        if (c != null) {
            c.close();
        }
        cleanable.clean();
        UringFileChannel.await(file.closeAsync());
    }

    private void ensureOpen() throws ClosedChannelException {
        if (!open) {
            throw new ClosedChannelException();
        }
    }

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
     * A call on the companion, with the caller's interrupt status set aside
     * ({@link CompanionCall#withInterruptSetAside}): an AsynchronousFileChannel is not interruptible (the JDK's
     * truncate and tryLock ignore an interrupt).
     */
    private static <T> T uninterruptibly(CompanionCall<T> call) throws IOException {
        return CompanionCall.withInterruptSetAside(true, call);
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    /**
     * A view of a future without a completion stage to chain code onto a ring's thread. Its {@code cancel} is the
     * JDK's: a pending operation's future completes with {@code CancellationException} (the operation itself still
     * runs to its end; its buffer must not be used meanwhile), and {@code cancel(true)} closes the channel.
     */
    private <T> Future<T> view(CompletableFuture<T> future) {
        return new Future<>() {
            @Override
            public boolean cancel(boolean mayInterruptIfRunning) {
                // Only a future of this channel's is pending here (closeAware, startLock): the engine's own futures
                // reach a view only when already done, where cancel changes nothing.
                // (Not CompletableFuture.cancel: that says true again to a second cancel, Future says false.)
                if (!future.completeExceptionally(new java.util.concurrent.CancellationException())) {
                    return false;
                }
                if (mayInterruptIfRunning) {
                    try {
                        close();
                    } catch (IOException ignored) {
                        // as the JDK's cancel: the close's failure is not the caller's
                    }
                }
                return true;
            }

            @Override
            public boolean isCancelled() {
                return future.isCancelled();
            }

            @Override
            public boolean isDone() {
                return future.isDone();
            }

            @Override
            public T get() throws InterruptedException, ExecutionException {
                return future.get();
            }

            @Override
            public T get(long timeout, TimeUnit unit)
                    throws InterruptedException, ExecutionException, TimeoutException {
                return future.get(timeout, unit);
            }
        };
    }
}
