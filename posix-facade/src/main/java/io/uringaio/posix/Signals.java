package io.uringaio.posix;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;

/**
 * {@code <signal.h>} as AIO uses it: the {@code SIGEV_*} constants and {@link #sigaction}, which installs a Java
 * handler for a signal number. AIO completions with {@code SIGEV_SIGNAL} call that handler with
 * {@code SigInfo(signo, SI_ASYNCIO, sigev_value)} on the facade's signal delivery thread (one thread, so handlers run
 * one at a time, in completion order). These are not operating-system signals: nothing is sent to the process, and a
 * completion for a signal with no handler when it completes is dropped and counted ({@link #droppedSignals()}), never fatal.
 */
public final class Signals {
    private Signals() {
    }

    /** {@link SigEvent#sigev_notify}: deliver {@link SigEvent#sigev_signo} to its handler. */
    public static final int SIGEV_SIGNAL = 0;
    /** {@link SigEvent#sigev_notify}: no notification; poll with {@code aio_error} or {@code aio_suspend}. */
    public static final int SIGEV_NONE = 1;
    /** {@link SigEvent#sigev_notify}: call {@link SigEvent#sigev_notify_function}. */
    public static final int SIGEV_THREAD = 2;
    /** {@link SigInfo#si_code} of a signal sent for a completed asynchronous request. */
    public static final int SI_ASYNCIO = -4;
    /** Hangup. */
    public static final int SIGHUP = 1;
    /** Interrupt. */
    public static final int SIGINT = 2;
    /** Quit. */
    public static final int SIGQUIT = 3;
    /** User-defined signal 1. */
    public static final int SIGUSR1 = 10;
    /** User-defined signal 2. */
    public static final int SIGUSR2 = 12;
    /** Termination. */
    public static final int SIGTERM = 15;
    /** The first real-time signal. */
    public static final int SIGRTMIN = 34;
    /** The last real-time signal. */
    public static final int SIGRTMAX = 64;

    private static final AtomicReferenceArray<Consumer<SigInfo>> HANDLERS = new AtomicReferenceArray<>(SIGRTMAX + 1);
    private static final AtomicLong DROPPED = new AtomicLong();
    private static final ExecutorService DELIVERY = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "uring-aio-signal-delivery");
        t.setDaemon(true);
        return t;
    });

    /**
     * Installs {@code handler} for {@code signo}, replacing any; a null handler removes it (removing one that is not
     * installed is fine).
     *
     * @return 0, or -1 with errno EINVAL for a signo outside 1..SIGRTMAX
     */
    public static int sigaction(int signo, Consumer<SigInfo> handler) {
        if (!validSigno(signo)) {
            return Errno.fail(Errno.EINVAL);
        }
        HANDLERS.set(signo, handler);
        return 0;
    }

    /** Completions whose signal had no handler when they were delivered. */
    public static long droppedSignals() {
        return DROPPED.get();
    }

    static boolean validSigno(int signo) {
        return signo >= 1 && signo <= SIGRTMAX;
    }

    /** Queues the delivery of an AIO completion signal to the handler installed now. */
    static void raise(int signo, Object value) {
        deliver(HANDLERS.get(signo), signo, value);
    }

    /** The handler installed for {@code signo} now, or null: the disposition a completion is raised with. */
    static Consumer<SigInfo> disposition(int signo) {
        return validSigno(signo) ? HANDLERS.get(signo) : null;
    }

    /** Queues the delivery to {@code handler}, read earlier with {@link #disposition}; null drops and counts it. */
    static void deliver(Consumer<SigInfo> handler, int signo, Object value) {
        if (handler == null) {
            DROPPED.incrementAndGet();
            return;
        }
        AtomicBoolean ran = new AtomicBoolean();
        Runnable delivery = () -> {
            if (!ran.compareAndSet(false, true)) {
                return;
            }
            try {
                handler.accept(new SigInfo(signo, SI_ASYNCIO, value));
            } catch (Throwable t) {
                System.getLogger("io.uringaio.posix").log(System.Logger.Level.WARNING,
                        "signal handler for " + signo + " threw", t);
            }
        };
        try {
            DELIVERY.execute(delivery);
        } catch (Throwable noThread) {
            // The delivery thread could not be started (a pids or thread limit): deliver here, once, rather than
            // lose the signal, as a SIGEV_THREAD notification does (Notifier). The guard keeps it once even if the
            // executor queued it before it threw.
            delivery.run();
        }
    }
}
