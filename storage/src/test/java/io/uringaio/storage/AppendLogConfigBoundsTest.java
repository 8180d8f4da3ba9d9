package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Every {@link AppendLogConfig} setter refuses what cannot work, with an IllegalArgumentException naming the setting,
 * and leaves the config as it was; limits that only fail together are refused at open, naming both, before the
 * directory is created. Before the upper bounds, a segment too large for any file (20 TiB, Long.MAX_VALUE) was taken
 * and failed the open with the file system's EFBIG (or, zero-filled without preallocation, wrote zeros until the disk
 * was full), and a group larger than one write can carry was taken, to be written short and poison the log.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogConfigBoundsTest extends WithEngine {
    private static void refused(String setting, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, setting);
        assertTrue(e.getMessage().contains(setting), e.getMessage());
    }

    @Test
    void eachSetterRefusesWhatCannotWorkAndKeepsItsValue() {
        AppendLogConfig c = new AppendLogConfig().segmentBytes(1 << 20).maxGroupBytes(1 << 16);
        for (long bad : new long[] {-1, 0, AppendLogConfig.MIN_SEGMENT_BYTES - 1, AppendLogConfig.MAX_SEGMENT_BYTES + 1,
                20L << 40, Long.MAX_VALUE, Long.MIN_VALUE}) {
            refused("segmentBytes", () -> c.segmentBytes(bad));
        }
        for (int bad : new int[] {Integer.MIN_VALUE, 0, RecordFrame.HEADER_BYTES, AppendLogConfig.MAX_GROUP_BYTES + 1,
                Integer.MAX_VALUE}) {
            refused("maxGroupBytes", () -> c.maxGroupBytes(bad));
        }
        for (int bad : new int[] {Integer.MIN_VALUE, 0, RecordFrame.MAX_PAYLOAD_BYTES + 1, Integer.MAX_VALUE}) {
            refused("maxRecordBytes", () -> c.maxRecordBytes(bad));
        }
        for (int bad : new int[] {Integer.MIN_VALUE, 0, (1 << 20) + 1}) {
            refused("maxGroupRecords", () -> c.maxGroupRecords(bad));
        }
        for (long bad : new long[] {Long.MIN_VALUE, -1, 0}) {
            refused("maxPendingBytes", () -> c.maxPendingBytes(bad));
        }
        for (int bad : new int[] {Integer.MIN_VALUE, 0, 17}) {
            refused("maxGroupsInFlight", () -> c.maxGroupsInFlight(bad));
        }
        refused("maxGroupWaitNanos", () -> c.maxGroupWaitNanos(-1));
        refused("maxGroupWaitNanos", () -> c.maxGroupWaitNanos(Long.MIN_VALUE));

        assertEquals(1 << 20, c.segmentBytes(), "refusals change nothing");
        assertEquals(1 << 16, c.maxGroupBytes());
        assertEquals((1 << 16) - RecordFrame.HEADER_BYTES, c.maxRecordBytes());
        assertEquals(1024, c.maxGroupRecords());
        assertEquals(64L << 20, c.maxPendingBytes());
        assertEquals(2, c.maxGroupsInFlight());
        assertEquals(AppendLogConfig.DEFAULT_MAX_GROUP_WAIT_NANOS, c.maxGroupWaitNanos());

        // The bounds themselves are taken.
        AppendLogConfig edges = new AppendLogConfig().segmentBytes(AppendLogConfig.MAX_SEGMENT_BYTES)
                .maxGroupBytes(AppendLogConfig.MAX_GROUP_BYTES).maxRecordBytes(RecordFrame.MAX_PAYLOAD_BYTES)
                .maxGroupRecords(1 << 20).maxPendingBytes(Long.MAX_VALUE).maxGroupsInFlight(16)
                .maxGroupWaitNanos(Long.MAX_VALUE);
        assertEquals(AppendLogConfig.MAX_SEGMENT_BYTES, edges.segmentBytes());
        assertEquals(AppendLogConfig.MAX_GROUP_BYTES, edges.maxGroupBytes());
        edges.validate();
    }

    @Test
    void limitsThatFailTogetherAreRefusedAtOpenBeforeTheDirectoryIsMade() throws Exception {
        Path log = dir.resolve("log");
        AppendLogConfig overSegment = new AppendLogConfig().segmentBytes(4096).maxRecordBytes(4096);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AppendLog.open(engine, log, overSegment));
        assertTrue(e.getMessage().contains("maxRecordBytes") && e.getMessage().contains("segmentBytes"),
                e.getMessage());
        AppendLogConfig overGroup = new AppendLogConfig().maxGroupBytes(4096).maxRecordBytes(4089);
        e = assertThrows(IllegalArgumentException.class, () -> AppendLog.open(engine, log, overGroup));
        assertTrue(e.getMessage().contains("maxRecordBytes") && e.getMessage().contains("maxGroupBytes"),
                e.getMessage());
        assertFalse(Files.exists(log), "nothing made");

        // The largest record that fits each is taken, and the log works.
        try (AppendLog opened = AppendLog.open(engine, log, overSegment.maxRecordBytes(4088))) {
            assertEquals(0L, await(opened.append(ByteBuffer.allocate(4088))));
            assertEquals(4096L, await(opened.append(ByteBuffer.allocate(1))), "the next record rolls over");
        }
        assertEquals(List.of(0L, 4096L), LogSegment.list(log));
    }
}
