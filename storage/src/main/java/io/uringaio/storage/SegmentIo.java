package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The one write an {@link AppendLog} does on a segment: a commit group, then {@code fdatasync}, linked in the kernel.
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
            public AsyncFile file() {
                return file;
            }
        };
    }
}
