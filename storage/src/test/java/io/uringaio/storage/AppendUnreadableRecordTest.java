package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An append whose record cannot be read once the log copies it (its arena closed, another thread's confined memory):
 * the append throws the JDK's typed exception and the log is as before it: the same tail, no empty group left open
 * (which nothing would submit, so a close waited for it forever), later appends and the close go on.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendUnreadableRecordTest extends WithEngine {
    private static final AppendLogConfig SMALL = new AppendLogConfig().segmentBytes(256 << 10);

    private static ByteBuffer freedRecord() {
        Arena arena = Arena.ofShared();
        ByteBuffer freed = arena.allocate(100).asByteBuffer();
        arena.close();
        return freed;
    }

    private List<byte[]> readAll() throws Exception {
        List<byte[]> found = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> {
            byte[] a = new byte[b.remaining()];
            b.get(a);
            return found.add(a);
        });
        return found;
    }

    @Test
    void aRecordInFreedMemoryIsRefusedAndTheLogStillCloses() throws Exception {
        AppendLog log = AppendLog.open(engine, dir, SMALL);
        assertEquals(0L, await(log.append(ByteBuffer.wrap(new byte[] {1, 2, 3}))));
        long tail = log.tailPosition();

        assertThrows(IllegalStateException.class, () -> log.append(freedRecord()));
        assertEquals(tail, log.tailPosition(), "the refused record took no position");
        await(log.closeAsync()); // hung before: the failed append left an empty group open that nothing submits

        assertEquals(1, log.stats().groups(), "no empty group was written");
        List<byte[]> records = readAll();
        assertEquals(1, records.size());
        assertArrayEquals(new byte[] {1, 2, 3}, records.getFirst());
    }

    @Test
    void aRecordOfAnotherThreadsConfinedMemoryIsRefusedAndTheNextAppendTakesItsPlace() throws Exception {
        ByteBuffer[] confined = new ByteBuffer[1];
        Arena[] arena = new Arena[1];
        Thread owner = Thread.ofPlatform().start(() -> {
            arena[0] = Arena.ofConfined();
            confined[0] = arena[0].allocate(64).asByteBuffer();
        });
        owner.join();
        try (AppendLog log = AppendLog.open(engine, dir, SMALL)) {
            assertThrows(WrongThreadException.class, () -> log.append(confined[0]));
            assertEquals(0, log.tailPosition());
            assertEquals(0L, await(log.append(ByteBuffer.wrap(new byte[] {7}))), "the next record takes position 0");
        }
        List<byte[]> records = readAll();
        assertEquals(1, records.size());
        assertArrayEquals(new byte[] {7}, records.getFirst());
    }
}
