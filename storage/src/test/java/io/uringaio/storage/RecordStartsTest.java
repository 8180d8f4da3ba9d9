package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The boundaries an open log's reads leave: sampled starts and recent read ends. */
class RecordStartsTest {
    @Test
    void aReaderThatKeepsEndingAtTheSamePositionPushesOutNoOtherReadersEnd() {
        RecordStarts starts = new RecordStarts();
        starts.ended(1_000);
        for (int i = 0; i < 200; i++) {
            starts.ended(5_000); // one reader, polling the same end again and again
        }
        assertEquals(1_000, starts.floor(4_999), "the other reader's end is still known");
        assertEquals(5_000, starts.floor(5_000));
        assertEquals(-1, starts.floor(999));
    }

    @Test
    void recentEndsAreKeptUpToTheirNumberOldestOutFirst() {
        RecordStarts starts = new RecordStarts();
        for (int i = 1; i <= 65; i++) {
            starts.ended(i * 100L);
        }
        assertEquals(-1, starts.floor(199), "the oldest of 65 distinct ends is gone (64 are kept)");
        assertEquals(200, starts.floor(250));
        assertEquals(6_500, starts.floor(Long.MAX_VALUE));
    }

    @Test
    void sampledStartsKeepOnePerMiB() {
        RecordStarts starts = new RecordStarts();
        long miB = 1L << RecordStarts.SPACING_SHIFT;
        starts.sample(miB + 10);
        starts.sample(miB + 20); // same MiB: not kept
        starts.sample(2 * miB + 5);
        assertEquals(miB + 10, starts.floor(miB + 30));
        assertEquals(2 * miB + 5, starts.floor(3 * miB));
        assertEquals(-1, starts.floor(miB + 9));
    }
}
