/**
 * Storage primitives on the engine: {@link io.uringaio.storage.AppendLog} (a durable append log with group commit and
 * recovery) and {@link io.uringaio.storage.PageFile} (O_DIRECT page I/O).
 *
 * <p>Run with {@code --enable-native-access=io.uringaio.engine,io.uringaio.storage,io.netty.common} on the module
 * path: the directory lock calls {@code flock} through FFM here (see {@code io.uringaio.engine}).
 */
module io.uringaio.storage {
    // AppendLog and PageFile are opened on a RingEngine; LogPoisonedException extends UringIOException.
    requires transitive io.uringaio.engine;

    exports io.uringaio.storage;
}
