package io.uringaio.posix;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * The end of a request: its result made final (copied back from the bounce buffer for a heap read), then, each step
 * guarded, the waiters woken, its notification fired ({@link Notifier}), its list counted down, its descriptor's
 * order advanced and what that released dispatched. Never throws: a callback that threw would be swallowed by the
 * engine and the request lost.
 */
final class Completion {
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");

    private final FdTable fds;
    private final Waiters waiters;
    private final Dispatcher dispatcher;
    /**
     * Set after a status is published by a batched completion; taken with getAndSet by whichever thread runs the
     * after-batch hook next (rings run it concurrently; the page-cache fast path runs it on submitting threads), so a
     * set is never cleared without a wake-up that follows it.
     */
    private final AtomicBoolean wakePending = new AtomicBoolean();

    Completion(FdTable fds, Waiters waiters, Dispatcher dispatcher) {
        this.fds = fds;
        this.waiters = waiters;
        this.dispatcher = dispatcher;
    }

    /** A completion delivered by the engine: waiters are woken once per completion batch ({@link #afterBatch}). */
    void completedByEngine(Aiocb cb, int res) {
        if (cb.stream && res > 0 && res < cb.nbytes - cb.written) {
            continueStreamWrite(cb, res);
            return;
        }
        completed(cb, res, true);
    }

    /**
     * A write to a blocking pipe or socket that the kernel ended short (io_uring, and the thread-pool backend that
     * mirrors it, write what the stream takes at once): POSIX has a blocking write return its whole count, and glibc's
     * aio_write is such a write(2), so the rest is written as the same request, still in its descriptor's order (the
     * writes behind it wait), before the request completes. After a cancel of this submission (or a close of its
     * descriptor) no rest is started; one that came while the rest was being started (it may have found the engine
     * between two parts) is issued again for the rest.
     */
    private void continueStreamWrite(Aiocb cb, int res) {
        cb.written += res;
        long submission = cb.submission;
        if (cb.cancelAsked == submission) {
            completed(cb, 0, true); // a cancel or a close came: no rest is started; the count is what went
            return;
        }
        try {
            long base = cb.buffer.isDirect() ? cb.cachedAddress : cb.bounceAddress;
            cb.request.prepWrite(cb.fd, base + cb.written, cb.nbytes - cb.written, 0).priority(cb.priority);
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "the rest of a short stream write not prepared: " + cb.request, t);
            completed(cb, -Errno.EIO, true);
            return;
        }
        dispatcher.submitPrepared(cb);
        if (cb.cancelAsked == submission) {
            dispatcher.cancelInEngine(cb, submission);
        }
    }

    /** A completion the facade makes itself (not through the engine): waiters are woken at once. */
    void completed(Aiocb cb, int res) {
        completed(cb, res, false);
    }

    /** Runs on the engine's thread after each batch of completions: one wake-up for all of them. */
    void afterBatch() {
        if (wakePending.get() && wakePending.getAndSet(false)) {
            waiters.wakeAll();
        }
    }

    void wakeWaiters() {
        waiters.wakeAll();
    }

    /**
     * The result for {@code cb}: make it final, then release, wake and notify. Never throws, and nothing before the
     * status is published may throw: a failure of the facade's own code here (the copy back from the bounce buffer)
     * turns the result into EIO; the steps after it (wake-up, notification, list bookkeeping, released requests) are
     * each guarded, so one failing does not skip the others. A completion callback that threw would be swallowed by
     * the engine and the request lost.
     */
    private void completed(Aiocb cb, int res, boolean batched) {
        if (cb.written > 0) {
            // A stream write whose first parts went: its count, or on a failure after them (a cancel, EPIPE) what was
            // written, as write(2) returns the bytes it wrote before it was interrupted.
            res = res >= 0 ? cb.written + res : cb.written;
        }
        if (res > 0 && cb.op == Aiocb.OP_READ && cb.buffer != null && !cb.buffer.isDirect()) {
            try {
                Bounce.copyOut(cb.bounce, cb.buffer, Math.min(res, cb.nbytes));
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "copy from the bounce buffer failed: " + cb.request, t);
                res = -Errno.EIO;
            }
        }
        // Capture what the notification needs before the status is published: after that the caller may reuse cb.
        int notify = cb.notify;
        int signo = cb.signo;
        Object value = cb.value;
        Consumer<Object> function = cb.function;
        Executor executor = cb.executor;
        ListIo list = cb.list;
        FdState fdState = cb.fdState;
        // The signal's disposition is taken as the request completes, before its status is published: a handler
        // installed by someone who already saw the final status does not receive this one.
        Consumer<SigInfo> handler = notify == Signals.SIGEV_SIGNAL ? Signals.disposition(signo) : null;
        int fd = cb.fd;
        Aiocb released = null;
        if (fdState != null) {
            try {
                released = fdState.remove(cb);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "ordering bookkeeping failed: " + cb.request, t);
            }
        }
        RequestPrep.releaseSnapshot(cb);
        cb.request.attach(null);
        cb.error = res < 0 ? -res : 0;
        cb.result = res < 0 ? -1 : res;
        cb.state = Aiocb.DONE;
        // From here on the status is final; the rest is guarded step by step.
        if (fdState != null) {
            fdState.published(); // a close of the descriptor waiting for it goes on (FdState.awaitPublished)
        }
        if (batched) {
            wakePending.set(true); // published after the status: the batch's wake-up sees it
        } else {
            wakeWaiters();
        }
        try {
            if (notify == Signals.SIGEV_SIGNAL) {
                Signals.deliver(handler, signo, value);
            } else {
                Notifier.notify(notify, signo, value, function, executor);
            }
        } catch (Throwable t) {
            LOG.log(System.Logger.Level.ERROR, "aio notification failed", t);
        }
        if (list != null) {
            try {
                list.release(res < 0);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "lio_listio bookkeeping failed", t);
            }
        }
        if (fdState != null) {
            try {
                fds.dropIfIdle(fd, fdState);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "descriptor table bookkeeping failed", t);
            }
        }
        dispatcher.dispatchReleased(released);
    }
}
