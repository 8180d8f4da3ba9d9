package io.uringaio.storage;

/**
 * Counters of an {@link AppendLog} since it was opened.
 *
 * @param groups          commit groups made durable (one write and one {@code fdatasync} each)
 * @param records         records made durable
 * @param bytes           frame bytes made durable
 * @param rolls           segments rolled over to
 * @param durablePosition the end of the durable records
 */
public record AppendLogStats(long groups, long records, long bytes, long rolls, long durablePosition) {
    /** Records per {@code fdatasync}; 0 before the first group. */
    public double recordsPerGroup() {
        return groups == 0 ? 0 : (double) records / groups;
    }
}
