package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine's configuration at its boundaries, on both backends. Before the fix a {@code maxInFlightPerRing} that
 * does not fit the ring was refused on io_uring only: the thread pool (and so AUTO on a machine without io_uring)
 * opened with it, and the same config failed on the next machine.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineConfigBoundsTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void anInFlightBoundThatDoesNotFitTheRingIsRefusedOnEveryBackend() {
        for (int bad : new int[] {65536, Integer.MAX_VALUE, 64 - 40 + 1}) {
            RingEngineConfig c = config().rings(1).ringSize(64).maxInFlightPerRing(bad);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RingEngine.open(c),
                    () -> "maxInFlightPerRing " + bad);
            assertTrue(e.getMessage().contains("at most 24"), e::getMessage);
        }
        RingEngineConfig defaults = config().rings(1).maxInFlightPerRing(65536);
        assertThrows(IllegalArgumentException.class, () -> RingEngine.open(defaults));
    }

    /**
     * io-wq's bounded workers run every fsync and (on ext4) every buffered write: by default a ring may run
     * {@link RingEngineConfig#DEFAULT_BOUNDED_WORKERS} of them at once, or the kernel's own bound (4 per CPU) where
     * that is more; 0 leaves it to the kernel, and a copy keeps what was set.
     */
    @Test
    void theDefaultIoWqBoundLetsARingRunManySyncsAtOnce() {
        int kernelDefault = 4 * Runtime.getRuntime().availableProcessors();
        RingEngineConfig defaults = new RingEngineConfig();
        assertEquals(kernelDefault < RingEngineConfig.DEFAULT_BOUNDED_WORKERS
                ? RingEngineConfig.DEFAULT_BOUNDED_WORKERS : 0, defaults.maxBoundedWorkers());
        assertEquals(0, defaults.maxUnboundedWorkers(), "unbounded workers are left to the kernel");
        assertEquals(0, new RingEngineConfig().ioWorkers(0, 0).maxBoundedWorkers());
        assertEquals(7, new RingEngineConfig().ioWorkers(7, 3).copy().maxBoundedWorkers());
    }

    @Test
    void settersRefuseOutOfRangeValues() {
        RingEngineConfig c = new RingEngineConfig();
        assertThrows(IllegalArgumentException.class, () -> c.maxInFlightPerRing(0));
        assertThrows(IllegalArgumentException.class, () -> c.maxInFlightPerRing(-1));
        assertThrows(IllegalArgumentException.class, () -> c.rings(0));
        assertThrows(IllegalArgumentException.class, () -> c.rings(-1));
        assertThrows(IllegalArgumentException.class, () -> c.poolThreads(0));
        assertThrows(IllegalArgumentException.class, () -> c.ringSize(65536));
        assertThrows(IllegalArgumentException.class, () -> c.ringSize(100));
        assertEquals(new RingEngineConfig().maxInFlightPerRing(), c.maxInFlightPerRing(), "refusals changed nothing");
    }

    @Test
    void theSmallestAndLargestBoundsWork() throws Exception {
        int fd = Libc.open(dir.resolve("f").toString(), Libc.O_RDWR | Libc.O_CREAT | Libc.O_CLOEXEC, 0644);
        try {
            for (int max : new int[] {1, 24}) {
                try (RingEngine engine = RingEngine.open(config().rings(1).ringSize(64).maxInFlightPerRing(max)
                        .poolThreads(1))) {
                    List<Recorder> done = new ArrayList<>();
                    for (int i = 0; i < 3 * max; i++) {
                        Recorder r = new Recorder();
                        done.add(r);
                        engine.submit(new Request(r).prepFsync(fd, true));
                    }
                    for (Recorder r : done) {
                        assertEquals(0, r.awaitResult());
                    }
                }
            }
        } finally {
            Libc.close(fd);
        }
    }
}
