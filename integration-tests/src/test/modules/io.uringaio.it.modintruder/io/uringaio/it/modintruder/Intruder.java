package io.uringaio.it.modintruder;

/** Calls the engine's FFM libc directly, which only the project's own modules may do. */
public final class Intruder {
    private Intruder() {
    }

    public static int closeStdin() {
        return io.uringaio.engine.internal.sys.Libc.close(0);
    }
}
