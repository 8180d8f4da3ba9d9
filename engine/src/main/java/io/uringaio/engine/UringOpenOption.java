package io.uringaio.engine;

import java.nio.file.OpenOption;

/** Open options beyond {@link java.nio.file.StandardOpenOption}, for {@link RingEngine#open}. */
public enum UringOpenOption implements OpenOption {
    /**
     * {@code O_DIRECT}: bypass the page cache. Buffer addresses, file positions and lengths must then be multiples of
     * the device's logical block size (4096 is always safe); the kernel answers EINVAL otherwise. Heap buffers go
     * through the engine's bounce buffers, which are 4096-aligned.
     */
    DIRECT,
    /** {@code O_NOATIME}: do not update the access time (owner or CAP_FOWNER only, else EPERM). */
    NOATIME
}
