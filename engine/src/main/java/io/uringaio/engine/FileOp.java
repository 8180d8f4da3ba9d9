package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * One {@link AsyncFile} operation in flight: its request(s), its future, and what must stay reachable until the CQE
 * (the caller's buffer, bounce buffers, an iovec array, a segment). Pooled; completes on the ring thread.
 */
final class FileOp implements Completion {
    enum Kind {
        READ("read"), WRITE("write"), READV("readv"), WRITEV("writev"), FSYNC("fsync"), FDATASYNC("fdatasync"),
        FALLOCATE("fallocate"), SIZE("statx"), DURABLE_WRITE("write+fdatasync");

        final String opName;

        Kind(String opName) {
            this.opName = opName;
        }
    }

    private static final int POOL_SIZE = 4096;
    private static final ObjectPool<FileOp> POOL = new ObjectPool<>(POOL_SIZE);

    final Request request = new Request(this);
    private Request syncRequest;

    AsyncFile file;
    Kind kind;
    CompletableFuture<Object> future;
    /** The caller's buffer whose position advances on completion. */
    ByteBuffer buffer;
    ByteBuffer[] buffers;
    BouncePool.Bounce bounce;
    BouncePool.Bounce[] bounces;
    Object keepAlive;
    int requested;
    /** The caller's buffer position when the op started. */
    int bufferStart;
    boolean bufferResult;
    WriteBarrier.Epoch epoch;
    private int pending;
    private int headResult;
    private int syncResult;
    private boolean resyncing;

    static FileOp acquire(AsyncFile file, Kind kind, CompletableFuture<Object> future) {
        FileOp op = POOL.poll();
        if (op == null) {
            op = new FileOp();
        }
        op.file = file;
        op.kind = kind;
        op.future = future;
        op.pending = 1;
        return op;
    }

    Request syncRequest() {
        if (syncRequest == null) {
            syncRequest = new Request(this);
        }
        return syncRequest;
    }

    /** Prepares a linked pair (the op's request, then its sync request); both must complete. */
    void expectTwo() {
        pending = 2;
    }

    @Override
    public void complete(Request r, int res) {
        if (kind == Kind.DURABLE_WRITE) {
            completeDurable(r, res);
            return;
        }
        finish(res, r.canceledByClose());
    }

    private void completeDurable(Request r, int res) {
        if (r == request) {
            headResult = res;
        } else {
            syncResult = res;
        }
        if (--pending > 0) {
            return;
        }
        boolean byClose = request.canceledByClose() || syncRequest.canceledByClose();
        if (headResult < 0) {
            finish(headResult, byClose);
        } else if (!resyncing && syncResult == -ErrnoTable.ECANCELED && headResult < requested && !byClose) {
            // A short write broke the link and canceled the sync: make the bytes written durable, then report them.
            resyncing = true;
            pending = 1;
            file.submitSync(this, syncRequest, true);
        } else {
            finish(syncResult < 0 ? syncResult : headResult, byClose);
        }
    }

    private void finish(int res, boolean byClose) {
        AsyncFile f = file;
        CompletableFuture<Object> fut = future;
        Object value = null;
        Throwable failure = null;
        if (res < 0) {
            failure = byClose ? new EngineClosedException(kind.opName, f.pathString())
                    : new UringIOException(-res, kind.opName, f.pathString());
        } else {
            try {
                value = f.resultOf(this, res);
            } catch (RuntimeException e) {
                // The caller's buffer changed under the operation (its position or limit moved while in flight): the
                // kernel's bytes cannot be handed over, but the future still completes and the op is counted out,
                // so the file still closes.
                failure = new IllegalStateException(kind.opName + " " + f.pathString() + ": " + res + " bytes"
                        + " transferred, but the buffer changed while the operation was in flight: " + e, e);
            }
        }
        WriteBarrier.Epoch e = epoch;
        recycle();
        if (e != null) {
            f.barrier.exitWrite(e);
        }
        f.release();
        if (failure != null) {
            fut.completeExceptionally(failure);
        } else {
            fut.complete(value);
        }
    }

    /**
     * Undoes an operation that failed before it was submitted (no request of it reached the engine): frees what it
     * holds, counts it out of its file and fails its future with {@code failure}.
     */
    void abort(Throwable failure) {
        AsyncFile f = file;
        CompletableFuture<Object> fut = future;
        WriteBarrier.Epoch e = epoch;
        recycle();
        if (e != null) {
            f.barrier.exitWrite(e);
        }
        f.release();
        fut.completeExceptionally(failure);
    }

    private void recycle() {
        BouncePool pool = file.engine.bouncePool;
        pool.release(bounce);
        if (bounces != null) {
            for (BouncePool.Bounce b : bounces) {
                pool.release(b);
            }
        }
        file = null;
        kind = null;
        future = null;
        buffer = null;
        buffers = null;
        bounce = null;
        bounces = null;
        keepAlive = null;
        epoch = null;
        requested = 0;
        bufferStart = 0;
        bufferResult = false;
        headResult = 0;
        syncResult = 0;
        resyncing = false;
        request.attach(null);
        if (syncRequest != null) {
            syncRequest.attach(null);
        }
        POOL.offer(this);
    }
}
