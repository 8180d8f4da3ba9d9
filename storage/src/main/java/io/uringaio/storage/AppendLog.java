package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.ErrnoTable;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;

/**
 * A durable, append-only log of records in a directory of segment files, with group commit: the write-ahead log of a
 * storage engine.
 *
 * <p><b>Durability.</b> The future that {@link #append} returns completes with the record's position only once the
 * record is on stable storage: its bytes were written and an {@code fdatasync} of the segment succeeded after them.
 * Acknowledged records survive a crash of the process or of the machine; {@link #open} (through
 * {@link LogRecovery}) finds them again and cuts off anything torn after them. Records are acknowledged in position
 * order: when a record's future completes, every record before it is durable too.
 *
 * <p><b>Group commit.</b> One flush is in flight at a time. Records appended while it runs are framed into the next
 * commit group (at most {@link AppendLogConfig#maxGroupRecords} records and {@link AppendLogConfig#maxGroupBytes}
 * bytes), which goes to the kernel as one write linked to one {@code fdatasync} ({@code IOSQE_IO_LINK}, both SQEs in
 * one submission) as soon as the flush before it completes. Nothing waits to fill a group: an append into an idle log
 * is flushed at once, so a record waits at most for the flush in flight and its own (more under a backlog deeper than
 * one group).
 *
 * <p><b>Threads.</b> Any thread may call any method. {@code append} copies the record before it returns (the caller
 * may reuse its buffer at once) and does not wait for I/O, except when {@link AppendLogConfig#maxPendingBytes} are
 * already waiting for their group: then it blocks until a group is durable, so never call it from one of the engine's
 * ring threads. Futures complete on a ring thread: hand long work to an executor ({@code thenApplyAsync}).
 *
 * <p><b>Failures.</b> Bad input throws at once: {@code NullPointerException}, {@code IllegalArgumentException} for an
 * empty record or one over {@link AppendLogConfig#maxRecordBytes}. An append to a closed log gets a failed future
 * ({@link LogClosedException}). If a group's write or {@code fdatasync} fails (EIO, ENOSPC, a short write, the engine
 * closed), the log is <em>poisoned</em>: every append of that group, of every group queued behind it and every later
 * append fails with a {@link LogPoisonedException} naming the original errno. The log never retries an
 * {@code fdatasync}, because after a failed one the kernel may already have dropped the dirty pages; reopen the log
 * to recover.
 *
 * <p><b>Files.</b> Segments ({@code <base position>.log}) are preallocated with {@code fallocate}, {@code fsync}ed,
 * and the directory is {@code fsync}ed, before the first record is written into them; a segment rolls over when the
 * next record does not fit. The frame format is {@link RecordFrame}'s.
 *
 * <p><b>Close.</b> {@link #close()} refuses new appends, waits until every accepted append is durable (or failed), and
 * closes the files. It does not close the engine.
 */
public final class AppendLog implements AutoCloseable {
    private static final int SPARE_GROUPS = 4;

    /** An appender's checksum state: the payload is checksummed before the lock, the position under it. */
    private static final class Checksum {
        final CRC32C crc = new CRC32C();
        final byte[] scratch = new byte[12];
    }

    private static final ThreadLocal<Checksum> CHECKSUM = ThreadLocal.withInitial(Checksum::new);

    private final RingEngine engine;
    private final Path directory;
    private final String name;
    private final AppendLogConfig config;
    private final AsyncFile directoryHandle;
    private final LogRecovery.Result recovery;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    // Guarded by lock.
    private long tail;
    /** Base of the segment that new records are assigned to (ahead of the flusher's segment after a roll). */
    private long assignBase;
    private CommitGroup open;
    private final ArrayDeque<CommitGroup> sealed = new ArrayDeque<>();
    private final ArrayDeque<CommitGroup> spare = new ArrayDeque<>();
    private long pendingBytes;
    /** True while one party owns the flush (the leader appender, then the completion chain on the ring). */
    private boolean flushing;
    private boolean closing;
    private LogPoisonedException poison;

    /** The segment being written; owned by whoever holds the flush. */
    private LogSegment active;
    private volatile long durable;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private final LongAdder groups = new LongAdder();
    private final LongAdder records = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder rolls = new LongAdder();

    private AppendLog(RingEngine engine, Path directory, AppendLogConfig config, AsyncFile directoryHandle,
                      LogSegment active, LogRecovery.Result recovery) {
        this.engine = engine;
        this.directory = directory;
        this.name = directory.toString();
        this.config = config;
        this.directoryHandle = directoryHandle;
        this.active = active;
        this.recovery = recovery;
        this.tail = recovery.tail();
        this.assignBase = recovery.tailBase();
        this.durable = recovery.tail();
    }

    // ---------------------------------------------------------------- open

