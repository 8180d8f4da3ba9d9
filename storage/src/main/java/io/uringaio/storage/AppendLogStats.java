package io.uringaio.storage;

/**
 * Counters of an {@link AppendLog} since it was opened.
 *
 * @param groups          commit groups made durable (one write and one {@code fdatasync} each)
 * @param records         records made durable
 * @param bytes           frame bytes made durable
 * @param rolls           segments rolled over to
 * @param durablePosition the end of the durable records
 * @param appenderWrites  groups written and synced by one of their appenders on its own thread
 *                        ({@link AppendLogConfig#waiterWrites}), durable or failed; the others went through a ring
 */
public record AppendLogStats(long groups, long records, long bytes, long rolls, long durablePosition,
                             long appenderWrites) {
    /** Counters without {@code appenderWrites} (0). */
    public AppendLogStats(long groups, long records, long bytes, long rolls, long durablePosition) {
        this(groups, records, bytes, rolls, durablePosition, 0);
    }

    /** Records per {@code fdatasync}; 0 before the first group. */
    public double recordsPerGroup() {
        return groups == 0 ? 0 : (double) records / groups;
    }
}
