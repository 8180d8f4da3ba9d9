package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * One segment file of an {@link AppendLog}: {@code <base>.log}, where {@code base} (20 decimal digits) is the log
 * position of its first byte. Positions are dense across segments: a segment starts where the data of the one before
 * it ended. A segment is preallocated to the configured size and (by default) written with zeros over it, so its
 * written data ends at the first zero frame header, and a group's {@code fdatasync} has no metadata to commit.
 *
 * <p>The segment is open once per in-flight group slot ({@link AppendLogConfig#maxGroupsInFlight}): each slot's
 * {@code fdatasync} goes through its own open file description, whose write-back error cursor sees every error since
 * that slot's previous sync, so an error is never consumed by another group's concurrent sync.
 *
 * <p>The next segment is prepared ahead under the name {@link #SPARE_NAME} (preallocated, zero-filled,
 * {@code fsync}ed) and renamed to its base when the log rolls over, followed by a directory {@code fsync}.
 */
final class LogSegment {
    static final String SUFFIX = ".log";
    /** The segment prepared ahead, not yet named; recovery deletes it. */
    static final String SPARE_NAME = "next-segment.prealloc";
    private static final int NAME_DIGITS = 20;
    private static final int ZERO_CHUNK = 1 << 20;
    /** Where a {@code struct statx} starts in {@link #STATX_BUFFER}, after the empty path (a NUL) of AT_EMPTY_PATH. */
    private static final long STATX_AT = 8;
    /**
     * Per thread (the threads that complete the log's groups): an empty path and a {@code struct statx}, for
     * {@link #deleted}, which runs once per group and should not allocate.
     */
    private static final ThreadLocal<MemorySegment> STATX_BUFFER = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(STATX_AT + Uapi.STATX_STRUCT_SIZE, 8));

    final long base;
    final Path path;
    /** One per in-flight slot, all on the same file. */
    final SegmentIo[] ios;

    private LogSegment(long base, Path path, SegmentIo[] ios) {
        this.base = base;
        this.path = path;
        this.ios = ios;
    }

    static String fileName(long base) {
        return String.format("%0" + NAME_DIGITS + "d%s", base, SUFFIX);
    }

    /**
     * The base of a segment file's name, or -1 if {@code file} is not a segment: exactly the names {@link #fileName}
     * makes, twenty ASCII digits. ({@code Character.isDigit} and {@code Long.parseLong} also take other scripts'
     * digits, so a stray name of those read as the base of a segment whose ASCII-named file did not exist.)
     */
    static long baseOf(Path file) {
        String name = file.getFileName().toString();
        if (name.length() != NAME_DIGITS + SUFFIX.length() || !name.endsWith(SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < NAME_DIGITS; i++) {
            char c = name.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
        }
        try {
            return Long.parseLong(name, 0, NAME_DIGITS, 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The bases of the segments in {@code directory}, ascending.
     *
     * @throws LogCorruptedException if an entry under a segment's name is not a regular file (a directory, a FIFO, a
     *                               device, a dangling link): it cannot hold the log's records, and opening a FIFO
     *                               to read it would wait for a writer forever
     */
    static List<Long> list(Path directory) throws IOException {
        List<Long> bases = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path f : files) {
                long base = baseOf(f);
                if (base < 0) {
                    continue;
                }
                if (!Files.isRegularFile(f)) { // follows a link: a segment may be one, to a regular file
                    throw new LogCorruptedException(f, base, 0, "not a regular file, where a segment of the log "
                            + "must be one; remove or rename it");
                }
                bases.add(base);
            }
        }
        Collections.sort(bases);
        return bases;
    }

    /**
     * Makes {@code path} a ready segment, blocking (call it off the ring threads): creates it if needed, preallocates
     * it to {@code segmentBytes} ({@code fallocate} mode 0) when it holds less, writes zeros over
     * {@code [writtenBytes, segmentBytes)} when {@link AppendLogConfig#zeroFill}, and {@code fsync}s it, so that the
     * allocation and the written extents are durable before a record goes in. The directory is not synced here.
     *
     * @param cancelled polled between zero chunks; when true the preparation stops with an {@code IOException}
     */
    static void prepare(Path path, long writtenBytes, AppendLogConfig config, BooleanSupplier cancelled)
            throws IOException {
        int fd = Libc.open(path.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        if (fd < 0) {
            throw new UringIOException(-fd, "open", path.toString());
        }
        try {
            long size = Files.size(path);
            long segmentBytes = config.segmentBytes();
            if (config.preallocate() && size < segmentBytes) {
                int res = Libc.fallocate(fd, 0, 0, segmentBytes);
                if (res < 0) {
                    throw new UringIOException(-res, "fallocate", path.toString());
                }
            }
            if (config.zeroFill() && writtenBytes < segmentBytes) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment zeros = arena.allocate(ZERO_CHUNK, 4096);
                    long offset = writtenBytes;
                    while (offset < segmentBytes) {
                        if (cancelled.getAsBoolean()) {
                            throw new IOException("preparing " + path + ": cancelled (the log is closing)");
                        }
                        // Chunks end on ZERO_CHUNK boundaries so that the writes stay block aligned after the first.
                        long n = Math.min(segmentBytes - offset, ZERO_CHUNK - offset % ZERO_CHUNK);
                        long res = Libc.pwrite(fd, zeros.address(), n, offset);
                        if (res < 0) {
                            throw new UringIOException((int) -res, "pwrite", path.toString());
                        }
                        offset += res;
                    }
                }
            }
            int res = Libc.fsync(fd);
            if (res < 0) {
                throw new UringIOException(-res, "fsync", path.toString());
            }
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * Prepares the segment at {@code base} in place ({@link #prepare}), {@code fsync}s the directory so the name
     * survives a crash, and opens it; blocking. For the tail segment at {@link AppendLog#open}.
     *
     * @param writtenBytes bytes of data the file already holds (recovered), kept as they are
     */
    static LogSegment openTail(RingEngine engine, Path directory, long base, long writtenBytes,
                               AppendLogConfig config) throws IOException {
        Path path = directory.resolve(fileName(base));
        prepare(path, writtenBytes, config, () -> false);
        fsyncDirectory(directory);
        CompletableFuture<LogSegment> opening = open(engine, path, base, config);
        try {
            return AppendLog.await(opening, "open " + path);
        } catch (IOException | RuntimeException e) {
            opening.thenAccept(LogSegment::closeAsync); // an interrupted wait: the files still open, nobody's
            throw e;
        }
    }

    /**
     * Names the prepared spare {@code <base>.log} and {@code fsync}s the directory; blocking. Afterwards the segment
     * exists durably under its name, with its zeros.
     */
    static Path promoteSpare(Path directory, long base) throws IOException {
        Path target = directory.resolve(fileName(base));
        Files.move(directory.resolve(SPARE_NAME), target, StandardCopyOption.ATOMIC_MOVE);
        fsyncDirectory(directory);
        return target;
    }

    /** Opens a prepared segment file through the engine, once per in-flight slot. */
    static CompletableFuture<LogSegment> open(RingEngine engine, Path path, long base, AppendLogConfig config) {
        int slots = config.maxGroupsInFlight();
        List<CompletableFuture<AsyncFile>> opens = new ArrayList<>(slots);
        for (int i = 0; i < slots; i++) {
            opens.add(engine.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
        }
        return CompletableFuture.allOf(opens.toArray(CompletableFuture[]::new)).handle((v, failure) -> {
            if (failure != null) {
                for (CompletableFuture<AsyncFile> f : opens) {
                    f.thenAccept(AsyncFile::closeAsync);
                }
                throw failure instanceof RuntimeException re ? re
                        : new java.util.concurrent.CompletionException(failure);
            }
            SegmentIo[] ios = new SegmentIo[slots];
            for (int i = 0; i < slots; i++) {
                ios[i] = config.segmentIoWrapper().apply(SegmentIo.of(opens.get(i).join()));
            }
            return new LogSegment(base, path, ios);
        });
    }

    /**
     * Whether the segment's file has no name left (its link count is 0): its directory was removed or the file
     * deleted, so a record written to it now could never be found by an open of the log. One {@code statx} of the
     * open file itself ({@code AT_EMPTY_PATH}); false when that fails (nothing is known).
     */
    boolean deleted() {
        MemorySegment buffer = STATX_BUFFER.get();
        int res = Libc.statx(ios[0].file().fd(), buffer.address(), Uapi.AT_EMPTY_PATH, Uapi.STATX_NLINK,
                buffer.address() + STATX_AT);
        return res >= 0 && (buffer.get(ValueLayout.JAVA_INT, STATX_AT + Uapi.STATX_NLINK_OFFSET)) == 0;
    }

    CompletableFuture<Void> closeAsync() {
        CompletableFuture<?>[] closes = new CompletableFuture<?>[ios.length];
        for (int i = 0; i < ios.length; i++) {
            closes[i] = ios[i].file().closeAsync();
        }
        return CompletableFuture.allOf(closes);
    }

    /**
     * Drops {@code path}'s clean pages from the page cache ({@code posix_fadvise(POSIX_FADV_DONTNEED)}), so that
     * recovery reads what the disk holds. After a failed writeback Linux marks the pages clean and keeps them: a
     * reopen in the same boot would read back a group whose write never reached the disk, take it for durable and
     * append after it, and a reboot would then find a hole before records it acknowledged. Dirty pages stay (the
     * kernel still owes them to the disk). Best effort: a file that cannot be opened is left to the scan that follows
     * (which reports why), and a file system that refuses the advice keeps its cache.
     */
    static void dropCachedPages(Path path) {
        // O_NONBLOCK: a FIFO under a segment's name must not hold the open here (the scan reports it as corruption).
        int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            return;
        }
        try {
            Libc.posixFadvise(fd, 0, 0, Libc.POSIX_FADV_DONTNEED);
        } finally {
            Libc.close(fd);
        }
    }

    /** A directory {@code fsync}: {@link #fsyncDirectory}, or a test's recorder. */
    interface DirectorySync {
        void fsync(Path directory) throws IOException;
    }

    /**
     * Creates {@code directory} and its missing ancestors, and makes each created directory's entry durable: its
     * parent is {@code fsync}ed, from the top down (a log directory whose ancestor's entry a power loss can take takes
     * the log with it); blocking.
     */
    static void createDirectories(Path directory, DirectorySync sync) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path p = directory; p != null && !Files.isDirectory(p); p = p.getParent()) {
            missing.addFirst(p); // top down
        }
        if (missing.isEmpty()) {
            return;
        }
        Files.createDirectories(directory);
        for (Path created : missing) {
            if (created.getParent() != null) {
                sync.fsync(created.getParent());
            }
        }
    }

    /** fsyncs {@code directory} (open with O_RDONLY | O_DIRECTORY, fsync, close), blocking; for recovery. */
    static void fsyncDirectory(Path directory) throws IOException {
        int fd = Libc.open(directory.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new UringIOException(-fd, "open", directory.toString());
        }
        try {
            int res = Libc.fsync(fd);
            if (res < 0) {
                throw new UringIOException(-res, "fsync", directory.toString());
            }
        } finally {
            Libc.close(fd);
        }
    }

    @Override
    public String toString() {
        return "segment " + path;
    }
}
