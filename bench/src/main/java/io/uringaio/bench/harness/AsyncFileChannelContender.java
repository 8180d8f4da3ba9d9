package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.CompletionHandler;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.HashSet;
import java.util.Set;

/**
 * An {@link AsynchronousFileChannel}: the JDK's with its own default thread pool (on Linux: pread/pwrite on pool
 * threads), or the uring provider's (requests on its shared engine, handlers each on a virtual thread). Each lane's
 * {@link CompletionHandler} records and issues the lane's next operation. The channel has no asynchronous force, so
 * a write + fdatasync calls {@code force(false)} (fdatasync) in the write's handler, as an application would.
 */
public final class AsyncFileChannelContender extends InProcessContender {
    /** The JDK's channel. */
    public static final String JDK = "jdk-afc";
    /** The uring provider's channel. */
    public static final String URING = "afc-uring";

    private final ChannelSource source;

    /** The JDK's channel. */
    public AsyncFileChannelContender() {
        this(ChannelSource.JDK);
    }

    AsyncFileChannelContender(ChannelSource source) {
        this.source = source;
    }

    @Override
    public String name() {
        return source == ChannelSource.URING ? URING : JDK;
    }

    @Override
    public String description() {
        return source == ChannelSource.URING
                ? "AsynchronousFileChannel on the uring provider (UringFiles.newAsynchronousFileChannel), handlers "
                        + "on virtual threads, CompletionHandler per lane"
                : "JDK AsynchronousFileChannel, its default thread pool, CompletionHandler per lane";
    }

    @Override
    public String unavailableReason() {
        return source.unavailableReason();
    }

    @Override
    protected String note(Workload workload) {
        return workload.op().syncs() ? "force(false) in the write's completion handler"
                : null;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        Set<OpenOption> options = new HashSet<>(Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        if (w.direct()) {
            options.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }
        AsynchronousFileChannel channel = source.asynchronousFileChannel(context.file(), options);
        for (int i = 0; i < trial.depth(); i++) {
            trial.laneStarted();
            new Lane(trial, channel, i).next();
        }
        return new Load() {
            @Override
            public long enterCalls() {
                return source.enterCalls();
            }

            @Override
            public void close() throws Exception {
                channel.close();
            }
        };
    }

    private static final class Lane implements CompletionHandler<Integer, Void> {
        final Trial trial;
        final Workload workload;
        final AsynchronousFileChannel channel;
        final LaneRecorder recorder;
        final Workload.Offsets offsets;
        final ByteBuffer buffer;
        long offset;

        Lane(Trial trial, AsynchronousFileChannel channel, int index) {
            this.trial = trial;
            this.workload = trial.workload();
            this.channel = channel;
            this.recorder = trial.lane(index);
            this.offsets = trial.offsets(index);
            this.buffer = BenchFiles.alignedDirect(workload.blockBytes());
        }

        void next() {
            offset = offsets.next();
            buffer.clear();
            recorder.started();
            if (workload.op() == Workload.Op.READ) {
                channel.read(buffer, offset, null, this);
            } else {
                channel.write(buffer, offset, null, this);
            }
        }

        @Override
        public void completed(Integer n, Void attachment) {
            if (n != workload.blockBytes()) {
                trial.fail("transfer at offset " + offset + ": " + n + " of " + workload.blockBytes() + " bytes");
                trial.laneStopped();
                return;
            }
            if (workload.op().syncs()) {
                try {
                    channel.force(false);
                } catch (IOException e) {
                    failed(e, null);
                    return;
                }
            }
            if (recorder.doneAndGoOn()) {
                next();
            }
        }

        @Override
        public void failed(Throwable e, Void attachment) {
            trial.fail("at offset " + offset + ": " + e);
            trial.laneStopped();
        }
    }
}
