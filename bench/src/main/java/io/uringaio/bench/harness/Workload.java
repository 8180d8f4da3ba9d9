package io.uringaio.bench.harness;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One workload of the benchmark: what each operation does, its block size, the queue depth (operations in flight),
 * whether the file is opened {@code O_DIRECT}, and whether offsets are random or sequential.
 *
 * <p>An operation of {@link Op#WRITE_FDATASYNC} is a write followed by an {@code fdatasync} of the file: latency and
 * the op count cover the pair. An {@link Op#APPEND} is the same pair for one small record at the log's tail (sequential
 * offsets shared by every lane), so one operation is one durable record; each lane is one appender.
 */
public record Workload(String name, Op op, int blockBytes, int queueDepth, boolean direct, boolean sequential,
                       String description) {

    /** What one operation does. */
    public enum Op {
        READ, WRITE, WRITE_FDATASYNC,
        /** A record appended at the tail and made durable before the appender goes on. */
        APPEND;

        boolean writes() {
            return this != READ;
        }

        /** Whether each write is followed by an {@code fdatasync} that belongs to the operation. */
        public boolean syncs() {
            return this == WRITE_FDATASYNC || this == APPEND;
        }
    }

    public Workload {
        if (blockBytes <= 0 || (direct && blockBytes % 4096 != 0)) {
            throw new IllegalArgumentException("block size must be positive (a multiple of 4096 for O_DIRECT), was "
                    + blockBytes);
        }
        if (op == Op.APPEND && !sequential) {
            throw new IllegalArgumentException("an append workload writes at the tail: sequential, was random");
        }
        if (queueDepth < 1 || queueDepth > 1024) {
            throw new IllegalArgumentException("queue depth must be in 1..1024, was " + queueDepth);
        }
    }

    /** Every workload, in the order they run: reads first (cache state undisturbed), then writes. */
    public static final List<Workload> ALL = List.of(
            new Workload("randread-cached-qd1", Op.READ, 4096, 1, false, false,
                    "4 KiB random read, page-cached, QD1"),
            new Workload("randread-cached-qd32", Op.READ, 4096, 32, false, false,
                    "4 KiB random read, page-cached, QD32"),
            new Workload("randread-direct-qd1", Op.READ, 4096, 1, true, false,
                    "4 KiB random read, O_DIRECT, QD1"),
            new Workload("randread-direct-qd32", Op.READ, 4096, 32, true, false,
                    "4 KiB random read, O_DIRECT, QD32"),
            new Workload("seqread-direct-128k-qd8", Op.READ, 128 * 1024, 8, true, true,
                    "128 KiB sequential read, O_DIRECT, QD8"),
            new Workload("randwrite-qd32", Op.WRITE, 4096, 32, false, false,
                    "4 KiB random write (buffered), QD32"),
            new Workload("randwrite-fdatasync-qd32", Op.WRITE_FDATASYNC, 4096, 32, false, false,
                    "4 KiB random write + fdatasync each, QD32"),
            append(1), append(8), append(64));

    /** The record the append workloads write: 100 bytes, framed by the log as 108 (length + CRC32C + record). */
    public static final int APPEND_RECORD_BYTES = 100;
    /** What every append contender writes per record: the log's frame size, so all write the same bytes. */
    public static final int APPEND_FRAME_BYTES = APPEND_RECORD_BYTES + 8;

    private static Workload append(int appenders) {
        return new Workload("append-" + appenders, Op.APPEND, APPEND_FRAME_BYTES, appenders, false, true,
                APPEND_RECORD_BYTES + "-byte record appended and made durable, " + appenders + " appender"
                        + (appenders == 1 ? "" : "s"));
    }

    /**
     * The workloads named in a comma-separated list (in {@link #ALL}'s order), all when {@code names} is null. A name
     * may also be a family, the part before a dash: {@code append} selects append-1, append-8 and append-64.
     */
    public static List<Workload> select(String names) {
        if (names == null) {
            return ALL;
        }
        List<String> wanted = new ArrayList<>();
        for (String n : names.split(",")) {
            String t = n.trim().toLowerCase(Locale.ROOT);
            if (t.isEmpty()) {
                continue;
            }
            List<String> matched = ALL.stream().map(Workload::name)
                    .filter(name -> name.equals(t) || name.startsWith(t + "-")).toList();
            if (matched.isEmpty()) {
                throw new IllegalArgumentException("unknown workload '" + t + "'; known: " + names(ALL));
            }
            wanted.addAll(matched);
        }
        if (wanted.isEmpty()) {
            throw new IllegalArgumentException("no workload named; known: " + names(ALL));
        }
        return ALL.stream().filter(w -> wanted.contains(w.name)).toList();
    }

    static String names(List<Workload> workloads) {
        return String.join(",", workloads.stream().map(Workload::name).toList());
    }

    /** Bytes moved by one operation (an fdatasync moves none of its own). */
    public long bytesPerOp() {
        return blockBytes;
    }

    /**
     * The offset generators of one run: one per lane. Random: each lane its own seeded stream of block-aligned
     * offsets, uniform over the file. Sequential: all lanes take the next block of one shared cursor, wrapping at the
     * end of the file (the order a sequential reader with read-ahead of {@code queueDepth} blocks would issue).
     */
    public Offsets[] offsets(long fileBytes, long seed) {
        long blocks = fileBytes / blockBytes;
        if (blocks < 1) {
            throw new IllegalArgumentException("file of " + fileBytes + " bytes is smaller than one block of "
                    + blockBytes);
        }
        Offsets[] lanes = new Offsets[queueDepth];
        AtomicLong cursor = new AtomicLong();
        for (int i = 0; i < queueDepth; i++) {
            lanes[i] = sequential ? new SequentialOffsets(cursor, blocks, blockBytes)
                    : new RandomOffsets(new SplittableRandom(seed * 1_000_003L + i), blocks, blockBytes);
        }
        return lanes;
    }

    /** A lane's source of file offsets. Not thread-safe: one lane, one thread at a time. */
    public interface Offsets {
        long next();
    }

    private record RandomOffsets(SplittableRandom random, long blocks, int blockBytes) implements Offsets {
        @Override
        public long next() {
            return random.nextLong(blocks) * blockBytes;
        }
    }

    private record SequentialOffsets(AtomicLong cursor, long blocks, int blockBytes) implements Offsets {
        @Override
        public long next() {
            return (cursor.getAndIncrement() % blocks) * blockBytes;
        }
    }
}
