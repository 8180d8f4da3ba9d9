package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A caller that modifies a record's buffer while {@code append} runs breaks its own record's contents (a data race of
 * the caller), but never the log: what the log acknowledges is a record it can read back, with a valid checksum over
 * exactly the bytes it wrote. Before the fix the checksum was taken from the caller's buffer before the lock and the
 * bytes copied under it, so a change in between wrote an acknowledged frame whose checksum fails: every later open
 * refused the whole log as corrupt, and a repair by truncation would cut every other appender's records after it.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendBufferRaceTest extends WithEngine {
    @Test
    void aBufferScribbledOnDuringAppendNeverMakesAnAcknowledgedRecordUnreadable() throws Exception {
        ByteBuffer shared = ByteBuffer.allocateDirect(32 << 10);
        AtomicBoolean stop = new AtomicBoolean();
        Thread scribbler = Thread.ofPlatform().daemon().start(() -> {
            for (long n = 0; !stop.get(); n++) {
                // Absolute puts (the appender's position is its own); each pass over the buffer writes other values.
                shared.put((int) (n * 4093 % shared.capacity()), (byte) (n + (n >>> 15)));
            }
        });
        List<Long> acknowledged = new ArrayList<>();
        Map<Long, ByteBuffer> bystanders = new HashMap<>();
        try (AppendLog log = AppendLog.open(engine, dir)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            int i = 0;
            while (System.nanoTime() < deadline || i < 50) {
                List<CompletableFuture<Long>> round = new ArrayList<>();
                round.add(log.append(shared.duplicate()));
                ByteBuffer bystander = StorageTesting.record(77, i++, 200);
                CompletableFuture<Long> b = log.append(bystander);
                for (CompletableFuture<Long> f : round) {
                    acknowledged.add(await(f));
                }
                bystanders.put(await(b), bystander);
            }
            stop.set(true);
            scribbler.join();
            List<Long> read = new ArrayList<>();
            Map<Long, ByteBuffer> readBystanders = new HashMap<>();
            log.read(0, (p, payload) -> {
                read.add(p);
                if (bystanders.containsKey(p)) {
                    readBystanders.put(p, ByteBuffer.allocate(payload.remaining()).put(payload.duplicate()).flip());
                }
                return true;
            });
            assertEquals(acknowledged.size() + bystanders.size(), read.size(), "every acknowledged record read");
            assertTrue(read.containsAll(acknowledged));
            for (Map.Entry<Long, ByteBuffer> e : bystanders.entrySet()) {
                assertEquals(e.getValue().rewind(), readBystanders.get(e.getKey()), "bystander at " + e.getKey());
            }
        } finally {
            stop.set(true);
        }
        LogRecovery.recover(dir); // refuses a log with a bad frame (LogCorruptedException): the defect's symptom
        // Every segment, not only the tail's (tailRecords): a fast machine fills more than one 64 MiB segment here.
        long[] recovered = new long[1];
        LogRecovery.read(dir, 0, (p, payload) -> {
            recovered[0]++;
            return true;
        });
        assertEquals(acknowledged.size() + bystanders.size(), recovered[0], "recovery keeps them all");
    }
}
