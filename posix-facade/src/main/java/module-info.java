/**
 * A Java mirror of POSIX {@code <aio.h>} on the ring engine: {@link io.uringaio.posix.Aio} (the process-wide calls),
 * {@link io.uringaio.posix.AioContext} (an explicit context), {@link io.uringaio.posix.Aiocb} and the
 * {@code <fcntl.h>}, {@code <unistd.h>}, {@code <errno.h>}, {@code <signal.h>} pieces it needs.
 *
 * <p>Run with {@code --enable-native-access=io.uringaio.engine,io.netty.common} and
 * {@code --add-modules io.netty.transport.io_uring.linux.x86_64} on the module path (see {@code io.uringaio.engine}).
 */
module io.uringaio.posix {
    // AioContext takes a RingEngineConfig and reports EngineStats and Backend: engine types in this API.
    requires transitive io.uringaio.engine;

    exports io.uringaio.posix;
}
