package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The frame format: the checksum binds payload, position and length. */
class RecordFrameTest {
    private static final ByteBuffer PAYLOAD = ByteBuffer.wrap("hello, log".getBytes(StandardCharsets.UTF_8));

    @Test
    void checksumDependsOnPosition() {
        assertNotEquals(RecordFrame.checksum(PAYLOAD, 0), RecordFrame.checksum(PAYLOAD, 18));
        assertEquals(RecordFrame.checksum(PAYLOAD, 18), RecordFrame.checksum(PAYLOAD, 18));
    }

    @Test
    void checksumLeavesTheBufferAlone() {
        ByteBuffer b = PAYLOAD.duplicate().position(3);
        RecordFrame.checksum(b, 0);
        assertEquals(3, b.position());
    }

    @Test
    void checksumIsCrc32cOfPayloadThenPositionThenLength() {
        CRC32C crc = new CRC32C();
        crc.update(PAYLOAD.duplicate());
        ByteBuffer tail = ByteBuffer.allocate(12).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(77).putInt(10);
        crc.update(tail.array());
        assertEquals((int) crc.getValue(), RecordFrame.checksum(PAYLOAD, 77));
    }

    @Test
    void theWordCarriesTheGroupMarkAndTheWriterWindowOnAGroupsFirstRecordOnly() {
        int first = RecordFrame.word(300, true, 3);
        assertTrue(RecordFrame.isGroupStart(first));
        assertEquals(300, RecordFrame.length(first));
        assertEquals(3, RecordFrame.groupsInFlight(first));
        assertEquals(16, RecordFrame.groupsInFlight(RecordFrame.word(1, true, 16)));
        int next = RecordFrame.word(300, false, 3);
        assertEquals(300, next, "a record that opens no group has its length as its word");
        assertFalse(RecordFrame.isGroupStart(next));
        assertEquals(RecordFrame.MAX_PAYLOAD_BYTES, RecordFrame.length(RecordFrame.word(RecordFrame.MAX_PAYLOAD_BYTES,
                true, 2)));
        assertEquals(-1, RecordFrame.length(300 | 1 << 27), "window bits without the mark: no writer's word");
        // The word is in the checksum: the mark cannot be flipped unnoticed.
        CRC32C a = new CRC32C();
        CRC32C b = new CRC32C();
        assertNotEquals(RecordFrame.finish(a, 0, first, new byte[12]), RecordFrame.finish(b, 0, 300, new byte[12]));
    }

    @Test
    void frameBytesAddsTheHeader() {
        assertEquals(9, RecordFrame.frameBytes(1));
        assertEquals(8L + Integer.MAX_VALUE, RecordFrame.frameBytes(Integer.MAX_VALUE));
    }
}
