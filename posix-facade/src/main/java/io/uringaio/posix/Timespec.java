package io.uringaio.posix;

/** {@code struct timespec}: a relative timeout for {@link Aio#aio_suspend}. */
public record Timespec(long tv_sec, long tv_nsec) {
}
