package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * The engine closed before the request could run: it was still queued, or it was canceled in the kernel by
 * {@link RingEngine#close()}. The errno is {@code ECANCELED}.
 */
public final class EngineClosedException extends UringIOException {
    private static final long serialVersionUID = 1L;

    /**
     * The request of {@code operation} on {@code path} ended because its engine closed first.
     *
     * @param operation the operation, e.g. {@code "read"}
     * @param path      the file's path, or a description such as {@code "fd 12"}
     */
    public EngineClosedException(String operation, String path) {
        super(ErrnoTable.ECANCELED, operation, path, "engine closed before the request completed (ECANCELED)");
    }
}
