package io.uringaio.storage;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A segment file open for recovery or a read: a {@link FileChannel} to read (and truncate) it, and a descriptor of
 * the same file to ask where its data lies ({@code lseek} {@code SEEK_DATA}/{@code SEEK_HOLE}), so that
 * {@link SegmentScanner} and {@link RangeChecksums} need not read a hole: a segment extended with {@code ftruncate}
 * to a TiB is a hole that reads as a TiB of zeros, and reading it took recovery about an hour.
 *
 * <p>The channel is opened through {@code /proc/self/fd/<fd>}, which names the descriptor's own file whatever its path
 * names by then (renamed or replaced by another writer): the holes asked of the descriptor are the channel's. Where
 * that fails (no {@code /proc}) the channel is opened by path and every byte counts as data (read, as before).
 * A hole only ever reads as zeros, so skipping one changes no verdict: only what the scan costs.
 */
final class SegmentFile implements Closeable {
    final FileChannel channel;
    /** A descriptor of the channel's file, or -1: no hole is known. */
    private final int fd;

    private SegmentFile(FileChannel channel, int fd) {
        this.channel = channel;
        this.fd = fd;
    }

    /** Opens {@code path} to read, and to write with {@code write} (recovery truncates the last segment). */
    static SegmentFile open(Path path, boolean write) throws IOException {
        StandardOpenOption[] options = write
                ? new StandardOpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE}
                : new StandardOpenOption[] {StandardOpenOption.READ};
        // O_NONBLOCK: a FIFO swapped in under a segment's name does not hold this open; the channel's open through
        // /proc would still block on one, so recovery refuses non-regular entries before it opens a segment.
        int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
        if (fd >= 0) {
            try {
                return new SegmentFile(FileChannel.open(Path.of("/proc/self/fd/" + fd), options), fd);
            } catch (IOException | RuntimeException e) {
                Libc.close(fd); // no /proc: by path, without holes
            }
        }
        return new SegmentFile(FileChannel.open(path, options), -1);
    }

    /** Without a descriptor to ask: every byte is data. For a scanner over a channel the caller opened. */
    static SegmentFile of(FileChannel channel) {
        return new SegmentFile(channel, -1);
    }

    /**
     * The first offset at or after {@code offset} that may hold data: {@code offset} itself when it may (or when the
     * file system cannot tell), the start of the next data past a hole, or {@code Long.MAX_VALUE} when only a hole
     * (or the end of the file) follows.
     */
    long nextData(long offset) {
        if (fd < 0) {
            return offset;
        }
        long data = Libc.lseek(fd, offset, Libc.SEEK_DATA);
        if (data == -ErrnoTable.ENXIO) {
            return Long.MAX_VALUE; // no data at or after offset
        }
        return data < offset ? offset : data; // an error: read it all, as if it were data
    }

    /**
     * The first offset at or after {@code offset}, which must hold data, where a hole begins (at most the file's size
     * when it was asked); {@code Long.MAX_VALUE} when the file system cannot tell.
     */
    long nextHole(long offset) {
        if (fd < 0) {
            return Long.MAX_VALUE;
        }
        long hole = Libc.lseek(fd, offset, Libc.SEEK_HOLE);
        return hole < offset ? Long.MAX_VALUE : hole;
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            if (fd >= 0) {
                Libc.close(fd);
            }
        }
    }
}
