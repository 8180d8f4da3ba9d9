package io.uringaio.nio;

import java.io.IOException;

/** A call on a channel's companion JDK {@code FileChannel} (what the ring does not do: locks, truncate, mmap ...). */
@FunctionalInterface
interface CompanionCall<T> {
    T call() throws IOException;

    /**
     * Runs {@code call} on the caller's thread, with its interrupt status set aside meanwhile and restored after when
     * {@code setAside}: the companion is an interruptible JDK channel, which an interrupt pending would close (failing
     * that call with {@code ClosedByInterruptException}, every later one with {@code ClosedChannelException}, and
     * dropping every lock the process holds on the file), where the channel it serves is not interruptible. An
     * interrupt that arrives during the call, a single system call, still can.
     */
    static <T> T withInterruptSetAside(boolean setAside, CompanionCall<T> call) throws IOException {
        boolean interrupted = setAside && Thread.interrupted();
        try {
            return call.call();
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
