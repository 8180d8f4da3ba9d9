package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static io.uringaio.storage.StorageTesting.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A visitor that closes the log it reads, across segments: the close completes, the read goes on to the durable
 * position it started with (the files stay readable), appends after it fail with LogClosedException, a read of the
 * closed log still sees the same records (as its javadoc says), and a reopen finds exactly them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LogReadVisitorClosesTest extends WithEngine {
    @Test
    void aVisitorThatClosesTheLogEndsNothingButTheAppends() throws Exception {
        AppendLogConfig small = new AppendLogConfig().segmentBytes(4096);
        AppendLog log = AppendLog.open(engine, dir, small);
        List<Long> written = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            written.add(await(log.append(StorageTesting.record(3, i, 200))));
        }
        assertTrue(LogSegment.list(dir).size() > 2, "several segments");
        List<Long> seen = new ArrayList<>();
        log.read(0, (p, b) -> {
            seen.add(p);
            if (seen.size() == 3) {
                try {
                    log.close(); // waits: nothing is pending
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return true;
        });
        assertEquals(written, seen, "the read went on to its end");
        assertTrue(log.closeAsync().isDone(), "the close completed");
        assertInstanceOf(LogClosedException.class, failure(log.append(ByteBuffer.wrap(new byte[] {1}))));
        List<Long> again = new ArrayList<>();
        log.read(0, (p, b) -> again.add(p));
        assertEquals(written, again, "a closed log reads its files as they are");
        try (AppendLog reopened = AppendLog.open(engine, dir, small)) {
            assertEquals(100, reopened.stats().records() + reopened.recovery().tailRecords()
                    + countBefore(reopened.recovery().tailBase(), written), "every record, once");
            List<Long> found = new ArrayList<>();
            reopened.read(0, (p, b) -> found.add(p));
            assertEquals(written, found);
        }
    }

    private static long countBefore(long base, List<Long> positions) {
        return positions.stream().filter(p -> p < base).count();
    }
}
