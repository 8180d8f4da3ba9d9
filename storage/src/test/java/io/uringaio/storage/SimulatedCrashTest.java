package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;


import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The log on a {@link SimulatedDisk}: seeded runs of appends, group writes completed in any order (synced, or with the
 * {@code fdatasync} lost), a crash at a random moment that tears every unsynced write at any byte or sector, sometimes
 * one flipped bit anywhere, then recovery. The checker: recovery never refuses a log that only crashed; after it,
 * every acknowledged record is there, intact; every record it returns is one the log wrote, at its position; every
 * acknowledged record had been synced (nothing unacknowledged was acknowledged). With a flipped bit, the open either
 * refuses with {@link LogCorruptedException}, and must when later durable groups prove the damaged one durable, or
 * cuts the log no earlier than the damaged record.
 *
 * <p>{@code -Duringaio.simcrash.seed=S} repeats a run (the seed fixes every choice but the roll-over's thread timing);
 * the run stops after {@value #MAX_RUNS} crashes or {@value #BUDGET_SECONDS} s, whichever comes first, but not
 * before {@value #MIN_RUNS} crashes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SimulatedCrashTest extends WithEngine {
    private static final int MIN_RUNS = 20;
    private static final int MAX_RUNS = 400;
    private static final long BUDGET_SECONDS = 8;

    /** One append the test made: its payload and its future. */
    private record Append(ByteBuffer payload, CompletableFuture<Long> future) {
    }

    @Test
    void everyAcknowledgedRecordSurvivesTornWritesLostSyncsAndIsNeverConfusedWithCorruption() throws Exception {
        long seed = Long.getLong("uringaio.simcrash.seed", System.nanoTime());
        System.out.println("SimulatedCrashTest: seed " + seed + " (-Duringaio.simcrash.seed=" + seed + " to repeat)");
        SplittableRandom random = new SplittableRandom(seed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BUDGET_SECONDS);
        int runs = 0;
        int refused = 0;
        int flips = 0;
        long acknowledged = 0;
        while (runs < MIN_RUNS || (runs < MAX_RUNS && System.nanoTime() < deadline)) {
            Outcome o = run(dir.resolve("log-" + runs), random.split(), seed, runs);
            runs++;
            acknowledged += o.acknowledged;
            flips += o.flipped ? 1 : 0;
            refused += o.refused ? 1 : 0;
        }
        System.out.printf("SimulatedCrashTest: %d crashes, %d acknowledged records checked, %d bit flips, %d refused"
                + " as corrupt%n", runs, acknowledged, flips, refused);
        assertTrue(acknowledged > 0);
    }

    private record Outcome(long acknowledged, boolean flipped, boolean refused) {
    }

    private Outcome run(Path dir, SplittableRandom random, long seed, int runNumber) throws Exception {
        String where = "seed " + seed + ", run " + runNumber;
        int inFlight = 1 + random.nextInt(3);
        AppendLogConfig config = new AppendLogConfig().segmentBytes(4096 + random.nextInt(3) * 2048L)
                .maxRecordBytes(300).maxGroupRecords(1 + random.nextInt(6)).maxGroupsInFlight(inFlight);
        SimulatedDisk disk = new SimulatedDisk();
        config.segmentIoWrapper(disk::wrap);
        List<Append> appends = new ArrayList<>();
        AppendLog log = AppendLog.open(engine, dir, config);
        int steps = 5 + random.nextInt(60);
        for (int step = 0; step < steps; step++) {
            if (random.nextInt(3) > 0) {
                for (int n = 1 + random.nextInt(4); n > 0; n--) {
                    byte[] payload = new byte[1 + random.nextInt(300)];
                    random.nextBytes(payload);
                    ByteBuffer b = ByteBuffer.wrap(payload);
                    appends.add(new Append(b, log.append(b)));
                }
            }
            for (int n = random.nextInt(3); n > 0 && disk.pendingCount() > 0; n--) {
                disk.complete(random.nextInt(disk.pendingCount()), random.nextInt(40) == 0);
            }
            if (random.nextInt(8) == 0) {
                awaitRollOver(log, disk);
            }
        }
        // Acknowledged = completed successfully before the crash.
        Map<Long, ByteBuffer> acked = new HashMap<>();
        for (Append a : appends) {
            if (a.future.isDone() && !a.future.isCompletedExceptionally()) {
                acked.put(a.future.join(), a.payload);
            }
        }
        disk.crash(random);
        try {
            log.closeAsync().handle((v, f) -> null).get(StorageTesting.DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            fail(where + ": close after the crash hung: " + log + ", tail " + log.tailPosition() + ", poison "
                    + log.poisonCause() + ", pending " + disk.pendingCount() + "; " + log.pipelineState() + "; writes "
                    + disk.writes().stream().map(w -> w.position() + (w.synced ? "s" : w.lost ? "L" : "p")).toList());
        }
        List<SimulatedDisk.Write> writes = disk.writes();

        // Nothing unacknowledged was acknowledged: each acknowledged record lies in a write whose sync succeeded.
        Map<Long, ByteBuffer> written = new HashMap<>();
        Map<Long, SimulatedDisk.Write> writeOf = new HashMap<>();
        for (SimulatedDisk.Write w : writes) {
            for (Map.Entry<Long, ByteBuffer> f : w.frames().entrySet()) {
                written.put(f.getKey(), f.getValue());
                writeOf.put(f.getKey(), w);
            }
        }
        for (Long p : acked.keySet()) {
            assertTrue(writeOf.containsKey(p) && writeOf.get(p).synced, where + ": record at " + p
                    + " acknowledged without a successful fdatasync");
        }

        Flip flip = random.nextInt(3) == 0 ? flipABit(dir, writes, random) : null;
        LogRecovery.Result result;
        try {
            result = LogRecovery.recover(dir);
        } catch (LogCorruptedException e) {
            if (flip == null) {
                fail(where + ": a crash without damage was refused as corrupt: " + e.getMessage());
            }
            return new Outcome(acked.size(), true, true);
        }
        if (flip != null && flip.mustBeDetected(writes, inFlight)) {
            fail(where + ": " + flip + " in a durable group with durable groups after it was not detected; recovery "
                    + result);
        }
        Map<Long, ByteBuffer> found = new HashMap<>();
        LogRecovery.read(dir, 0, (position, payload) -> {
            found.put(position, ByteBuffer.allocate(payload.remaining()).put(payload.duplicate()).flip());
            return true;
        });
        for (Map.Entry<Long, ByteBuffer> f : found.entrySet()) {
            assertEquals(written.get(f.getKey()), f.getValue(), where + ": record at " + f.getKey()
                    + " is not the one written there");
        }
        long lossAllowedFrom = flip == null ? Long.MAX_VALUE : flip.frameStart(writes);
        for (Map.Entry<Long, ByteBuffer> a : acked.entrySet()) {
            if (a.getKey() >= lossAllowedFrom) {
                continue; // the undetectable case: damage in the last groups, nothing durable after them
            }
            ByteBuffer got = found.get(a.getKey());
            assertNotNull(got, where + ": acknowledged record at " + a.getKey() + " lost; recovery " + result
                    + (flip == null ? "" : "; " + flip));
            assertEquals(a.getValue().rewind(), got, where + ": acknowledged record at " + a.getKey() + " differs");
        }
        return new Outcome(acked.size(), flip != null, false);
    }

    /**
     * Waits (at most 200 ms) while records wait with nothing submitted: a roll-over to a new segment in progress, on
     * the log's own threads; so that later steps also see groups of the new segment.
     */
    private static void awaitRollOver(AppendLog log, SimulatedDisk disk) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
        while (System.nanoTime() < until && disk.pendingCount() == 0 && log.poisonCause() == null
                && log.tailPosition() > log.durablePosition()) {
            Thread.sleep(1);
        }
    }

    /** A flipped bit: in which file, at which offset. */
    private record Flip(Path path, long offset) {
        /** The write whose landed bytes hold the flip, or null (zeros there). */
        SimulatedDisk.Write write(List<SimulatedDisk.Write> writes) {
            for (SimulatedDisk.Write w : writes) {
                if (w.path.equals(path) && offset >= w.offset && offset < w.end()
                        && w.landed[(int) (offset - w.offset)]) {
                    return w;
                }
            }
            return null;
        }

        /** The position of the record the flip damaged (Long.MAX_VALUE if it hit no landed record). */
        long frameStart(List<SimulatedDisk.Write> writes) {
            SimulatedDisk.Write w = write(writes);
            if (w == null) {
                return Long.MAX_VALUE;
            }
            long start = w.position();
            for (long p : w.frames().keySet()) {
                if (p <= w.base + offset) {
                    start = p;
                }
            }
            return start;
        }

        /**
         * Whether recovery must refuse: the flip is in a synced group, and either a later segment holds a synced group
         * or its own segment holds at least maxGroupsInFlight synced groups after it.
         */
        boolean mustBeDetected(List<SimulatedDisk.Write> writes, int inFlight) {
            SimulatedDisk.Write hit = write(writes);
            if (hit == null || !hit.synced) {
                return false;
            }
            int laterInSegment = 0;
            for (SimulatedDisk.Write w : writes) {
                if (!w.synced) {
                    continue;
                }
                if (w.base > hit.base) {
                    return true;
                }
                if (w.base == hit.base && w.offset > hit.offset) {
                    laterInSegment++;
                }
            }
            return laterInSegment >= inFlight;
        }
    }

    /** Flips one bit: mostly in written data, sometimes anywhere in a segment file. */
    private static Flip flipABit(Path dir, List<SimulatedDisk.Write> writes, SplittableRandom random)
            throws Exception {
        Path path;
        long offset;
        if (!writes.isEmpty() && random.nextInt(4) > 0) {
            SimulatedDisk.Write w = writes.get(random.nextInt(writes.size()));
            path = w.path;
            offset = w.offset + random.nextInt(w.bytes.length);
        } else {
            List<Long> bases = LogSegment.list(dir);
            path = dir.resolve(LogSegment.fileName(bases.get(random.nextInt(bases.size()))));
            offset = random.nextLong(Files.size(path));
        }
        byte[] image = Files.readAllBytes(path);
        image[(int) offset] ^= (byte) (1 << random.nextInt(8));
        Files.write(path, image);
        return new Flip(path, offset);
    }
}
