package io.uringaio.storage;

import java.util.TreeSet;

/**
 * Positions of an open log known to be record boundaries (a record's start, or the end of the records), gathered by
 * its reads, so that {@link AppendLog#read} checks that its start is a record's by walking the records from the
 * nearest such position before it rather than from its segment's base: the first record start each read passes in
 * every {@link #SPACING_SHIFT 1 MiB} of positions, and the last few positions where reads ended (where a reader
 * resumes: there the check costs nothing). Records never move, so a position once known stays true for the life of the
 * log's instance. Thread-safe; at most one position per MiB of log read, plus {@value #RECENT}.
 */
final class RecordStarts {
    /** Positions are sampled once per {@code 1 << SPACING_SHIFT} bytes: a read's check walks at most about that. */
    static final int SPACING_SHIFT = 20;
    private static final int RECENT = 64;

    private final TreeSet<Long> sampled = new TreeSet<>();
    /** The latest read ends, oldest overwritten first; -1 for none. */
    private final long[] recent = new long[RECENT];
    private int next;

    RecordStarts() {
        java.util.Arrays.fill(recent, -1);
    }

    /** The greatest known boundary at or before {@code position}, or -1. */
    synchronized long floor(long position) {
        Long s = sampled.floor(position);
        long best = s == null ? -1 : s;
        for (long r : recent) {
            if (r <= position && r > best) {
                best = r;
            }
        }
        return best;
    }

    /** Keeps {@code position}, a record's start, unless its MiB already has one. */
    synchronized void sample(long position) {
        long bucket = position >>> SPACING_SHIFT;
        Long below = sampled.floor(position);
        Long above = sampled.ceiling(position);
        if ((below == null || below >>> SPACING_SHIFT != bucket)
                && (above == null || above >>> SPACING_SHIFT != bucket)) {
            sampled.add(position);
        }
    }

    /**
     * Keeps {@code position}, where a read's records ended, among the recent ones, unless it is one already: a reader
     * that keeps reading to the same end would otherwise fill them with it, and push out the other readers' ends.
     */
    synchronized void ended(long position) {
        for (long r : recent) {
            if (r == position) {
                return;
            }
        }
        recent[next] = position;
        next = (next + 1) % RECENT;
    }
}
