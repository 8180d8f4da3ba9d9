package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The one write an {@link AppendLog} does on a segment: a commit group, then {@code fdatasync}, linked in the kernel
 * (or, for an appender that waits for its record, both done on its own thread: {@link #writeDurableBlocking}).
 * A package-private seam: tests wrap it to inject faults (a failed {@code fdatasync}, a short write, a stall), the
 * way Lucene wraps a {@code Directory}.
 */
interface SegmentIo {
    /**
     * Writes {@code src} (position to limit) at {@code position} and makes it durable.
     *
     * @return the bytes written and synced; fails with the engine's {@code UringIOException} (EIO …)
     */
    CompletableFuture<Integer> writeDurable(ByteBuffer src, long position);

    /**
     * Whether {@link #writeDurableBlocking} may be called: true for the file's own I/O ({@link #of}); false by default,
     * so that a wrapper which injects faults into {@link #writeDurable} only keeps every group on that path.
     */
    default boolean writesBlocking() {
        return false;
    }

    /**
     * {@link #writeDurable}, done on the calling thread ({@link AsyncFile#writeDurableBlocking}); only where
     * {@link #writesBlocking()}.
     *
     * @return the bytes written and synced
     * @throws IOException the write's or the sync's failure (EIO …), or the file or engine closed
     */
    default int writeDurableBlocking(ByteBuffer src, long position) throws IOException {
        throw new UnsupportedOperationException("no blocking writes through " + this);
    }

    /** The segment's file. */
    AsyncFile file();

    /** The engine's linked write and {@code fdatasync} ({@link AsyncFile#writeDurable}). */
    static SegmentIo of(AsyncFile file) {
        return new SegmentIo() {
            @Override
            public CompletableFuture<Integer> writeDurable(ByteBuffer src, long position) {
                return file.writeDurable(src, position);
            }

            @Override
            public boolean writesBlocking() {
                return true;
            }

            @Override
            public int writeDurableBlocking(ByteBuffer src, long position) throws IOException {
                return file.writeDurableBlocking(src, position);
            }

            @Override
            public AsyncFile file() {
                return file;
            }
        };
    }
}
