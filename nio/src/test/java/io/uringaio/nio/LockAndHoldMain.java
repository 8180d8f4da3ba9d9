package io.uringaio.nio;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A child process for the blocked-lock tests: locks the whole file named by args[0] (with the JDK's channel), prints
 * "HELD", and keeps the lock until its standard input ends.
 */
public final class LockAndHoldMain {
    private LockAndHoldMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock lock = channel.lock();
            System.out.println("HELD");
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the parent to close our input
            }
            lock.release();
        }
    }
}
