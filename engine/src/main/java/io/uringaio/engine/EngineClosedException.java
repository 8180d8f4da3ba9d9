package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

/**
 * The engine closed before the request could run: it was still queued, or it was canceled in the kernel by
 * {@link RingEngine#close()}. The errno is {@code ECANCELED}.
 */
public final class EngineClosedException extends UringIOException {
    private static final long serialVersionUID = 1L;

    public EngineClosedException(String operation, String path) {
        super(ErrnoTable.ECANCELED, operation, path, "engine closed before the request completed (ECANCELED)");
    }
}
