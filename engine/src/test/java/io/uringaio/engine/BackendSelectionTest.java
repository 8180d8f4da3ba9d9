package io.uringaio.engine;

import io.netty.channel.uring.IoUring;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Backend selection: AUTO's fallback through the availability hook, the system property, IO_URING's refusal. */
@Timeout(60)
class BackendSelectionTest {
    @TempDir
    Path dir;

    /** The build sets the property for the thread-pool run of the suite: restore it for the classes after this. */
    private final String propertyBefore = System.getProperty(Backend.PROPERTY);

    @AfterEach
    void restoreProperty() {
        if (propertyBefore == null) {
            System.clearProperty(Backend.PROPERTY);
        } else {
            System.setProperty(Backend.PROPERTY, propertyBefore);
        }
    }

    @org.junit.jupiter.api.BeforeEach
    void clearProperty() {
        System.clearProperty(Backend.PROPERTY);
    }

    @Test
    void autoFallsBackToThePoolWhenIoUringIsUnavailableAndSaysWhy() throws Exception {
        RingEngineConfig config = new RingEngineConfig().backend(Backend.AUTO)
                .ioUringAvailability(() -> "io_uring_setup: EPERM (seccomp?)");
        try (RingEngine engine = RingEngine.open(config)) {
            assertEquals(Backend.THREAD_POOL, engine.backend());
            assertEquals("io_uring_setup: EPERM (seccomp?)", engine.backendReason());
            roundTrip(engine);
        }
    }

    @Test
    void ioUringRequestedButUnavailableFailsWithTheReasonInsteadOfFallingBack() {
        RingEngineConfig config = new RingEngineConfig().backend(Backend.IO_URING)
                .ioUringAvailability(() -> "kernel.io_uring_disabled=2");
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> RingEngine.open(config));
        assertTrue(e.getMessage().contains("kernel.io_uring_disabled=2"), e.getMessage());
    }

    @Test
    void autoPicksIoUringWhereItWorks() throws Exception {
        Assumptions.assumeTrue(IoUring.isAvailable(), () -> "io_uring unavailable: " + IoUring.unavailabilityCause());
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().backend(Backend.AUTO).rings(1))) {
            assertEquals(Backend.IO_URING, engine.backend());
            assertTrue(engine.backendReason().contains("probe"), engine.backendReason());
            roundTrip(engine);
        }
    }

    @Test
    void systemPropertyPicksTheBackendOfAConfigThatSetsNone() throws Exception {
        System.setProperty(Backend.PROPERTY, "thread_pool");
        try (RingEngine engine = RingEngine.open(new RingEngineConfig())) {
            assertEquals(Backend.THREAD_POOL, engine.backend());
            roundTrip(engine);
        }
        System.setProperty(Backend.PROPERTY, "IO_URING");
        RingEngineConfig unavailable = new RingEngineConfig().ioUringAvailability(() -> "forced by the test");
        assertThrows(UnsupportedOperationException.class, () -> RingEngine.open(unavailable));
    }

    @Test
    void configBackendWinsOverTheProperty() throws Exception {
        System.setProperty(Backend.PROPERTY, "IO_URING");
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().backend(Backend.THREAD_POOL))) {
            assertEquals(Backend.THREAD_POOL, engine.backend());
        }
    }

    @Test
    void aBadPropertyValueIsNamedInTheError() {
        System.setProperty(Backend.PROPERTY, "io-uring-please");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RingEngine.open(new RingEngineConfig()));
        assertTrue(e.getMessage().contains("io-uring-please"), e.getMessage());
    }

    @Test
    void idlePoolWorkersExitAndCloseLeavesNoWorkerThread() throws Exception {
        String prefix = "uring-aio-test-idle";
        RingEngineConfig config = new RingEngineConfig().backend(Backend.THREAD_POOL).poolThreads(4)
                .poolIdleTime(Duration.ofMillis(100)).threadNamePrefix(prefix + "-ring");
        try (RingEngine engine = RingEngine.open(config)) {
            roundTrip(engine);
            assertTrue(threadsNamed(prefix + "-pool") > 0, "a worker ran the requests");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (threadsNamed(prefix + "-pool") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(0, threadsNamed(prefix + "-pool"), "idle workers exit after the idle time");
            roundTrip(engine); // and new ones start on demand
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (threadsNamed(prefix + "-pool") > 0 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, threadsNamed(prefix + "-pool"), "no worker survives close");
    }

    static long threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(prefix) && t.isAlive()).count();
    }

    private void roundTrip(RingEngine engine) throws Exception {
        Path p = Files.createTempFile(dir, "rt", ".dat");
        try (AsyncFile f = engine.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)
                .get(10, TimeUnit.SECONDS)) {
            byte[] text = ("backend " + engine.backend()).getBytes(StandardCharsets.UTF_8);
            assertEquals(text.length, f.writeDurable(ByteBuffer.wrap(text), 100).get(10, TimeUnit.SECONDS));
            ByteBuffer back = ByteBuffer.allocate(text.length);
            assertEquals(text.length, f.read(back, 100).get(10, TimeUnit.SECONDS));
            assertEquals(new String(text, StandardCharsets.UTF_8),
                    new String(back.array(), StandardCharsets.UTF_8));
            assertEquals(100L + text.length, f.size().get(10, TimeUnit.SECONDS));
        }
    }
}
