package io.uringaio.posix;

import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.Request;
import io.uringaio.engine.RingEngine;

/**
 * Hands requests that may go to the kernel to the engine: one at a time ({@link #dispatch}, from a submitting call or
 * for the requests a completion released), or a lio_listio batch ({@link #submitBatch}). A request the engine does not
 * take completes here, through this context's {@link Completion}: with the errno {@link RequestPrep#prepare} found,
 * ECANCELED when the engine is closed, EIO when the facade itself failed. Nothing here throws: it also runs on
 * completion threads.
 */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");

    private final AioContext context;
    private final Completion completion;

    /** A dispatcher for {@code context}'s engine, with the completion path (made here: each calls the other). */
    Dispatcher(AioContext context, FdTable fds, Waiters waiters) {
        this.context = context;
        this.completion = new Completion(fds, waiters, this);
    }

    Completion completion() {
        return completion;
    }

    /**
     * Hands an IN_KERNEL block to the engine, or completes it: with the errno {@link RequestPrep#prepare} found,
     * ECANCELED when the engine is closed, EIO when the facade itself failed. Never throws: it also runs on completion
     * threads, for requests a completion released.
     */
    void dispatch(Aiocb cb) {
        int res;
        try {
            res = RequestPrep.prepare(cb);
        } catch (Throwable t) {
            if (!failedBeforeEngine(cb, t)) {
                return;
            }
            res = -Errno.EIO;
        }
        if (res == 0) {
            submitPrepared(cb);
        } else {
            completion.completed(cb, res);
        }
    }

    /**
     * Hands one prepared IN_KERNEL block to the engine on its own. A read tries the page cache on this thread first
     * and then completes inside the call (not on O_DIRECT, where it would wait for the device); with caller rings on
     * ({@link io.uringaio.engine.RingEngineConfig#callerRings(int)}) the request goes into the submitting thread's own
     * ring, where a later {@code aio_suspend} of that thread reaps it without a hand-off. Never throws.
     */
    void submitPrepared(Aiocb cb) {
        int res;
        try {
            cb.request.pageCacheFirst(cb.op == Aiocb.OP_READ && RequestPrep.mayReadInline(cb));
            context.engine().submit(cb.request);
            return;
        } catch (EngineRejectedException closedEngine) {
            res = -Errno.ECANCELED;
        } catch (Throwable t) {
            if (!failedBeforeEngine(cb, t)) {
                return;
            }
            res = -Errno.EIO;
        }
        completion.completed(cb, res);
    }

    /**
     * Issues an engine cancel for submission {@code submission} of {@code cb} if it is still the one in the engine:
     * under the block's cancel pin, as {@link Canceller} does, so that it never reaches a later submission.
     */
    void cancelInEngine(Aiocb cb, long submission) {
        RingEngine e = context.startedEngine();
        if (e == null) {
            return;
        }
        cb.pinForCancel();
        try {
            if (cb.submission != submission || cb.state != Aiocb.IN_KERNEL) {
                return;
            }
            cb.cancelIssued();
            try {
                e.cancel(cb.request).whenComplete((outcome, failure) -> cb.cancelSettled());
            } catch (RuntimeException notIssued) { // a closing engine: it cancels the request itself
                cb.cancelSettled();
            }
        } finally {
            cb.unpinForCancel();
        }
    }

    /** Dispatches a chain of requests a completion or a cancel released ({@link FdState#remove}). */
    void dispatchReleased(Aiocb released) {
        while (released != null) {
            Aiocb next = released.releasedNext;
            released.releasedNext = null;
            dispatch(released);
            released = next;
        }
    }

    /**
     * Hands a lio_listio batch to the engine. If the engine refuses it (closed), or the facade's own code throws, no
     * request of it was accepted (submitBatch is all or nothing): each completes, ECANCELED or EIO.
     */
    void submitBatch(Request[] batch, Aiocb[] batchCbs, int n) {
        int res;
        try {
            context.engine().submitBatch(batch, n);
            return;
        } catch (EngineRejectedException closedEngine) {
            res = -Errno.ECANCELED;
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "lio_listio batch failed in the facade", t);
            res = -Errno.EIO;
        }
        for (int i = 0; i < n; i++) {
            Aiocb cb = batchCbs[i];
            if (!cb.request.inFlight() && cb.state == Aiocb.IN_KERNEL) {
                completion.completed(cb, res);
            }
        }
    }

    /**
     * After the facade's own code threw while handing {@code cb} to the engine: true when the engine does not hold it
     * (so the facade must complete it, or it would be lost), false when the engine holds it (its completion will come).
     */
    private static boolean failedBeforeEngine(Aiocb cb, Throwable t) {
        LOG.log(System.Logger.Level.ERROR, "aio request failed in the facade: " + cb.request, t);
        return !cb.request.inFlight() && cb.state == Aiocb.IN_KERNEL;
    }
}
