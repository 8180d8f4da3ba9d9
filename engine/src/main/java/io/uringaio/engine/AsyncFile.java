package io.uringaio.engine;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A file opened through a {@link RingEngine}: positional, asynchronous reads and writes in the style of
 * {@link java.nio.channels.AsynchronousFileChannel}, with {@code CompletableFuture} results.
 *
 * <p><b>Buffers.</b> A {@code ByteBuffer} transfers from its position to its limit; on completion its position has
 * advanced by the count, before the future completes. Direct buffers go to the kernel as they are; heap buffers go
 * through pooled direct bounce buffers. A {@code MemorySegment} transfers its whole size; a native segment goes to the
 * kernel as it is, and its arena must stay open until the future completes: closing a shared arena while a read into
 * it is in flight frees memory the kernel then still writes into (the engine checks the arena is open when the call
 * is made, also behind a direct buffer made by {@code segment.asByteBuffer()}, but Java gives it no way to keep an
 * arena open; an {@code Arena.ofAuto()} segment is safe, the engine keeps
 * it reachable). The engine keeps every buffer and segment strongly reachable until its CQE. Do not touch a buffer
 * while an operation on it is in flight.
 *
 * <p><b>Concurrency and order.</b> Any thread may call any method; operations on one file spread over all the
 * engine's rings and run in parallel, in no particular order, except that {@link #fsync()} and {@link #fdatasync()}
 * start only after every write, {@link #fallocate} and {@link #writeDurable} submitted on this file before them has
 * completed. Overlapping writes in flight at the same time land in any order.
 *
 * <p><b>Where futures complete.</b> On a ring's thread, except reads served from the page cache: a
 * {@code read(ByteBuffer|MemorySegment, position)} of a file opened without {@link UringOpenOption#DIRECT} is first
 * tried with {@code preadv2(RWF_NOWAIT)} on the calling thread, and when every byte is cached its future is already
 * complete when {@code read} returns ({@link RingEngineConfig#pageCacheFastPath(boolean)} turns this off). With
 * {@link RingEngineConfig#callerRings(int)} on, an operation called from an application thread (a
 * {@code writeDurable} too: its write and {@code fdatasync} go in linked, in one enter) goes to that thread's caller
 * ring: {@code join()}, {@code get()} and
 * {@code get(timeout)} of its future then wait inside that ring's {@code io_uring_enter} and complete the future on
 * the waiting thread (no wake-up by another thread); a future nobody waits for completes on the engine's reaper
 * thread. Dependent stages ({@code thenApply}…) run on whichever thread completes the future, as usual.
 *
 * <p><b>Errors.</b> Bad arguments throw at once ({@code NullPointerException}, {@code IllegalArgumentException}) and
 * submit nothing. A closed file or engine gives a future that has already failed ({@link ClosedChannelException},
 * {@link EngineClosedException}). A kernel error fails the future with a {@link UringIOException} carrying the errno,
 * the operation and the path.
 *
 * <p><b>A future ended by its caller.</b> {@code cancel}, {@code complete} or {@code obtrude*} on an operation's
 * future ends the future only, not the operation: it runs to its end in the engine, still uses its buffer (the kernel
 * writes into a direct one; a heap one gets its bytes and its position moves when it ends) and still counts for
 * {@link #closeAsync()}. Until the file's close completes, treat the buffer of such an operation as in use. The one
 * exception is {@link #open}: canceling its future cancels the open (which may wait long: a FIFO's write end waits
 * for a reader), and a file opened after its future was ended is closed.
 *
 * <p><b>Close.</b> {@link #closeAsync()} refuses new operations, waits for those in flight, then closes the descriptor
 * through the ring, so a descriptor is never reused under a request.
 */
public final class AsyncFile implements AutoCloseable {
    private static final long CLOSING = 1L << 62;
    private static final int FD_OPEN = 0;
    private static final int FD_CLOSE_SUBMITTED = 1;
    private static final int FD_CLOSED = 2;
    private static final int IOV_MAX = 1024;
    private static final int DEFAULT_MODE = 0644;
    /** An empty C string, for statx with AT_EMPTY_PATH; the kernel only reads it. */
    private static final MemorySegment EMPTY_PATH = java.lang.foreign.Arena.global().allocate(1);

    final RingEngine engine;
    private final Path path;
    private final String pathString;
    private final int fd;
    private final boolean readable;
    private final boolean writable;
    private final boolean deleteOnClose;
    /** Opened O_DIRECT: reads skip the page-cache fast path (it would wait for the device on the caller's thread). */
    private final boolean direct;
    final WriteBarrier barrier = new WriteBarrier();
    /** In-flight operation count, with the CLOSING bit once close began. */
    private final AtomicLong state = new AtomicLong();
    private final AtomicInteger fdState = new AtomicInteger(FD_OPEN);
    /**
     * Operations counted and whose future has not completed yet. {@link #state}'s count drops first (the kernel is
     * done with the descriptor: it may be closed), this one after the future completed: {@link #closed} completes
     * only when both are done, so that every operation's future is complete when the close is.
     */
    private final AtomicInteger unsettled = new AtomicInteger();
    /** Completes when the descriptor is closed (or its close failed). */
    private final CompletableFuture<Void> descriptorClosed = new CompletableFuture<>();
    /** The public close: the descriptor closed and every operation's future complete. */
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    /** How many operation futures (of any file) this thread is completing now; a blocking close inside one of them
     * must not wait for the others to settle (its own caller is one). */
    private static final ThreadLocal<int[]> SETTLING = ThreadLocal.withInitial(() -> new int[1]);

    private AsyncFile(RingEngine engine, Path path, int fd, boolean readable, boolean writable, boolean deleteOnClose,
                      boolean direct) {
        this.engine = engine;
        this.direct = direct;
        this.path = path;
        this.pathString = path.toString();
        this.fd = fd;
        this.readable = readable;
        this.writable = writable;
        this.deleteOnClose = deleteOnClose;
    }

    // ---------------------------------------------------------------- open

    /** Opens {@code path} on {@code engine}; see {@link RingEngine#open(Path, OpenOption...)}. */
    public static CompletableFuture<AsyncFile> open(RingEngine engine, Path path, OpenOption... options) {
        return open(engine, path, DEFAULT_MODE, options);
    }

    /**
     * Opens {@code path} on {@code engine} as {@link RingEngine#open(Path, OpenOption...)} does, a file this open
     * creates getting the permission bits {@code mode} (less the umask) instead of {@code 0644}: {@code 0666} is what
     * the JDK's channels give, so a drop-in for them must too.
     *
     * @throws IllegalArgumentException if {@code mode} has bits outside {@code 07777}
     */
    public static CompletableFuture<AsyncFile> open(RingEngine engine, Path path, int mode, OpenOption... options) {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(path, "path");
        if ((mode & ~07777) != 0) {
            throw new IllegalArgumentException("mode " + Integer.toOctalString(mode) + " is not within 07777");
        }
        OpenFlags flags = OpenFlags.of(options);
        byte[] name = path.toAbsolutePath().toString().getBytes(StandardCharsets.UTF_8);
        for (byte b : name) {
            if (b == 0) {
                throw new IllegalArgumentException("path contains a NUL byte: " + path);
            }
        }
        // A LaneFuture: a join on the loop that runs the open fails fast instead of hanging (LaneFuture#checkMayWait).
        LaneFuture<AsyncFile> result = new LaneFuture<>(engine.blocked);
        BouncePool.Bounce pathBuffer;
        try {
            pathBuffer = engine.bouncePool.acquire(name.length + 1);
        } catch (OutOfMemoryError e) {
            result.completeExceptionally(new UringIOException(ErrnoTable.ENOMEM, "open", path.toString()));
            return result;
        }
        pathBuffer.buffer.put(0, name).put(name.length, (byte) 0);
        // Set by the open's own completion before it ends the future (published to the future's dependents by it).
        boolean[] endedByOpen = new boolean[1];
        Request openat = new Request((r, res) -> {
            endedByOpen[0] = true;
            engine.bouncePool.release(pathBuffer);
            if (res < 0) {
                result.completeExceptionally(r.canceledByClose() ? new EngineClosedException("open", path.toString())
                        : new UringIOException(-res, "open", path.toString()));
                return;
            }
            AsyncFile file = new AsyncFile(engine, path, res, flags.readable, flags.writable, flags.deleteOnClose,
                    (flags.oflags & Libc.O_DIRECT) != 0);
            engine.fileOpened(file);
            if (!engine.isOpen()) {
                file.closeFdNow();
                result.completeExceptionally(new EngineClosedException("open", path.toString()));
                return;
            }
            if (!result.complete(file)) {
                file.closeAsync(); // its caller ended the future (canceled it): nobody else can ever close this file
            }
        });
        openat.prepOpenat(Uapi.AT_FDCWD, pathBuffer.address, flags.oflags, mode).attach(pathBuffer);
        try {
            result.sentTo(engine.submitRouted(openat), openat);
        } catch (EngineRejectedException closedEngine) {
            engine.bouncePool.release(pathBuffer);
            result.completeExceptionally(new EngineClosedException("open", path.toString()));
            return result;
        }
        // An open can wait for long (a FIFO's write end waits for a reader): a future ended by its caller (cancel,
        // orTimeout, completeExceptionally...) cancels the open; a file that opens all the same is closed (above).
        result.whenComplete((file, failure) -> {
            if (!endedByOpen[0]) {
                engine.cancel(openat);
            }
        });
        return result;
    }

    // ---------------------------------------------------------------- combining futures

    /**
     * {@link CompletableFuture#allOf} for the engine's futures, with the engine's check of blocking waits: a
     * {@code join}/{@code get} of the result, while it is not done, on an event loop that runs an engine's ring fails
     * at once with Netty's {@code BlockingOperationException} (as a wait for one operation's future or a stage made from
     * it does), and so do the stages made from the result. Results and exceptions are {@code allOf}'s.
     *
     * <p>Use this, not {@code CompletableFuture.allOf}, for a future a completion callback might wait for. The JDK's
     * {@code allOf} and {@code anyOf} make a plain future that no engine can check: joined inside a callback on a ring's
     * thread it blocks the very loop that must deliver the operations it waits for, and that ring (every request on
     * it, and the engine's {@link RingEngine#close()}) hangs for good. On the thread pool such a join holds a worker
     * until its operations end on other workers.
     */
    public static CompletableFuture<Void> allOf(CompletableFuture<?>... futures) {
        return checked(CompletableFuture.allOf(futures));
    }

    /** {@link CompletableFuture#anyOf} with the engine's check of blocking waits: see {@link #allOf}. */
    public static CompletableFuture<Object> anyOf(CompletableFuture<?>... futures) {
        return checked(CompletableFuture.anyOf(futures));
    }

    /** A future of {@code plain}'s outcome whose blocking waits the engine checks ({@link LaneFuture.Dependent}). */
    private static <T> CompletableFuture<T> checked(CompletableFuture<T> plain) {
        LaneFuture.Dependent<T> result = new LaneFuture.Dependent<>();
        plain.whenComplete((value, failure) -> {
            if (failure == null) {
                result.complete(value);
            } else {
                result.completeExceptionally(failure); // allOf's own CompletionException: join and get report alike
            }
        });
        return result;
    }

    /** {@code StandardOpenOption}s as {@code open(2)} flags. */
    private record OpenFlags(int oflags, boolean readable, boolean writable, boolean deleteOnClose) {
        static OpenFlags of(OpenOption... options) {
            boolean read = false;
            boolean write = false;
            boolean create = false;
            boolean createNew = false;
            boolean truncate = false;
            boolean deleteOnClose = false;
            int extra = Libc.O_CLOEXEC;
            for (OpenOption o : options) {
                Objects.requireNonNull(o, "open option");
                if (o == StandardOpenOption.READ) {
                    read = true;
                } else if (o == StandardOpenOption.WRITE) {
                    write = true;
                } else if (o == StandardOpenOption.CREATE) {
                    create = true;
                } else if (o == StandardOpenOption.CREATE_NEW) {
                    createNew = true;
                } else if (o == StandardOpenOption.TRUNCATE_EXISTING) {
                    truncate = true;
                } else if (o == StandardOpenOption.DELETE_ON_CLOSE) {
                    deleteOnClose = true;
                } else if (o == StandardOpenOption.SPARSE) {
                    // a hint only
                } else if (o == StandardOpenOption.SYNC) {
                    extra |= Libc.O_SYNC;
                } else if (o == StandardOpenOption.DSYNC) {
                    extra |= Libc.O_DSYNC;
                } else if (o == LinkOption.NOFOLLOW_LINKS) {
                    extra |= Libc.O_NOFOLLOW;
                } else if (o == UringOpenOption.DIRECT) {
                    extra |= Libc.O_DIRECT;
                } else if (o == UringOpenOption.NOATIME) {
                    extra |= Libc.O_NOATIME;
                } else if (o == StandardOpenOption.APPEND) {
                    throw new UnsupportedOperationException("APPEND is not supported: AsyncFile writes are positional");
                } else {
                    throw new UnsupportedOperationException("unsupported open option " + o);
                }
            }
            if (!read && !write) {
                read = true;
            }
            int oflags = read && write ? Libc.O_RDWR : write ? Libc.O_WRONLY : Libc.O_RDONLY;
            if (write) {
                if (createNew) {
                    oflags |= Libc.O_CREAT | Libc.O_EXCL;
                } else if (create) {
                    oflags |= Libc.O_CREAT;
                }
                if (truncate) {
                    oflags |= Libc.O_TRUNC;
                }
            }
            return new OpenFlags(oflags | extra, read, write, deleteOnClose);
        }
    }

    // ---------------------------------------------------------------- reads and writes

    /**
     * Reads from the file at {@code position} into {@code dst}, from its position to its limit. The engine keeps
     * {@code dst} reachable until the future completes; the caller must not use it meanwhile.
     *
     * @return the number of bytes read, possibly fewer than asked (at end of file), or -1 if {@code position} is at
     *         or past the end of file and {@code dst} had room
     * @throws IllegalArgumentException if {@code dst} is read-only or {@code position} negative
     * @throws IllegalStateException    if {@code dst} is a direct buffer of an arena already closed
     * @throws WrongThreadException     if {@code dst} is a direct buffer of another thread's confined arena
     */
    public CompletableFuture<Integer> read(ByteBuffer dst, long position) {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read into a read-only buffer");
        }
        return transfer(FileOp.Kind.READ, dst, position);
    }

    /**
     * Writes {@code src}, from its position to its limit, at {@code position}.
     *
     * @return the number of bytes written (fewer than asked only when the kernel wrote less, e.g. ENOSPC midway)
     */
    public CompletableFuture<Integer> write(ByteBuffer src, long position) {
        Objects.requireNonNull(src, "src");
        return transfer(FileOp.Kind.WRITE, src, position);
    }

    /**
     * Writes {@code src} at {@code position} and, linked to it in the kernel ({@code IOSQE_IO_LINK}), an
     * {@code fdatasync}: the future completes only once the data is durable. Both SQEs reach the kernel together.
     * If the write is short, the bytes written are synced before the count is reported.
     */
    public CompletableFuture<Integer> writeDurable(ByteBuffer src, long position) {
        Objects.requireNonNull(src, "src");
        return transfer(FileOp.Kind.DURABLE_WRITE, src, position);
    }

    /**
     * {@link #writeDurable} done by the calling thread itself, with plain system calls ({@code pwrite(2)}, then
     * {@code fdatasync(2)}): no ring, no kernel worker, no hand-off; returns once the data is durable. For a thread
     * that would only wait for {@code writeDurable}'s future: io_uring cannot run an {@code fdatasync} without
     * blocking, so it always hands it to a kernel worker thread (as it does buffered writes on file systems without
     * non-blocking buffered writes, such as ext4), and that worker's wake-up and the completion's way back to the
     * waiting thread cost about 100 µs a call on a small VM: fio's write+fdatasync at queue depth 1 runs 1.7× faster
     * with {@code psync} than with {@code io_uring}.
     *
     * <p>As {@code writeDurable}: {@code src} from its position to its limit at {@code position}; the buffer's position
     * advances by the bytes written; a short write's bytes are synced before the count is returned. It counts as an
     * operation of the file: {@link #closeAsync()} waits for it, so the descriptor is never closed or reused under it;
     * and as a write for the order of {@link #fsync()} and {@link #fdatasync()}: one submitted while it runs starts
     * after its write. Not interruptible: an interrupt stays set and waits for the call to end (as a
     * {@code FileChannel}'s would not; the data is on its way to the disk either way). A heap buffer is copied
     * through a direct buffer, at most {@code BouncePool.MAX_CAPACITY} bytes.
     *
     * @return the bytes written (fewer than asked only when the kernel wrote less, e.g. ENOSPC midway)
     * @throws UringIOException         the write's or the sync's errno, naming the operation and the path
     * @throws ClosedChannelException   if the file is closed
     * @throws EngineClosedException    if the engine is closed
     * @throws IllegalStateException    on one of the engine's threads (a ring thread or pool worker must never block
     *                                  on a disk), or if {@code src} is a direct buffer of an arena already closed
     * @throws IllegalArgumentException if {@code position} is negative or a heap buffer is too large
     * @throws WrongThreadException     if {@code src} is a direct buffer of another thread's confined arena
     */
    public int writeDurableBlocking(ByteBuffer src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        return (int) onThisThread(FileOp.Kind.DURABLE_WRITE, src, position);
    }

    /**
     * {@link #write(ByteBuffer, long)} done by the calling thread itself with {@code pwrite(2)}: for a thread that would
     * only wait for the future, on a file whose writes io_uring hands to a kernel worker (buffered writes on file
     * systems without non-blocking buffered writes, such as ext4; not {@code O_DIRECT} writes, which the kernel
     * starts inline). The rest as {@link #writeDurableBlocking}, without the sync.
     *
     * @return the bytes written (fewer than asked only when the kernel wrote less, e.g. ENOSPC midway)
     * @throws UringIOException the write's errno, naming the operation and the path
     * @throws ClosedChannelException   if the file is closed
     * @throws EngineClosedException    if the engine is closed
     * @throws IllegalStateException    as {@link #writeDurableBlocking}
     * @throws IllegalArgumentException if {@code position} is negative or a heap buffer is too large
     * @throws WrongThreadException     if {@code src} is a direct buffer of another thread's confined arena
     */
    public int writeBlocking(ByteBuffer src, long position) throws IOException {
        Objects.requireNonNull(src, "src");
        return (int) onThisThread(FileOp.Kind.WRITE, src, position);
    }

    /**
     * {@link #fsync()} ({@code metadata}) or {@link #fdatasync()} done by the calling thread itself: io_uring always
     * hands a sync to a kernel worker. As those, it starts only after every write of this file called before it has
     * completed (those in flight in the engine: the thread waits for them). Not interruptible.
     *
     * @throws UringIOException       the sync's errno, naming the operation and the path
     * @throws ClosedChannelException if the file is closed
     * @throws EngineClosedException  if the engine is closed
     * @throws IllegalStateException  on one of the engine's threads
     */
    public void syncBlocking(boolean metadata) throws IOException {
        onThisThread(metadata ? FileOp.Kind.FSYNC : FileOp.Kind.FDATASYNC, null, 0);
    }

    /**
     * Waits, uninterruptibly, until every write of this file entered in the write barrier before this call has ended,
     * as {@link #fsync()} does in the engine: at once when none is in flight (the common case: no allocation).
     */
    private void awaitEarlierWrites() {
        if (barrier.quiet()) {
            return;
        }
        CompletableFuture<Void> drained = new CompletableFuture<>();
        barrier.afterWrites(() -> drained.complete(null));
        drained.join();
    }

    /**
     * A write ({@code WRITE}, {@code DURABLE_WRITE}: of {@code src} at {@code position}) and/or sync ({@code FSYNC},
     * {@code FDATASYNC}, {@code DURABLE_WRITE}) with plain system calls on the calling thread, counted as an operation
     * of the file (the descriptor stays open under it) and, for a write, entered in the write barrier.
     *
     * @return the bytes written; 0 for a sync
     */
    private long onThisThread(FileOp.Kind kind, ByteBuffer src, long position) throws IOException {
        checkPosition(position);
        if (engine.isEngineThread()) {
            throw new IllegalStateException(kind.opName + " on the calling thread, on one of the engine's threads ("
                    + pathString + "): it would stall every request of that thread; use the future's variant");
        }
        boolean writes = src != null;
        int start = writes ? src.position() : 0;
        int length = writes ? src.limit() - start : 0;
        MemorySegment memory = null;
        if (writes) {
            if (src.isDirect()) {
                memory = liveMemory(src);
            } else {
                checkBounceSize(length);
            }
        }
        IOException refused = refusal(kind);
        if (refused != null) {
            throw refused;
        }
        BouncePool.Bounce bounce = null;
        WriteBarrier.Epoch epoch = null;
        try {
            long written = 0;
            if (writes) {
                if (memory == null) {
                    bounce = allocateBounce(Math.max(1, length));
                    if (bounce == null) {
                        throw outOfBounceMemory(kind, length);
                    }
                    bounce.buffer.put(0, src, start, length);
                    memory = MemorySegment.ofBuffer(bounce.buffer);
                }
                epoch = barrier.enterWrite();
                // The memory as a segment: the downcall holds its arena for the call, so a shared arena closed by
                // another thread meanwhile fails its close (as with the JDK's channels) instead of freeing the
                // memory under the kernel.
                written = length == 0 ? 0 : Libc.pwrite(fd, memory, length, position);
                while (written == -ErrnoTable.EINTR) {
                    written = Libc.pwrite(fd, memory, length, position);
                }
                WriteBarrier.Epoch entered = epoch;
                epoch = null; // exited once, even if a sync it releases throws
                barrier.exitWrite(entered);
                if (written < 0) {
                    throw new UringIOException((int) -written, "write", pathString);
                }
            } else {
                awaitEarlierWrites();
            }
            if (kind != FileOp.Kind.WRITE) {
                boolean metadata = kind == FileOp.Kind.FSYNC;
                int synced = metadata ? Libc.fsync(fd) : Libc.fdatasync(fd);
                while (synced == -ErrnoTable.EINTR) {
                    synced = metadata ? Libc.fsync(fd) : Libc.fdatasync(fd);
                }
                if (synced < 0) {
                    throw new UringIOException(-synced, metadata ? "fsync" : "fdatasync", pathString);
                }
            }
            if (writes) {
                try {
                    src.position(start + (int) written);
                } catch (IllegalArgumentException e) {
                    throw new IllegalStateException(kind.opName + " " + pathString + ": " + written + " bytes written,"
                            + " but the buffer's limit moved below them during the call", e);
                }
            }
            return written;
        } finally {
            if (epoch != null) {
                barrier.exitWrite(epoch);
            }
            if (bounce != null) {
                engine.bouncePool.release(bounce);
            }
            release();
            exitSettle(enterSettle());
        }
    }

    private CompletableFuture<Integer> transfer(FileOp.Kind kind, ByteBuffer buffer, long position) {
        checkPosition(position);
        int length = buffer.remaining();
        MemorySegment memory = null;
        if (buffer.isDirect()) {
            memory = liveMemory(buffer);
        } else {
            checkBounceSize(length);
        }
        boolean isRead = kind == FileOp.Kind.READ;
        CompletableFuture<Integer> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, kind)) {
            return future;
        }
        if (length == 0 && kind != FileOp.Kind.DURABLE_WRITE) {
            return nothingToTransfer(future);
        }
        FileOp op = FileOp.acquireInt(this, kind, future);
        op.buffer = buffer;
        op.bufferResult = true;
        op.bufferStart = buffer.position();
        op.requested = length;
        long address;
        if (buffer.isDirect()) {
            address = memory.address();
            op.request.attach(buffer);
        } else {
            BouncePool.Bounce bounce = bounce(op, length);
            if (bounce == null) {
                return future;
            }
            if (!isRead) {
                bounce.buffer.put(0, buffer, buffer.position(), length);
            }
            address = bounce.address;
            op.request.attach(bounce);
        }
        if (isRead) {
            op.request.prepRead(fd, address, length, position).pageCacheFirst(!direct);
        } else {
            op.request.prepWrite(fd, address, length, position);
            op.epoch = barrier.enterWrite();
        }
        if (kind == FileOp.Kind.DURABLE_WRITE) {
            op.expectTwo();
            Request sync = op.syncRequest().prepFsync(fd, true);
            submitLinked(op, op.request, sync);
        } else {
            submit(op, op.request);
        }
        return future;
    }

    /**
     * Reads into the whole of {@code dst} from {@code position}. A native {@code dst}'s arena must stay open until
     * the future completes (see the class comment: closing it earlier lets the kernel write into freed memory); a heap
     * segment is read through a bounce buffer and filled on completion.
     *
     * @return the number of bytes read; 0 at end of file
     * @throws IllegalArgumentException if {@code dst} is read-only, larger than 2 GiB, its scope closed, or
     *                                  {@code position} negative
     */
    public CompletableFuture<Integer> read(MemorySegment dst, long position) {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("read into a read-only segment");
        }
        return transfer(FileOp.Kind.READ, dst, position);
    }

    /**
     * Writes the whole of {@code src} at {@code position}; the count written. A native {@code src}'s arena must stay
     * open until the future completes; a heap segment is copied into a bounce buffer before this returns.
     */
    public CompletableFuture<Integer> write(MemorySegment src, long position) {
        Objects.requireNonNull(src, "src");
        return transfer(FileOp.Kind.WRITE, src, position);
    }

    private CompletableFuture<Integer> transfer(FileOp.Kind kind, MemorySegment segment, long position) {
        checkPosition(position);
        if (segment.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes; at most 2 GiB per call");
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalArgumentException("segment's arena is closed");
        }
        int length = (int) segment.byteSize();
        if (!segment.isNative()) {
            checkBounceSize(length);
        }
        boolean isRead = kind == FileOp.Kind.READ;
        CompletableFuture<Integer> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, kind)) {
            return future;
        }
        if (length == 0) {
            return nothingToTransfer(future);
        }
        FileOp op = FileOp.acquireInt(this, kind, future);
        op.keepAlive = segment;
        op.requested = length;
        long address;
        if (segment.isNative()) {
            address = segment.address();
        } else {
            BouncePool.Bounce bounce = bounce(op, length);
            if (bounce == null) {
                return future;
            }
            if (!isRead) {
                MemorySegment.copy(segment, 0, MemorySegment.ofBuffer(bounce.buffer), 0, length);
            }
            address = bounce.address;
        }
        op.request.attach(segment);
        if (isRead) {
            op.request.prepRead(fd, address, length, position).pageCacheFirst(!direct);
        } else {
            op.request.prepWrite(fd, address, length, position);
            op.epoch = barrier.enterWrite();
        }
        submit(op, op.request);
        return future;
    }

    /**
     * Scatter read ({@code preadv}) into {@code dsts} in order, each from its position to its limit. The engine
     * keeps the buffers reachable until the future completes (it copies the array; the caller must not use the buffers
     * meanwhile).
     *
     * @return the total read, or -1 if {@code position} is at or past the end of file and the buffers had room
     */
    public CompletableFuture<Long> readv(ByteBuffer[] dsts, long position) {
        return vectored(FileOp.Kind.READV, dsts, position);
    }

    /** Gather write ({@code pwritev}) of {@code srcs} in order; the total written. */
    public CompletableFuture<Long> writev(ByteBuffer[] srcs, long position) {
        return vectored(FileOp.Kind.WRITEV, srcs, position);
    }

    private CompletableFuture<Long> vectored(FileOp.Kind kind, ByteBuffer[] buffers, long position) {
        Objects.requireNonNull(buffers, "buffers");
        checkPosition(position);
        boolean isRead = kind == FileOp.Kind.READV;
        if (buffers.length == 0 || buffers.length > IOV_MAX) {
            throw new IllegalArgumentException(buffers.length + " buffers; 1.." + IOV_MAX + " allowed");
        }
        long total = 0;
        for (ByteBuffer b : buffers) {
            Objects.requireNonNull(b, "buffer");
            if (isRead && b.isReadOnly()) {
                throw new IllegalArgumentException("read into a read-only buffer");
            }
            if (b.isDirect()) {
                liveMemory(b);
            } else {
                checkBounceSize(b.remaining());
            }
            total += b.remaining();
        }
        if (total > Uapi.MAX_RW_COUNT) {
            throw new IllegalArgumentException(total + " bytes in one vectored call; at most " + Uapi.MAX_RW_COUNT);
        }
        CompletableFuture<Long> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, kind)) {
            return future;
        }
        FileOp op = FileOp.acquireLong(this, kind, future);
        op.buffers = buffers.clone();
        op.requested = (int) total;
        op.bounces = new BouncePool.Bounce[buffers.length];
        BouncePool.Bounce iovecs = bounce(op, buffers.length * Uapi.IOVEC_SIZE);
        if (iovecs == null) {
            return future;
        }
        // Each buffer's position, then its length, as submitted: the completion hands out bytes by these, not by
        // whatever the buffers say then (a caller that moved a limit meanwhile gets a failure, not a silent gap).
        int[] starts = new int[2 * buffers.length];
        for (int i = 0; i < buffers.length; i++) {
            ByteBuffer b = op.buffers[i];
            starts[i] = b.position();
            starts[buffers.length + i] = b.remaining();
            long address;
            if (b.isDirect()) {
                address = MemorySegment.ofBuffer(b).address();
            } else {
                BouncePool.Bounce bounce = allocateBounce(Math.max(1, b.remaining()));
                if (bounce == null) {
                    op.abort(outOfBounceMemory(kind, b.remaining()));
                    return future;
                }
                if (!isRead) {
                    bounce.buffer.put(0, b, b.position(), b.remaining());
                }
                op.bounces[i] = bounce;
                address = bounce.address;
            }
            iovecs.buffer.putLong(i * Uapi.IOVEC_SIZE, address);
            iovecs.buffer.putLong(i * Uapi.IOVEC_SIZE + 8, b.remaining());
        }
        op.keepAlive = starts;
        op.request.attach(op.buffers);
        if (isRead) {
            op.request.prepReadv(fd, iovecs.address, buffers.length, position);
        } else {
            op.request.prepWritev(fd, iovecs.address, buffers.length, position);
            op.epoch = barrier.enterWrite();
        }
        submit(op, op.request);
        return future;
    }

    // ---------------------------------------------------------------- sync, allocate, size

    /** {@code fsync}: data and metadata durable; starts after every write submitted on this file before it. */
    public CompletableFuture<Void> fsync() {
        return sync(FileOp.Kind.FSYNC, false);
    }

    /** {@code fdatasync}: data durable; starts after every write submitted on this file before it. */
    public CompletableFuture<Void> fdatasync() {
        return sync(FileOp.Kind.FDATASYNC, true);
    }

    private CompletableFuture<Void> sync(FileOp.Kind kind, boolean dataOnly) {
        CompletableFuture<Void> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, kind)) {
            return future;
        }
        FileOp op = FileOp.acquireVoid(this, kind, future);
        barrier.afterWrites(() -> submitSync(op, op.request, dataOnly));
        return future;
    }

    void submitSync(FileOp op, Request request, boolean dataOnly) {
        request.prepFsync(fd, dataOnly);
        submit(op, request);
    }

    /**
     * {@code fallocate(fd, mode, position, length)}: mode 0 allocates (and extends the size), {@code
     * FALLOC_FL_KEEP_SIZE} allocates without extending, {@code FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE} frees.
     */
    public CompletableFuture<Void> fallocate(int mode, long position, long length) {
        checkPosition(position);
        if (length <= 0) {
            throw new IllegalArgumentException("fallocate length must be positive, was " + length);
        }
        CompletableFuture<Void> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, FileOp.Kind.FALLOCATE)) {
            return future;
        }
        FileOp op = FileOp.acquireVoid(this, FileOp.Kind.FALLOCATE, future);
        op.epoch = barrier.enterWrite();
        op.request.prepFallocate(fd, mode, position, length);
        submit(op, op.request);
        return future;
    }

    /** The file's size in bytes, by {@code statx} through the ring. */
    public CompletableFuture<Long> size() {
        CompletableFuture<Long> future = new LaneFuture<>(engine.blocked);
        if (!acquire(future, FileOp.Kind.SIZE)) {
            return future;
        }
        FileOp op = FileOp.acquireLong(this, FileOp.Kind.SIZE, future);
        if (bounce(op, Uapi.STATX_STRUCT_SIZE) == null) {
            return future;
        }
        op.request.prepStatx(fd, EMPTY_PATH.address(), Uapi.AT_EMPTY_PATH, Uapi.STATX_SIZE, op.bounce.address)
                .attach(op.bounce);
        submit(op, op.request);
        return future;
    }

    // ---------------------------------------------------------------- submission plumbing

    private void submit(FileOp op, Request request) {
        CompletableFuture<?> future = op.future(); // read first: the op may be recycled before submit returns
        try {
            Lane lane = engine.submitRouted(request);
            if (future instanceof LaneFuture<?> waitable) {
                waitable.sentTo(lane, request);
            }
        } catch (EngineRejectedException closedEngine) {
            request.closedByEngine = true;
            op.complete(request, -ErrnoTable.ECANCELED);
        }
    }

    private void submitLinked(FileOp op, Request head, Request tail) {
        CompletableFuture<?> future = op.future(); // read first: the op may be recycled before submit returns
        try {
            Lane lane = engine.submitLinkedRouted(head, tail);
            if (future instanceof LaneFuture<?> waitable) {
                waitable.sentTo(lane, tail); // the member that ends last: the head is idle before the future is done
            }
        } catch (EngineRejectedException closedEngine) {
            head.closedByEngine = true;
            tail.closedByEngine = true;
            op.complete(head, -ErrnoTable.ECANCELED);
            op.complete(tail, -ErrnoTable.ECANCELED);
        }
    }

    /**
     * The bounce buffer of a counted operation, kept in {@code op.bounce}; null when direct memory ran out, and then
     * the operation is already undone (counted out, its future failed with ENOMEM), so the file still closes.
     */
    private BouncePool.Bounce bounce(FileOp op, int size) {
        BouncePool.Bounce bounce = allocateBounce(size);
        if (bounce == null) {
            op.abort(outOfBounceMemory(op.kind, size));
            return null;
        }
        op.bounce = bounce;
        return bounce;
    }

    /** A bounce buffer, or null when direct memory ran out ({@code -XX:MaxDirectMemorySize}). */
    private BouncePool.Bounce allocateBounce(int size) {
        try {
            return engine.bouncePool.acquire(size);
        } catch (OutOfMemoryError e) {
            // Direct memory ran out (ByteBuffer.allocateDirect throws this when its reservation fails): fail this one
            // operation, as the kernel would with ENOMEM, rather than throw an Error out of the API.
            return null;
        }
    }

    private UringIOException outOfBounceMemory(FileOp.Kind kind, int size) {
        return new UringIOException(ErrnoTable.ENOMEM, kind.opName, pathString,
                "ENOMEM (no direct memory for a " + size + "-byte bounce buffer of a heap buffer)");
    }

    /** A heap buffer goes through one bounce buffer: refuse one too large for it before anything is counted. */
    private static void checkBounceSize(long length) {
        if (length > BouncePool.MAX_CAPACITY) {
            throw new IllegalArgumentException("heap buffer of " + length + " bytes; at most " + BouncePool.MAX_CAPACITY
                    + " per call (heap buffers are copied through a direct buffer; use a direct buffer or a smaller"
                    + " one)");
        }
    }

    /**
     * A direct buffer's memory, refused if it is gone: a buffer of an arena closed already
     * ({@code Arena.asByteBuffer()}) still has its address, and the kernel would read or write memory freed, maybe
     * given to something else since. As the JDK's channels: {@code IllegalStateException}; and
     * {@code WrongThreadException} for a buffer of another thread's confined arena, which its owner could close
     * while the kernel uses it.
     */
    private static MemorySegment liveMemory(ByteBuffer buffer) {
        MemorySegment memory = MemorySegment.ofBuffer(buffer);
        if (!memory.scope().isAlive()) {
            throw new IllegalStateException("Already closed: the buffer's arena");
        }
        if (!memory.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException("the buffer's arena is confined to another thread");
        }
        return memory;
    }

    private static void checkPosition(long position) {
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
    }

    /** Counts one more operation in flight, unless the file or engine is closed (then fails {@code future}). */
    private boolean acquire(CompletableFuture<?> future, FileOp.Kind kind) {
        IOException refused = refusal(kind);
        if (refused != null) {
            future.completeExceptionally(refused);
            return false;
        }
        return true;
    }

    /**
     * Counts one more operation in flight and returns null, unless the file or engine is closed: then counts nothing
     * and returns the exception that says so ({@link EngineClosedException}, {@link ClosedChannelException}).
     */
    private IOException refusal(FileOp.Kind kind) {
        if (!engine.takesWork()) {
            return new EngineClosedException(kind.opName, pathString);
        }
        long s;
        do {
            s = state.get();
            if ((s & CLOSING) != 0) {
                ClosedChannelException e = new ClosedChannelException();
                e.initCause(new IOException(kind.opName + " " + pathString + ": file is closed"));
                return e;
            }
        } while (!state.compareAndSet(s, s + 1));
        unsettled.incrementAndGet();
        return null;
    }

    /**
     * Ends a counted operation that has no byte to move without the kernel: released, then its future completed with
     * 0 as a settle (see {@link #enterSettle}).
     */
    private CompletableFuture<Integer> nothingToTransfer(CompletableFuture<Integer> future) {
        release();
        int[] settling = enterSettle();
        try {
            future.complete(0);
        } finally {
            exitSettle(settling);
        }
        return future;
    }

    /**
     * Marks this thread as completing an operation's future (dependents of the caller run inside): call before
     * completing it, after {@link #release}, and pass the result to {@link #exitSettle} once it is complete.
     */
    static int[] enterSettle() {
        int[] settling = SETTLING.get();
        settling[0]++;
        return settling;
    }

    /** The operation's future is complete: it is counted settled, and a close waiting only for it completes. */
    void exitSettle(int[] settling) {
        settling[0]--;
        if (unsettled.decrementAndGet() == 0 && descriptorClosed.isDone()) {
            publishClosed();
        }
    }

    /**
     * The close is complete: {@link #closed} takes the descriptor's outcome (once; later calls change nothing). Its
     * dependents are code of the user, and this may run inside a delivery batch (the last operation's release closing
     * the file on the spot once the engine refuses the close request): the batch is suspended meanwhile, so that code
     * finds no wake held back (see {@link DeferredWakes}).
     */
    private void publishClosed() {
        descriptorClosed.whenComplete((v, failure) -> {
            DeferredWakes wakes = DeferredWakes.current();
            int batch = wakes.suspendBatch();
            try {
                if (failure != null) {
                    closed.completeExceptionally(failure);
                } else {
                    closed.complete(null);
                }
            } finally {
                wakes.resumeBatch(batch);
            }
        });
    }

    void release() {
        if (state.decrementAndGet() == CLOSING) {
            submitClose();
        }
    }

    // ---------------------------------------------------------------- close

    /**
     * Closes the file: new operations fail at once with {@link ClosedChannelException}; those in flight finish first;
     * then the descriptor is closed through the ring ({@code IORING_OP_CLOSE}). Idempotent.
     *
     * @return a future that completes when the descriptor is closed and the future of every operation of the file has
     *         completed (with the dependents that completing it ran): once it is done, no operation of the file is
     *         pending anywhere. The caller's own: completing, cancelling or timing it out ({@code orTimeout}) ends that
     *         future only; the close goes on, {@link #close()} still waits for its real end, and a later call returns
     *         a future of it
     */
    public CompletableFuture<Void> closeAsync() {
        startClose();
        return closed.copy(); // the caller's own: what the caller does to it stays there
    }

    /** Refuses new operations; submits the descriptor's close now if nothing is in flight (else the last one does). */
    private void startClose() {
        long previous = state.getAndUpdate(s -> s | CLOSING);
        if ((previous & CLOSING) == 0 && previous == 0) {
            submitClose();
        }
    }

    /**
     * Closes the file and waits for it; see {@link #closeAsync()}. Called from the completion of one of the file's
     * operations (a dependent of its future), it waits for the descriptor's close only: that operation's completion,
     * its own caller, cannot end before this returns. Called on one of the engine's threads (a completion callback
     * on a ring thread or pool worker, a completion run by a caller ring's reaping thread), it starts the close and
     * returns without waiting: the close needs that thread; {@link #closeAsync()} tells when it is done.
     */
    @Override
    public void close() throws IOException {
        startClose();
        CompletableFuture<Void> whole = closed; // the file's own future: no caller can have ended it
        // This engine's threads only (its caller rings' included): another engine's are application threads here.
        if (engine.isEngineThread()) {
            return; // the close needs this very thread (its ring, its delivery): it finishes after the callback
        }
        try {
            // Inside the completion of an operation's future (a dependent of the caller's), that operation cannot
            // settle before this returns: wait for the descriptor only.
            (SETTLING.get()[0] > 0 ? descriptorClosed : whole).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while closing " + pathString, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("close " + pathString + " failed", e.getCause());
        }
    }

    private void submitClose() {
        if (!fdState.compareAndSet(FD_OPEN, FD_CLOSE_SUBMITTED)) {
            return;
        }
        Request close = new Request((r, res) -> {
            if (res < 0 && r.canceledByClose()) {
                if (fdState.compareAndSet(FD_CLOSE_SUBMITTED, FD_CLOSED)) {
                    Libc.close(fd);
                }
                closed(0);
            } else {
                fdState.set(FD_CLOSED);
                closed(res);
            }
        });
        close.prepClose(fd);
        try {
            engine.submit(close);
        } catch (EngineRejectedException closedEngine) {
            // The engine closed: no operation of this file is counted any more (this is the last one's release, or a
            // close with none), so nothing can use the descriptor: close(2) it here. Handing it back to the engine's
            // sweep instead lost it when the sweep had already passed this file.
            fdState.set(FD_CLOSED);
            Libc.close(fd);
            closed(0);
        }
    }

    /**
     * Closes the descriptor with close(2) once no operation is counted; the engine calls this after its rings
     * drained. An operation still counted then is not in any ring (between its count and its submission, or reading
     * the page cache on its caller's thread): the descriptor stays open under it, and its release closes it.
     */
    void closeFdNow() {
        long previous = state.getAndUpdate(s -> s | CLOSING);
        if ((previous & ~CLOSING) != 0) {
            return; // the last release finds CLOSING and closes (submitClose, refused by the closed engine)
        }
        if (fdState.compareAndSet(FD_OPEN, FD_CLOSED)) {
            Libc.close(fd);
            closed(0);
        }
    }

    private void closed(int res) {
        engine.fileClosed(this);
        if (deleteOnClose) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                closedFailed(new UncheckedIOException(e));
                return;
            }
        }
        if (res < 0) {
            descriptorClosed.completeExceptionally(new UringIOException(-res, "close", pathString));
        } else {
            descriptorClosed.complete(null);
        }
        if (unsettled.get() == 0) {
            publishClosed();
        }
    }

    private void closedFailed(RuntimeException e) {
        descriptorClosed.completeExceptionally(e.getCause() != null ? e.getCause() : e);
        if (unsettled.get() == 0) {
            publishClosed();
        }
    }

    // ---------------------------------------------------------------- accessors

    /** The path this file was opened with. */
    public Path path() {
        return path;
    }

    String pathString() {
        return pathString;
    }

    /**
     * The file descriptor; valid until the file is closed. For use with raw {@link Request}s: those are not counted
     * by the file, so {@link #closeAsync()} does not wait for them, and one still queued when the file closes starts
     * on whatever file takes the number next. Close the file only after they completed (see {@link Request}).
     */
    public int fd() {
        return fd;
    }

    /** True until {@link #closeAsync()} was called (or the engine closed). */
    public boolean isOpen() {
        return (state.get() & CLOSING) == 0 && engine.isOpen();
    }

    /** True when opened for reading. */
    public boolean isReadable() {
        return readable;
    }

    /** True when opened for writing. */
    public boolean isWritable() {
        return writable;
    }

    /** The engine this file belongs to. */
    public RingEngine engine() {
        return engine;
    }

    @Override
    public String toString() {
        return "AsyncFile[" + pathString + ", fd " + fd + "]";
    }
}
