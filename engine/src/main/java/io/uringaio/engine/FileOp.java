package io.uringaio.engine;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * One {@link AsyncFile} operation in flight: its request(s), its future, and what must stay reachable until the CQE
 * (the caller's buffer, bounce buffers, an iovec array, a segment). Pooled; completes on the thread that delivers its
 * request's completion (a ring or pool thread, or a caller ring's waiter, reaper or submitter).
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
    // The op's future, typed by what its kind completes with: exactly one is set while the op is in use.
    /** READ, WRITE, DURABLE_WRITE: the byte count. */
    private CompletableFuture<Integer> countFuture;
    /** READV, WRITEV: the total byte count; SIZE: the file's size. */
    private CompletableFuture<Long> longFuture;
    /** FSYNC, FDATASYNC, FALLOCATE: done. */
    private CompletableFuture<Void> doneFuture;
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

    /** An op of a kind that completes with a byte count (READ, WRITE, DURABLE_WRITE). */
    static FileOp acquireInt(AsyncFile file, Kind kind, CompletableFuture<Integer> future) {
        FileOp op = acquire(file, kind);
        op.countFuture = future;
        return op;
    }

    /** An op of a kind that completes with a long (READV, WRITEV, SIZE). */
    static FileOp acquireLong(AsyncFile file, Kind kind, CompletableFuture<Long> future) {
        FileOp op = acquire(file, kind);
        op.longFuture = future;
        return op;
    }

    /** An op of a kind that completes with nothing (FSYNC, FDATASYNC, FALLOCATE). */
    static FileOp acquireVoid(AsyncFile file, Kind kind, CompletableFuture<Void> future) {
        FileOp op = acquire(file, kind);
        op.doneFuture = future;
        return op;
    }

    private static FileOp acquire(AsyncFile file, Kind kind) {
        FileOp op = POOL.poll();
        if (op == null) {
            op = new FileOp();
        }
        op.file = file;
        op.kind = kind;
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
        CompletableFuture<Integer> counts = countFuture;
        CompletableFuture<Long> longs = longFuture;
        CompletableFuture<Void> dones = doneFuture;
        int count = 0;
        long value = 0;
        Throwable failure = null;
        if (res < 0) {
            failure = byClose ? new EngineClosedException(kind.opName, f.pathString())
                    : new UringIOException(-res, kind.opName, f.pathString());
        } else {
            try {
                switch (kind) {
                    case READ -> count = readResult(res);
                    case WRITE, DURABLE_WRITE -> count = writeResult(res);
                    case READV, WRITEV -> value = vectoredResult(res);
                    case SIZE -> value = bounce.buffer.getLong(Uapi.STATX_SIZE_OFFSET);
                    default -> { }
                }
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
        int[] settling = AsyncFile.enterSettle();
        try {
            if (failure != null) {
                anyOf(counts, longs, dones).completeExceptionally(failure);
            } else if (counts != null) {
                counts.complete(count);
            } else if (longs != null) {
                longs.complete(value);
            } else {
                dones.complete(null);
            }
        } finally {
            f.exitSettle(settling);
        }
    }

    /**
     * A successful read's count: the bytes copied from a bounce buffer to the caller's heap buffer or segment, and a
     * buffer's position advanced; -1 (buffers only) for end of file when there was room. Runs before recycling.
     */
    private int readResult(int res) {
        if (bounce != null && res > 0) {
            if (bufferResult) {
                buffer.put(bufferStart, bounce.buffer, 0, res);
            } else {
                MemorySegment.copy(MemorySegment.ofBuffer(bounce.buffer), 0, (MemorySegment) keepAlive, 0, res);
            }
        }
        if (bufferResult) {
            buffer.position(bufferStart + res);
            return res == 0 && requested > 0 ? -1 : res;
        }
        return res;
    }

    /** A successful write's count, with a buffer's position advanced by it. */
    private int writeResult(int res) {
        if (bufferResult) {
            buffer.position(bufferStart + res);
        }
        return res;
    }

    /**
     * A successful readv or writev's total: handed out over the buffers by the positions and lengths they had at
     * submission (copied from their bounce buffers for a readv), each position advanced; -1 for a readv at end of file
     * when there was room.
     */
    private long vectoredResult(int res) {
        int[] starts = (int[]) keepAlive;
        long left = res;
        for (int i = 0; i < buffers.length && left > 0; i++) {
            ByteBuffer b = buffers[i];
            int n = (int) Math.min(left, starts[buffers.length + i]);
            if (kind == Kind.READV && bounces[i] != null) {
                b.put(starts[i], bounces[i].buffer, 0, n);
            }
            b.position(starts[i] + n);
            left -= n;
        }
        return kind == Kind.READV && res == 0 && requested > 0 ? -1L : (long) res;
    }

    /** This op's future, whatever it completes with. */
    CompletableFuture<?> future() {
        return anyOf(countFuture, longFuture, doneFuture);
    }

    /** The one future of the three that is set. */
    private static CompletableFuture<?> anyOf(CompletableFuture<Integer> counts, CompletableFuture<Long> longs,
            CompletableFuture<Void> dones) {
        return counts != null ? counts : longs != null ? longs : dones;
    }

    /**
     * Undoes an operation that failed before it was submitted (no request of it reached the engine): frees what it
     * holds, counts it out of its file and fails its future with {@code failure}.
     */
    void abort(Throwable failure) {
        AsyncFile f = file;
        CompletableFuture<?> fut = anyOf(countFuture, longFuture, doneFuture);
        WriteBarrier.Epoch e = epoch;
        recycle();
        if (e != null) {
            f.barrier.exitWrite(e);
        }
        f.release();
        int[] settling = AsyncFile.enterSettle();
        try {
            fut.completeExceptionally(failure);
        } finally {
            f.exitSettle(settling);
        }
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
        countFuture = null;
        longFuture = null;
        doneFuture = null;
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
