package io.uringaio.posix;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/** One {@code lio_listio} call: counts its entries down and notifies (or wakes the LIO_WAIT caller) at zero. */
final class ListIo {
    /** Starts at 1, the caller's own hold, released once every entry was accepted. */
    private final AtomicInteger remaining = new AtomicInteger(1);
    /**
     * The list's sigevent as it was at the call (C copies its struct sigevent): a caller may reuse its SigEvent for
     * the next list while this one is in flight. {@code notify} is SIGEV_NONE for none (LIO_WAIT ignores it).
     */
    private final int notify;
    private final int signo;
    private final Object value;
    private final Consumer<Object> function;
    private final Executor executor;
    private volatile boolean failed;
    private volatile boolean done;
    /** The LIO_WAIT caller, woken once when the count reaches zero. */
    private volatile Thread waiter;

    ListIo(SigEvent sig) {
        this.notify = sig == null ? Signals.SIGEV_NONE : sig.sigev_notify;
        this.signo = sig == null ? 0 : sig.sigev_signo;
        this.value = sig == null ? null : sig.sigev_value;
        this.function = sig == null ? null : sig.sigev_notify_function;
        this.executor = sig == null ? null : sig.sigev_notify_attributes;
    }

    /** 0 when this list's sigevent (as read at the call) can be fired, else EINVAL; none (LIO_WAIT) is valid. */
    int sigeventError() {
        return SubmitChecks.sigevent(notify, signo, function);
    }

    void add() {
        remaining.incrementAndGet();
    }

    void failed() {
        failed = true;
    }

    boolean anyFailed() {
        return failed;
    }

    boolean isDone() {
        return done;
    }

    /** LIO_WAIT: parks until every entry completed; interruptible (the entries go on). */
    void await() throws InterruptedException {
        waiter = Thread.currentThread();
        try {
            while (!done) {
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                LockSupport.park(this);
            }
        } finally {
            waiter = null;
        }
    }

    /** An entry (or the caller's hold) is done. */
    void release(boolean entryFailed) {
        if (entryFailed) {
            failed = true;
        }
        if (remaining.decrementAndGet() == 0) {
            done = true;
            Thread w = waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
            Notifier.notify(notify, signo, value, function, executor);
        }
    }
}
