package io.uringaio.it.driver;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * One record of the durable stream: 512 bytes at offset {@code seq * 512}: a magic number, the sequence number, a
 * payload derived from it, and a CRC32C of everything before it. A record is intact when all four agree.
 */
public final class DurableRecord {
    public static final int SIZE = 512;
    static final long MAGIC = 0x55524E47_41494F21L; // "URNGAIO!"
    private static final int CRC_AT = SIZE - 8;

    private DurableRecord() {
    }

    /** The record for {@code seq}, as a direct buffer ready to write. */
    public static ByteBuffer encode(long seq) {
        ByteBuffer b = ByteBuffer.allocateDirect(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putLong(seq);
        for (int i = 16; i < CRC_AT; i++) {
            b.put((byte) (seq * 31 + i * 7));
        }
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().flip());
        b.putLong(crc.getValue());
        return b.flip();
    }

    /** Whether {@code bytes[offset, offset + SIZE)} is the intact record {@code seq}. */
    public static boolean isIntact(byte[] bytes, int offset, long seq) {
        if (offset < 0 || offset + SIZE > bytes.length) {
            return false;
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, offset, SIZE).slice().order(ByteOrder.LITTLE_ENDIAN);
        if (b.getLong(0) != MAGIC || b.getLong(8) != seq) {
            return false;
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, CRC_AT);
        if (b.getLong(CRC_AT) != crc.getValue()) {
            return false;
        }
        ByteBuffer expected = encode(seq);
        for (int i = 0; i < SIZE; i++) {
            if (expected.get(i) != b.get(i)) {
                return false;
            }
        }
        return true;
    }
}
