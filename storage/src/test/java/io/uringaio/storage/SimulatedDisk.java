package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A disk under an {@link AppendLog}'s {@link SegmentIo} seam that the test drives by hand, with a crash model.
 *
 * <p>A group write ({@code writeDurable}) is only recorded, pending; the test completes pending writes in any order,
 * each either synced (its bytes join the <em>durable image</em>, its future succeeds) or with a lost
 * {@code fdatasync} (the future fails with EIO, and the bytes are not durable: the kernel may have dropped them). At
 * a {@link #crash}, nothing more completes, and each segment file on the real disk becomes: its prepared zeros, plus
 * every synced write, plus, for each write not synced (pending, or whose sync was lost), an arbitrary torn version:
 * nothing, all of it, a prefix cut at any byte, or any subset of its 512-byte sectors. Recovery then runs on the
 * real files.
 */
final class SimulatedDisk {
    static final int SECTOR = 512;

    /** One group write: where, what, and what became of it. */
    static final class Write {
        final Path path;
        final long base;
        final long offset;
        final byte[] bytes;
        final CompletableFuture<Integer> result = new CompletableFuture<>();
        boolean synced;
        boolean lost;
        /** Which bytes are on disk after the crash (set by {@link #crash}). */
        boolean[] landed;

        Write(Path path, long offset, byte[] bytes) {
            this.path = path;
            this.base = LogSegment.baseOf(path);
            this.offset = offset;
            this.bytes = bytes;
        }

        long position() {
            return base + offset;
        }

        long end() {
            return offset + bytes.length;
        }

        /** The (position, payload) of every frame in the write, in order. */
        Map<Long, ByteBuffer> frames() {
            Map<Long, ByteBuffer> frames = new LinkedHashMap<>();
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            int at = 0;
            while (at < bytes.length) {
                int length = RecordFrame.length(b.getInt(at));
                frames.put(position() + at, ByteBuffer.wrap(bytes, at + RecordFrame.HEADER_BYTES, length).slice());
                at += RecordFrame.HEADER_BYTES + length;
            }
            return frames;
        }

        /** Whether the first frame of the group is on disk whole (then it proves the group reached the disk). */
        boolean firstFrameLanded() {
            int first = RecordFrame.HEADER_BYTES
                    + RecordFrame.length(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt(0));
            for (int i = 0; i < first; i++) {
                if (!landed[i]) {
                    return false;
                }
            }
            return true;
        }
    }

    private final List<Write> writes = new ArrayList<>();
    private final List<Write> pending = new ArrayList<>();
    private boolean crashed;

    /** The seam: records every group write as pending. */
    SegmentIo wrap(SegmentIo real) {
        return new SegmentIo() {
            @Override
            public CompletableFuture<Integer> writeDurable(ByteBuffer src, long position) {
                byte[] bytes = new byte[src.remaining()];
                src.duplicate().get(bytes);
                Write w = new Write(real.file().path(), position, bytes);
                synchronized (SimulatedDisk.this) {
                    if (crashed) {
                        return CompletableFuture.failedFuture(eio(w));
                    }
                    writes.add(w);
                    pending.add(w);
                }
                return w.result;
            }

            @Override
            public AsyncFile file() {
                return real.file();
            }
        };
    }

    private static UringIOException eio(Write w) {
        return new UringIOException(ErrnoTable.EIO, "write+fdatasync", w.path.toString());
    }

    private static byte[] readAll(Path path) {
        try {
            return Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    synchronized int pendingCount() {
        return pending.size();
    }

    synchronized List<Write> writes() {
        return new ArrayList<>(writes);
    }

    /**
     * Completes the pending write at {@code index}: synced, or with its {@code fdatasync} lost. Completes outside the
     * disk's monitor: the log's completion submits the next group from this thread.
     */
    void complete(int index, boolean lost) {
        Write w;
        synchronized (this) {
            w = pending.remove(index);
            w.synced = !lost;
            w.lost = lost;
        }
        if (lost) {
            w.result.completeExceptionally(new CompletionException(eio(w)));
        } else {
            w.result.complete(w.bytes.length);
        }
    }

    /**
     * The crash: from now on nothing is durable; decides which bytes of each unsynced write landed, writes the
     * crashed image into the segment files, and fails the pending writes (so that the log, poisoned, can be closed and
     * its lock released; its state no longer matters).
     */
    void crash(SplittableRandom random) throws IOException {
        List<Write> all;
        synchronized (this) {
            crashed = true;
            all = new ArrayList<>(writes);
        }
        for (Write w : all) {
            w.landed = new boolean[w.bytes.length];
            if (w.synced) {
                java.util.Arrays.fill(w.landed, true);
                continue;
            }
            switch (random.nextInt(4)) {
                case 0 -> { } // nothing landed
                case 1 -> java.util.Arrays.fill(w.landed, true);
                case 2 -> java.util.Arrays.fill(w.landed, 0, random.nextInt(w.bytes.length + 1), true); // any byte
                default -> { // any subset of its sectors, as a device may persist them in any order
                    long first = w.offset / SECTOR;
                    boolean[] sectors = new boolean[(int) ((w.end() - 1) / SECTOR - first + 1)];
                    for (int k = 0; k < sectors.length; k++) {
                        sectors[k] = random.nextBoolean();
                    }
                    for (int i = 0; i < w.bytes.length; i++) {
                        w.landed[i] = sectors[(int) ((w.offset + i) / SECTOR - first)];
                    }
                }
            }
        }
        Map<Path, byte[]> images = new LinkedHashMap<>();
        for (Write w : all) { // in submission order: a later write over the same bytes wins, as on a disk
            byte[] image = images.computeIfAbsent(w.path, SimulatedDisk::readAll);
            for (int i = 0; i < w.bytes.length; i++) {
                if (w.landed[i]) {
                    image[(int) (w.offset + i)] = w.bytes[i];
                }
            }
        }
        for (Map.Entry<Path, byte[]> e : images.entrySet()) {
            Files.write(e.getKey(), e.getValue());
        }
        List<Write> left;
        synchronized (this) {
            left = new ArrayList<>(pending);
            pending.clear();
        }
        for (Write w : left) {
            w.result.completeExceptionally(new CompletionException(eio(w)));
        }
    }
}
