package io.uringaio.storage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The on-disk frame of one {@link AppendLog} record, little-endian:
 *
 * <pre>
 *   offset 0  u32  length   payload bytes, 1..2^31-1; 0 never starts a record (it is the zeroed, preallocated space)
 *   offset 4  u32  crc      CRC32C over payload ‖ position (u64) ‖ length (u32)
 *   offset 8  payload
 * </pre>
 *
 * <p>The checksum covers the record's log position, which the frame does not store: a frame read at any other position
 * (a stale block, a misdirected write, a reader that starts mid-record) fails the check. The payload comes first in
 * the checksum so that an appender can checksum its payload before it knows its position.
 *
 * <p>A reader tells a complete record from a torn tail by the checksum alone: a zero length is the end of the written
 * data, and a length that overruns the segment or a checksum mismatch is a torn (or corrupt) frame.
 */
public final class RecordFrame {
    /** Bytes of the header in front of every payload. */
    public static final int HEADER_BYTES = 8;

    private RecordFrame() {
    }

    /** The bytes a record of {@code payloadBytes} takes in the log. */
    public static long frameBytes(int payloadBytes) {
        return HEADER_BYTES + (long) payloadBytes;
    }

    /**
     * Finishes a checksum that already holds the payload: adds the position and the length, returns the frame's crc.
     * {@code scratch} is at least 12 bytes the caller owns.
     */
    static int finish(CRC32C crc, long position, int length, byte[] scratch) {
        ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN).putLong(0, position).putInt(8, length);
        crc.update(scratch, 0, 12);
        return (int) crc.getValue();
    }

    /** The crc of {@code payload} (its position to its limit, left unchanged) at {@code position}. */
    public static int checksum(ByteBuffer payload, long position) {
        CRC32C crc = new CRC32C();
        int length = payload.remaining();
        crc.update(payload.duplicate());
        return finish(crc, position, length, new byte[12]);
    }
}
