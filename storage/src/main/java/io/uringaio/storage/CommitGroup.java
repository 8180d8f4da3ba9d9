package io.uringaio.storage;

import io.uringaio.engine.internal.sys.FutexBoard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;

/**
 * Records framed back to back in one direct buffer, bound for one place in one segment: the unit of one write and one
 * {@code fdatasync}. Filled by appenders under the log's lock, then owned by the flusher until it is durable or
 * failed; reused afterwards. The buffer grows by doubling up to the group limit, so a group costs memory in proportion
 * to its bytes.
 */
final class CommitGroup {
    private static final int INITIAL_CAPACITY = 64 << 10;

    private ByteBuffer buffer = ByteBuffer.allocateDirect(INITIAL_CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
    /** A second view of {@link #buffer}, to checksum a payload in place without a new buffer object per record. */
    private ByteBuffer payloadView = buffer.duplicate();
    private long[] positions = new long[16];
    private RecordFuture[] futures = new RecordFuture[16];
    private int count;
    private int wakeBit;
    /** Base position of the segment this group is written to. */
    long segmentBase;
    /** Position of the group's first record. */
    long start;
    /** The in-flight slot (segment descriptor) the group is written through; -1 before it is submitted. */
    int slot = -1;
    /** Its write and fdatasync are over (guarded by the log's lock). */
    boolean done;
    /** When it was submitted ({@link System#nanoTime}), for the log's moving average of write+fdatasync times. */
    long submitNanos;
    /**
     * The group's write+fdatasync once submitted; null before. Read without the lock by a record's waiter
     * ({@link RecordFuture}), which may wait in its lane.
     */
    volatile CompletableFuture<Integer> io;
    /** Set while one waiter of the group waits in the lane of {@link #io}: one is enough, the others sleep. */
    private final AtomicBoolean laneWaiter = new AtomicBoolean();
    /** The log's maxGroupsInFlight, recorded in the group's first frame for recovery. */
    private int groupsInFlight = 1;

    void reset(long segmentBase, long start, int groupsInFlight, int wakeBit) {
        this.groupsInFlight = groupsInFlight;
        this.wakeBit = wakeBit;
        this.segmentBase = segmentBase;
        this.start = start;
        this.count = 0;
        this.slot = -1;
        this.done = false;
        this.io = null;
        buffer.clear();
    }

    /** Claims the group's one lane waiter; false when another thread has it. */
    boolean claimLaneWaiter() {
        return laneWaiter.compareAndSet(false, true);
    }

    void releaseLaneWaiter() {
        laneWaiter.set(false);
    }

    int count() {
        return count;
    }

    /** The wake-up bit of this group's records ({@link #bitOf}), set at {@link #reset}. */
    int wakeBit() {
        return wakeBit;
    }

    /** Frame bytes in the group. */
    int bytes() {
        return buffer.position();
    }

    /** Position just past the group's last record. */
    long end() {
        return start + buffer.position();
    }

    /** Offset of the group in its segment file. */
    long fileOffset() {
        return start - segmentBase;
    }

    /**
     * Frames {@code length} bytes of {@code record} from index {@code offset} (its position and length, taken once by
     * the caller; the buffer is left unchanged) at the end of the group, at position {@link #end()}.
     * The checksum is taken from the group's own copy of the payload, after the copy: a caller that changes its buffer
     * meanwhile (its own data race) gets a record of mixed bytes, but never a frame whose checksum fails, which
     * recovery would have to call corruption of the whole log. {@code crc} and {@code scratch} are the caller's.
     */
    long add(ByteBuffer record, int offset, int length, CRC32C crc, byte[] scratch, RecordFuture future) {
        long position = end();
        int needed = buffer.position() + RecordFrame.HEADER_BYTES + length;
        if (needed > buffer.capacity()) {
            grow(needed);
        }
        if (count == positions.length) {
            positions = Arrays.copyOf(positions, count * 2);
            futures = Arrays.copyOf(futures, count * 2);
        }
        int header = buffer.position();
        int payload = header + RecordFrame.HEADER_BYTES;
        buffer.put(payload, record, offset, length);
        crc.reset();
        crc.update(payloadView.clear().position(payload).limit(payload + length));
        int word = RecordFrame.word(length, count == 0, groupsInFlight);
        buffer.putInt(header, word).putInt(header + 4, RecordFrame.finish(crc, position, word, scratch));
        buffer.position(payload + length);
        positions[count] = position;
        futures[count] = future;
        count++;
        return position;
    }

    private void grow(int needed) {
        int capacity = Math.max(needed, (int) Math.min(Integer.MAX_VALUE - 8, 2L * buffer.capacity()));
        ByteBuffer bigger = ByteBuffer.allocateDirect(capacity).order(ByteOrder.LITTLE_ENDIAN);
        bigger.put(buffer.flip());
        buffer = bigger;
        payloadView = bigger.duplicate();
    }

    /** The frames, as a view the flusher hands to the kernel. */
    ByteBuffer frames() {
        return buffer.duplicate().flip();
    }

    /**
     * Completes every append of the group with its position. Their sleepers are woken by the caller, once, after the
     * whole acknowledgement; but before a future with dependents (code of the user, which may wait for one of the
     * threads whose record is already complete) the sleepers of {@code heldBits} are woken on {@code board} first.
     */
    void succeed(FutexBoard board, int heldBits) {
        for (int i = 0; i < count; i++) {
            RecordFuture f = futures[i];
            futures[i] = null;
            wakeBeforeDependents(f, board, heldBits);
            f.completeQuietly(positions[i]);
        }
    }

    /** Fails every append of the group; sleepers as in {@link #succeed} (every sleeper before a dependent). */
    void fail(Throwable failure, FutexBoard board) {
        for (int i = 0; i < count; i++) {
            RecordFuture f = futures[i];
            futures[i] = null;
            wakeBeforeDependents(f, board, -1);
            f.failQuietly(failure);
        }
    }

    private static void wakeBeforeDependents(RecordFuture f, FutexBoard board, int bits) {
        if (f.getNumberOfDependents() > 0) {
            board.wake(bits);
        }
    }

    /** The wake-up bit of the group with sequence number {@code sequence}: one of 32, never 0. */
    static int bitOf(long sequence) {
        return 1 << (int) (sequence & 31);
    }

    /** Bytes of the buffer; a group grown past {@code limit} is not worth keeping. */
    int capacity() {
        return buffer.capacity();
    }
}
