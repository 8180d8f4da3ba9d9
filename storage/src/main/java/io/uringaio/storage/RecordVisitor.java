package io.uringaio.storage;

import java.nio.ByteBuffer;

/** Receives the records of a log in position order. */
@FunctionalInterface
public interface RecordVisitor {
    /**
     * One complete, checksum-verified record.
     *
     * @param position the record's position, as {@link AppendLog#append} reported it
     * @param payload  the payload, read-only, valid only during this call (copy what you keep)
     * @return true to go on, false to stop
     */
    boolean visit(long position, ByteBuffer payload);
}
