package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.engine.RingEngine;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every single-bit flip of a small log, every torn end of its last record, and hostile tails, each on a fresh copy of
 * the same segment: recovery either throws {@link LogCorruptedException} and changes nothing, or returns exactly the
 * records before the damaged one, byte for byte, and cuts there only where a crash could have left the damage (fewer
 * than maxGroupsInFlight commit groups start after it). Never a record with other bytes, never a hole.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecoveryBitFlipTest {
    private static final int IN_FLIGHT = 2;

    @TempDir
    Path dir;
    RingEngine engine;
    /** The records appended, their positions, and whether each opens a commit group. */
    final List<byte[]> payloads = new ArrayList<>();
    final List<Long> positions = new ArrayList<>();
    final List<Boolean> opens = new ArrayList<>();
    long end;
    byte[] pristine;

    @BeforeEach
    void writeSmallLog() throws Exception {
        engine = StorageTesting.engine();
        // Groups: [r0] [r1] [r2 r3 r4] [r5] [r6]: the first group's write is held until the third has filled.
        CompletableFuture<Void> gate = new CompletableFuture<>();
        FaultInjection faults = new FaultInjection().at(0, FaultInjection.stallUntil(gate));
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096).maxGroupsInFlight(IN_FLIGHT)
                .segmentIoWrapper(faults.wrapper());
        try (AppendLog log = AppendLog.open(engine, dir, config)) {
            List<CompletableFuture<Long>> futures = new ArrayList<>();
            futures.add(log.append(payload(0)));
            StorageTesting.awaitWrites(faults, 1);
            futures.add(log.append(payload(1)));
            StorageTesting.awaitWrites(faults, 2);
            for (int i = 2; i < 5; i++) {
                futures.add(log.append(payload(i)));
            }
            gate.complete(null);
            for (CompletableFuture<Long> f : futures) {
                positions.add(await(f));
            }
            for (int i = 5; i < 7; i++) {
                positions.add(await(log.append(payload(i))));
            }
            end = log.durablePosition();
            assertEquals(5, log.stats().groups(), "the layout this test reasons about");
        }
        for (int i = 0; i < 7; i++) {
            opens.add(i != 3 && i != 4);
        }
        pristine = Files.readAllBytes(segment());
    }

    private ByteBuffer payload(int i) {
        byte[] b = new byte[5 + 3 * i];
        for (int k = 0; k < b.length; k++) {
            b[k] = (byte) (i * 31 + k * 7 + 1);
        }
        payloads.add(b);
        return ByteBuffer.wrap(b);
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }

    private Path segment() {
        return dir.resolve(LogSegment.fileName(0));
    }

    /** The index of the record whose frame holds {@code offset}, or -1 past the records. */
    private int recordAt(long offset) {
        for (int i = positions.size() - 1; i >= 0; i--) {
            if (offset >= positions.get(i)) {
                return offset < end ? i : -1;
            }
        }
        throw new AssertionError(offset);
    }

    private int groupsStartingAfter(int record) {
        int n = 0;
        for (int i = record + 1; i < opens.size(); i++) {
            n += opens.get(i) ? 1 : 0;
        }
        return n;
    }

    /**
     * Writes {@code image} as the segment, recovers, and checks the outcome against the damage to record
     * {@code damaged} (-1: none of the records is damaged).
     */
    private void check(byte[] image, int damaged, String what) throws Exception {
        Files.write(segment(), image);
        LogRecovery.Result r;
        try {
            r = LogRecovery.recover(dir);
        } catch (LogCorruptedException e) {
            assertTrue(damaged >= 0, what + ": undamaged records refused: " + e.getMessage());
            assertEquals(positions.get(damaged), e.position(), what + ": " + e.getMessage());
            assertArrayEquals(image, Files.readAllBytes(segment()), what + ": refused, yet modified");
            return;
        }
        int kept = damaged < 0 ? positions.size() : damaged;
        if (damaged >= 0 && groupsStartingAfter(damaged) >= IN_FLIGHT) {
            fail(what + ": record " + damaged + " cut with " + groupsStartingAfter(damaged) + " groups after it: "
                    + r);
        }
        assertEquals(kept == positions.size() ? end : positions.get(kept), r.tail(), what + ": " + r);
        List<byte[]> found = new ArrayList<>();
        List<Long> at = new ArrayList<>();
        LogRecovery.read(dir, 0, (p, b) -> {
            byte[] copy = new byte[b.remaining()];
            b.duplicate().get(copy);
            at.add(p);
            return found.add(copy);
        });
        assertEquals(positions.subList(0, kept), at, what);
        for (int i = 0; i < kept; i++) {
            assertArrayEquals(payloads.get(i), found.get(i), what + ": record " + i + " differs");
        }
    }

    @Test
    void everySingleBitFlipIsCaughtOrCutOnlyWhereACrashCouldLeaveIt() throws Exception {
        int checked = 0;
        for (long offset = 0; offset < end + 24; offset++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] image = pristine.clone();
                image[(int) offset] ^= (byte) (1 << bit);
                check(image, recordAt(offset), "bit " + bit + " of offset " + offset);
                checked++;
            }
        }
        assertTrue(checked > 8 * (int) end, "" + checked);
    }

    @Test
    void everyByteOfTheFirstAndLastRecordReplacedIsCaughtOrCut() throws Exception {
        for (int record : new int[] {0, 3, 6}) {
            long from = positions.get(record);
            long to = record + 1 < positions.size() ? positions.get(record + 1) : end;
            for (long offset = from; offset < to; offset++) {
                for (int value : new int[] {0x00, 0xFF, 0x80}) {
                    byte[] image = pristine.clone();
                    if (image[(int) offset] == (byte) value) {
                        continue;
                    }
                    image[(int) offset] = (byte) value;
                    check(image, record, "offset " + offset + " set to " + value);
                }
            }
        }
    }

    @Test
    void theLastRecordTornAtEveryByteIsCutAlone() throws Exception {
        long last = positions.getLast();
        for (long cut = last; cut < end; cut++) {
            byte[] zeroed = pristine.clone(); // the sectors after the cut never landed: preallocated zeros
            Arrays.fill(zeroed, (int) cut, (int) end, (byte) 0);
            check(zeroed, 6, "zeros from " + cut);
            check(Arrays.copyOf(pristine, (int) cut), 6, "file ends at " + cut); // no preallocation
        }
    }

    /**
     * The middle group [r2 r3 r4] torn at every byte (its bytes from the cut on are zeros, as sectors that never
     * landed), while the two groups after it are intact: a crash cannot leave that with two groups in flight, so each is
     * reported at the first damaged record and nothing is cut, never read as the end of the log.
     */
    @Test
    void aMiddleGroupTornAtEveryByteWithTheGroupsAfterItIntactIsReported() throws Exception {
        long from = positions.get(2);
        long to = positions.get(5);
        for (long cut = from; cut < to; cut++) {
            byte[] torn = pristine.clone();
            Arrays.fill(torn, (int) cut, (int) to, (byte) 0);
            int changed = Arrays.mismatch(torn, pristine); // a payload's own zeros are not damage
            int damaged = recordAt(changed);
            check(torn, damaged, "group [r2 r3 r4] zeros from " + cut);
            assertTrue(groupsStartingAfter(damaged) >= IN_FLIGHT, "the layout");
        }
    }

    /**
     * The log ending with the group [r2 r3 r4] (the groups after it never written: zeros), torn at every byte: the cut
     * falls at the first damaged record of that group, every record before it stays byte for byte, and nothing after.
     */
    @Test
    void aLastGroupOfThreeRecordsTornAtEveryByteIsCutAtItsFirstDamagedRecord() throws Exception {
        long from = positions.get(2);
        long to = positions.get(5);
        byte[] shorter = pristine.clone();
        Arrays.fill(shorter, (int) to, (int) end, (byte) 0);
        for (long cut = from; cut < to; cut++) {
            byte[] torn = shorter.clone();
            Arrays.fill(torn, (int) cut, (int) to, (byte) 0);
            int changed = Arrays.mismatch(torn, shorter);
            int damaged = recordAt(changed);
            for (byte[] image : new byte[][] {torn, Arrays.copyOf(shorter, (int) cut)}) {
                String what = "group [r2 r3 r4] last, torn from " + cut + (image.length == cut ? ", file end" : "");
                Files.write(segment(), image);
                LogRecovery.Result r = LogRecovery.recover(dir);
                assertEquals(positions.get(damaged), r.tail(), what + ": " + r);
                List<byte[]> found = new ArrayList<>();
                LogRecovery.read(dir, 0, (p, b) -> {
                    byte[] copy = new byte[b.remaining()];
                    b.duplicate().get(copy);
                    return found.add(copy);
                });
                assertEquals(damaged, found.size(), what);
                for (int i = 0; i < damaged; i++) {
                    assertArrayEquals(payloads.get(i), found.get(i), what + ": record " + i);
                }
            }
        }
    }

    @Test
    void hostileTailsAfterTheRecordsCutNothing() throws Exception {
        byte[] ones = pristine.clone();
        Arrays.fill(ones, (int) end, ones.length, (byte) 0xFF);
        check(ones, -1, "0xFF to the end of the segment");
        byte[] lengthPastTheEnd = pristine.clone();
        ByteBuffer.wrap(lengthPastTheEnd).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt((int) end, RecordFrame.MAX_PAYLOAD_BYTES | RecordFrame.GROUP_START).putInt((int) end + 4, 1);
        check(lengthPastTheEnd, -1, "a header claiming 128 MiB");
        byte[] negative = pristine.clone();
        ByteBuffer.wrap(negative).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt((int) end, -1);
        check(negative, -1, "a header of -1");
        // The first record's frame copied after the end: its checksum binds it to position 0.
        byte[] stale = pristine.clone();
        System.arraycopy(pristine, 0, stale, (int) end, (int) (long) positions.get(1));
        check(stale, -1, "a stale frame of another position");
        check(Arrays.copyOf(pristine, (int) end), -1, "the file ends with the records");
    }
}
