package io.uringaio.storage.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The block device under a path and its cache-flush counters, from {@code /proc/diskstats} (Linux 5.5+). */
final class DiskStats {
    private DiskStats() {
    }

    /** "major:minor" of the file system holding {@code path}, or null. */
    static String deviceOf(Path path) {
        try {
            long dev = ((Number) Files.getAttribute(path, "unix:dev")).longValue();
            long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
            long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
            return major + ":" + minor;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** {flushes completed, milliseconds spent flushing} of {@code device}, or null where not available. */
    static long[] flushes(String device) {
        if (device == null) {
            return null;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc/diskstats"))) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 20 && (f[0] + ":" + f[1]).equals(device)) {
                    return new long[] {Long.parseLong(f[18]), Long.parseLong(f[19])};
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }
}
