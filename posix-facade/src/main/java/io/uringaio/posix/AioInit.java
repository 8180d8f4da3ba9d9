package io.uringaio.posix;

/**
 * glibc's {@code struct aioinit}, for {@link Aio#aio_init}. Zero fields keep the defaults.
 */
public final class AioInit {
    /** Worker bound: the thread-pool backend's workers, and the io_uring io-wq worker bound per ring. */
    public int aio_threads;
    /**
     * The most requests of the context in flight before submissions wait in the engine's queue (lowest
     * {@code aio_reqprio} first). Setting it runs the context on one ring, so the bound and the order are global.
     */
    public int aio_num;
    /** Seconds an idle thread-pool worker lingers before it exits. */
    public int aio_idle_time;

    /** Tuning with every field 0: the defaults. */
    public AioInit() {
    }
}
