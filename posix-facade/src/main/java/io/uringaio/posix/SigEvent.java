package io.uringaio.posix;

import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * {@code struct sigevent}: how a request (or a {@code lio_listio} list) reports its completion. The facade reads it
 * once, when the request is submitted.
 */
public final class SigEvent {
    /** {@link Signals#SIGEV_NONE}, {@link Signals#SIGEV_SIGNAL} or {@link Signals#SIGEV_THREAD}. */
    public int sigev_notify;
    /** For SIGEV_SIGNAL: the signal, 1..{@link Signals#SIGRTMAX}. */
    public int sigev_signo;
    /** C's {@code union sigval}: an Integer, the Aiocb, anything; handed to the handler or function. */
    public Object sigev_value;
    /** For SIGEV_THREAD: called with {@link #sigev_value} on a thread other than the submitter. */
    public Consumer<Object> sigev_notify_function;
    /**
     * For SIGEV_THREAD: where the function runs; null means a facade thread. Its {@code execute} is called from a
     * facade thread (never from a completion thread), so an executor that blocks delays only its own notifications.
     */
    public Executor sigev_notify_attributes;

    /** An empty sigevent: SIGEV_SIGNAL with signal 0, which the facade rejects until you fill it in. */
    public SigEvent() {
    }

    /** SIGEV_NONE: no notification. */
    public static SigEvent none() {
        SigEvent e = new SigEvent();
        e.sigev_notify = Signals.SIGEV_NONE;
        return e;
    }

    /** SIGEV_SIGNAL: the handler installed with {@link Signals#sigaction} for {@code signo} gets {@code value}. */
    public static SigEvent signal(int signo, Object value) {
        SigEvent e = new SigEvent();
        e.sigev_notify = Signals.SIGEV_SIGNAL;
        e.sigev_signo = signo;
        e.sigev_value = value;
        return e;
    }

    /** SIGEV_THREAD: {@code function} runs with {@code value} on a facade thread. */
    public static SigEvent thread(Consumer<Object> function, Object value) {
        SigEvent e = new SigEvent();
        e.sigev_notify = Signals.SIGEV_THREAD;
        e.sigev_notify_function = function;
        e.sigev_value = value;
        return e;
    }
}
