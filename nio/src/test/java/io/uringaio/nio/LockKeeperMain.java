package io.uringaio.nio;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A child process that holds an exclusive lock of the whole file named by args[0] (with the JDK's channel): prints
 * "LOCKED" once it holds it, then keeps it until its standard input ends, so the parent decides when it goes.
 */
public final class LockKeeperMain {
    private LockKeeperMain() {
    }

    public static void main(String[] args) throws Exception {
        try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ,
                StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
            System.out.println(lock.isValid() ? "LOCKED" : "INVALID");
            System.out.flush();
            while (System.in.read() >= 0) {
                // wait for the parent to close our input
            }
        }
    }
}
