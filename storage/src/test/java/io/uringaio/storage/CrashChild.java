package io.uringaio.storage;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process {@link CrashTest} kills: opens the log, prints {@code ready}, then appends from several threads as fast as
 * it can and prints {@code A <seq> <position> ;} for each acknowledged record, until it is killed.
 *
 * <p>Usage: {@code CrashChild <log dir> <generation> <seed> <appenders> <segment bytes>}.
 */
public final class CrashChild {
    static final int MAGIC = 0xC0FFEE42;
    static final int MAX_FILLER = 1500;

    private CrashChild() {
    }

    /** The payload of record {@code seq} of generation {@code generation}: a header and seeded filler. */
    static ByteBuffer payload(long seed, int generation, long seq) {
        SplittableRandom random = new SplittableRandom(seed ^ ((long) generation << 40) ^ seq * 0x9E3779B97F4A7C15L);
        int filler = random.nextInt(MAX_FILLER);
        ByteBuffer b = ByteBuffer.allocate(16 + filler).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(generation).putLong(seq);
        while (b.hasRemaining()) {
            b.put((byte) random.nextInt());
        }
        return b.flip();
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int generation = Integer.parseInt(args[1]);
        long seed = Long.parseLong(args[2]);
        int appenders = Integer.parseInt(args[3]);
        long segmentBytes = Long.parseLong(args[4]);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true);
        RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1).ringSize(256));
        AppendLog log = AppendLog.open(engine, dir, new AppendLogConfig().segmentBytes(segmentBytes));
        AtomicLong sequence = new AtomicLong();
        out.println("ready " + log.tailPosition());
        for (int t = 0; t < appenders; t++) {
            Thread.ofPlatform().daemon(false).name("appender-" + t).start(() -> {
                while (true) {
                    long seq = sequence.getAndIncrement();
                    long position = log.append(payload(seed, generation, seq)).join();
                    out.println("A " + seq + " " + position + " ;");
                }
            });
        }
    }
}