    /**
     * Opens the log in {@code directory}, creating the directory (and {@code fsync}ing its parent) if needed: runs
     * {@link LogRecovery#recover}, then opens the tail segment through the engine and preallocates it. Blocks until
     * done. The engine must stay open while the log is.
     *
     * @throws IOException (a {@code UringIOException} with the errno) if the directory or a segment cannot be read,
     *                     created, truncated or synced
     */
    public static AppendLog open(RingEngine engine, Path directory, AppendLogConfig config) throws IOException {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(directory, "directory");
        AppendLogConfig c = Objects.requireNonNull(config, "config").copy();
        c.validate();
        Path dir = directory.toAbsolutePath();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
            if (dir.getParent() != null) {
                LogSegment.fsyncDirectory(dir.getParent());
            }
        }
        LogRecovery.Result recovery = LogRecovery.recover(dir);
        AsyncFile directoryHandle = await(engine.open(dir, StandardOpenOption.READ), "open " + dir);
        try {
            LogSegment segment = await(LogSegment.open(engine, directoryHandle, dir, recovery.tailBase(),
                    recovery.tail() - recovery.tailBase(), c), "open segment in " + dir);
            return new AppendLog(engine, dir, c, directoryHandle, segment, recovery);
        } catch (IOException | RuntimeException e) {
            directoryHandle.closeAsync();
            throw e;
        }
    }

    /** Opens the log with the default {@link AppendLogConfig}. */
    public static AppendLog open(RingEngine engine, Path directory) throws IOException {
        return open(engine, directory, new AppendLogConfig());
    }

    private static <T> T await(CompletableFuture<T> future, String what) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException(what + ": interrupted");
        } catch (ExecutionException e) {
            Throwable cause = unwrap(e.getCause());
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(what + " failed: " + cause, cause);
        }
    }

    // ---------------------------------------------------------------- append

    /**
     * Appends {@code record} (its position to its limit; the buffer's position is left unchanged).
     *
     * @return a future of the record's position, completed once the record is durable; failed with
     *         {@link LogPoisonedException} or {@link LogClosedException}
     * @throws IllegalArgumentException if the record is empty or longer than {@link AppendLogConfig#maxRecordBytes}
     */
    public CompletableFuture<Long> append(ByteBuffer record) {
        Objects.requireNonNull(record, "record");
        int length = record.remaining();
        if (length == 0) {
            throw new IllegalArgumentException("empty record: a log record holds at least one byte");
        }
        if (length > config.maxRecordBytes()) {
            throw new IllegalArgumentException("record of " + length + " bytes; maxRecordBytes is "
                    + config.maxRecordBytes());
        }
        Checksum checksum = CHECKSUM.get();
        checksum.crc.reset();
        int start = record.position();
        checksum.crc.update(record);
        record.position(start);
        long frame = RecordFrame.frameBytes(length);
        CompletableFuture<Long> future = new CompletableFuture<>();
        boolean lead = false;
        lock.lock();
        try {
            while (pendingBytes > 0 && pendingBytes + frame > config.maxPendingBytes() && poison == null && !closing) {
                drained.awaitUninterruptibly();
            }
            if (poison != null) {
                return CompletableFuture.failedFuture(poison);
            }
            if (closing) {
                return CompletableFuture.failedFuture(new LogClosedException(name));
            }
            if (tail - assignBase + frame > config.segmentBytes()) {
                sealOpen();
                assignBase = tail;
            }
            CommitGroup group = open;
            if (group != null && (group.count() == config.maxGroupRecords()
                    || group.bytes() + frame > config.maxGroupBytes())) {
                sealOpen();
                group = null;
            }
            if (group == null) {
                group = spare.isEmpty() ? new CommitGroup() : spare.pop();
                group.reset(assignBase, tail);
                open = group;
            }
            long position = group.add(record, checksum.crc, checksum.scratch, future);
            assert position == tail : "group out of step: " + position + " != " + tail;
            tail += frame;
            pendingBytes += frame;
            if (!flushing) {
                flushing = true;
                lead = true;
            }
        } finally {
            lock.unlock();
        }
        if (lead) {
            flushNext();
        }
        return future;
    }

    /** Under the lock: the open group stops taking records and waits its turn. */
    private void sealOpen() {
        assert lock.isHeldByCurrentThread();
        if (open != null) {
            sealed.addLast(open);
            open = null;
        }
    }

    // ---------------------------------------------------------------- flush

    /** Called by the party that holds the flush: writes the next group, or gives the flush up. */
    private void flushNext() {
        CommitGroup group;
        boolean finishClose = false;
        lock.lock();
        try {
            group = sealed.pollFirst();
            if (group == null && open != null) {
                group = open;
                open = null;
            }
            if (group == null) {
                flushing = false;
                finishClose = closing;
            }
        } finally {
            lock.unlock();
        }
        if (group != null) {
            write(group);
        } else if (finishClose) {
            finishClose();
        }
    }

    private void write(CommitGroup group) {
        CompletableFuture<LogSegment> segment = group.segmentBase == active.base
                ? CompletableFuture.completedFuture(active)
                : roll(group.segmentBase);
        segment.thenCompose(s -> s.io.writeDurable(group.frames(), group.fileOffset()))
                .whenComplete((written, failure) -> groupDone(group, written, failure));
    }

    private CompletableFuture<LogSegment> roll(long base) {
        LogSegment previous = active;
        return LogSegment.open(engine, directoryHandle, directory, base, 0, config).thenApply(s -> {
            active = s;
            rolls.increment();
            previous.closeAsync();
            return s;
        });
    }

    private void groupDone(CommitGroup group, Integer written, Throwable failure) {
        if (failure == null && written != group.bytes()) {
            failure = new IOException("write+fdatasync " + active.path + ": short write, " + written + " of "
                    + group.bytes() + " bytes");
        }
        if (failure != null) {
            poison(group, unwrap(failure));
            return;
        }
        durable = group.end();
        groups.increment();
        records.add(group.count());
        bytes.add(group.bytes());
        flushNext(); // the next group goes to the kernel before this one's appenders wake
        group.succeed();
        lock.lock();
        try {
            pendingBytes -= group.bytes();
            drained.signalAll();
            if (spare.size() < SPARE_GROUPS && group.capacity() <= 2 * config.maxGroupBytes()) {
                spare.push(group);
            }
        } finally {
            lock.unlock();
        }
    }

    private void poison(CommitGroup group, Throwable cause) {
        int errno = cause instanceof UringIOException u ? u.errno() : ErrnoTable.EIO;
        String operation = cause instanceof UringIOException u ? u.operation() : "write+fdatasync";
        LogPoisonedException failure = new LogPoisonedException(errno, operation, active.path.toString(),
                group.start, cause);
        List<CommitGroup> failed = new ArrayList<>();
        failed.add(group);
        boolean finishClose;
        lock.lock();
        try {
            if (poison == null) {
                poison = failure;
            }
            failed.addAll(sealed);
            sealed.clear();
            if (open != null) {
                failed.add(open);
                open = null;
            }
            pendingBytes = 0;
            flushing = false;
            finishClose = closing;
            drained.signalAll();
        } finally {
            lock.unlock();
        }
        for (CommitGroup g : failed) {
            g.fail(failure);
        }
        if (finishClose) {
            finishClose();
        }
    }

    // ---------------------------------------------------------------- state

    /** The end of the durable records: every record before it is acknowledged or about to be. */
    public long durablePosition() {
        return durable;
    }

    /** The position the next append gets. */
    public long tailPosition() {
        lock.lock();
        try {
            return tail;
        } finally {
            lock.unlock();
        }
    }

    /** What recovery found when this log was opened. */
    public LogRecovery.Result recovery() {
        return recovery;
    }

    /** The log's directory. */
    public Path directory() {
        return directory;
    }

    /** The failure that poisoned the log, or null. */
    public LogPoisonedException poisonCause() {
        lock.lock();
        try {
            return poison;
        } finally {
            lock.unlock();
        }
    }

    /** Counters since open. */
    public AppendLogStats stats() {
        return new AppendLogStats(groups.sum(), records.sum(), bytes.sum(), rolls.sum(), durable);
    }

    /**
     * Visits the durable records from {@code from} (0, or a position an append reported) up to
     * {@link #durablePosition()} at the time of the call, in position order. Reads with {@code pread}, concurrently
     * with appends.
     *
     * @throws IllegalArgumentException if no record starts at {@code from}
     */
    public void read(long from, RecordVisitor visitor) throws IOException {
        Objects.requireNonNull(visitor, "visitor");
        LogRecovery.read(directory, from, durable, visitor);
    }

    // ---------------------------------------------------------------- close

    /**
     * Closes the log: new appends fail with {@link LogClosedException}; appends already accepted are flushed (or fail,
     * if the log is poisoned); then the segment and directory handles are closed. Idempotent.
     */
    public CompletableFuture<Void> closeAsync() {
        boolean idle;
        lock.lock();
        try {
            if (closing) {
                return closed;
            }
            closing = true;
            idle = !flushing;
            drained.signalAll();
        } finally {
            lock.unlock();
        }
        if (idle) {
            finishClose();
        }
        return closed;
    }

    private void finishClose() {
        CompletableFuture.allOf(active.closeAsync(), directoryHandle.closeAsync()).whenComplete((v, failure) -> {
            if (failure != null) {
                closed.completeExceptionally(unwrap(failure));
            } else {
                closed.complete(null);
            }
        });
    }

    /** {@link #closeAsync()}, waiting for it. */
    @Override
    public void close() throws IOException {
        await(closeAsync(), "close " + name);
    }

    @Override
    public String toString() {
        return "AppendLog[" + name + ", durable " + durable + "]";
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
