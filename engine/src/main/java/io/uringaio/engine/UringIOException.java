package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

import java.io.IOException;

/**
 * An I/O operation failed with an errno: carries the errno, the operation and the path (or descriptor) it acted on.
 * The message reads like {@code "read /data/wal.log: EBADF (Bad file descriptor)"}.
 */
public class UringIOException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The positive errno. */
    private final int errno;
    /** The operation that failed. */
    private final String operation;
    /** The path (or descriptor) the operation acted on. */
    private final String path;

    /**
     * A failure with the errno's message as detail ({@code "read /data/x: EBADF (Bad file descriptor)"}).
     *
     * @param errno     the positive errno
     * @param operation the operation, e.g. {@code "read"}, {@code "fdatasync"}
     * @param path      the file's path, or a description such as {@code "fd 12"}
     */
    public UringIOException(int errno, String operation, String path) {
        this(errno, operation, path, ErrnoTable.describe(errno));
    }

    /**
     * A failure with a detail of the subclass's own in place of the errno's message.
     *
     * @param errno     the positive errno
     * @param operation the operation that failed
     * @param path      the file's path, or a description such as {@code "fd 12"}
     * @param detail    the text after {@code "operation path: "} in the message
     */
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
