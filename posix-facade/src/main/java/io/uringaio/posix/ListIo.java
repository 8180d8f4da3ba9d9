package io.uringaio.posix;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/** One {@code lio_listio} call: counts its entries down and notifies (or wakes the LIO_WAIT caller) at zero. */
final class ListIo {
    /** Starts at 1, the caller's own hold, released once every entry was accepted. */
    private final AtomicInteger remaining = new AtomicInteger(1);
    private final SigEvent sig;
    private final Object sigValue;
    private volatile boolean failed;
    private volatile boolean done;
    /** The LIO_WAIT caller, woken once when the count reaches zero. */
    private volatile Thread waiter;

    ListIo(SigEvent sig) {
        this.sig = sig;
        this.sigValue = sig == null ? null : sig.sigev_value;
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
            if (sig != null) {
                Notifier.notify(sig.sigev_notify, sig.sigev_signo, sigValue, sig.sigev_notify_function,
                        sig.sigev_notify_attributes);
            }
        }
    }
}
