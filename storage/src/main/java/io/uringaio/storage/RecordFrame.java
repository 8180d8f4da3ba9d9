package io.uringaio.storage;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The on-disk frame of one {@link AppendLog} record, little-endian:
 *
 * <pre>
 *   offset 0  u32  word     bits 0-26: payload bytes, 1..2^27-1; 0 never starts a record (it is the zeroed,
 *                           preallocated space)
 *                           bit 31: the record is the first of its commit group
 *                           bits 27-30: on a group's first record, the writer's maxGroupsInFlight - 1; else 0
 *   offset 4  u32  crc      CRC32C over payload ‖ position (u64) ‖ word (u32)
 *   offset 8  payload
 * </pre>
 *
 * <p>The group marks cost no space and no work (an appender knows whether its record opens a group): they let
 * {@link LogRecovery} count the commit groups that reached the disk after a bad frame, and so tell a torn tail (at
 * most {@code maxGroupsInFlight} unacknowledged groups, whichever of their bytes landed) from corruption of
 * acknowledged records. A record's word is plain ({@code length}) unless it opens a group.
 *
 * <p>The checksum covers the record's log position, which the frame does not store: a frame read at any other position
 * (a stale block, a misdirected write, a reader that starts mid-record) fails the check. The payload comes first in
 * the checksum so that an appender can checksum its payload before it knows its position.
 *
 * <p>A reader tells a complete record by the checksum: a zero word is unwritten space, and a length that overruns the
 * segment, a word no writer produces or a checksum mismatch is a bad frame, torn or corrupt ({@link LogRecovery}
 * decides which).
 */
public final class RecordFrame {
    /** Bytes of the header in front of every payload. */
    public static final int HEADER_BYTES = 8;
    /** The largest payload a frame can carry: its length has 27 bits. */
    public static final int MAX_PAYLOAD_BYTES = (1 << 27) - 1;
    /** Bit 31 of the word: the first record of a commit group. */
    static final int GROUP_START = 1 << 31;
    private static final int LENGTH_MASK = MAX_PAYLOAD_BYTES;
    private static final int IN_FLIGHT_SHIFT = 27;
    private static final int IN_FLIGHT_MASK = 0xF;

    private RecordFrame() {
    }

    /** The bytes a record of {@code payloadBytes} takes in the log. */
    public static long frameBytes(int payloadBytes) {
        return HEADER_BYTES + (long) payloadBytes;
    }

    /** The word of a record of {@code length} bytes; a group's first record also carries the writer's window. */
    static int word(int length, boolean groupStart, int groupsInFlight) {
        assert length >= 1 && length <= MAX_PAYLOAD_BYTES && groupsInFlight >= 1 && groupsInFlight <= 16;
        return groupStart ? length | GROUP_START | (groupsInFlight - 1) << IN_FLIGHT_SHIFT : length;
    }

    /** The payload length a word gives, or -1 if the word is not one a writer produces (then the frame is bad). */
    static int length(int word) {
        if ((word & GROUP_START) == 0 && (word >>> IN_FLIGHT_SHIFT) != 0) {
            return -1; // window bits on a record that opens no group
        }
        return word & LENGTH_MASK;
    }

    static boolean isGroupStart(int word) {
        return (word & GROUP_START) != 0;
    }

    /** The writer's maxGroupsInFlight that a group's first word records. */
    static int groupsInFlight(int word) {
        return ((word >>> IN_FLIGHT_SHIFT) & IN_FLIGHT_MASK) + 1;
    }

    /**
     * Finishes a checksum that already holds the payload: adds the position and the word, returns the frame's crc.
     * {@code scratch} is at least 12 bytes the caller owns.
     */
    static int finish(CRC32C crc, long position, int word, byte[] scratch) {
        ByteBuffer.wrap(scratch).order(ByteOrder.LITTLE_ENDIAN).putLong(0, position).putInt(8, word);
        crc.update(scratch, 0, 12);
        return (int) crc.getValue();
    }

    /**
     * The crc of {@code payload} (its position to its limit, left unchanged) at {@code position}, as a record that
     * opens no group (its word is its length).
     */
    public static int checksum(ByteBuffer payload, long position) {
        CRC32C crc = new CRC32C();
        int length = payload.remaining();
        crc.update(payload.duplicate());
        return finish(crc, position, length, new byte[12]);
    }
}
