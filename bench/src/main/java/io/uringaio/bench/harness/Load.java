package io.uringaio.bench.harness;

/** A running in-process load, started by {@link InProcessContender#start}. */
public interface Load extends AutoCloseable {
    /** {@code io_uring_enter} submissions so far (cumulative), or -1 where not known or not applicable. */
    default long enterCalls() {
        return -1;
    }

    /** Called after every lane stopped (or the drain timed out): release threads, engines, descriptors. */
    @Override
    void close() throws Exception;
}
