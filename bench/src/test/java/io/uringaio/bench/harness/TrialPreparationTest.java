package io.uringaio.bench.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * What {@link BenchMain#prepareTrial} leaves behind: no trial starts with dirty pages of the test file. Before it, the
 * first contender of {@code randwrite-fdatasync-qd32} (engine-percore) had the page cache of {@code randwrite-qd32}'s
 * last contender (up to the whole 1 GiB file) written back by its first 32 fdatasyncs: all 32 lanes waited ~1.4 s,
 * which was that cell's p99.9. The page counts come from {@code cachestat(2)} (Linux 6.5), for this file alone.
 */
class TrialPreparationTest {
    private static final long SYS_CACHESTAT = 451; // the same number on x86_64 and the generic table (aarch64)
    private static final int O_RDONLY = 0;
    private static final int FILE_BYTES = 1 << 20;

    private Path dir;
    private Path file;

    @BeforeEach
    void createFile() throws IOException {
        // on the build's own file system, not /tmp: tmpfs pages have no writeback
        Files.createDirectories(Path.of("target"));
        dir = Files.createTempDirectory(Path.of("target"), "trial-preparation");
        file = dir.resolve("bench.dat");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(FILE_BYTES), 0);
            ch.force(false);
        }
    }

    @AfterEach
    void deleteFile() throws IOException {
        Files.deleteIfExists(file);
        Files.deleteIfExists(dir);
    }

    @Test
    void everyWorkloadsTrialStartsWithNoDirtyPageOfTheFile() throws Throwable {
        for (Workload w : Workload.ALL) {
            dirtyEveryOtherPage();
            PageCounts before = PageCounts.of(file);
            assumeTrue(before.dirty() > 0, () -> "buffered writes left no dirty page to see (" + before
                    + "): the file system writes through, or writeback ran in between");

            BenchMain.prepareTrial(w, file);

            PageCounts after = PageCounts.of(file);
            assertEquals(0, after.dirty() + after.writeback(), () -> w.name() + ": the trial would start with "
                    + after + ", left by the trial before it (before preparing: " + before + ")");
        }
    }

    /** Buffered 4 KiB writes, no sync: what a {@code randwrite-qd32} trial leaves in the page cache. */
    private void dirtyEveryOtherPage() throws IOException {
        ByteBuffer page = ByteBuffer.allocate(4096);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            for (long pos = 0; pos < FILE_BYTES; pos += 2 * 4096) {
                page.clear().put(0, (byte) pos);
                ch.write(page, pos);
            }
        }
    }

    /** A file's page-cache pages from {@code cachestat(2)}: cached, dirty, under writeback. */
    private record PageCounts(long cached, long dirty, long writeback) {
        static PageCounts of(Path path) throws Throwable {
            assumeTrue("amd64".equals(System.getProperty("os.arch")) || "aarch64".equals(System.getProperty("os.arch")),
                    "cachestat's system call number is known here for x86_64 and aarch64 only");
            Linker linker = Linker.nativeLinker();
            MethodHandle open = linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            MethodHandle close = linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle syscall = linker.downcallHandle(linker.defaultLookup().find("syscall").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                    Linker.Option.firstVariadicArg(1));
            try (Arena arena = Arena.ofConfined()) {
                int fd = (int) open.invokeExact(arena.allocateFrom(path.toString()), O_RDONLY);
                assertTrue(fd >= 0, "open " + path);
                try {
                    MemorySegment range = arena.allocate(16); // struct cachestat_range {off, len}: 0, 0 = whole file
                    MemorySegment stat = arena.allocate(40); // struct cachestat: five __u64
                    long r = (long) syscall.invokeExact(SYS_CACHESTAT, fd, range, stat, 0);
                    assumeTrue(r == 0, "cachestat(2) refused (a kernel before 6.5?)");
                    return new PageCounts(stat.get(ValueLayout.JAVA_LONG, 0), stat.get(ValueLayout.JAVA_LONG, 8),
                            stat.get(ValueLayout.JAVA_LONG, 16));
                } finally {
                    int ignored = (int) close.invokeExact(fd);
                }
            }
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d pages cached, %d dirty, %d under writeback", cached, dirty,
                    writeback);
        }
    }
}
