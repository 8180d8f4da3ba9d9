package io.uringaio.bench.harness;

import io.uringaio.engine.Backend;
import io.uringaio.nio.UringFiles;

import java.io.IOException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.Channel;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;

/**
 * Where the {@code java.nio} channels of the FileChannel and AsynchronousFileChannel contenders come from: the JDK's
 * own, or the uring-aio provider's ({@link UringFiles}), so the same lanes measure both.
 */
enum ChannelSource {
    /** {@link FileChannel#open} and {@link AsynchronousFileChannel#open} (its default thread pool). */
    JDK {
        @Override
        FileChannel fileChannel(Path file, Set<OpenOption> options) throws IOException {
            return FileChannel.open(file, options);
        }

        @Override
        AsynchronousFileChannel asynchronousFileChannel(Path file, Set<OpenOption> options) throws IOException {
            return AsynchronousFileChannel.open(file, options, null);
        }

        @Override
        String unavailableReason() {
            return null;
        }

        @Override
        long enterCalls() {
            return -1;
        }
    },
    /**
     * {@link UringFiles#newFileChannel} and {@link UringFiles#newAsynchronousFileChannel} (no executor: handlers run
     * each on a virtual thread), on the provider's shared engine.
     */
    URING {
        @Override
        FileChannel fileChannel(Path file, Set<OpenOption> options) throws IOException {
            return ours(UringFiles.newFileChannel(file, options));
        }

        @Override
        AsynchronousFileChannel asynchronousFileChannel(Path file, Set<OpenOption> options) throws IOException {
            return ours(UringFiles.newAsynchronousFileChannel(file, options, null));
        }

        @Override
        String unavailableReason() {
            String why = IoUringCheck.unavailableReason();
            if (why != null) {
                return why;
            }
            Backend backend = UringFiles.backend(); // starts the provider's shared engine
            if (backend == null) {
                return "the uring provider is turned off (-Duringaio.nio.enabled=false)";
            }
            return backend == Backend.IO_URING ? null : "the uring provider's engine runs on " + backend;
        }

        @Override
        long enterCalls() {
            io.uringaio.engine.EngineStats stats = UringFiles.stats();
            return stats == null ? -1 : stats.enterCalls();
        }
    };

    abstract FileChannel fileChannel(Path file, Set<OpenOption> options) throws IOException;

    abstract AsynchronousFileChannel asynchronousFileChannel(Path file, Set<OpenOption> options) throws IOException;

    /** Why channels from here cannot be measured on this machine, or null. */
    abstract String unavailableReason();

    /** The engine's {@code io_uring_enter} submissions so far, or -1 where there is no engine. */
    abstract long enterCalls();

    /**
     * {@code channel}, checked to be the provider's own: it hands out the JDK's for FIFOs and devices, or when turned
     * off, and a figure measured on that would be reported as ours.
     */
    private static <C extends Channel> C ours(C channel) throws IOException {
        if (!channel.getClass().getName().startsWith("io.uringaio.nio.")) {
            channel.close();
            throw new IllegalStateException("the uring provider handed out " + channel.getClass().getName());
        }
        return channel;
    }
}
