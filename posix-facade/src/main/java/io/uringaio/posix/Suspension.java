package io.uringaio.posix;

/**
 * {@code aio_suspend}: waits until one of a list's requests is no longer in progress, a timeout passes or the thread is
 * interrupted, parked among its context's {@link Waiters} (woken by each completion, or once per completion batch).
 */
final class Suspension {
    private Suspension() {
    }

    /** See {@link Aio#aio_suspend}. */
    static int suspend(Waiters waiters, Aiocb[] list, int nent, Timespec timeout) {
        if (nent < 0 || (list == null ? nent > 0 : nent > list.length)) {
            return Errno.fail(Errno.EINVAL);
        }
        long timeoutNanos = -1;
        if (timeout != null) {
            if (timeout.tv_nsec() < 0 || timeout.tv_nsec() > 999_999_999L) {
                return Errno.fail(Errno.EINVAL);
            }
            if (timeout.tv_sec() < 0) {
                return Errno.fail(Errno.EAGAIN);
            }
            timeoutNanos = timeout.tv_sec() >= Long.MAX_VALUE / 1_000_000_000L ? Long.MAX_VALUE
                    : timeout.tv_sec() * 1_000_000_000L + timeout.tv_nsec();
        }
        boolean any = false;
        for (int i = 0; i < nent; i++) {
            if (list[i] != null) {
                any = true;
                if (!list[i].inProgress()) {
                    return 0;
                }
            }
        }
        if (!any) {
            return 0;
        }
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        try {
            return awaitAny(waiters, list, nent, timeoutNanos, deadline) ? 0 : Errno.fail(Errno.EAGAIN);
        } catch (InterruptedException e) {
            return Errno.fail(Errno.EINTR);
        }
    }

    private static boolean awaitAny(Waiters waiters, Aiocb[] list, int nent, long timeoutNanos, long deadline)
            throws InterruptedException {
        int slot = waiters.register();
        try {
            while (true) {
                for (int i = 0; i < nent; i++) {
                    Aiocb cb = list[i];
                    if (cb != null && !cb.inProgress()) {
                        return true;
                    }
                }
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
                if (timeoutNanos >= 0 && deadline - System.nanoTime() <= 0) {
                    return false;
                }
                Waiters.park(slot, timeoutNanos < 0 ? 0 : deadline);
            }
        } finally {
            waiters.unregister(slot);
        }
    }
}
