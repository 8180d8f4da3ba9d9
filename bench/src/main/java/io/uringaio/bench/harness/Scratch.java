package io.uringaio.bench.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a trial leaves behind if the run is cut short (Ctrl-C, SIGTERM): temporary files and directories (fio's
 * output, a log's or RocksDB's directory beside the test file) and child processes (fio). A trial registers them while
 * they exist; {@link #cleanUp}, called from the bench's shutdown hook, removes whatever is still registered. A trial
 * that ends normally removes its own and unregisters them.
 */
final class Scratch {
    private static final Set<Path> PATHS = ConcurrentHashMap.newKeySet();
    private static final Set<Process> PROCESSES = ConcurrentHashMap.newKeySet();
    private static final long PROCESS_EXIT_MILLIS = 2_000;

    private Scratch() {
    }

    /** Registers a file or directory (a directory is removed with its contents); returns it. */
    static Path track(Path path) {
        PATHS.add(path.toAbsolutePath());
        return path;
    }

    static void untrack(Path path) {
        PATHS.remove(path.toAbsolutePath());
    }

    /** Registers a child process, destroyed by {@link #cleanUp} if still alive; returns it. */
    static Process track(Process process) {
        PROCESSES.add(process);
        return process;
    }

    static void untrack(Process process) {
        PROCESSES.remove(process);
    }

    /**
     * Destroys the registered processes (SIGTERM, then SIGKILL after 2 s) and then deletes the registered paths;
     * returns what it could not remove, e.g. {@code "/x: EBUSY"}, empty when all went. Best effort: never throws.
     */
    static java.util.List<String> cleanUp() {
        for (Process p : PROCESSES) {
            p.destroy();
        }
        for (Process p : PROCESSES) {
            try {
                if (!p.waitFor(PROCESS_EXIT_MILLIS, TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            PROCESSES.remove(p);
        }
        java.util.List<String> left = new java.util.ArrayList<>();
        for (Path path : PATHS) {
            try {
                deleteTree(path);
                PATHS.remove(path);
            } catch (IOException | RuntimeException e) {
                left.add(path + ": " + e);
            }
        }
        return left;
    }

    /** The kinds of trial directory made beside the test file ({@link #besideTestFile}). */
    private static final java.util.regex.Pattern BESIDE = java.util.regex.Pattern.compile("(appendlog|rocksdb)-(\\d+)");

    /**
     * The directory a trial of {@code kind} ("appendlog", "rocksdb") makes beside the test file: {@code <file>.<kind>-
     * <pid>}, the pid telling {@link #removeStale} whose it is.
     */
    static Path besideTestFile(Path file, String kind) {
        Path abs = file.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + "." + kind + "-" + ProcessHandle.current().pid());
    }

    /**
     * Removes the trial directories beside {@code file} that a run killed outright left (SIGKILL, a crash: no shutdown
     * hook ran): those whose pid runs no process here. Returns what it did, one line each ("removed X: ...", "could not
     * remove X: ..."). A directory of a run still going, and any other name, is left alone.
     */
    static java.util.List<String> removeStale(Path file) {
        Path abs = file.toAbsolutePath();
        Path dir = abs.getParent();
        String prefix = abs.getFileName() + ".";
        java.util.List<String> said = new java.util.ArrayList<>();
        if (dir == null) {
            return said;
        }
        try (Stream<Path> siblings = Files.list(dir)) {
            for (Path p : siblings.toList()) {
                String name = p.getFileName().toString();
                if (!name.startsWith(prefix)) {
                    continue;
                }
                java.util.regex.Matcher m = BESIDE.matcher(name.substring(prefix.length()));
                if (!m.matches() || !Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                long pid = parsePid(m.group(2));
                if (pid < 0 || ProcessHandle.of(pid).isPresent()) {
                    continue; // its run may be going on
                }
                try {
                    deleteTree(p);
                    said.add("removed " + p + ": left by a run that was killed (pid " + pid + " is gone)");
                } catch (IOException | RuntimeException e) {
                    said.add("could not remove " + p + " (left by a run that was killed): " + e);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the directory cannot be listed: the run itself will say what is wrong with it
        }
        return said;
    }

    private static long parsePid(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            return -1; // more digits than a long: no process's
        }
    }

    /** Deletes a file, or a directory with everything in it; nothing when it is gone already. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
