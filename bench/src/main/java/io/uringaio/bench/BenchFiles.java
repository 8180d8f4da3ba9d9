package io.uringaio.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;
import java.util.zip.CRC32C;

/** Test files for the benchmarks: create or reuse, pull into the page cache, checksum, random block offsets. */
public final class BenchFiles {
    public static final int MIB = 1 << 20;
    private static final int CHUNK_BYTES = MIB;

    private BenchFiles() {
    }

    /**
     * Makes {@code path} a file of exactly {@code sizeBytes} bytes of pseudo-random data, reusing it when it already
     * has that size. Its directory must exist: a mistyped path is an error, not a new directory tree.
     *
     * @return true when the file was (re)written, false when reused
     * @throws IOException whose message names the operation, the file and the errno (see {@link FileErrors})
     */
    public static boolean prepare(Path path, long sizeBytes) throws IOException {
        return prepare(path, sizeBytes, () -> { });
    }

    /**
     * {@link #prepare(Path, long)}, calling {@code writing} once the file is open for writing, before the first
     * byte: where a caller says "writing the test file" (a GiB takes a while), and not above a refusal.
     */
    public static boolean prepare(Path path, long sizeBytes, Runnable writing) throws IOException {
        if (sizeBytes <= 0 || sizeBytes % CHUNK_BYTES != 0) {
            throw new IllegalArgumentException("file size must be a positive multiple of 1 MiB, was " + sizeBytes);
        }
        if (reusable(path, sizeBytes)) {
            return false;
        }
        boolean exists = Files.exists(path);
        if (exists && !Files.isRegularFile(path) && !Files.isDirectory(path)) {
            // a block device would be overwritten; /dev/null or a fifo would fail late and obscurely
            throw new IOException("use " + path + " as the test file: not a regular file (the bench truncates and "
                    + "writes it)");
        }
        String operation = exists ? "rewrite" : "create";
        checkFreeSpace(operation, path, sizeBytes);
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            // Not opened: nothing was changed, and a file that was there is the user's (it was deleted here as "part
            // written": a read-only file of another size, EACCES, then gone).
            throw FileErrors.failed(operation, path, e);
        }
        try (ch) {
            writing.run();
            write(ch, sizeBytes);
        } catch (IOException e) {
            deletePartWritten(path, e); // truncated, part written: of no use, and may hold the disk's last space
            throw FileErrors.failed(operation, path, e);
        }
        return true;
    }

    /** Whether {@link #prepare} would keep {@code path} as it is: a regular file of exactly {@code sizeBytes}. */
    public static boolean reusable(Path path, long sizeBytes) throws IOException {
        return Files.isRegularFile(path) && Files.size(path) == sizeBytes;
    }

    /**
     * Fails with ENOSPC when the file system has less usable space than the file needs (counting the space of the
     * file it replaces): before writing, not after filling the disk (a size-less one such as ramfs is not checked).
     * The directory's absence is left to the write, whose error names it.
     */
    private static void checkFreeSpace(String operation, Path path, long sizeBytes) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        long replaced = Files.isRegularFile(path) ? Files.size(path) : 0;
        checkMemory(operation, path, dir, sizeBytes, replaced);
        long free = usableSpace.applyAsLong(dir);
        if (free < 0) {
            return; // no size reported (ramfs, some FUSE file systems): nothing to check against
        }
        long usable = free + replaced;
        if (sizeBytes > usable) {
            throw new IOException(operation + " " + path + ": ENOSPC (No space left on device): " + sizeBytes / MIB
                    + " MiB wanted, " + usable / MIB + " MiB free");
        }
    }

    /**
     * A file on tmpfs or ramfs is memory, of a machine others may share: it may take at most half the memory available
     * (counting the file it replaces). ramfs reports no size at all, and tmpfs's is often all of RAM, so the free-space
     * check alone would let "--size 20000" take 20 GiB of memory.
     */
    private static void checkMemory(String operation, Path path, Path dir, long sizeBytes, long replaced)
            throws IOException {
        String type = fileSystemType(dir);
        if (!type.equals("tmpfs") && !type.equals("ramfs")) {
            return;
        }
        long available = memoryAvailable.getAsLong();
        if (available < 0) {
            return; // unknown: nothing to check against
        }
        long allowed = available / 2 + replaced;
        if (sizeBytes > allowed) {
            throw new IOException(operation + " " + path + ": ENOMEM (Cannot allocate memory): " + type + " keeps "
                    + "files in memory: " + sizeBytes / MIB + " MiB wanted, at most " + allowed / MIB + " MiB allowed "
                    + "(half of the " + available / MIB + " MiB available)");
        }
    }

    private static String fileSystemType(Path dir) {
        try {
            return Files.getFileStore(dir).type();
        } catch (IOException e) {
            return ""; // the write that follows reports what is wrong with the directory
        }
    }

    /** Test seam: the bytes of memory available (MemAvailable in /proc/meminfo), -1 when unknown. */
    static LongSupplier memoryAvailable = BenchFiles::memAvailable;

    private static long memAvailable() {
        try (java.util.stream.Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith("MemAvailable:")).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).orElse(-1L);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /**
     * Test seam: the usable bytes of the file system that holds a directory, -1 when it reports no size. A test of the
     * refusal sets a small figure rather than asking for more than the disk holds, which would fill a shared disk
     * should the check ever break.
     */
    static ToLongFunction<Path> usableSpace = BenchFiles::usableSpaceOf;

    private static long usableSpaceOf(Path dir) {
        try {
            java.nio.file.FileStore store = Files.getFileStore(dir);
            return store.getTotalSpace() == 0 ? -1 : store.getUsableSpace();
        } catch (IOException e) {
            return -1; // the write that follows reports what is wrong with the directory
        }
    }

    /** A part-written file (opened and truncated by us) is of no use and may hold the disk's last free space. */
    private static void deletePartWritten(Path path, IOException failure) {
        try {
            if (Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                Files.delete(path);
            }
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    private static void write(FileChannel ch, long sizeBytes) throws IOException {
        SplittableRandom random = new SplittableRandom(0x5eed_f11eL);
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        for (long pos = 0; pos < sizeBytes; pos += CHUNK_BYTES) {
            chunk.clear();
            while (chunk.hasRemaining()) {
                chunk.putLong(random.nextLong());
            }
            chunk.flip();
            while (chunk.hasRemaining()) {
                ch.write(chunk, pos + chunk.position());
            }
        }
        ch.force(false);
    }

    /** {@link #prepare}, first creating the file's directory and its parents: for default paths only. */
    public static boolean prepareWithDirectories(Path path, long sizeBytes) throws IOException {
        return prepareWithDirectories(path, sizeBytes, () -> { });
    }

    /** {@link #prepare(Path, long, Runnable)}, first creating the file's directory and its parents. */
    public static boolean prepareWithDirectories(Path path, long sizeBytes, Runnable writing) throws IOException {
        createDirectories(path.toAbsolutePath().getParent());
        return prepare(path, sizeBytes, writing);
    }

    /** {@link Files#createDirectories}, failing with a message that names the directory and the errno. */
    public static void createDirectories(Path dir) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw FileErrors.failed("create directory", dir, e);
        }
    }

    /**
     * Writes the file's dirty pages back and waits for them ({@code fdatasync}), so that what earlier writers left in
     * the page cache is not written back on a later measurement's clock.
     */
    public static void flush(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.force(false);
        } catch (IOException e) {
            throw FileErrors.failed("fdatasync", path, e);
        }
    }

    /** Reads the whole file once, so that it sits in the page cache; returns its CRC32C. */
    public static long crc32c(Path path) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK_BYTES);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long pos = 0;
            int n;
            while ((n = ch.read(chunk.clear(), pos)) > 0) {
                crc.update(chunk.flip());
                pos += n;
            }
        } catch (IOException e) {
            throw FileErrors.failed("read", path, e);
        }
        return crc.getValue();
    }

    /**
     * {@code count} (a power of two) block-aligned offsets spread uniformly over a file of {@code sizeBytes}, from a
     * fixed seed: every benchmark that reads the same file reads the same offsets.
     */
    public static long[] randomOffsets(long sizeBytes, int blockBytes, int count, long seed) {
        if (Integer.bitCount(count) != 1) {
            throw new IllegalArgumentException("offset count must be a power of two, was " + count);
        }
        long blocks = sizeBytes / blockBytes;
        SplittableRandom random = new SplittableRandom(seed);
        long[] offsets = new long[count];
        for (int i = 0; i < count; i++) {
            offsets[i] = random.nextLong(blocks) * blockBytes;
        }
        return offsets;
    }

    /** A direct buffer of capacity {@code bytes}, 4096-aligned (so it also serves O_DIRECT); any size. */
    public static ByteBuffer alignedDirect(int bytes) {
        // alignedSlice rounds both ends to the alignment: allocate whole pages plus one so the slice holds bytes
        int pages = (bytes + 4095) / 4096;
        return ByteBuffer.allocateDirect((pages + 1) * 4096).alignedSlice(4096).slice(0, bytes);
    }
}
