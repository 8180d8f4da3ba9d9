package io.uringaio.nio;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A child process for the cross-process lock tests: tries to lock the file named by args[0] (with the JDK's
 * channel) and prints "LOCKED" or "BUSY", then exits.
 */
public final class LockHolderMain {
    private LockHolderMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock lock = channel.tryLock(0, Long.MAX_VALUE, args.length > 1 && args[1].equals("shared"));
            System.out.println(lock != null ? "LOCKED" : "BUSY");
        }
    }
}
