package io.uringaio.storage;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The alignment {@code O_DIRECT} I/O needs on the file system holding a path.
 *
 * <p>Found in this order: {@code statx(STATX_DIOALIGN)} (Linux 6.1+, the file system's own answer, e.g. 512 for ext4
 * on a 512-byte device), else the device's logical block size from
 * {@code /sys/dev/block/<stx_dev_major>:<stx_dev_minor>/queue/logical_block_size} (or its parent's {@code queue} for
 * a partition), else {@value #DEFAULT}. File systems without a block device (tmpfs, overlay) get the default.
 */
public final class BlockSize {
    /** The alignment when nothing better is known; safe on every Linux block device in use. */
    public static final int DEFAULT = 4096;

    /**
     * The alignment rules for {@code O_DIRECT} on one file system.
     *
     * @param offsetAlignment file offsets and lengths must be multiples of this
     * @param memoryAlignment buffer addresses must be multiples of this
     * @param source          where the numbers came from, e.g. {@code "statx STATX_DIOALIGN"},
     *                        {@code "/sys/dev/block/254:0/queue/logical_block_size"}, {@code "default"}
     */
    public record Alignment(int offsetAlignment, int memoryAlignment, String source) {
        /** The larger of the two: one alignment that satisfies both. */
        public int both() {
            return Math.max(offsetAlignment, memoryAlignment);
        }
    }

    private BlockSize() {
    }

    /**
     * The {@code O_DIRECT} alignment for {@code path}: an existing file or directory (for a file not yet created, pass
     * its directory).
     *
     * @throws IOException if {@code statx} fails (e.g. ENOENT)
     */
    public static Alignment of(Path path) throws IOException {
        return probe(path).alignment();
    }

    /**
     * What one {@code statx} of a path (following a symbolic link) tells: its file type (the {@code Libc.S_IFMT} bits of
     * {@code stx_mode}) and the {@code O_DIRECT} alignment of its file system.
     */
    record Probe(int type, Alignment alignment) {
    }

    /**
     * One {@code statx} of {@code path}: its type and alignment ({@link PageFile#open} needs both, and used to stat
     * the path for each).
     *
     * @throws UringIOException if {@code statx} fails (e.g. ENOENT)
     */
    static Probe probe(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment name = arena.allocateFrom(path.toAbsolutePath().toString());
            MemorySegment statx = arena.allocate(Uapi.STATX_STRUCT_SIZE, 8);
            int res = Libc.statx(Uapi.AT_FDCWD, name.address(), 0, Uapi.STATX_BASIC_STATS | Uapi.STATX_DIOALIGN,
                    statx.address());
            if (res < 0) {
                throw new UringIOException(-res, "statx", path.toString());
            }
            int type = Short.toUnsignedInt(statx.get(ValueLayout.JAVA_SHORT, Uapi.STATX_MODE_OFFSET)) & Libc.S_IFMT;
            return new Probe(type, alignment(statx));
        }
    }

    /** The alignment a {@code struct statx} of {@code STATX_BASIC_STATS | STATX_DIOALIGN} gives. */
    private static Alignment alignment(MemorySegment statx) {
        int mask = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_MASK_OFFSET);
        int memory = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DIO_MEM_ALIGN_OFFSET);
        int offset = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DIO_OFFSET_ALIGN_OFFSET);
        if ((mask & Uapi.STATX_DIOALIGN) != 0 && offset > 0 && memory > 0) {
            return new Alignment(offset, memory, "statx STATX_DIOALIGN");
        }
        int major = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DEV_MAJOR_OFFSET);
        int minor = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DEV_MINOR_OFFSET);
        return fromSysfs(major, minor);
    }

    /** The device's logical block size from sysfs, or the default. */
    static Alignment fromSysfs(int major, int minor) {
        Path device = Path.of("/sys/dev/block/" + major + ":" + minor);
        Path own = device.resolve("queue/logical_block_size");
        Integer size = readInt(own);
        if (size != null) {
            return new Alignment(size, size, own.toString());
        }
        try {
            Path parent = device.toRealPath().getParent().resolve("queue/logical_block_size");
            size = readInt(parent);
            if (size != null) {
                return new Alignment(size, size, parent.toString());
            }
        } catch (IOException | RuntimeException noDevice) {
            // no block device behind this file system (tmpfs, overlay, NFS): the default
        }
        return new Alignment(DEFAULT, DEFAULT, "default");
    }

    private static Integer readInt(Path file) {
        try {
            int value = Integer.parseInt(Files.readString(file).trim());
            return value > 0 && Integer.bitCount(value) == 1 ? value : null;
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }
}
