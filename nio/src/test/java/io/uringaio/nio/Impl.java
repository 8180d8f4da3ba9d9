package io.uringaio.nio;

import java.io.IOException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ExecutorService;

/** The two implementations a contract scenario runs against: the JDK's channels (the reference) and ours. */
enum Impl {
    JDK {
        @Override
        FileChannel open(Path path, OpenOption... options) throws IOException {
            return FileChannel.open(path, options);
        }

        @Override
        AsynchronousFileChannel openAsync(Path path, ExecutorService executor, OpenOption... options)
                throws IOException {
            return AsynchronousFileChannel.open(path, Set.of(options), executor);
        }
    },
    URING {
        @Override
        FileChannel open(Path path, OpenOption... options) throws IOException {
            FileChannel channel = UringFiles.newFileChannel(path, options);
            if (!(channel instanceof UringFileChannel)) {
                throw new AssertionError("not a uring channel: " + channel);
            }
            return channel;
        }

        @Override
        AsynchronousFileChannel openAsync(Path path, ExecutorService executor, OpenOption... options)
                throws IOException {
            AsynchronousFileChannel channel = UringFiles.newAsynchronousFileChannel(path, Set.of(options), executor);
            if (!(channel instanceof UringAsynchronousFileChannel)) {
                throw new AssertionError("not a uring channel: " + channel);
            }
            return channel;
        }
    };

    abstract FileChannel open(Path path, OpenOption... options) throws IOException;

    abstract AsynchronousFileChannel openAsync(Path path, ExecutorService executor, OpenOption... options)
            throws IOException;
}
