package io.uringaio.bench.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The machine a run measured, so a reader can judge the numbers: kernel, CPU, memory, file system, JDK, libc. */
public record Machine(String kernel, int cores, String cpuModel, String hypervisor, long memoryMiB,
                      String fileSystem, String device, String mountPoint, String jdk, String glibc, String fio,
                      String ioUring, String loadAverage) {

    static Machine describe(Path file) {
        String[] mount = mountOf(file);
        String cpuinfo = read(Path.of("/proc/cpuinfo"));
        String ioUring = IoUringCheck.unavailableReason();
        return new Machine(
                System.getProperty("os.name") + " " + System.getProperty("os.version"),
                Runtime.getRuntime().availableProcessors(),
                field(cpuinfo, "model name"),
                hypervisor(cpuinfo),
                memInfoMiB(read(Path.of("/proc/meminfo"))),
                mount[2], mount[0], mount[1],
                System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
                        + System.getProperty("java.runtime.version"),
                GlibcAio.glibcVersion(),
                FioContender.FioVersion.get(),
                ioUring == null ? "available" : ioUring,
                currentLoadAverage());
    }

    /** The 1, 5 and 15 minute load averages. */
    static String currentLoadAverage() {
        String[] f = firstLine(read(Path.of("/proc/loadavg"))).split(" ");
        return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "?";
    }

    private static String hypervisor(String cpuinfo) {
        if (!cpuinfo.contains(" hypervisor")) {
            return "no";
        }
        String product = firstLine(read(Path.of("/sys/class/dmi/id/product_name")));
        return product.equals("?") ? "yes" : "yes (" + product + ")";
    }

    Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kernel", kernel);
        m.put("cores", cores);
        m.put("cpu", cpuModel);
        m.put("virtualMachine", hypervisor);
        m.put("memoryMiB", memoryMiB);
        m.put("fileSystem", fileSystem);
        m.put("device", device);
        m.put("mountPoint", mountPoint);
        m.put("jdk", jdk);
        m.put("glibc", glibc);
        m.put("fio", fio);
        m.put("ioUring", ioUring);
        m.put("loadAverageAtStart", loadAverage);
        return m;
    }

    /** {device, mount point, type} of the mount holding {@code file}: the longest mount point that prefixes it. */
    static String[] mountOf(Path file) {
        String path;
        try {
            path = file.toAbsolutePath().getParent().toRealPath().toString();
        } catch (IOException | NullPointerException e) {
            path = file.toAbsolutePath().toString();
        }
        return mountOf(path, read(Path.of("/proc/mounts")));
    }

    static String[] mountOf(String path, String mounts) {
        String[] best = {"?", "?", "?"};
        int bestLength = -1;
        for (String line : mounts.split("\n")) {
            String[] f = line.split(" ");
            if (f.length < 3) {
                continue;
            }
            String mp = f[1].replace("\\040", " ");
            boolean prefix = mp.equals("/") || path.equals(mp) || path.startsWith(mp + "/");
            if (prefix && mp.length() >= bestLength) {
                bestLength = mp.length();
                best = new String[] {f[0], mp, f[2]};
            }
        }
        return best;
    }

    private static long memInfoMiB(String meminfo) {
        String v = field(meminfo, "MemTotal");
        try {
            return Long.parseLong(v.replace("kB", "").trim()) / 1024;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String field(String text, String name) {
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return "?";
    }

    private static String firstLine(String s) {
        List<String> lines = s.lines().toList();
        return lines.isEmpty() ? "?" : lines.getFirst().trim();
    }

    private static String read(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8);
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }
}
