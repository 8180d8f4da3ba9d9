package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.sys.Libc;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * One segment file of an {@link AppendLog}: {@code <base>.log}, where {@code base} (20 decimal digits) is the log
 * position of its first byte. Positions are dense across segments: a segment starts where the data of the one before
 * it ended. A segment is preallocated to the configured size, so its written data ends at the first zero frame
 * header.
 */
final class LogSegment {
    static final String SUFFIX = ".log";
    private static final int NAME_DIGITS = 20;

    final long base;
    final Path path;
    final SegmentIo io;

    private LogSegment(long base, Path path, SegmentIo io) {
        this.base = base;
        this.path = path;
        this.io = io;
    }

    static String fileName(long base) {
        return String.format("%0" + NAME_DIGITS + "d%s", base, SUFFIX);
    }

    /** The base of a segment file's name, or -1 if {@code file} is not a segment. */
    static long baseOf(Path file) {
        String name = file.getFileName().toString();
        if (name.length() != NAME_DIGITS + SUFFIX.length() || !name.endsWith(SUFFIX)) {
            return -1;
        }
        for (int i = 0; i < NAME_DIGITS; i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return -1;
            }
        }
        try {
            return Long.parseLong(name, 0, NAME_DIGITS, 10);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The bases of the segments in {@code directory}, ascending. */
    static List<Long> list(Path directory) throws IOException {
        List<Long> bases = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            for (Path f : files) {
                long base = baseOf(f);
                if (base >= 0) {
                    bases.add(base);
                }
            }
        }
        Collections.sort(bases);
        return bases;
    }

    /**
     * Opens (creating if needed) the segment at {@code base} through the ring and makes its existence durable: the
     * file is preallocated to {@code segmentBytes} when it holds less ({@code fallocate}, mode 0), {@code fsync}ed, and
     * the directory is {@code fsync}ed, so the name survives a crash. Everything runs on the ring; nothing blocks.
     *
     * @param directoryHandle the log's directory, open for reading, for the directory {@code fsync}
     * @param writtenBytes    bytes of data the file already holds (recovered), kept as they are
     */
    static CompletableFuture<LogSegment> open(RingEngine engine, AsyncFile directoryHandle, Path directory, long base,
                                              long writtenBytes, AppendLogConfig config) {
        Path path = directory.resolve(fileName(base));
        return engine.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE)
                .thenCompose(file -> {
                    CompletableFuture<Void> allocated = config.preallocate() && writtenBytes < config.segmentBytes()
                            ? file.fallocate(0, 0, config.segmentBytes())
                            : CompletableFuture.completedFuture(null);
                    return allocated
                            .thenCompose(v -> file.fsync())
                            .thenCompose(v -> directoryHandle.fsync())
                            .handle((v, failure) -> {
                                if (failure != null) {
                                    file.closeAsync();
                                    throw failure instanceof RuntimeException re ? re
                                            : new CompletionException(failure);
                                }
                                return new LogSegment(base, path, config.segmentIoWrapper().apply(SegmentIo.of(file)));
                            });
                });
    }

    CompletableFuture<Void> closeAsync() {
        return io.file().closeAsync();
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
