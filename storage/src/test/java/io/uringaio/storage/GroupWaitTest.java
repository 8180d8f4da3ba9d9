package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The group leader's wait policy on its own: when it waits, and its bounds. */
class GroupWaitTest {
    private static final long MAX = TimeUnit.MICROSECONDS.toNanos(100);
    private static final long SYNC = TimeUnit.MICROSECONDS.toNanos(300);

    @Test
    void waitsWhileFewerArePendingThanTheLastGroupHeld() {
        long bound = Math.min(MAX, SYNC / GroupWait.SYNC_FRACTION);
        assertEquals(bound, GroupWait.nanos(1, 8, 10_000, SYNC, MAX));
        assertEquals(bound, GroupWait.nanos(7, 8, 10_000, SYNC, MAX));
        long large = TimeUnit.SECONDS.toNanos(1);
        assertEquals(SYNC / GroupWait.SYNC_FRACTION, GroupWait.nanos(1, 8, 10_000, SYNC, large));
    }

    @Test
    void aLoneAppenderOrAFullGroupNeverWaits() {
        assertEquals(0, GroupWait.nanos(1, 1, 10_000, SYNC, MAX), "one appender: its group of one is complete");
        assertEquals(0, GroupWait.nanos(8, 8, 10_000, SYNC, MAX));
        assertEquals(0, GroupWait.nanos(9, 8, 10_000, SYNC, MAX));
        assertEquals(0, GroupWait.nanos(1, 0, 10_000, SYNC, MAX), "nothing acknowledged yet");
    }

    @Test
    void anIdleLogNeverWaits() {
        assertEquals(0, GroupWait.nanos(1, 8, SYNC + 1, SYNC, MAX), "no acknowledgement within one fdatasync time");
        assertEquals(0, GroupWait.nanos(1, 8, TimeUnit.SECONDS.toNanos(10), SYNC, MAX));
        assertEquals(0, GroupWait.nanos(1, 8, -1, SYNC, MAX), "a clock that went backwards is no reason to wait");
        assertTrue(GroupWait.nanos(1, 8, SYNC, SYNC, MAX) > 0, "up to one fdatasync time after the acknowledgement");
    }

    @Test
    void theWaitIsTheFdatasyncTimeAtMostAndNeverBeyondTheMaximum() {
        long slowDisk = TimeUnit.MILLISECONDS.toNanos(5);
        assertEquals(MAX, GroupWait.nanos(1, 8, 10_000, slowDisk, MAX), "the configured maximum caps it");
        long fastDisk = TimeUnit.MICROSECONDS.toNanos(40);
        assertEquals(fastDisk / GroupWait.SYNC_FRACTION, GroupWait.nanos(1, 8, 10_000, fastDisk, MAX),
                "a fast device: a short wait");
    }

    @Test
    void waitingTurnedOffOrNoFdatasyncMeasuredYetMeansNoWait() {
        assertEquals(0, GroupWait.nanos(1, 8, 10_000, SYNC, 0));
        assertEquals(0, GroupWait.nanos(1, 8, 10_000, 0, MAX));
    }

    @Test
    void theFdatasyncTimeIsAMovingAverageThatTheFirstSampleSets() {
        long a = GroupWait.average(0, 800);
        assertEquals(800, a);
        assertEquals(800 + (1600 - 800) / 8, GroupWait.average(a, 1600));
        assertEquals(800 - 800 / 8, GroupWait.average(a, 0));
        assertEquals(1, GroupWait.average(0, 0), "never 0 once measured");
    }
}
