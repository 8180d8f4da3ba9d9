package io.uringaio.storage;

/**
 * How long the leader of a new commit group waits for the group to fill before it is cut (the wait policy of
 * {@link AppendLog}'s group commit; pure, so that its bounds are testable on their own).
 *
 * <p>Appenders that wait for their record, then append again, come back one by one after their group is
 * acknowledged: each must be woken (a system call, a scheduling delay) before it can append. Cutting the next group
 * at the first of them sends it alone (or with the one or two that woke first), and the rest wait a whole
 * {@code fdatasync} for the group after. So the first appender back leads: it waits, boundedly, until as many records
 * are pending as the last acknowledged groups held (with the appends that waited behind them), then cuts the group.
 * The wait counts from the end of the acknowledgement that woke them (appends made during it are never cut before
 * it ends: the acknowledging thread cuts them after), and is
 * <ul>
 * <li>zero when that many are pending already (a lone appender, callbacks that append again before the
 *     acknowledgement ends): nobody else is expected;</li>
 * <li>zero when the log is idle: no group was acknowledged within the last {@code fdatasync} time, so nobody is on
 *     the way back;</li>
 * <li>otherwise at most the recent {@code fdatasync} time ({@link #SYNC_FRACTION}), and never more than the
 *     configured maximum ({@link AppendLogConfig#maxGroupWaitNanos}), so a record is never delayed by more than what
 *     its own durability costs.</li>
 * </ul>
 */
final class GroupWait {
    /**
     * The wait is at most this fraction (1/n) of the recent write+fdatasync time: 1, one such time. It was 4 while
     * groups went through the rings; since an appender that waits writes its group itself (the acknowledgement then
     * wakes the others from a thread that just left an {@code fdatasync}), 8 blocked appenders on a 2-vCPU VM came
     * back later than a quarter of it: 7.0-7.3 records per group at 11.6k-13.9k records/s against 7.6-7.7 at
     * 15.0k-15.5k with one whole time and a 300 µs maximum (three alternating runs each, same sitting).
     */
    static final int SYNC_FRACTION = 1;

    private GroupWait() {
    }

    /**
     * The leader's wait, in nanoseconds; 0 to cut the group at once.
     *
     * @param pending      records in the group now, the leader's included
     * @param expected     records of the groups acknowledged last (the appenders that may come back)
     * @param sinceLastAck nanoseconds since those groups were acknowledged
     * @param syncNanos    the recent time of a group's write+fdatasync (a moving average); 0 if none yet
     * @param maxWaitNanos the configured maximum; 0 turns waiting off
     */
    static long nanos(int pending, int expected, long sinceLastAck, long syncNanos, long maxWaitNanos) {
        if (maxWaitNanos <= 0 || syncNanos <= 0 || pending >= expected) {
            return 0;
        }
        if (sinceLastAck < 0 || sinceLastAck > syncNanos) {
            return 0; // idle: the last group's appenders would be back by now
        }
        return Math.min(maxWaitNanos, syncNanos / SYNC_FRACTION);
    }

    /** The moving average of write+fdatasync times after one more {@code sample} (weight 1/8; the first sets it). */
    static long average(long average, long sample) {
        return average == 0 ? Math.max(1, sample) : Math.max(1, average + (sample - average) / 8);
    }
}
