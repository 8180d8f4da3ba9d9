package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.internal.sys.FutexBoard;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * {@link LogRecovery}) finds them again and cuts off anything torn after them; damage that a crash cannot explain
 * (a bad frame before acknowledged groups) fails the open with a {@link LogCorruptedException} instead of being cut,
 * and {@link #read} never skips a bad frame. A directory has one writer: the log holds an exclusive lock on it from
 * {@link #open} to {@link #close} ({@link LogLockedException}). Records are acknowledged in position
 * order: when a record's future completes, every record before it is durable too.
 *
 * <p><b>Group commit, pipelined.</b> Records are framed into commit groups (at most
 * {@link AppendLogConfig#maxGroupRecords} records and {@link AppendLogConfig#maxGroupBytes} bytes); each group goes
 * to the kernel as one write linked to one {@code fdatasync} ({@code IOSQE_IO_LINK}, both SQEs in one submission).
 * An appender that waits for each of its records ({@code join}/{@code get} on its previous record's future, on a
 * platform thread) writes and syncs the group it cuts itself, on its own thread, with plain system calls
 * ({@link AppendLogConfig#waiterWrites}, on by default): its {@code append} then returns with the group durable.
 * Up to {@link AppendLogConfig#maxGroupsInFlight} groups (default 2) are in flight at once: group k+1 is written and
 * synced while group k's {@code fdatasync} runs, and records appended meanwhile fill group k+2. An append that finds a
 * free slot is submitted at once, with one exception, on by default ({@link GroupWait}; off with
 * {@code maxGroupWaitNanos(0)}): appenders that block until their
 * record is durable come back one by one after their group is acknowledged, so the first one back, on a thread of its
 * own, <em>leads</em> the next group: it waits, at most {@link AppendLogConfig#maxGroupWaitNanos} (default 300 µs) and
 * the recent {@code fdatasync} time after the acknowledgement ends, until as many records are pending
 * as that group and the appends waiting behind it held, then the group is cut. A lone appender, an idle log,
 * appends from the engine's threads and a thread whose previous append is still pending never wait. Groups are
 * acknowledged strictly in order: a group's futures complete once its own {@code fdatasync} and those of all groups
 * before it succeeded.
 *
 * <p><b>Threads.</b> Any thread may call any method. {@code append} copies the record before it returns (the caller
 * may reuse its buffer at once) and does not wait for I/O, except where it writes its group itself (above), and
 * when {@link AppendLogConfig#maxPendingBytes} are already waiting for their group: then it blocks until a group
 * is durable, except on one of the engine's threads or in a record's completion, which cannot wait for the groups
 * that need them: those appends go over the budget. A
 * group's leader returns once its group is cut (the bounded wait above; an interrupt or a close ends
 * it at once, and the interrupt status stays set). Futures complete on the thread that learns the group is durable: a
 * ring thread, or with the engine's caller rings, the appender that waits inside its group's ring, the caller-ring
 * reaper, or a submitter, or the appender that wrote the group itself (inside its {@code append}, the futures of
 * other threads' records of the group with it): hand long work to an executor ({@code thenApplyAsync}).
 *
 * <p><b>Failures.</b> Bad input throws at once: {@code NullPointerException}, {@code IllegalArgumentException} for an
 * empty record or one over {@link AppendLogConfig#maxRecordBytes}. An append to a closed log gets a failed future
 * ({@link LogClosedException}). If a group's write or {@code fdatasync} fails (EIO, ENOSPC, a short write, the engine
 * closed), the log is <em>poisoned</em>: every append not yet acknowledged (the failed group, groups in flight before
 * and after it, groups queued) and every later append fails with a {@link LogPoisonedException} naming the original
 * errno. Groups in flight before the failed one fail too, though their own {@code fdatasync} may still succeed:
 * acknowledgements are a prefix, and the log never acknowledges anything after it has seen a failure. The log never
 * retries an {@code fdatasync}, because after a failed one the kernel may already have dropped the dirty pages; reopen
 * the log to recover. Recovery drops the segments' clean cached pages before it reads them, so a reopen in the same
 * boot finds what the disk holds, not a failed group's pages that Linux keeps, marked clean, after the failed
 * writeback. A group synced into a segment that has no name left (the directory removed, {@code rm -rf}, or the
 * segment deleted while the log is open) poisons the log the same way, with a {@link LogSegmentDeletedException} as
 * the cause: no open would ever find it, so it is not acknowledged.
 *
 * <p><b>Files.</b> Segments ({@code <base position>.log}) are preallocated with {@code fallocate}, written with zeros
 * over their whole size ({@link AppendLogConfig#zeroFill}), {@code fsync}ed, and the directory is {@code fsync}ed,
 * before the first record is written into them; then a group's {@code fdatasync} flushes data only, with no extent
 * conversion to journal. The next segment is prepared ahead on a background thread ({@link LogSegment#SPARE_NAME}),
 * so a roll-over renames it and syncs the directory instead of writing a segment of zeros. A segment rolls over when
 * the next record does not fit; the first group of a new segment is written only once every group before it is
 * durable. The frame format is {@link RecordFrame}'s.
 *
 * <p><b>Close.</b> {@link #close()} refuses new appends, waits until every accepted append is durable (or failed) and
 * its future is complete, and closes the files. It does not close the engine.
 */
public final class AppendLog implements AutoCloseable {
    private static final int SPARE_GROUPS = 4;

    /**
     * An appender thread's state: its checksum (taken under the lock, over the log's copy of the payload: see
     * {@link CommitGroup#add}) and its latest append's future, which tells a thread that waits for its records from
     * one that runs ahead.
     */
    private static final class Checksum {
        final CRC32C crc = new CRC32C();
        final byte[] scratch = new byte[12];
        /** This thread's latest accepted append (any log's); null before its first. */
        CompletableFuture<Long> lastAppend;
        /**
         * The record future (any log's) this thread last called {@code join} or {@code get} on: when it is
         * {@link #lastAppend}, the thread waits for its records, and its next group it may write itself
         * ({@link AppendLogConfig#waiterWrites}).
         */
        CompletableFuture<Long> waitedFor;
        /**
         * How many acknowledgements (any log's) this thread is running now: appends made from their completions
         * never lead a group, whatever thread this is (see {@code leaderWaitLocked}).
         */
        int acknowledging;
        /**
         * The logs whose acknowledgements this thread runs now, outermost first ({@code acknowledging} of them):
         * acknowledgements of two logs nest when one's completion ends up acknowledging the other on this thread.
         */
        AppendLog[] acknowledgingLogs = new AppendLog[2];

        void enter(AppendLog log) {
            if (acknowledging == acknowledgingLogs.length) {
                acknowledgingLogs = Arrays.copyOf(acknowledgingLogs, 2 * acknowledging);
            }
            acknowledgingLogs[acknowledging++] = log;
        }

        void exit() {
            acknowledgingLogs[--acknowledging] = null;
        }

        /** Whether an acknowledgement of {@code log} is under way on this thread, at any depth. */
        boolean acknowledges(AppendLog log) {
            for (int i = 0; i < acknowledging; i++) {
                if (acknowledgingLogs[i] == log) {
                    return true;
                }
            }
            return false;
        }
    }

    private static final ThreadLocal<Checksum> CHECKSUM = ThreadLocal.withInitial(Checksum::new);

    private final RingEngine engine;
    /** The directory's lock: one writer per log, held until the close is complete. */
    private final DirectoryLock directoryLock;
    private final Path directory;
    private final String name;
    private final AppendLogConfig config;
    private final LogRecovery.Result recovery;
    /** Record boundaries that reads have passed: where {@link #read} checks its start from. */
    private final RecordStarts readStarts = new RecordStarts();
    private final int maxInFlight;
    /** Prepares the next segment (preallocation, zero-fill) and renames it at a roll; blocking work, off the rings. */
    private final ExecutorService preparer;

    /**
     * Where threads blocked on records sleep ({@link RecordFuture}): each group has a bit ({@link CommitGroup#bitOf}),
     * and an acknowledgement wakes its groups' sleepers with one system call.
     */
    private final FutexBoard board = new FutexBoard();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    /** A new group's leader waits here for the group to fill; signalled when the log closes or is poisoned. */
    private final Condition leaderWake = lock.newCondition();
    // Guarded by lock.
    private long tail;
    /** Base of the segment that new records are assigned to (ahead of the flusher's segment after a roll). */
    private long assignBase;
    private CommitGroup open;
    /** Sequence number of the next group made, for its wake-up bit. */
    private long groupSequence;
    private final ArrayDeque<CommitGroup> sealed = new ArrayDeque<>();
    /** Groups submitted and not yet acknowledged or failed, in position order. */
    private final ArrayDeque<CommitGroup> flying = new ArrayDeque<>();
    /** Which in-flight slots (segment descriptors) carry a group. */
    private final boolean[] slotBusy;
    private final ArrayDeque<CommitGroup> spare = new ArrayDeque<>();
    private long pendingBytes;
    /** True while the log rolls over to a new segment (the pipeline is drained, nothing else is submitted). */
    private boolean rolling;
    /** Threads completing acknowledged groups' futures now; each pumps when done. */
    private int acking;
    /** Records of the groups acknowledged last: how many appenders may come back for the next group. */
    private int expected;
    /** When those groups were acknowledged ({@link System#nanoTime}). */
    private long lastAckNanos;
    /** The moving average of a group's write+fdatasync time, in nanoseconds; 0 before the first group. */
    private long syncNanos;
    /** The open group while its leader waits for it to fill ({@link GroupWait}): not cut before then; else null. */
    private CommitGroup held;
    /**
     * When the leader's wait ends ({@link System#nanoTime}); meaningful while {@link #held} is set. It runs from the
     * later of the leader's arrival and the end of the acknowledgement under way: appenders woken by it need the time.
     */
    private long heldUntil;
    /** The leader's wait, to restart {@link #heldUntil} from the end of an acknowledgement. */
    private long heldWait;
    /**
     * The open group while an appender that writes its group itself ({@link AppendLogConfig#waiterWrites}) waits for
     * the acknowledgement under way to end, to cut it then ({@link #claimAfterAcknowledgementLocked}); else null.
     */
    private CommitGroup claimed;
    /** How many times an appender waited as a group's leader (for tests). */
    private long leads;
    private boolean closing;
    private boolean closeStarted;
    private LogPoisonedException poison;
    /** The segment being written; replaced only at a roll, with nothing in flight. */
    private LogSegment active;
    /** The next segment, being prepared or ready; null once taken by a roll, until the next one is started. */
    private CompletableFuture<Void> spareReady;

    private volatile long durable;
    private volatile boolean cancelPreparation;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();

    private final LongAdder groups = new LongAdder();
    private final LongAdder records = new LongAdder();
    private final LongAdder bytes = new LongAdder();
    private final LongAdder rolls = new LongAdder();
    private final LongAdder appenderWrites = new LongAdder();

    private AppendLog(RingEngine engine, Path directory, AppendLogConfig config, LogSegment active,
                      LogRecovery.Result recovery, DirectoryLock lock) {
        this.directoryLock = lock;
        this.engine = engine;
        this.directory = directory;
        this.name = directory.toString();
        this.config = config;
        this.active = active;
        this.recovery = recovery;
        this.tail = recovery.tail();
        this.assignBase = recovery.tailBase();
        this.durable = recovery.tail();
        this.maxInFlight = config.maxGroupsInFlight();
        this.slotBusy = new boolean[maxInFlight];
        this.preparer = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon()
                .name("append-log-preparer " + directory.getFileName()).unstarted(r));
        this.spareReady = prepareSpare();
    }

    // ---------------------------------------------------------------- open

    /**
     * Opens the log in {@code directory}, creating the directory (and {@code fsync}ing its parent) if needed: runs
     * {@link LogRecovery#recover}, then prepares the tail segment (preallocation and zero-fill past the recovered
     * data, {@code fsync}, directory {@code fsync}) and opens it through the engine. Blocks until done. The engine
     * must stay open while the log is.
     *
     * <p>A log has one writer: the open takes an exclusive lock on the directory ({@code flock} on the directory
     * itself, its {@code LOCK} file naming the holder's pid; see {@link LogLockedException}) for the log's life; {@link #close()} releases it once the last write is
     * done, and a failed open releases it before it throws.
     *
     * @throws LogLockedException    if the log is already open, in this process or another
     * @throws LogCorruptedException if recovery finds corruption rather than a torn tail (see {@link LogRecovery});
     *                               {@link AppendLogConfig#repairByTruncation} cuts it instead
     * @throws IOException (a {@code UringIOException} with the errno) if the directory or a segment cannot be read,
     *                     created, truncated or synced
     */
    public static AppendLog open(RingEngine engine, Path directory, AppendLogConfig config) throws IOException {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(directory, "directory");
        AppendLogConfig c = Objects.requireNonNull(config, "config").copy();
        c.validate();
        Path dir = directory.toAbsolutePath();
        LogSegment.createDirectories(dir, LogSegment::fsyncDirectory);
        DirectoryLock lock = DirectoryLock.acquire(dir);
        try {
            LogRecovery.Result recovery = LogRecovery.recoverLocked(dir, c.repairByTruncation());
            LogSegment segment = LogSegment.openTail(engine, dir, recovery.tailBase(),
                    recovery.tail() - recovery.tailBase(), c);
            return new AppendLog(engine, dir, c, segment, recovery, lock);
        } catch (IOException | RuntimeException | Error e) {
            lock.close(); // a failed open leaves the directory free for the next attempt
            throw e;
        }
    }

    /** Opens the log with the default {@link AppendLogConfig}. */
    public static AppendLog open(RingEngine engine, Path directory) throws IOException {
        return open(engine, directory, new AppendLogConfig());
    }

    static <T> T await(CompletableFuture<T> future, String what) throws IOException {
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

    /** Starts preparing the next segment on the preparer thread. */
    private CompletableFuture<Void> prepareSpare() {
        Path spareFile = directory.resolve(LogSegment.SPARE_NAME);
        return CompletableFuture.runAsync(() -> {
            try {
                directoryLock.checkInPlace("prepare the next segment");
                Files.deleteIfExists(spareFile);
                LogSegment.prepare(spareFile, 0, config, () -> cancelPreparation);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, preparer);
    }

    // ---------------------------------------------------------------- append

    /**
     * Appends {@code record} (its position to its limit, as they are when the call begins; the buffer's position is
     * left unchanged).
     *
     * @return a future of the record's position, completed once the record is durable; failed with
     *         {@link LogPoisonedException} or {@link LogClosedException}. Its {@code join}/{@code get} throw
     *         {@link IllegalStateException} at once, before it is done, on a thread that runs an acknowledgement of
     *         this log (inside a completion of one of its records, or a dependent of one): what is appended there goes
     *         out when that acknowledgement returns, so the wait could never end
     * @throws IllegalArgumentException  if the record is empty or longer than {@link AppendLogConfig#maxRecordBytes}
     * @throws IllegalStateException     (or {@code WrongThreadException}, the JDK's own) if the record's memory cannot
     *                                   be read: its arena closed, another thread's confined arena; nothing is appended
     * @throws IndexOutOfBoundsException if another thread cut the buffer's limit below the record's end before it was
     *                                   copied; nothing is appended
     */
    public CompletableFuture<Long> append(ByteBuffer record) {
        Objects.requireNonNull(record, "record");
        // Position and limit are read once: the length checked, counted in the tail and framed must be one, whatever
        // another thread does to the buffer meanwhile (the copy checks the bounds against the limit it finds then).
        int offset = record.position();
        int length = record.limit() - offset;
        if (length <= 0) {
            throw new IllegalArgumentException("empty record: a log record holds at least one byte");
        }
        if (length > config.maxRecordBytes()) {
            throw new IllegalArgumentException("record of " + length + " bytes; maxRecordBytes is "
                    + config.maxRecordBytes());
        }
        Checksum checksum = CHECKSUM.get();
        boolean writer = writesItsGroup(checksum);
        long frame = RecordFrame.frameBytes(length);
        RecordFuture future;
        CommitGroup group = null;
        boolean pump = false;
        Throwable unreadable = null;
        lock.lock();
        try {
            while (pendingBytes > 0 && pendingBytes + frame > config.maxPendingBytes() && poison == null && !closing
                    && mayWaitForGroups(checksum)) {
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
            group = open;
            if (group != null && (group.count() == config.maxGroupRecords()
                    || group.bytes() + frame > config.maxGroupBytes())) {
                sealOpen();
                group = null;
            }
            if (group == null) {
                group = spare.isEmpty() ? new CommitGroup() : spare.pop();
                group.reset(assignBase, tail, maxInFlight, CommitGroup.bitOf(groupSequence++));
                open = group;
            }
            future = new RecordFuture(this, board, engine, group);
            long position = -1;
            try {
                position = group.add(record, offset, length, checksum.crc, checksum.scratch, future);
            } catch (RuntimeException | Error e) {
                // The record's memory could not be read (its arena closed, another thread's, a mapping cut short):
                // nothing of it was added, and a group made for it must not stay open empty, unsubmitted.
                unreadable = e;
                dropIfEmptyLocked(group);
            }
            if (unreadable == null) {
                pump = acceptedLocked(group, frame, position, future, checksum, writer);
            }
        } finally {
            lock.unlock();
        }
        if (unreadable != null) {
            pump(); // a group this append sealed (full, or a roll) goes as it would have
            if (unreadable instanceof RuntimeException re) {
                throw re;
            }
            throw (Error) unreadable;
        }
        if (pump) {
            pump(writer ? group : null);
        }
        return future;
    }

    /**
     * Whether this thread writes the group of its next record itself, if its append cuts it
     * ({@link AppendLogConfig#waiterWrites}): a platform thread that called {@code join} or {@code get} on the future of
     * its previous append, and found it done, and that may wait for groups ({@link #mayWaitForGroups}: not inside an
     * acknowledgement, not one of the engine's threads). Read before the append replaces {@code lastAppend}.
     */
    private boolean writesItsGroup(Checksum self) {
        CompletableFuture<Long> previous = self.lastAppend;
        return config.waiterWrites() && previous != null && self.waitedFor == previous && previous.isDone()
                && !Thread.currentThread().isVirtual() && mayWaitForGroups(self);
    }

    /** A blocking wait ({@code join}/{@code get}) on {@code future}, a record's, begins on this thread. */
    static void waitingFor(CompletableFuture<Long> future) {
        CHECKSUM.get().waitedFor = future;
    }

    /** A timed wait on {@code future}, a record's, timed out on this thread: it is no longer the one waited for. */
    static void notWaitingFor(CompletableFuture<Long> future) {
        Checksum self = CHECKSUM.get();
        if (self.waitedFor == future) {
            self.waitedFor = null;
        }
    }

    /**
     * The record at {@code position} is in {@code group} (lock held): the tail and the budget move past it, and
     * whether this appender submits the group now is decided, or it leads it (the bounded wait of {@link GroupWait}).
     *
     * @return true if this appender is to pump now
     */
    private boolean acceptedLocked(CommitGroup group, long frame, long position, RecordFuture future,
                                   Checksum checksum, boolean writer) {
        CompletableFuture<Long> previous = checksum.lastAppend;
        checksum.lastAppend = future;
        assert position == tail : "group out of step: " + position + " != " + tail;
        tail += frame;
        pendingBytes += frame;
        // While a group's appenders are being acknowledged, the acknowledging thread pumps once they all are:
        // appends made from those completions join one group instead of the first going alone.
        boolean slotFree = flying.size() < maxInFlight && !rolling;
        boolean pump = slotFree && acking == 0 && !holdingLocked(group);
        if (slotFree && held == null && claimed == null) {
            // Appenders that block until their record is durable come back one by one after an
            // acknowledgement: the first back leads, waiting boundedly for the others before the group is cut.
            long wait = leaderWaitLocked(group, previous, checksum);
            if (wait > 0) {
                return leadLocked(group, wait);
            }
            if (writer && acking > 0 && group == open) {
                return claimAfterAcknowledgementLocked(group);
            }
        }
        return pump;
    }

    /**
     * An appender that writes its group itself ({@link AppendLogConfig#waiterWrites}), and whose record joined
     * {@code group} while an acknowledgement runs: the acknowledging thread would cut the group once it ends, through
     * a ring. This appender keeps the group for itself until the acknowledgement ends (at most
     * {@link AppendLogConfig#maxGroupWaitNanos}: an acknowledgement runs the completions' dependents, code of the
     * user), other appends joining it meanwhile (lock held, released while it waits). A full group, a close or a poison
     * ends the wait.
     *
     * @return true if this appender cuts the group now; false to leave it to the acknowledging thread or whoever took
     *         it
     */
    private boolean claimAfterAcknowledgementLocked(CommitGroup group) {
        long max = config.maxGroupWaitNanos();
        if (max == 0 || Thread.currentThread().isInterrupted()) {
            return false;
        }
        claimed = group;
        long deadline = System.nanoTime() + max;
        try {
            while (claimed == group && acking > 0 && !closing && poison == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                leaderWake.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // cut as the acknowledgement would; the caller sees its interrupt
        }
        if (claimed != group) {
            return false; // sealed and taken, or the log was poisoned
        }
        claimed = null;
        return acking == 0;
    }

    /** The open {@code group}, if it holds no record, is no longer open, and goes back to the spares (lock held). */
    private void dropIfEmptyLocked(CommitGroup group) {
        if (group == open && group.count() == 0) {
            open = null;
            keepSpareLocked(group);
        }
    }

    /** Keeps {@code group} for reuse while fewer than a few are kept and its buffer has not grown large (lock held). */
    private void keepSpareLocked(CommitGroup group) {
        if (spare.size() < SPARE_GROUPS && group.capacity() <= 2 * config.maxGroupBytes()) {
            spare.push(group);
        }
    }

    /**
     * Whether this thread may block until groups of the log are durable or cut: not from a completion that an
     * acknowledgement runs on it (the acknowledged bytes return, and the groups behind go out, only after that
     * acknowledgement, on this thread), nor on one of the engine's threads (the groups' completions need it). Such a
     * thread appends over the budget, never leads a group's wait, and closes without waiting.
     */
    private boolean mayWaitForGroups(Checksum self) {
        return self.acknowledging == 0 && !engine.isEngineThread();
    }

    /** Under the lock: the open group stops taking records and waits its turn. */
    private void sealOpen() {
        assert lock.isHeldByCurrentThread();
        if (open != null) {
            sealed.addLast(open);
            if (held == open) {
                releaseLeaderLocked(); // full: it goes at the next free slot; its leader's wait ends
            }
            unclaimLocked(open);
            open = null;
        }
    }

    /**
     * How long this appender, which just added a record to {@code group} with a slot free, waits as the group's
     * leader before cutting it ({@link GroupWait}); 0 to cut it at once (lock held). Never on one of the engine's
     * threads (a ring thread must not wait), from a completion run by an acknowledgement on this thread
     * ({@link #mayWaitForGroups}: a group's I/O may end on the thread that submitted it or completed its stage, not
     * only on a ring thread; the wait would hold that acknowledgement open, and with it the end of the wait), on an
     * interrupted thread, or on a thread whose {@code previous} append is not durable yet: it runs ahead of its
     * acknowledgements, so it is not one of those coming back, and a wait would only stall it.
     */
    private long leaderWaitLocked(CommitGroup group, CompletableFuture<Long> previous, Checksum self) {
        long max = config.maxGroupWaitNanos();
        if (max == 0 || group != open || group.count() >= expected || (previous != null && !previous.isDone())) {
            return 0; // the common cases first, without a clock read: a lone appender never waits
        }
        long wait = GroupWait.nanos(group.count(), expected, System.nanoTime() - lastAckNanos, syncNanos, max);
        if (wait == 0 || Thread.currentThread().isInterrupted() || !mayWaitForGroups(self)) {
            return 0;
        }
        return wait;
    }

    /**
     * The leader's wait (lock held, released while it waits): {@code group} is held open until it has as many records
     * as {@link #expected}, its wait of {@code waitNanos} ends, the log closes or is poisoned, or the thread is
     * interrupted (the status stays set). Whoever brings the group to {@code expected} records cuts it; so does any
     * pump after the deadline.
     *
     * @return true if the hold ended with the group still open: the leader cuts it now
     */
    private boolean leadLocked(CommitGroup group, long waitNanos) {
        leads++;
        held = group;
        heldWait = waitNanos;
        heldUntil = System.nanoTime() + waitNanos;
        try {
            while (held == group && group.count() < expected && !closing && poison == null) {
                long left = heldUntil - System.nanoTime();
                if (left <= 0) {
                    if (acking == 0) {
                        break;
                    }
                    left = waitNanos; // the acknowledgement's end restarts the wait; look again then
                }
                leaderWake.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // cut at once; the caller sees its interrupt
        }
        if (held != group) {
            return false; // already cut (full, or sealed), or the log was poisoned
        }
        held = null;
        return true;
    }

    /**
     * The held group was cut or sealed by another thread (lock held): its leader stops waiting at once, so that its
     * append returns now rather than at its deadline.
     */
    private void releaseLeaderLocked() {
        held = null;
        leaderWake.signalAll();
    }

    /** Whether {@code group} is held open for its leader now: not to be cut yet (lock held). */
    private boolean holdingLocked(CommitGroup group) {
        if (group == claimed) {
            return !closing && poison == null;
        }
        return group == held && group.count() < expected && !closing
                && (acking > 0 || System.nanoTime() - heldUntil < 0);
    }

    /** {@code group} leaves the open slot (lock held): an appender that claimed it stops waiting for it. */
    private void unclaimLocked(CommitGroup group) {
        if (claimed == group) {
            claimed = null;
            leaderWake.signalAll();
        }
    }

    // ---------------------------------------------------------------- flush

    /**
     * Submits waiting groups while a slot is free: the next sealed group, else the open one. A group for a new segment
     * waits until nothing is in flight, then rolls the log over first. Called by appenders and by completions.
     */
    private void pump() {
        pump(null);
    }

    /**
     * {@link #pump()}, by an appender that writes {@code own}, its record's group, itself if it submits it: on this
     * thread, with plain system calls ({@link #writeOnThisThread}); null for none.
     */
    private void pump(CommitGroup own) {
        while (true) {
            CommitGroup group;
            int slot = -1;
            boolean roll = false;
            boolean finishClose = false;
            lock.lock();
            try {
                if (poison != null) {
                    // Nothing goes out any more; a close that waited for the acknowledgement pumping now may end.
                    group = null;
                } else if (rolling) {
                    return;
                } else {
                    group = sealed.peekFirst();
                    if (group == null) {
                        group = open;
                        if (group != null && holdingLocked(group)) {
                            return; // its leader cuts it
                        }
                    }
                }
                if (group == null) {
                    finishClose = startCloseIfIdleLocked();
                } else if (flying.size() >= maxInFlight) {
                    return;
                } else if (group.segmentBase != active.base) {
                    if (!flying.isEmpty()) {
                        return; // the new segment's first group waits until every group before it is durable
                    }
                    rolling = true;
                    roll = true;
                }
                if (group != null) {
                    if (group == open) {
                        open = null;
                        if (held == group) {
                            releaseLeaderLocked();
                        }
                        unclaimLocked(group);
                    } else {
                        sealed.pollFirst();
                    }
                    for (int i = 0; i < maxInFlight; i++) {
                        if (!slotBusy[i]) {
                            slot = i;
                            break;
                        }
                    }
                    slotBusy[slot] = true;
                    group.slot = slot;
                    group.submitNanos = System.nanoTime();
                    expected = Math.max(0, expected - group.count()); // those still to come back
                    flying.addLast(group);
                }
            } finally {
                lock.unlock();
            }
            if (group == null) {
                if (finishClose) {
                    finishClose();
                }
                return;
            }
            if (roll) {
                rollThenSubmit(group);
                return;
            }
            if (group == own && active.ios[group.slot].writesBlocking()) {
                writeOnThisThread(group);
            } else {
                submit(group);
            }
        }
    }

    /**
     * {@code group}'s write and {@code fdatasync} on this thread, which waits for its record in it
     * ({@link AppendLogConfig#waiterWrites}); then its completion, here too. Its other waiters sleep on the board
     * ({@code group.io} stays null: there is no lane to wait in).
     */
    private void writeOnThisThread(CommitGroup group) {
        appenderWrites.increment();
        Integer written = null;
        Throwable failure = null;
        try {
            written = active.ios[group.slot].writeDurableBlocking(group.frames(), group.fileOffset());
        } catch (Throwable e) {
            failure = e; // an Error too: the group must leave the pipeline, or nothing is acknowledged again
        }
        groupDone(group, written, failure);
        if (failure instanceof Error e) {
            throw e;
        }
    }

    private void submit(CommitGroup group) {
        LogSegment segment = active;
        CompletableFuture<Integer> io;
        try {
            io = segment.ios[group.slot].writeDurable(group.frames(), group.fileOffset());
        } catch (RuntimeException e) {
            io = CompletableFuture.failedFuture(e);
        }
        group.io = io; // its waiters may wait in its lane (RecordFuture)
        io.whenComplete((written, failure) -> groupDone(group, written, failure));
    }

    /**
     * The segment roller's step in the pipeline: rolls over to {@code first}'s segment (nothing is in flight), then
     * submits it and pumps the groups behind it; a failed roll fails {@code first}, which poisons the log.
     */
    private void rollThenSubmit(CommitGroup first) {
        roll(first.segmentBase).whenComplete((segment, failure) -> {
            if (failure != null) {
                groupDone(first, null, failure);
                return;
            }
            lock.lock();
            try {
                rolling = false;
            } finally {
                lock.unlock();
            }
            submit(first);
            pump();
        });
    }

    /**
     * Rolls over to the segment at {@code base}, with nothing in flight: names the prepared spare (preparing one now if
     * the background preparation failed, or if {@link #isOwnSpare} finds that another hand deleted or replaced it: it
     * holds no record), syncs the directory, opens it, closes the old segment, and starts preparing the next spare.
     */
    private CompletableFuture<LogSegment> roll(long base) {
        CompletableFuture<Void> ready = spareReady;
        return ready.handle((v, failure) -> failure).thenApplyAsync(failure -> {
            try {
                directoryLock.checkInPlace("roll over"); // else the names below are another directory's
                Path spareFile = directory.resolve(LogSegment.SPARE_NAME);
                if (failure != null || !isOwnSpare(spareFile)) {
                    Files.deleteIfExists(spareFile);
                    LogSegment.prepare(spareFile, 0, config, () -> cancelPreparation);
                }
                return LogSegment.promoteSpare(directory, base);
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        }, preparer).thenCompose(path -> LogSegment.open(engine, path, base, config)).thenApply(s -> {
            LogSegment previous = active;
            active = s;
            rolls.increment();
            previous.closeAsync();
            if (!cancelPreparation) {
                spareReady = prepareSpare();
            }
            return s;
        });
    }

    /**
     * Whether {@code spare} is a regular file with no other name, as the preparer left it: not missing, not a
     * directory or a symbolic link, and not a hard link, whose other name may be a segment of this log or another
     * (renamed into the next segment, its groups would overwrite that segment's records).
     */
    private static boolean isOwnSpare(Path spare) throws IOException {
        if (!Files.isRegularFile(spare, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try {
            return (int) Files.getAttribute(spare, "unix:nlink", LinkOption.NOFOLLOW_LINKS) == 1;
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    /**
     * The end of one group's write+fdatasync: the commit pipeline's completion. Under the lock: its slot is freed,
     * a failure poisons the log (every group not yet acknowledged fails), and the groups now durable in order leave
     * the pipeline. Outside it: the failed groups fail, a waiting close finishes, the durable groups are acknowledged.
     */
    private void groupDone(CommitGroup group, Integer written, Throwable failure) {
        failure = shortWriteAsFailure(group, written, failure);
        if (failure == null && active.deleted()) {
            // Synced into a file without a name (rm -rf of the directory): no open would ever find the group. Checked
            // after its sync, before any acknowledgement of it.
            failure = new LogSegmentDeletedException(active.path);
        }
        List<CommitGroup> acknowledged;
        List<CommitGroup> failed = null;
        LogPoisonedException poisonedNow = null;
        boolean finishClose;
        lock.lock();
        try {
            if (group.slot >= 0) {
                slotBusy[group.slot] = false;
            }
            group.done = true;
            if (failure == null) {
                syncNanos = GroupWait.average(syncNanos, System.nanoTime() - group.submitNanos);
            }
            if (failure != null && poison == null) {
                failed = poisonLocked(group, failure);
                poisonedNow = poison;
            }
            acknowledged = poison != null ? dropEndedLocked() : takeDurableLocked();
            finishClose = poison != null && startCloseIfIdleLocked();
        } finally {
            lock.unlock();
        }
        if (failed != null) {
            for (CommitGroup g : failed) {
                g.fail(poisonedNow, board);
            }
            board.wake(-1);
        }
        if (finishClose) {
            finishClose();
        }
        if (acknowledged != null) {
            acknowledge(acknowledged);
        }
    }

    /** A write+fdatasync that wrote fewer bytes than its group holds is a failure too. */
    private Throwable shortWriteAsFailure(CommitGroup group, Integer written, Throwable failure) {
        if (failure == null && written != group.bytes()) {
            return new IOException("write+fdatasync " + active.path + ": short write, " + written + " of "
                    + group.bytes() + " bytes");
        }
        return failure;
    }

    /**
     * Poisons the log with {@code failure} of {@code group}'s I/O (lock held): every group not yet acknowledged
     * (in flight, sealed, open) is taken out and returned, to fail with the poison outside the lock.
     */
    private List<CommitGroup> poisonLocked(CommitGroup group, Throwable failure) {
        Throwable cause = unwrap(failure);
        int errno = cause instanceof UringIOException u ? u.errno() : ErrnoTable.EIO;
        String operation = cause instanceof UringIOException u ? u.operation() : "write+fdatasync";
        // Everything not yet acknowledged fails from here on: the first unacknowledged group is the head.
        long failedPosition = flying.isEmpty() ? group.start : flying.peekFirst().start;
        poison = new LogPoisonedException(errno, operation, active.path.toString(), failedPosition, cause);
        List<CommitGroup> failed = new ArrayList<>(flying);
        failed.addAll(sealed);
        sealed.clear();
        if (open != null) {
            failed.add(open);
            open = null;
        }
        held = null;
        claimed = null;
        pendingBytes = 0;
        rolling = false;
        drained.signalAll();
        leaderWake.signalAll();
        return failed;
    }

    /**
     * On a poisoned log (lock held): the groups whose I/O has ended leave the pipeline, this one and those that ended
     * earlier, successfully, behind one not yet done: no completion is left to remove them (close would wait for them
     * forever). Nothing is acknowledged: null.
     */
    private List<CommitGroup> dropEndedLocked() {
        flying.removeIf(g -> g.done);
        return null;
    }

    /**
     * The groups at the head of the pipeline whose I/O is done, in order (lock held): they leave it, the durable
     * position moves past them, and an acknowledgement starts ({@code acking}); null when the head is not done.
     */
    private List<CommitGroup> takeDurableLocked() {
        List<CommitGroup> acknowledged = null;
        int count = 0;
        while (!flying.isEmpty() && flying.peekFirst().done) {
            CommitGroup g = flying.pollFirst();
            if (acknowledged == null) {
                acknowledged = new ArrayList<>(2);
            }
            acknowledged.add(g);
            count += g.count();
            durable = g.end();
        }
        if (acknowledged != null) {
            acking++;
            // Their appenders may come back, to join those already waiting in the open group: the next group's
            // leader waits for all of them.
            expected = count + (open != null ? open.count() : 0);
            lastAckNanos = System.nanoTime();
        }
        return acknowledged;
    }

    /**
     * Whether a requested close may finish now, nothing being in flight and no acknowledgement under way (its
     * futures complete before the close does); it is then started (lock held).
     */
    private boolean startCloseIfIdleLocked() {
        if (closing && flying.isEmpty() && acking == 0 && !closeStarted) {
            closeStarted = true;
            return true;
        }
        return false;
    }

    /**
     * Acknowledges durable groups, in order: counters, then each group's appenders; then the appends those made
     * are submitted as one group ({@link #pump}), and the groups' bytes and objects are returned.
     */
    private void acknowledge(List<CommitGroup> acknowledged) {
        Checksum self = CHECKSUM.get(); // once per acknowledgement, not per record
        self.enter(this);
        try {
            acknowledgeOnThisThread(acknowledged);
        } finally {
            self.exit();
        }
    }

    /**
     * Whether this thread runs an acknowledgement of this log now (a completion of one of its records, or a dependent
     * of one), also beneath an acknowledgement of another log nested in it: appends made there are submitted only once the acknowledgement ends, so a wait there for a record of
     * this log not yet durable would wait for itself ({@link RecordFuture#checkMayWait}).
     */
    boolean acknowledgesOnThisThread() {
        return CHECKSUM.get().acknowledges(this);
    }

    /** {@link #acknowledge}'s work, with this thread marked as acknowledging. */
    private void acknowledgeOnThisThread(List<CommitGroup> acknowledged) {
        long ackedBytes = 0;
        int wakeBits = 0;
        try {
            for (CommitGroup g : acknowledged) {
                groups.increment();
                records.add(g.count());
                bytes.add(g.bytes());
                ackedBytes += g.bytes();
                wakeBits |= g.wakeBit();
                g.succeed(board, wakeBits);
            }
        } finally {
            board.wake(wakeBits);
            lock.lock();
            try {
                if (--acking == 0 && held != null) {
                    // The appenders just woken come back from now on: a leader waiting for them waits from here.
                    heldUntil = Math.max(heldUntil, System.nanoTime() + heldWait);
                }
                if (acking == 0 && claimed != null) {
                    leaderWake.signalAll(); // the appender that claimed the open group cuts it now
                }
            } finally {
                lock.unlock();
            }
            pump(); // the appends made from those completions, as one group
        }
        releaseAcknowledged(acknowledged, ackedBytes);
    }

    /** Returns acknowledged groups' bytes to the backpressure budget and keeps a few groups for reuse. */
    private void releaseAcknowledged(List<CommitGroup> acknowledged, long ackedBytes) {
        lock.lock();
        try {
            pendingBytes -= ackedBytes;
            drained.signalAll();
            for (CommitGroup g : acknowledged) {
                keepSpareLocked(g);
            }
        } finally {
            lock.unlock();
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
        return new AppendLogStats(groups.sum(), records.sum(), bytes.sum(), rolls.sum(), durable,
                appenderWrites.sum());
    }

    /**
     * Visits the durable records from {@code from} (0, or a position an append reported) up to
     * {@link #durablePosition()} at the time of the call, in position order. Reads with {@code pread}, concurrently
     * with appends. The start is checked to be a record's by walking the records to it from the nearest position
     * earlier reads passed (at most about 1 MiB; none for a start where a read ended, or at the durable position),
     * else from its segment's start: a frame found at {@code from} proves nothing, as a payload may hold a whole frame
     * made for that very position. The visitor may append to this log or close it: the read goes on to the durable
     * position it started with. A closed log still reads its files as they are (it no longer holds the directory's
     * lock: a later writer's recovery may have changed them).
     *
     * @throws IllegalArgumentException   if no record starts at {@code from}, or it lies past the durable position
     *                                    (the durable position itself is a valid start: nothing is visited), or before
     *                                    the first segment, when older segments were removed (0 is a valid start: the
     *                                    first record there is)
     * @throws LogCorruptedException      if a bad frame stands before the durable position (nothing is skipped)
     * @throws LogDirectoryMovedException if the log's directory is no longer at its path
     */
    public void read(long from, RecordVisitor visitor) throws IOException {
        Objects.requireNonNull(visitor, "visitor");
        directoryLock.checkInPlace("read");
        long end = durable;
        LogRecovery.read(directory, from, end, visitor, readStarts);
        readStarts.ended(end); // where a reader that read to the end resumes
    }

    // ---------------------------------------------------------------- close

    /**
     * Closes the log: new appends fail with {@link LogClosedException}; appends already accepted are flushed (or fail,
     * if the log is poisoned); then the segment and directory handles are closed. Idempotent.
     *
     * @return a future of the close, the caller's own: completing, cancelling or timing it out ({@code orTimeout})
     *         ends that future only; the close goes on, and a later call returns a future of its real end
     */
    public CompletableFuture<Void> closeAsync() {
        startClose();
        return closed.copy(); // the caller's own: what the caller does to it stays there
    }

    /** {@link #closeAsync()}'s work: refuses new appends and finishes the close at once if nothing is pending. */
    private void startClose() {
        boolean idle;
        lock.lock();
        try {
            if (closing) {
                return;
            }
            closing = true;
            drained.signalAll();
            leaderWake.signalAll(); // a leader cuts its group now
            idle = flying.isEmpty() && (poison != null || (sealed.isEmpty() && open == null)) && !rolling
                    && acking == 0; // else the acknowledgement's pump ends the close
            if (idle) {
                closeStarted = true;
            }
        } finally {
            lock.unlock();
        }
        if (idle) {
            finishClose();
        }
    }

    /** With nothing in flight: stops the preparer, deletes an unused spare, closes the segment. */
    private void finishClose() {
        cancelPreparation = true;
        CompletableFuture<Void> spareDone = spareReady.handle((v, failure) -> null);
        CompletableFuture<Void> spareDeleted = spareDone.thenRunAsync(() -> {
            try {
                directoryLock.checkInPlace("close"); // a moved directory's spare stays, for recovery to delete
                Files.deleteIfExists(directory.resolve(LogSegment.SPARE_NAME));
            } catch (IOException ignored) {
                // recovery deletes it at the next open
            }
        }, preparer).handle((v, failure) -> null);
        spareDeleted.whenComplete((v, f) -> preparer.shutdown());
        CompletableFuture.allOf(active.closeAsync(), spareDeleted).whenComplete((v, failure) -> {
            directoryLock.close(); // after the last write: the next writer may open the directory now
            if (failure != null) {
                closed.completeExceptionally(unwrap(failure));
            } else {
                closed.complete(null);
            }
        });
    }

    /**
     * {@link #closeAsync()}, waiting for it; except on a thread the close needs: called from a record's completion
     * (the acknowledgement that runs it must end before the groups behind it go out) or on one of the engine's threads
     * (the last groups' completions and the files' closes need it), it starts the close and returns at once, and
     * {@link #closeAsync()} tells when the close is done.
     */
    @Override
    public void close() throws IOException {
        CompletableFuture<Void> closing = closeAsync();
        if (!mayWaitForGroups(CHECKSUM.get())) {
            return; // waiting here would wait for this very thread
        }
        await(closing, "close " + name);
    }

    /** How many times an appender waited as a new group's leader ({@link GroupWait}); for tests. */
    long leaderWaits() {
        lock.lock();
        try {
            return leads;
        } finally {
            lock.unlock();
        }
    }

    /** How many threads sleep on this log's records now ({@link FutexBoard}); for tests. */
    int sleepers() {
        return board.sleepers();
    }

    /**
     * Test seam: makes the log behave as if groups of {@code expected} records had just been acknowledged and a
     * write+fdatasync took {@code syncNanos}, so that the next appender with a free slot leads and waits (up to
     * {@link AppendLogConfig#maxGroupWaitNanos} and {@code syncNanos / GroupWait.SYNC_FRACTION}).
     */
    void assumeGroupsAcknowledged(int expected, long syncNanos) {
        lock.lock();
        try {
            this.expected = expected;
            this.syncNanos = syncNanos;
            this.lastAckNanos = System.nanoTime();
        } finally {
            lock.unlock();
        }
    }

    /** Test seam: makes the moving average of write+fdatasync times {@code syncNanos} (it moves on from there). */
    void assumeFdatasyncNanos(long syncNanos) {
        lock.lock();
        try {
            this.syncNanos = syncNanos;
        } finally {
            lock.unlock();
        }
    }

    /** The pipeline's state, for a test's failure message. */
    String pipelineState() {
        lock.lock();
        try {
            StringBuilder groups = new StringBuilder();
            for (CommitGroup g : flying) {
                groups.append(" [start ").append(g.start).append(" base ").append(g.segmentBase).append(" slot ")
                        .append(g.slot).append(" done ").append(g.done).append(']');
            }
            return "active " + active.base + ", flying " + flying.size() + groups + ", sealed " + sealed.size()
                    + ", open " + (open != null) + ", rolling " + rolling + ", acking " + acking
                    + ", expected " + expected + ", held " + (held != null)
                    + ", closing " + closing + ", closeStarted " + closeStarted + ", poisoned " + (poison != null)
                    + ", closed " + closed.isDone();
        } finally {
            lock.unlock();
        }
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
