package io.uringaio.bench.harness;

import io.uringaio.bench.BenchFiles;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Blocking {@link FileChannel#read(ByteBuffer, long)}/{@code write} from one thread per lane (queue depth = threads),
 * platform or virtual threads, one shared channel: the JDK's, or the uring provider's. A write + fdatasync is
 * {@code write} then {@code force(false)}.
 */
public final class FileChannelContender extends InProcessContender {
    /** The lanes on platform threads, on the uring provider's channel. */
    public static final String URING_PLATFORM = "filechannel-uring";
    /** The lanes on virtual threads, on the uring provider's channel. */
    public static final String URING_VIRTUAL = "filechannel-uring-virtual";

    private final ChannelSource source;
    private final boolean virtual;

    /** The lanes on the JDK's channel. */
    public FileChannelContender(boolean virtual) {
        this(ChannelSource.JDK, virtual);
    }

    FileChannelContender(ChannelSource source, boolean virtual) {
        this.source = source;
        this.virtual = virtual;
    }

    @Override
    public String name() {
        if (source == ChannelSource.URING) {
            return virtual ? URING_VIRTUAL : URING_PLATFORM;
        }
        return virtual ? "filechannel-virtual" : "filechannel-platform";
    }

    @Override
    public String description() {
        return "FileChannel.read/write(buf, pos)" + (source == ChannelSource.URING
                ? " on the uring provider (UringFiles.newFileChannel)" : "") + ", one "
                + (virtual ? "virtual" : "platform") + " thread per lane";
    }

    @Override
    public String unavailableReason() {
        return source.unavailableReason();
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        Set<OpenOption> options = new HashSet<>(Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        if (w.direct()) {
            options.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }
        FileChannel channel = source.fileChannel(context.file(), options);
        List<Thread> threads = new ArrayList<>();
        Thread.Builder builder = virtual ? Thread.ofVirtual().name("bench-fc-", 0)
                : Thread.ofPlatform().name("bench-fc-", 0).daemon();
        for (int i = 0; i < trial.depth(); i++) {
            int lane = i;
            trial.laneStarted();
            threads.add(builder.start(() -> runLane(trial, channel, lane)));
        }
        return new Load() {
            @Override
            public long enterCalls() {
                return source.enterCalls();
            }

            @Override
            public void close() throws Exception {
                for (Thread t : threads) {
                    t.join(TimeUnit.SECONDS.toMillis(60));
                }
                channel.close();
            }
        };
    }

    private static void runLane(Trial trial, FileChannel channel, int index) {
        Workload w = trial.workload();
        LaneRecorder recorder = trial.lane(index);
        Workload.Offsets offsets = trial.offsets(index);
        try {
            ByteBuffer buffer = BenchFiles.alignedDirect(w.blockBytes());
            while (trial.running()) {
                long offset = offsets.next();
                buffer.clear();
                recorder.started();
                int n = w.op() == Workload.Op.READ ? channel.read(buffer, offset) : channel.write(buffer, offset);
                if (n != w.blockBytes()) {
                    trial.fail("transfer at offset " + offset + ": " + n + " of " + w.blockBytes() + " bytes");
                    break;
                }
                if (w.op().syncs()) {
                    channel.force(false);
                }
                recorder.done();
            }
        } catch (Exception | Error e) {
            trial.fail(e.toString());
        } finally {
            trial.laneStopped(); // whatever happened: the trial must not wait for this lane
        }
    }
}
