/**
 * Drop-in {@code java.nio} on the engine: {@link io.uringaio.nio.UringFileChannel},
 * {@link io.uringaio.nio.UringAsynchronousFileChannel}, {@link io.uringaio.nio.UringFiles} (explicit opens) and
 * {@link io.uringaio.nio.UringFileSystemProvider}.
 *
 * <p>The provider is a {@code file:} provider that wraps the JDK's default one, so it is installed as the JVM's
 * default with {@code -Djava.nio.file.spi.DefaultFileSystemProvider=io.uringaio.nio.UringFileSystemProvider}, not
 * through {@code provides}: the JDK ignores any {@code file:} provider it finds with the service loader
 * ({@code FileSystemProvider.installedProviders()} skips the scheme). On the module path the property needs this
 * module resolved: {@code --add-modules io.uringaio.nio}.
 */
module io.uringaio.nio {
    // UringFiles.backend() and stats() report the engine's Backend and EngineStats.
    requires transitive io.uringaio.engine;

    exports io.uringaio.nio;
}
