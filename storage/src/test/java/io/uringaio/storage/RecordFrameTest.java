package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

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
    void frameBytesAddsTheHeader() {
        assertEquals(9, RecordFrame.frameBytes(1));
        assertEquals(8L + Integer.MAX_VALUE, RecordFrame.frameBytes(Integer.MAX_VALUE));
    }
}
