package io.uringaio.storage;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real ext4 file system whose disk can be made to refuse writes, for tests of what a log does when the kernel's
 * writeback fails: the file system lives on a loop device whose backing image is a sparse file on a small tmpfs.
 * {@link #refuseWritesFrom} punches a hole in the image under the blocks of a file from an offset on, and fills the
 * tmpfs: the device then fails every write to those blocks (the loop driver cannot allocate them), so the kernel's
 * writeback of that range ends in EIO, {@code fdatasync} reports it, and the pages stay in the page cache marked clean
 * with contents the disk never got. {@link #remount} drops this file system's cache, which is what a reboot does.
 *
 * <p>Needs root, loop devices, {@code mkfs.ext4}, {@code filefrag} and {@code fallocate}: {@link #mountOrSkip} skips
 * the test, with the reason, where any is missing. {@link #close} unmounts and detaches everything.
 */
final class FailingDisk implements AutoCloseable {
    private static final long BLOCK = 4096;
    /** A {@code filefrag -v -b4096} extent line: logical first..last, physical first..last (blocks). */
    private static final Pattern EXTENT = Pattern.compile("^\\s*\\d+:\\s*(\\d+)\\.\\.\\s*(\\d+):\\s*(\\d+)\\.\\.\\s*(\\d+):");

    private final Path root;
    private final Path backing;
    private final Path image;
    private final Path mountPoint;
    private String loopDevice;
    private boolean tmpfsMounted;
    private boolean ext4Mounted;

    private FailingDisk(Path root) {
        this.root = root;
        this.backing = root.resolve("backing");
        this.image = backing.resolve("disk.img");
        this.mountPoint = root.resolve("fs");
    }

    /**
     * Mounts a fresh ext4 of {@code imageMiB} on a tmpfs of {@code tmpfsMiB} under {@code root}, or skips the test
     * (with the reason) where this machine cannot.
     */
    static FailingDisk mountOrSkip(Path root, int imageMiB, int tmpfsMiB) throws IOException, InterruptedException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "a failing disk needs root (mount, losetup); running as " + System.getProperty("user.name"));
        for (String tool : List.of("mkfs.ext4", "losetup", "filefrag", "fallocate", "mount", "umount")) {
            Assumptions.assumeTrue(find(tool) != null, "a failing disk needs " + tool + ", not found on PATH");
        }
        FailingDisk disk = new FailingDisk(root);
        try {
            Files.createDirectories(disk.backing);
            Files.createDirectories(disk.mountPoint);
            Result tmpfs = run("mount", "-t", "tmpfs", "-o", "size=" + tmpfsMiB + "m", "tmpfs", disk.backing.toString());
            Assumptions.assumeTrue(tmpfs.ok(), "cannot mount a tmpfs here: " + tmpfs.output());
            disk.tmpfsMounted = true;
            run("truncate", "-s", imageMiB + "M", disk.image.toString()).orThrow();
            Result loop = run("losetup", "-f", "--show", disk.image.toString());
            Assumptions.assumeTrue(loop.ok(), "no loop device here: " + loop.output());
            disk.loopDevice = loop.output().strip();
            run("mkfs.ext4", "-q", "-F", "-b", "4096", disk.loopDevice).orThrow();
            disk.mountExt4();
            return disk;
        } catch (Throwable t) {
            disk.close();
            throw t;
        }
    }

    /** The mounted file system's root. */
    Path path() {
        return mountPoint;
    }

    /**
     * From now on the disk refuses writes to {@code file}'s blocks from {@code fromOffset} (a multiple of 4096) on:
     * they read as zeros, and writing them fails.
     */
    void refuseWritesFrom(Path file, long fromOffset) throws IOException, InterruptedException {
        if (fromOffset % BLOCK != 0) {
            throw new IllegalArgumentException("offset " + fromOffset + " is not a multiple of " + BLOCK);
        }
        run("sync", "-f", file.toString()).orThrow(); // nothing of the file left dirty to land later
        Result map = run("filefrag", "-v", "-b" + BLOCK, file.toString()).orThrow();
        long firstBlock = fromOffset / BLOCK;
        int punched = 0;
        for (String line : map.output().split("\n")) {
            Matcher m = EXTENT.matcher(line);
            if (!m.find()) {
                continue;
            }
            long logicalFirst = Long.parseLong(m.group(1));
            long logicalLast = Long.parseLong(m.group(2));
            long physicalFirst = Long.parseLong(m.group(3));
            if (logicalLast < firstBlock) {
                continue;
            }
            long skip = Math.max(0, firstBlock - logicalFirst);
            long blocks = logicalLast - logicalFirst + 1 - skip;
            run("fallocate", "--punch-hole", "--offset", Long.toString((physicalFirst + skip) * BLOCK),
                    "--length", Long.toString(blocks * BLOCK), image.toString()).orThrow();
            punched++;
        }
        if (punched == 0) {
            throw new IllegalStateException("no extent of " + file + " at or after " + fromOffset + ":\n"
                    + map.output());
        }
        fillBacking();
    }

    /** Frees the space {@link #refuseWritesFrom} took: writes reach the disk again (the punched blocks read zeros). */
    void acceptWrites() throws IOException {
        Files.deleteIfExists(backing.resolve("filler"));
    }

    /** Unmounts and mounts the file system again: its page cache is gone, reads come from the disk (a reboot). */
    void remount() throws IOException, InterruptedException {
        run("umount", mountPoint.toString()).orThrow();
        ext4Mounted = false;
        mountExt4();
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (ext4Mounted) {
            run("umount", "-l", mountPoint.toString());
            ext4Mounted = false;
        }
        if (loopDevice != null) {
            run("losetup", "-d", loopDevice);
            loopDevice = null;
        }
        if (tmpfsMounted) {
            run("umount", "-l", backing.toString());
            tmpfsMounted = false;
        }
    }

    private void mountExt4() throws IOException, InterruptedException {
        run("mount", loopDevice, mountPoint.toString()).orThrow();
        ext4Mounted = true;
    }

    /** Fills the tmpfs under the image until it refuses: the loop device can allocate nothing more. */
    private void fillBacking() throws IOException {
        byte[] chunk = new byte[1 << 16];
        try (OutputStream out = Files.newOutputStream(backing.resolve("filler"))) {
            while (true) {
                out.write(chunk);
            }
        } catch (IOException full) {
            // ENOSPC: the point
        }
    }

    /** The executable {@code tool} on PATH, or in /usr/sbin or /sbin (not always on a test's PATH); null if none. */
    private static String find(String tool) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin"));
        for (String dir : dirs) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return Path.of(dir, tool).toString();
            }
        }
        return null;
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        String tool = find(cmd.getFirst());
        if (tool == null) {
            return new Result(cmd.getFirst(), -1, cmd.getFirst() + ": not found");
        }
        cmd.set(0, tool);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(String.join(" ", cmd), -1, out + " (timed out)");
        }
        return new Result(String.join(" ", cmd), p.exitValue(), out);
    }

    private record Result(String command, int status, String output) {
        boolean ok() {
            return status == 0;
        }

        Result orThrow() throws IOException {
            if (!ok()) {
                throw new IOException(command + " failed (exit " + status + "): " + output.strip());
            }
            return this;
        }
    }
}
