package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A read from a position past the end of the records: no record starts there, so it is refused
 * ({@code IllegalArgumentException}, as the javadoc of both reads says), not answered with nothing, which a reader
 * cannot tell from "no record yet". The end itself is a valid start that visits nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogReadPastTheEndTest extends WithEngine {
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(64 << 10);

    @Test
    void anOpenLogRefusesAReadPastItsDurableEnd() throws Exception {
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            await(log.append(ByteBuffer.wrap(new byte[] {1, 2, 3})));
            long end = log.durablePosition();
            List<Long> visited = new ArrayList<>();
            log.read(end, (p, b) -> visited.add(p)); // the end: nothing, no error
            assertEquals(List.of(), visited);
            assertThrows(IllegalArgumentException.class, () -> log.read(end + 1, (p, b) -> visited.add(p)));
            assertThrows(IllegalArgumentException.class, () -> log.read(1L << 40, (p, b) -> visited.add(p)));
            assertEquals(List.of(), visited);
            log.read(0, (p, b) -> visited.add(p));
            assertEquals(List.of(0L), visited, "the log is unchanged");
        }
    }

    @Test
    void aLogWithoutSegmentsRefusesAReadPastItsStart() throws Exception {
        Files.createDirectories(dir);
        List<Long> visited = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> visited.add(p));
        assertThrows(IllegalArgumentException.class, () -> LogRecovery.read(dir, 9, (p, b) -> visited.add(p)));
        assertEquals(List.of(), visited);
    }
}
