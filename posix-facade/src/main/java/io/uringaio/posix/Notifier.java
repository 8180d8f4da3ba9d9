package io.uringaio.posix;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Fires a request's or a list's notification: SIGEV_NONE does nothing, SIGEV_SIGNAL goes to the handler installed now
 * ({@link Signals}), SIGEV_THREAD runs its function once on its executor or a facade thread, never on the completion
 * path. Never throws.
 */
final class Notifier {
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");
    private static final ExecutorService THREAD_NOTIFIER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "uring-aio-sigev-thread");
        t.setDaemon(true);
        return t;
    });

    private Notifier() {
    }

    /**
     * Fires a notification: SIGEV_SIGNAL to the handler installed now, SIGEV_THREAD on its executor (or a facade
     * thread). Never throws.
     */
    static void notify(int notify, int signo, Object value, Consumer<Object> function, Executor executor) {
        if (notify == Signals.SIGEV_SIGNAL) {
            try {
                Signals.raise(signo, value);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "signal delivery failed for " + signo, t);
            }
        } else if (notify == Signals.SIGEV_THREAD) {
            ThreadNotification task = new ThreadNotification(function, value);
            if (executor == null) {
                runOnce(task, null);
            } else {
                handOff(task, executor);
            }
        }
    }

    /**
     * Calls the caller's {@code sigev_notify_attributes} executor from a facade thread, never from the completion
     * path: an {@code execute} that blocks (a full bounded queue with a blocking policy, a direct executor whose
     * function waits) then holds that one facade thread, not a ring's or pool's completion thread with every other
     * request behind it. The price is one more thread hand-off for notifications that name an executor.
     */
    private static void handOff(ThreadNotification task, Executor executor) {
        try {
            THREAD_NOTIFIER.execute(() -> runOnce(task, executor));
        } catch (Throwable noThread) { // no facade thread can be started: call it here rather than never
            runOnce(task, executor);
        }
    }

    /**
     * Runs a SIGEV_THREAD notification exactly once: on {@code executor} (null: a facade thread); if the executor
     * throws before the task started, that is a rejection and the task runs on a facade thread instead. The task
     * catches the function's own exceptions, so a throw seen here is always the executor's (a direct executor such as
     * {@code Runnable::run} runs the function inside {@code execute}: its throw is not a rejection), and the task's
     * claim makes a second run impossible even for an executor that queued it and then threw. As a last resort (no
     * facade thread can be started) the function runs here: once, late and on this thread, rather than never.
     */
    private static void runOnce(ThreadNotification task, Executor executor) {
        Executor where = executor != null ? executor : THREAD_NOTIFIER;
        try {
            where.execute(task);
            return;
        } catch (Throwable rejected) {
            if (task.started()) {
                LOG.log(System.Logger.Level.WARNING, "sigev_notify_attributes executor threw after running", rejected);
                return;
            }
        }
        try {
            THREAD_NOTIFIER.execute(task);
        } catch (Throwable noThread) {
            task.run();
        }
    }

    /** One SIGEV_THREAD notification: runs its function at most once, whoever calls {@link #run} first. */
    private static final class ThreadNotification extends AtomicBoolean implements Runnable {
        private final Consumer<Object> function;
        private final Object value;

        ThreadNotification(Consumer<Object> function, Object value) {
            this.function = function;
            this.value = value;
        }

        boolean started() {
            return get();
        }

        @Override
        public void run() {
            if (!compareAndSet(false, true)) {
                return;
            }
            try {
                function.accept(value);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "sigev_notify_function threw", t);
            }
        }
    }
}
