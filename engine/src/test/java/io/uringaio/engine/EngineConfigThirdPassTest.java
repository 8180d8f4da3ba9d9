package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Setters of {@link RingEngineConfig} the bounds test leaves out, at their extremes: each is refused with a typed
 * exception at the setter, leaving the config as it was, or accepted and then works on both backends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EngineConfigThirdPassTest extends KernelTest {
    @TempDir
    Path dir;

    /** An idle time beyond what nanoseconds hold means "never idle out": accepted, not an ArithmeticException. */
    @Test
    void aPoolIdleTimeTooLongForNanosecondsIsForever() throws Exception {
        RingEngineConfig config = config().rings(1).poolIdleTime(Duration.ofSeconds(Long.MAX_VALUE));
        RingEngineConfig forever = config().rings(1).poolIdleTime(
                Duration.ofSeconds(Long.MAX_VALUE, 999_999_999));
        assertThrows(IllegalArgumentException.class, () -> config.poolIdleTime(Duration.ofNanos(-1)));
        assertThrows(NullPointerException.class, () -> config.poolIdleTime(null));
        try (RingEngine engine = RingEngine.open(config); RingEngine other = RingEngine.open(forever)) {
            roundTrip(engine);
            roundTrip(other);
        }
    }

    /** An idle time of zero: workers leave as soon as the queue is empty, and no request is stranded by it. */
    @Test
    void aZeroPoolIdleTimeStrandsNoRequest() throws Exception {
        try (RingEngine engine = RingEngine.open(config().rings(1).poolThreads(1).poolIdleTime(Duration.ZERO))) {
            for (int i = 0; i < 300; i++) {
                roundTrip(engine);
            }
        }
    }

    /** A null thread-name prefix is refused at the setter (not by a NullPointerException deep inside open). */
    @Test
    void aNullThreadNamePrefixIsRefusedAtTheSetter() throws Exception {
        RingEngineConfig config = config().rings(1);
        assertThrows(NullPointerException.class, () -> config.threadNamePrefix(null));
        assertEquals("uring-aio-ring", config.threadNamePrefix(), "the config is unchanged");
        try (RingEngine engine = RingEngine.open(config.threadNamePrefix(""))) {
            roundTrip(engine);
        }
    }

    private void roundTrip(RingEngine engine) throws Exception {
        Path path = Files.write(dir.resolve("f" + System.nanoTime()), new byte[] {1, 2, 3, 4});
        AsyncFile file = await(engine.open(path, READ, WRITE));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(4);
            CompletableFuture<Integer> read = new CompletableFuture<>();
            engine.submit(new Request((r, res) -> read.complete(res)).prepRead(file.fd(), dst, 0));
            assertEquals(4, await(read));
            assertEquals(4, dst.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 3));
        }
        await(file.closeAsync());
    }
}
