package io.uringaio.posix;

import io.uringaio.engine.CancelOutcome;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.internal.sys.Libc;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code aio_cancel}: a request still waiting in the facade is taken off its descriptor's order and completed with
 * ECANCELED here; one in the engine gets an engine cancel, whose answer (and, when canceled, the request's final
 * ECANCELED) is waited for, bounded. A cancel acts only on the submission it found, never on a later one of a reused
 * block.
 */
final class Canceller {
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");
    private static final long CANCEL_WAIT_SECONDS = 30;

    private final AioContext context;
    private final FdTable fds;
    private final Waiters waiters;
    private final Dispatcher dispatcher;
    private final Completion completion;

    Canceller(AioContext context, FdTable fds, Waiters waiters, Dispatcher dispatcher) {
        this.context = context;
        this.fds = fds;
        this.waiters = waiters;
        this.dispatcher = dispatcher;
        this.completion = dispatcher.completion();
    }

    /** See {@link Aio#aio_cancel}. */
    int cancel(int fildes, Aiocb aiocbp) {
        if (Libc.fcntl(fildes, Libc.F_GETFD, 0) < 0) {
            return Errno.fail(Errno.EBADF);
        }
        if (aiocbp != null && aiocbp.aio_fildes != fildes) {
            return Errno.fail(Errno.EINVAL);
        }
        FdState.Outstanding[] targets;
        if (aiocbp != null) {
            int s = aiocbp.state; // the state first: the submission number read after it is at least as new
            long submission = aiocbp.submission;
            AioContext owner = aiocbp.context;
            if (s != Aiocb.WAITING && s != Aiocb.IN_KERNEL) {
                return Aio.AIO_ALLDONE;
            }
            if (owner != context) {
                // Another context runs it (aio_error reads EINPROGRESS here too): "all done" would be false. Its own
                // context cancels it, with its own checks and waits.
                return owner.aio_cancel(fildes, aiocbp);
            }
            targets = new FdState.Outstanding[] {new FdState.Outstanding(aiocbp, submission)};
        } else {
            FdState state = fildes < 0 ? null : fds.get(fildes);
            targets = state == null ? new FdState.Outstanding[0] : state.snapshot();
        }
        boolean anyCanceled = false;
        boolean anyNotCanceled = false;
        // Those held back by the descriptor's ordering first (oldest first: removing one releases none behind it while
        // what it waited for is still outstanding), then those in the engine. The other way round, canceling a
        // request in the engine released the next one held back behind it (a run of pipe reads, each behind the one
        // before), which was then on its way to the engine when its turn came: AIO_NOTCANCELED for a request nobody
        // had started.
        boolean[] done = new boolean[targets.length];
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < targets.length; i++) {
                FdState.Outstanding target = targets[i];
                if (done[i] || (pass == 0 && target.cb().state != Aiocb.WAITING)) {
                    continue;
                }
                done[i] = true;
                switch (cancelOne(target.cb(), target.submission())) {
                    case CANCELED -> anyCanceled = true;
                    case NOT_CANCELED -> anyNotCanceled = true;
                    case ALREADY_DONE -> { }
                }
            }
        }
        if (anyNotCanceled) {
            return Aio.AIO_NOTCANCELED;
        }
        return anyCanceled ? Aio.AIO_CANCELED : Aio.AIO_ALLDONE;
    }

    /**
     * {@link Unistd#close}'s step in this context, before {@code fd} is closed. POSIX: an outstanding request on a
     * descriptor being closed "may be canceled; one that is not canceled completes as if the close had not yet
     * occurred". The kernel resolves a descriptor number when a request starts, so a request still queued (held back
     * by the descriptor's ordering, or in a ring's queue) would otherwise start on whatever file takes the number
     * next: read its data, or write into it. So every outstanding request on {@code fd} is canceled, and one that was
     * not (already running, or released by an older one's completion and on its way to the engine) is waited for
     * (bounded, {@link #CANCEL_WAIT_SECONDS} each) before the close goes ahead.
     *
     * <p>On one of the engine's own threads (an engine completion callback that calls {@code Unistd.close}; the
     * facade's notifications run elsewhere) nothing is waited for, since the wait would wait for that very thread:
     * requests still held back by the ordering are canceled, the rest are left to finish as they go.
     */
    void beforeClose(int fd, RingEngine e) {
        FdState state = fds.get(fd);
        if (state == null) {
            return;
        }
        boolean mayWait = e == null || !e.isEngineThread();
        FdState.Outstanding[] outstanding = state.snapshot();
        // Youngest first: a held-back request then waits for something older that is still outstanding, so its cancel
        // releases nothing. Oldest first, each cancel released the next request into the engine, which then needed an
        // engine cancel of its own: a round trip per request of a long run held back behind a blocked pipe write.
        for (int i = outstanding.length - 1; i >= 0; i--) {
            FdState.Outstanding o = outstanding[i];
            if (mayWait) {
                cancelOne(o.cb(), o.submission());
                // Whatever the cancel answered, wait until the request is final: one not canceled may be running, or
                // may have just been released by an older one's completion and not yet reached the engine (its
                // cancel then finds nothing there and answers "already done"); it would start after the close, on
                // whatever file takes the number next.
                awaitFinal(o.cb(), o.submission());
            } else {
                cancelIfHeldBack(o.cb(), o.submission());
            }
        }
        if (mayWait) {
            // A request that completed just before the snapshot is in no list, its status maybe not yet final.
            state.awaitPublished(System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS));
        }
    }

    /**
     * Cancels {@code cb} if it is still held back by its descriptor's ordering (no engine round trip); else, when it is
     * still this submission, marks it so that a stream write starts no further part ({@link Aiocb#cancelAsked}).
     */
    private void cancelIfHeldBack(Aiocb cb, long submission) {
        FdState removedFrom = null;
        int fd;
        cb.pinForCancel();
        try {
            FdState state = cb.fdState;
            fd = cb.fd;
            if (cb.submission == submission && cb.state == Aiocb.WAITING && state != null
                    && state.removeWaiting(cb, submission)) {
                removedFrom = state;
            } else if (cb.submission == submission) {
                // Left to finish as it goes, but a stream write starts no further part: it would resolve the number
                // again, after the close, and could write into the file that takes it next.
                cb.cancelAsked = submission;
            }
        } finally {
            cb.unpinForCancel();
        }
        if (removedFrom != null) {
            completeHeldBack(cb, fd, removedFrom);
        }
    }

    /**
     * Completes {@code cb}, just taken out of {@code from}'s waiting queue, with ECANCELED; what it held back may go
     * now, and its descriptor's state is dropped if that was all.
     */
    private void completeHeldBack(Aiocb cb, int fd, FdState from) {
        cb.state = Aiocb.IN_KERNEL; // leaves WAITING; completed() makes it final
        completion.completed(cb, -Errno.ECANCELED);
        dispatcher.dispatchReleased(from.releaseAfterCancel());
        fds.dropIfIdle(fd, from);
    }

    /**
     * Cancels submission {@code submission} of {@code cb}, and nothing else: the block may have completed and been
     * submitted again by its owner since the caller found it (a snapshot of a descriptor's requests, taken by one
     * thread while others reap and reuse their blocks). The check and the cancel's issue happen under the block's
     * cancel pin, so the owner's next submission cannot reach the engine in between.
     */
    private CancelOutcome cancelOne(Aiocb cb, long submission) {
        // One cancel of a block at a time, to its end (the engine's answer, and the final ECANCELED when canceled).
        // Two at once each asked the engine: the second found the request already ended by the first (the engine then
        // answers "not in flight") before the facade had recorded its ECANCELED, and answered AIO_NOTCANCELED for a
        // request that ended canceled. In turn, the second finds the status final and answers AIO_ALLDONE.
        synchronized (cb.cancelTurn()) {
            return cancelOneInTurn(cb, submission);
        }
    }

    private CancelOutcome cancelOneInTurn(Aiocb cb, long submission) {
        CompletableFuture<CancelOutcome> inEngine = null;
        FdState removedFrom = null;
        int fd;
        cb.pinForCancel();
        try {
            int s = cb.state;
            if (cb.submission != submission || (s != Aiocb.WAITING && s != Aiocb.IN_KERNEL)) {
                return CancelOutcome.ALREADY_DONE;
            }
            FdState state = cb.fdState;
            fd = cb.fd;
            if (state != null && state.removeWaiting(cb, submission)) {
                removedFrom = state; // ours to complete: no one else sees it any more
            } else {
                RingEngine e = context.startedEngine();
                if (cb.state != Aiocb.IN_KERNEL) {
                    return CancelOutcome.ALREADY_DONE;
                }
                cb.cancelAsked = submission; // the rest of a stream write, started later, is canceled too
                if (e != null) { // else on its way to an engine that is still starting: it will run
                    cb.cancelIssued();
                    try {
                        inEngine = e.cancel(cb.request);
                        inEngine.whenComplete((outcome, failure) -> cb.cancelSettled());
                    } catch (RuntimeException notIssued) {
                        cb.cancelSettled();
                        inEngine = null;
                        if (!context.isClosed()) { // a closed engine refusing is the close's race, not a failure
                            LOG.log(System.Logger.Level.ERROR, "engine cancel failed: " + cb.request, notIssued);
                        }
                    }
                }
            }
        } finally {
            cb.unpinForCancel();
        }
        if (removedFrom != null) {
            completeHeldBack(cb, fd, removedFrom);
            return CancelOutcome.CANCELED;
        }
        // The wait for the engine's answer ignores interrupts (and keeps the status for the caller): the cancel is
        // issued and will act whatever this thread does, so answering AIO_NOTCANCELED on an interrupt could
        // contradict the request's final ECANCELED. The wait is short (one ring or pool round trip) and bounded.
        boolean interrupted = Thread.interrupted();
        try {
            CancelOutcome outcome = inEngine == null ? CancelOutcome.NOT_CANCELED : awaitOutcome(inEngine);
            if (outcome == CancelOutcome.CANCELED) {
                awaitFinal(cb, submission);
                if (endedUncanceled(cb, submission)) {
                    // The part canceled was the rest of a stream write whose first parts went: it completed with
                    // their count, and "canceled" would contradict the count that aio_return gives.
                    outcome = CancelOutcome.NOT_CANCELED;
                }
            } else if (outcome == CancelOutcome.ALREADY_DONE && cb.inProgress(submission)) {
                // The engine did not hold it: released by an older request's completion and still on its way there
                // (or its completion is being recorded). It was not canceled and completes normally; "already done"
                // would contradict the EINPROGRESS that aio_error reads right after.
                outcome = CancelOutcome.NOT_CANCELED;
            }
            return outcome == CancelOutcome.NOT_CANCELED ? unlessTheCloseCanceledIt(cb, submission) : outcome;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * AIO_NOTCANCELED's answer, unless this context's {@link AioContext#close} is under way: the close cancels every
     * request it holds, so one this cancel could not reach (the closing engine refused the cancel, or had already
     * ended the request) is waited for (bounded) and, when it ended ECANCELED, answered as canceled; "could not be
     * canceled" would contradict the ECANCELED that aio_error reads right after. Called with the interrupt status
     * clear.
     */
    private CancelOutcome unlessTheCloseCanceledIt(Aiocb cb, long submission) {
        if (!context.isClosed()) {
            return CancelOutcome.NOT_CANCELED;
        }
        awaitFinal(cb, submission);
        boolean endedCanceled = cb.submission == submission && !cb.inProgress() && cb.error == Errno.ECANCELED;
        return endedCanceled ? CancelOutcome.CANCELED : CancelOutcome.NOT_CANCELED;
    }

    /** Whether submission {@code submission} of {@code cb} is final with another status than ECANCELED. */
    private static boolean endedUncanceled(Aiocb cb, long submission) {
        return cb.submission == submission && !cb.inProgress() && cb.error != Errno.ECANCELED;
    }

    /** The engine's answer to an issued cancel, waited for without regard to interrupts (bounded); they are kept. */
    private static CancelOutcome awaitOutcome(CompletableFuture<CancelOutcome> inEngine) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return inEngine.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException ie) {
                    interrupted = true;
                } catch (ExecutionException | TimeoutException ex) {
                    return CancelOutcome.NOT_CANCELED;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Waits (bounded) until a canceled request's -ECANCELED completion has been recorded, so the caller of
     * {@code aio_cancel} that gets AIO_CANCELED reads ECANCELED at once. Called with the interrupt status clear.
     */
    private void awaitFinal(Aiocb cb, long submission) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CANCEL_WAIT_SECONDS);
        int slot = waiters.register();
        boolean interrupted = false;
        try {
            while (cb.inProgress(submission) && deadline - System.nanoTime() > 0) {
                if (Thread.interrupted()) {
                    interrupted = true; // parking with it set would spin; kept for the caller
                }
                Waiters.park(slot, deadline);
            }
        } finally {
            waiters.unregister(slot);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
