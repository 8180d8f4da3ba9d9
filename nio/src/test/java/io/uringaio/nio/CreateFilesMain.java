package io.uringaio.nio;

import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * Creates files in the directory {@code args[0]} the ways an application does, through the JDK and through the uring
 * provider, and prints each one's permissions: "name rwxrwxrwx" per line. Run under a chosen umask.
 */
public final class CreateFilesMain {
    private CreateFilesMain() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path uring = UringFiles.path(dir);
        FileChannel.open(dir.resolve("jdk-channel"), WRITE, CREATE).close();
        FileChannel.open(uring.resolve("uring-channel"), WRITE, CREATE).close();
        FileChannel.open(dir.resolve("jdk-channel-new"), WRITE, CREATE_NEW).close();
        FileChannel.open(uring.resolve("uring-channel-new"), WRITE, CREATE_NEW).close();
        AsynchronousFileChannel.open(dir.resolve("jdk-async"), WRITE, CREATE).close();
        AsynchronousFileChannel.open(uring.resolve("uring-async"), WRITE, CREATE).close();
        Files.newOutputStream(dir.resolve("jdk-stream")).close();
        Files.newOutputStream(uring.resolve("uring-stream")).close();
        Files.writeString(dir.resolve("jdk-write"), "x");
        Files.writeString(uring.resolve("uring-write"), "x");
        try (var files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                System.out.println(f.getFileName() + " "
                        + PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
            }
        }
    }
}
