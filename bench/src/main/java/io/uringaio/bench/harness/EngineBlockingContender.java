package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;
import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.UringOpenOption;

import java.nio.ByteBuffer;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The engine the way most applications call it: one platform thread per lane submits through {@link AsyncFile}
 * ({@code read}, {@code write}, {@code writeDurable} for a write + fdatasync) and blocks in {@code join()} on each
 * future before the next operation. Unlike {@link EngineContender}, whose lanes resubmit from the completion callback
 * on the ring thread, every operation here is waited for by the thread that submitted it: without caller rings it pays
 * the hand-off to a ring thread and the wake-up of the waiting thread (on page-cached reads the engine's fast path
 * reads on the calling thread instead). Same engine configuration as
 * {@code engine-percore} (io_uring, one ring per core), plus one caller ring per lane thread
 * ({@link RingEngineConfig#callerRings(int)}): a thread then submits in its own ring and waits for its completion
 * inside {@code io_uring_enter}; {@code -Duringaio.callerRings=0} measures without them.
 */
public final class EngineBlockingContender extends InProcessContender {
    static final String NAME = "engine-blocking";
    private static final long OPEN_TIMEOUT_SECONDS = 30;

    private final int rings;

    EngineBlockingContender(int rings) {
        this.rings = rings;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "engine, AsyncFile on io_uring (" + rings + (rings == 1 ? " ring" : " rings") + "), one platform "
                + "thread per lane blocked in join() on each future";
    }

    @Override
    public String unavailableReason() {
        return IoUringCheck.unavailableReason();
    }

    @Override
    protected String note(Workload workload) {
        return workload.op().syncs() ? "AsyncFile.writeDurable: write and fdatasync linked (IOSQE_IO_LINK)" : null;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        RingEngine engine = RingEngine.open(new RingEngineConfig().rings(rings).threadNamePrefix("bench-" + NAME)
                .callerRings(callerRings(trial.depth())));
        AsyncFile file;
        try {
            List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
            if (w.direct()) {
                options.add(UringOpenOption.DIRECT);
            }
            file = engine.open(context.file(), options.toArray(OpenOption[]::new))
                    .get(OPEN_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (Exception | Error e) {
            engine.close();
            throw e;
        }
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < trial.depth(); i++) {
            int lane = i;
            trial.laneStarted();
            threads.add(Thread.ofPlatform().daemon().name("bench-" + NAME + "-" + i)
                    .start(() -> runLane(trial, file, lane)));
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
                    file.close();
                } finally {
                    engine.close();
                }
            }
        };
    }

    /**
     * Caller rings for {@code lanes} waiting threads: one each, at most 64 (each thread then submits and reaps in its
     * own ring, no hand-off), unless {@code -D}{@value RingEngineConfig#CALLER_RINGS_PROPERTY}{@code =0} turns them
     * off for an A/B run (a positive value there is used as given).
     */
    static int callerRings(int lanes) {
        Integer asked = Integer.getInteger(RingEngineConfig.CALLER_RINGS_PROPERTY);
        if (asked != null) {
            return asked;
        }
        return Math.min(lanes, 64);
    }

    /** One lane: submit, join, record, while the trial runs. */
    private static void runLane(Trial trial, AsyncFile file, int index) {
        Workload w = trial.workload();
        LaneRecorder recorder = trial.lane(index);
        Workload.Offsets offsets = trial.offsets(index);
        try {
            ByteBuffer buffer = BenchFiles.alignedDirect(w.blockBytes());
            while (trial.running()) {
                long offset = offsets.next();
                buffer.clear();
                recorder.started();
                CompletableFuture<Integer> done = switch (w.op()) {
                    case READ -> file.read(buffer, offset);
                    case WRITE -> file.write(buffer, offset);
                    case WRITE_FDATASYNC, APPEND -> file.writeDurable(buffer, offset);
                };
                int n = done.join();
                if (n != w.blockBytes()) {
                    trial.fail("transfer at offset " + offset + ": " + n + " of " + w.blockBytes() + " bytes");
                    break;
                }
                recorder.done();
            }
        } catch (CompletionException e) {
            trial.fail(String.valueOf(e.getCause()));
        } catch (Exception | Error e) {
            trial.fail(e.toString());
        } finally {
            trial.laneStopped(); // whatever happened: the trial must not wait for this lane
        }
    }
}
