/**
 * The ring engine: asynchronous file I/O on io_uring (Netty's transport), with a thread-pool backend where io_uring is
 * unavailable.
 *
 * <p>The API a user needs: {@link io.uringaio.engine.RingEngine} (open one from a
 * {@link io.uringaio.engine.RingEngineConfig}), {@link io.uringaio.engine.AsyncFile} (files with futures), the raw
 * {@link io.uringaio.engine.Request} API, and the kernel's numbers in {@code io.uringaio.engine.uapi} (errno values
 * and names in {@link io.uringaio.engine.uapi.ErrnoTable}, opcodes and flags in {@link io.uringaio.engine.uapi.Uapi}).
 *
 * <p>{@code io.uringaio.engine.internal.sys} (the C library through FFM, where a wrong address crashes the JVM) is no
 * part of the API: it is exported only to this project's own modules.
 *
 * <p>On the module path the engine calls native code (FFM) and Netty loads its JNI library, so run with
 * {@code --enable-native-access=io.uringaio.engine,io.uringaio.storage,io.netty.common} (the storage module calls
 * {@code flock} itself; Netty's loader is in {@code io.netty.common}), and resolve Netty's native jar, which no module
 * requires because its name depends on the platform:
 * {@code --add-modules io.netty.transport.io_uring.linux.x86_64} (without it io_uring is unavailable and the engine
 * runs on its thread pool). On the class path: {@code --enable-native-access=ALL-UNNAMED}.
 */
module io.uringaio.engine {
    // IoEventLoopGroup appears in RingEngineConfig: a user passing a group reads Netty's transport.
    requires transitive io.netty.transport;
    requires io.netty.common;
    requires io.netty.transport.classes.io_uring;

    exports io.uringaio.engine;
    exports io.uringaio.engine.uapi;

    // Internal: the FFM libc binding, for the facade's open/close/lseek/fcntl and the storage layer's file calls.
    exports io.uringaio.engine.internal.sys to
            io.uringaio.posix,
            io.uringaio.storage;
}
