package io.uringaio.storage;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.UringIOException;
import io.uringaio.engine.UringOpenOption;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A file of fixed-size pages read and written with {@code O_DIRECT} through a {@link RingEngine}: the page cache is
 * bypassed, so the storage engine's own buffer pool is the only cache.
 *
 * <p><b>Alignment.</b> {@code O_DIRECT} wants file offsets and lengths that are multiples of the file system's
 * alignment and buffers at aligned addresses ({@link BlockSize}); the kernel answers a misaligned request with EINVAL,
 * or on some file systems silently falls back to buffered I/O. This class checks every request first and throws
 * {@code IllegalArgumentException} (naming the rule broken) before anything reaches the kernel: a heap buffer, a
 * misaligned buffer address, offset or length. Buffers from an {@link AlignedBufferPool} of
 * {@link #pageBytes()}-sized buffers always pass.
 *
 * <p><b>Durability.</b> {@code O_DIRECT} skips the page cache, not the device's write cache or the file's metadata: a
 * page is durable once {@link #writePageDurable} completes, or after {@link #fdatasync()}.
 *
 * <p><b>Atomicity: pages are raw.</b> A page carries no checksum and no header: a read returns whatever the file
 * holds. A page write is not atomic: writes to one page in flight at once may interleave by device sector, and a
 * crash or power loss during a write may leave a <em>torn</em> page, some sectors new and some old; a bit flipped on
 * the device reads back flipped. None of these is reported. A storage engine that must find them checksums its pages
 * (and repairs torn ones from a full-page image in its log, as PostgreSQL does, or writes pages out of place).
 *
 * <p>Thread-safe; the {@link AsyncFile} rules apply (operations run in parallel, in no particular order; do not touch a
 * buffer while it is in flight). Errors: {@code UringIOException} with the errno, as the engine's; after
 * {@link #close()}, a {@code ClosedChannelException}.
 */
public final class PageFile implements AutoCloseable {
    private final AsyncFile file;
    private final int pageBytes;
    private final BlockSize.Alignment alignment;

    private PageFile(AsyncFile file, int pageBytes, BlockSize.Alignment alignment) {
        this.file = file;
        this.pageBytes = pageBytes;
        this.alignment = alignment;
    }

    /**
     * Opens {@code path} with {@code O_DIRECT} plus {@code options} ({@code READ}, {@code WRITE}, {@code CREATE} …).
     * Blocks until open.
     *
     * @param pageBytes the page size, a positive multiple of the file system's offset alignment (4096 is safe)
     * @throws IllegalArgumentException if {@code pageBytes} does not fit the alignment
     * @throws IOException              a {@code UringIOException}, e.g. EINVAL where the file system has no
     *                                  {@code O_DIRECT} or for a file that has none (a FIFO, a socket, a character
     *                                  device: only regular files and block devices are opened), EISDIR for a
     *                                  directory (in both cases nothing is opened); an
     *                                  {@code InterruptedIOException} if the thread is interrupted while it waits (the
     *                                  interrupt status stays set, and the file, once the engine has opened it, is
     *                                  closed)
     */
    public static PageFile open(RingEngine engine, Path path, int pageBytes, OpenOption... options)
            throws IOException {
        Objects.requireNonNull(engine, "engine");
        Path absolute = path.toAbsolutePath();
        BlockSize.Probe probe = probe(absolute); // one statx for the type and the alignment
        if (probe.type() == Libc.S_IFDIR) {
            // With O_DIRECT the kernel answers a directory opened to read with EINVAL, which reads as "no O_DIRECT
            // on this file system": say what it is.
            throw new UringIOException(ErrnoTable.EISDIR, "open", absolute.toString());
        }
        if (probe.type() != Libc.S_IFREG && probe.type() != Libc.S_IFBLK) {
            // A FIFO, socket or character device has no O_DIRECT: the kernel says EINVAL, but only after the file's
            // own open, and a FIFO's waits for the other end, forever if none comes (the engine's open with it).
            throw new UringIOException(ErrnoTable.EINVAL, "open", absolute.toString());
        }
        BlockSize.Alignment alignment = probe.alignment();
        if (pageBytes < 1 || pageBytes % alignment.offsetAlignment() != 0
                || pageBytes % alignment.memoryAlignment() != 0) {
            throw new IllegalArgumentException("pageBytes " + pageBytes + " is not a multiple of the O_DIRECT alignment "
                    + alignment);
        }
        OpenOption[] all = java.util.Arrays.copyOf(options, options.length + 1);
        all[options.length] = UringOpenOption.DIRECT;
        CompletableFuture<AsyncFile> opening = engine.open(absolute, all);
        try {
            return new PageFile(opening.get(), pageBytes, alignment);
        } catch (InterruptedException e) {
            // The open goes on without us: the file it opens is nobody's, so it is closed once open.
            opening.thenAccept(AsyncFile::closeAsync);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("open " + absolute + ": interrupted");
        } catch (ExecutionException e) {
            Throwable cause = AppendLog.unwrap(e.getCause());
            throw cause instanceof IOException io ? io : new IOException("open " + absolute + ": " + cause, cause);
        }
    }

    /**
     * The type and {@code O_DIRECT} alignment of {@code path}; for a path that cannot be stat'ed (not there yet, a
     * dangling link), a regular file's type and its directory's alignment (whose failure is the caller's error).
     */
    private static BlockSize.Probe probe(Path path) throws IOException {
        try {
            return BlockSize.probe(path);
        } catch (UringIOException notThere) {
            return new BlockSize.Probe(Libc.S_IFREG, BlockSize.of(path.getParent()));
        }
    }

    /**
     * Reads page {@code page} into {@code dst} (its position to its limit, one page); -1 past the end of file. A page
     * that the end of the file cuts short (a file whose size is not a multiple of the page size: a torn extension, a
     * truncation) reads as a count below {@link #pageBytes()}: check it. The bytes of {@code dst} past the count are
     * not the page's, and not necessarily what {@code dst} held (with {@code O_DIRECT} the kernel may transfer the
     * whole block).
     *
     * @throws IllegalArgumentException for a negative page or one past {@link #maxPage()}, or a buffer that is not
     *                                  one aligned, direct page; nothing is submitted
     */
    public CompletableFuture<Integer> readPage(long page, ByteBuffer dst) {
        return file.read(dst, pageOffset(page, dst));
    }

    /**
     * Writes {@code src} (its position to its limit, one page) to page {@code page}.
     *
     * @throws IllegalArgumentException as {@link #readPage}; nothing is written
     */
    public CompletableFuture<Integer> writePage(long page, ByteBuffer src) {
        return file.write(src, pageOffset(page, src));
    }

    /** Writes one page and {@code fdatasync}s, linked in the kernel: completes once the page is durable. */
    public CompletableFuture<Integer> writePageDurable(long page, ByteBuffer src) {
        return file.writeDurable(src, pageOffset(page, src));
    }

    /** Reads at any aligned {@code offset} into {@code dst} (aligned, a multiple of the alignment long). */
    public CompletableFuture<Integer> read(ByteBuffer dst, long offset) {
        checkAligned(dst, offset);
        return file.read(dst, offset);
    }

    /** Writes at any aligned {@code offset} from {@code src} (aligned, a multiple of the alignment long). */
    public CompletableFuture<Integer> write(ByteBuffer src, long offset) {
        checkAligned(src, offset);
        return file.write(src, offset);
    }

    /** {@code fdatasync}, after every write submitted on this file before it. */
    public CompletableFuture<Void> fdatasync() {
        return file.fdatasync();
    }

    /** Allocates {@code pages} pages from page 0 ({@code fallocate}, mode 0: the file grows to that size). */
    public CompletableFuture<Void> allocate(long pages) {
        if (pages < 1 || pages > maxPage() + 1) {
            throw new IllegalArgumentException("pages must be in 1.." + (maxPage() + 1) + ", was " + pages);
        }
        return file.fallocate(0, 0, Math.multiplyExact(pages, (long) pageBytes));
    }

    /** The file's size in bytes. */
    public CompletableFuture<Long> size() {
        return file.size();
    }

    /** The page size. */
    public int pageBytes() {
        return pageBytes;
    }

    /** The {@code O_DIRECT} alignment this file's requests are checked against. */
    public BlockSize.Alignment alignment() {
        return alignment;
    }

    /** The underlying file. */
    public AsyncFile file() {
        return file;
    }

    /** The largest page number: its last byte's offset must be a {@code long} (the kernel's {@code loff_t}). */
    public long maxPage() {
        return Long.MAX_VALUE / pageBytes - 1;
    }

    /**
     * Checks a page request and returns the page's file offset, computed exactly: a page whose bytes would lie past
     * {@code Long.MAX_VALUE} is refused, never wrapped onto another page.
     */
    private long pageOffset(long page, ByteBuffer buffer) {
        if (page < 0) {
            throw new IllegalArgumentException("negative page " + page);
        }
        if (page > maxPage()) {
            throw new IllegalArgumentException("page " + page + " is past the last page " + maxPage() + " of "
                    + pageBytes + " bytes a file offset can address");
        }
        checkPage(buffer);
        return Math.multiplyExact(page, (long) pageBytes);
    }

    private void checkPage(ByteBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        if (buffer.remaining() != pageBytes) {
            throw new IllegalArgumentException("a page is " + pageBytes + " bytes; the buffer has "
                    + buffer.remaining() + " remaining");
        }
        checkAddress(buffer);
    }

    private void checkAligned(ByteBuffer buffer, long offset) {
        Objects.requireNonNull(buffer, "buffer");
        int a = alignment.offsetAlignment();
        if (offset < 0 || offset % a != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not a multiple of the O_DIRECT alignment "
                    + a);
        }
        if (buffer.remaining() == 0 || buffer.remaining() % a != 0) {
            throw new IllegalArgumentException("length " + buffer.remaining()
                    + " is not a positive multiple of the O_DIRECT alignment " + a);
        }
        if (offset > Long.MAX_VALUE - buffer.remaining()) {
            throw new IllegalArgumentException("offset " + offset + " + length " + buffer.remaining()
                    + " is past the largest file offset");
        }
        checkAddress(buffer);
    }

    private void checkAddress(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("O_DIRECT needs a direct, aligned buffer (an AlignedBufferPool's), not"
                    + " a heap buffer");
        }
        long address = MemorySegment.ofBuffer(buffer).address();
        if (address % alignment.memoryAlignment() != 0) {
            throw new IllegalArgumentException("buffer address 0x" + Long.toHexString(address)
                    + " (at its position) is not a multiple of the O_DIRECT memory alignment "
                    + alignment.memoryAlignment());
        }
    }

    /**
     * Closes the file; see {@link AsyncFile#closeAsync()}.
     *
     * @return a future of the close, the caller's own: completing, cancelling or timing it out ends that future only
     *         (the file's own future, which {@link #close()} waits for, is not handed out)
     */
    public CompletableFuture<Void> closeAsync() {
        return file.closeAsync(); // the caller's own already
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    @Override
    public String toString() {
        return "PageFile[" + file.path() + ", " + pageBytes + "-byte pages, " + alignment + "]";
    }
}
