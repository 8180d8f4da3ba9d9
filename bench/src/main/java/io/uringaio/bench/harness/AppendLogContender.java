package io.uringaio.bench.harness;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.storage.AppendLog;
import io.uringaio.storage.AppendLogConfig;
import io.uringaio.storage.AppendLogStats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The storage module's {@link AppendLog}: group commit. Each lane is one appender in a closed loop: it appends its
 * record, waits until the returned future completes (the record is durable), records the latency and appends again.
 * Two ways to wait, two contenders: {@link Mode#ASYNC} appends again from the future's completion (on the thread that
 * completed it, as an asynchronous caller would), so no thread is parked per appender; {@link Mode#THREADS} gives each
 * appender its own platform thread blocked in {@code join()}, as a server with a thread per connection would (its
 * engine has a caller ring per appender: a group's write goes in on the appender that submits it, which then waits
 * for it inside that ring). Appends
 * that arrive while a group is being made durable form the next group: one {@code writev} and one linked
 * {@code fdatasync} per group, two groups in flight (the log's defaults).
 *
 * <p>The log lives in a fresh directory beside the benchmark file (same filesystem), with the log's own segment
 * layout (preallocated, zero-filled, 64 MiB); its background preparation of the next segment runs during the trial,
 * as it would in production. The directory is deleted after the trial. Runs only the {@link Workload.Op#APPEND}
 * workloads, on the records those workloads define: the per-record contenders write the same 108-byte frames.
 */
public final class AppendLogContender extends InProcessContender {
    static final String NAME = "appendlog";

    /** How an appender waits for its record to be durable. */
    public enum Mode {
        /** Appends again from the completion of its last append. */
        ASYNC,
        /** A platform thread per appender, blocked in {@code join()}. */
        THREADS
    }

    private final Mode mode;
    private final int rings = Runtime.getRuntime().availableProcessors();
    /** The last trial's log counters, for its note; set when the trial's load closes. */
    private final AtomicReference<AppendLogStats> lastStats = new AtomicReference<>();

    AppendLogContender(Mode mode) {
        this.mode = mode;
    }

    @Override
    public String name() {
        return mode == Mode.ASYNC ? NAME : NAME + "-threads";
    }

    @Override
    public String description() {
        return "storage AppendLog, group commit (appends coalesced into one writev + linked fdatasync per group, "
                + "2 groups in flight), engine on io_uring with " + rings + (rings == 1 ? " ring" : " rings") + "; "
                + (mode == Mode.ASYNC ? "each appender appends again from its future's completion"
                        : "one platform thread per appender, blocked in join()");
    }

    @Override
    public String unavailableReason() {
        return IoUringCheck.unavailableReason();
    }

    @Override
    public boolean appliesTo(Workload workload) {
        return workload.op() == Workload.Op.APPEND;
    }

    @Override
    protected String note(Workload workload) {
        AppendLogStats stats = lastStats.get();
        return stats == null ? null : String.format(Locale.ROOT,
                "%.1f records per fdatasync (%,d groups for %,d records, %,d groups written by an appender on its"
                        + " own thread, warm-up included)", stats.recordsPerGroup(), stats.groups(), stats.records(),
                stats.appenderWrites());
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        if (!appliesTo(w)) {
            throw new IllegalArgumentException(NAME + " runs the append workloads only, not " + w.name());
        }
        lastStats.set(null);
        Path dir = Scratch.besideTestFile(context.file(), "appendlog");
        deleteTree(dir);
        Scratch.track(dir); // a Ctrl-C during the trial must not leave it beside the test file
        RingEngineConfig config = new RingEngineConfig().rings(rings).threadNamePrefix("bench-" + name());
        if (mode == Mode.THREADS) {
            // Threads that block on their appends: the group's write goes into the submitting appender's caller ring
            // and that appender reaps it there (no hand-off to a ring thread and back), as for engine-blocking.
            config.callerRings(EngineBlockingContender.callerRings(trial.depth()));
        }
        RingEngine engine = RingEngine.open(config);
        AppendLog log;
        try {
            log = AppendLog.open(engine, dir, new AppendLogConfig());
        } catch (IOException | RuntimeException e) {
            engine.close();
            deleteTree(dir);
            Scratch.untrack(dir);
            throw e;
        }
        int recordBytes = w.blockBytes() - 8;
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < trial.depth(); i++) {
            Appender appender = new Appender(trial, i, log, recordBytes);
            trial.laneStarted();
            if (mode == Mode.ASYNC) {
                appender.next();
            } else {
                threads.add(Thread.ofPlatform().daemon().name("bench-" + name() + "-" + i).start(appender::loop));
            }
        }
        return new Load() {
            @Override
            public long enterCalls() {
                return engine.stats().enterCalls();
            }

            @Override
            public void close() throws Exception {
                try {
                    for (Thread t : threads) {
                        t.join(TimeUnit.SECONDS.toMillis(60));
                    }
                    lastStats.set(log.stats());
                    log.close();
                } finally {
                    try {
                        engine.close();
                    } finally {
                        deleteTree(dir);
                        Scratch.untrack(dir);
                    }
                }
            }
        };
    }

    /** One appender: its record (bytes that name the lane) and recorder. */
    private static final class Appender {
        final Trial trial;
        final LaneRecorder recorder;
        final AppendLog log;
        final ByteBuffer record;

        Appender(Trial trial, int lane, AppendLog log, int recordBytes) {
            this.trial = trial;
            this.recorder = trial.lane(lane);
            this.log = log;
            this.record = ByteBuffer.allocateDirect(recordBytes);
            for (int i = 0; i < recordBytes; i++) {
                record.put(i, (byte) (lane + i));
            }
        }

        /** {@link Mode#THREADS}: append, wait until durable, again, while the trial runs. */
        void loop() {
            try {
                while (trial.running()) {
                    recorder.started();
                    log.append(record).join();
                    recorder.done();
                }
            } catch (RuntimeException e) {
                trial.fail("append failed: " + e);
            } finally {
                trial.laneStopped();
            }
        }

        /** {@link Mode#ASYNC}: append; the completion records it and appends again while the trial runs. */
        void next() {
            recorder.started();
            CompletableFuture<Long> durable;
            try {
                durable = log.append(record); // the log copies the record; its position is left as it was
            } catch (RuntimeException e) {
                trial.fail("append failed: " + e);
                trial.laneStopped();
                return;
            }
            durable.whenComplete((position, failure) -> {
                if (failure != null) {
                    trial.fail("append failed: " + failure);
                    trial.laneStopped();
                    return;
                }
                if (recorder.doneAndGoOn()) {
                    next();
                }
            });
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
