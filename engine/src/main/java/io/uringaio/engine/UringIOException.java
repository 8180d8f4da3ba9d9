package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;

/**
 * An I/O operation failed with an errno: carries the errno, the operation and the path (or descriptor) it acted on.
 * The message reads like {@code "read /data/wal.log: EBADF (Bad file descriptor)"}.
 */
public class UringIOException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;
    private final String operation;
    private final String path;

    /**
     * @param errno     the positive errno
     * @param operation the operation, e.g. {@code "read"}, {@code "fdatasync"}
     * @param path      the file's path, or a description such as {@code "fd 12"}
     */
    public UringIOException(int errno, String operation, String path) {
        this(errno, operation, path, ErrnoTable.describe(errno));
    }

    protected UringIOException(int errno, String operation, String path, String detail) {
        super(operation + " " + path + ": " + detail);
        this.errno = errno;
        this.operation = operation;
        this.path = path;
    }

    /** The positive errno, e.g. 9 for EBADF. */
    public int errno() {
        return errno;
    }

    /** The errno's symbolic name, e.g. {@code "EBADF"}. */
    public String errnoName() {
        return ErrnoTable.name(errno);
    }

    /** The operation that failed. */
    public String operation() {
        return operation;
    }

    /** The path (or descriptor) the operation acted on. */
    public String path() {
        return path;
    }
}
