package io.uringaio.posix;

/**
 * glibc's {@code struct aioinit}, for {@link Aio#aio_init}. Zero fields keep the defaults.
 */
public final class AioInit {
    /** Worker bound: the io_uring io-wq bounded workers per ring (the thread-pool backend's workers). */
    public int aio_threads;
    /** The most requests in flight per ring before submissions wait in the engine's queue. */
    public int aio_num;
    /** Seconds an idle worker lingers (thread-pool backend). */
    public int aio_idle_time;

    public AioInit() {
    }
}
