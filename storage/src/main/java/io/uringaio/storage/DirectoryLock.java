package io.uringaio.storage;

import io.uringaio.engine.UringIOException;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The exclusive lock of a log directory: {@code flock(LOCK_EX | LOCK_NB)} on the directory itself (a descriptor opened
 * {@code O_RDONLY | O_DIRECTORY}), held from {@link AppendLog#open} until the log is closed (or the process dies: the
 * kernel drops the lock with the last descriptor). The holder writes its pid into the directory's {@value #FILE_NAME}
 * file, for the message of a refused open.
 *
 * <p>Why the directory and not the {@value #FILE_NAME} file: a lock on a file is a lock on its inode, and a file can be
 * deleted while locked (a clean-up script, an operator): the next open would create a new file, lock that, and two
 * writers would share the log. The directory cannot be replaced under the log's segments, and reaching it by a
 * symbolic link or a relative path opens the same inode.
 *
 * <p>Why {@code flock} and not {@code FileChannel.lock}: a JDK file lock is a POSIX record lock ({@code fcntl}), which
 * belongs to the process and is dropped when <em>any</em> descriptor of the file in the process is closed (a second,
 * refused open in the same JVM would release the first one's lock as it closes its channel), and which the JDK refuses
 * within one JVM with an {@code OverlappingFileLockException}. A {@code flock} lock belongs to the open file
 * description: a second open, in this process or another, is refused with {@code EWOULDBLOCK} alike, and closing it
 * does not touch the holder's lock (PostgreSQL's {@code postmaster.pid} and RocksDB's {@code LOCK} serve the same
 * purpose). The holder writes its pid into the file so that a refusal can say who holds it.
 */
final class DirectoryLock implements AutoCloseable {
    static final String FILE_NAME = "LOCK";
    private static final int LOCK_EX = 2;
    private static final int LOCK_NB = 4;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(java.lang.foreign.MemoryLayout.PathElement
            .groupElement("errno"));
    private static final MethodHandle FLOCK = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().find("flock").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    private final Path directory;
    /** The directory's descriptor, which holds the lock; -1 once released. */
    private int fd;
    /** The locked directory's identity (device, inode), to tell whether its path still names it. */
    private final long device;
    private final long inode;

    private DirectoryLock(Path directory, int fd, long[] identity) {
        this.directory = directory;
        this.fd = fd;
        this.device = identity[0];
        this.inode = identity[1];
    }

    /**
     * Takes the lock of {@code directory} (which must exist), without waiting.
     *
     * @throws LogLockedException if this process or another one holds it
     * @throws IOException        (a {@code UringIOException}) if the lock file cannot be opened or locked
     */
    static DirectoryLock acquire(Path directory) throws IOException {
        Path file = directory.resolve(FILE_NAME);
        int fd = Libc.open(directory.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new UringIOException(-fd, "open", directory.toString());
        }
        int res = flock(fd, LOCK_EX | LOCK_NB);
        if (res < 0) {
            Libc.close(fd);
            if (-res == ErrnoTable.EAGAIN) {
                throw new LogLockedException(directory, holder(file));
            }
            throw new UringIOException(-res, "flock", directory.toString());
        }
        long[] identity;
        try {
            identity = identity(fd, "", Uapi.AT_EMPTY_PATH);
            if (identity == null) {
                throw new UringIOException(ErrnoTable.EIO, "statx", directory.toString());
            }
            writePid(file);
        } catch (IOException e) {
            Libc.close(fd); // a directory we cannot create a file in cannot hold a log either
            throw e;
        }
        return new DirectoryLock(directory, fd, identity);
    }

    /**
     * Checks that the lock's path still names the directory it locked, before the log reaches a file by name: a
     * directory renamed, deleted or replaced while the log is open would have it create, rename, delete or read files
     * in whatever directory the path names now, another log's perhaps. The segment being written is open by
     * descriptor and needs no check. (A rename between this check and the use of the name is not seen: the check
     * catches a directory moved while the log was idle or busy writing, which is what a person or a script does.)
     *
     * @throws LogDirectoryMovedException if the path names no directory, or another one
     */
    void checkInPlace(String operation) throws LogDirectoryMovedException {
        long[] now = identity(Uapi.AT_FDCWD, directory.toString(), 0);
        if (now == null || now[0] != device || now[1] != inode) {
            throw new LogDirectoryMovedException(operation, directory);
        }
    }

    /** The (device, inode) of {@code path} relative to {@code dirfd} ({@code statx}), or null if it cannot be had. */
    private static long[] identity(int dirfd, String path, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment statx = statx(arena, dirfd, arena.allocateFrom(path), flags, Uapi.STATX_INO);
            if (statx == null) {
                return null;
            }
            long device = (long) statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DEV_MAJOR_OFFSET) << 32
                    | Integer.toUnsignedLong(statx.get(ValueLayout.JAVA_INT, Uapi.STATX_DEV_MINOR_OFFSET));
            return new long[] {device, statx.get(ValueLayout.JAVA_LONG, Uapi.STATX_INO_OFFSET)};
        }
    }

    /**
     * Records this process's pid in the lock file, for the message of a refused open; never synced. Never through a
     * symbolic link ({@code O_NOFOLLOW}: ELOOP): the file is truncated, and a link put there would have the open
     * truncate whatever file it names, outside the log. Nor into a file with other links: {@code O_NOFOLLOW} does not
     * see a hard link (it is the file itself), and one to a segment would have the open cut the log's records, one to
     * another log's {@code LOCK} would overwrite that log's pid. Such a file, like a FIFO there, is left alone.
     */
    private static void writePid(Path file) throws IOException {
        int fd = Libc.open(file.toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_NOFOLLOW | Libc.O_CLOEXEC, 0644);
        if (fd < 0) {
            throw new UringIOException(-fd, "open", file.toString());
        }
        byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
        try (Arena arena = Arena.ofConfined()) {
            if (!onlyRegularLink(fd, arena)) {
                return; // only the message of a refused open misses the pid
            }
            if (Libc.ftruncate(fd, 0) < 0) {
                return; // only the message of a refused open would miss it
            }
            MemorySegment bytes = arena.allocate(pid.length);
            MemorySegment.copy(pid, 0, bytes, ValueLayout.JAVA_BYTE, 0, pid.length);
            Libc.pwrite(fd, bytes.address(), pid.length, 0);
        } finally {
            Libc.close(fd);
        }
    }

    /**
     * Whether {@code fd} is a regular file with one link, its name in the log's directory: {@code statx} on the
     * descriptor itself ({@code AT_EMPTY_PATH}), so that the answer is the opened file's, whatever the name names now.
     */
    private static boolean onlyRegularLink(int fd, Arena arena) {
        MemorySegment statx = statx(arena, fd, arena.allocate(1), Uapi.AT_EMPTY_PATH,
                Uapi.STATX_TYPE | Uapi.STATX_NLINK);
        if (statx == null) {
            return false;
        }
        int nlink = statx.get(ValueLayout.JAVA_INT, Uapi.STATX_NLINK_OFFSET);
        int mode = Short.toUnsignedInt(statx.get(ValueLayout.JAVA_SHORT, Uapi.STATX_MODE_OFFSET));
        return (mode & Libc.S_IFMT) == Libc.S_IFREG && nlink == 1;
    }

    /** {@code statx(dirfd, name, flags, mask)} into a {@code struct statx} of {@code arena}; null if it failed. */
    private static MemorySegment statx(Arena arena, int dirfd, MemorySegment name, int flags, int mask) {
        MemorySegment statx = arena.allocate(Uapi.STATX_STRUCT_SIZE, 8);
        return Libc.statx(dirfd, name.address(), flags, mask, statx.address()) < 0 ? null : statx;
    }

    /**
     * Who holds the lock, as far as its file tells: its first bytes, and only from a regular file (opening a FIFO put
     * there to read it would wait for a writer, and a refused open would never return).
     */
    private static String holder(Path file) {
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return "another open log";
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            ByteBuffer head = ByteBuffer.allocate(24); // a pid and its newline; the rest is not ours
            channel.read(head, 0);
            long pid = Long.parseLong(new String(head.array(), 0, head.position(), StandardCharsets.US_ASCII).trim());
            return pid == ProcessHandle.current().pid() ? "this process (pid " + pid + ")"
                    : "another process (pid " + pid + ")";
        } catch (IOException | NumberFormatException e) {
            return "another open log";
        }
    }

    private static int flock(int fd, int operation) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int res = (int) FLOCK.invokeExact(state, fd, operation);
            return res == -1 ? -(int) ERRNO.get(state, 0L) : res;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("flock threw " + t, t);
        }
    }

    Path directory() {
        return directory;
    }

    /** Releases the lock (closing the descriptor drops it). Idempotent. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            Libc.close(fd);
            fd = -1;
        }
    }
}
