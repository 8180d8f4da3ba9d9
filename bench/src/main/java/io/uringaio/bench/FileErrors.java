package io.uringaio.bench;

import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Messages for failed file operations on the benchmark's files that name the operation, the file and the errno, e.g.
 * {@code "create /x/y/f: ENOENT (No such file or directory): directory /x does not exist"}.
 *
 * <p>The JDK's {@link FileSystemException} carries the file but not the errno: its subclass says ENOENT, EACCES,
 * EEXIST or ENOTDIR, and for the others its reason is glibc's {@code strerror} text, which is looked up here.
 */
public final class FileErrors {
    /** Not a directory: the JDK's {@link NotDirectoryException}, or a path component that is a file. */
    private static final int ENOTDIR = ErrnoTable.ENOTDIR;

    private FileErrors() {
    }

    /**
     * An {@link IOException} whose message is {@code "<operation> <file>: <ERRNO (message)>[: <hint>]"}, with
     * {@code cause} as its cause; the hint explains the common cases (a missing or non-directory ancestor).
     */
    public static IOException failed(String operation, Path file, IOException cause) {
        return failed(operation, file, cause, null);
    }

    /** {@link #failed(String, Path, IOException)} with {@code how} after the file: "open /f read-write: EPERM ...". */
    public static IOException failed(String operation, Path file, IOException cause, String how) {
        int errno = errnoOf(cause);
        StringBuilder sb = new StringBuilder(operation).append(' ').append(file);
        if (how != null) {
            sb.append(' ').append(how);
        }
        sb.append(": ");
        if (errno > 0) {
            sb.append(ErrnoTable.describe(errno));
        } else {
            sb.append(cause instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                    : cause.toString());
        }
        String hint = hint(file, errno);
        if (hint != null) {
            sb.append(": ").append(hint);
        }
        return new IOException(sb.toString(), cause);
    }

    /** The errno behind {@code e}, or 0 when it cannot be told. */
    static int errnoOf(IOException e) {
        return switch (e) {
            case NoSuchFileException ignored -> ErrnoTable.ENOENT;
            case AccessDeniedException ignored -> ErrnoTable.EACCES;
            case FileAlreadyExistsException ignored -> ErrnoTable.EEXIST;
            case NotDirectoryException ignored -> ENOTDIR;
            case FileSystemException fs when fs.getReason() != null -> errnoOfMessage(fs.getReason());
            case FileSystemException ignored -> 0;
            // FileChannel's read/write/force report an errno as a bare IOException with strerror's text
            case IOException io when io.getMessage() != null -> errnoOfMessage(io.getMessage());
            default -> 0;
        };
    }

    /** The errno whose strerror text {@code reason} is (the JDK's reason for the errnos it has no class for). */
    private static int errnoOfMessage(String reason) {
        for (int errno = 1; errno <= ErrnoTable.MAX_ERRNO; errno++) {
            if (reason.equals(ErrnoTable.message(errno))) {
                return errno;
            }
        }
        return 0;
    }

    /** Why a path could not be reached: its first missing or non-directory ancestor; null when that is not it. */
    private static String hint(Path file, int errno) {
        if (errno != ErrnoTable.ENOENT && errno != ENOTDIR) {
            return null;
        }
        Path parent = file.toAbsolutePath().normalize().getParent();
        if (parent == null) {
            return null;
        }
        Path reached = parent.getRoot();
        for (Path name : parent) {
            reached = reached.resolve(name);
            if (!Files.exists(reached)) {
                return (reached.equals(parent) ? "parent directory " : "directory ") + reached + " does not exist";
            }
            if (!Files.isDirectory(reached)) {
                return reached + " is not a directory";
            }
        }
        return null;
    }
}
