package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A file the provider creates gets the permissions the JDK's would: {@code 0666} less the process's umask, whatever
 * the umask (Java cannot set it, so each case runs {@link CreateFilesMain} in a child JVM started under it).
 */
class CreationModeContractTest {
    @TempDir
    Path dir;

    /** The child's output as name (without the jdk-/uring- prefix) to "jdk perms / uring perms". */
    private Map<String, String> createUnder(String umask) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("sh", "-c", "umask " + umask + " && exec \"$0\" \"$@\""));
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        String backend = System.getProperty("uringaio.backend");
        if (backend != null && !backend.isEmpty()) {
            command.add("-Duringaio.backend=" + backend);
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(CreateFilesMain.class.getName());
        command.add(dir.toString());
        Path out = dir.resolveSibling(dir.getFileName() + ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the child did not finish in 60 s");
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        Files.delete(out);
        assertEquals(0, p.exitValue(), text);
        Map<String, String> byName = new TreeMap<>();
        for (String line : text.lines().filter(l -> l.startsWith("jdk-") || l.startsWith("uring-")).toList()) {
            String[] parts = line.split(" ");
            boolean jdk = parts[0].startsWith("jdk-");
            String name = parts[0].substring(jdk ? 4 : 6);
            byName.merge(name, (jdk ? "jdk " : "uring ") + parts[1], (a, b) -> a.startsWith("jdk") ? a + " / " + b
                    : b + " / " + a);
        }
        return byName;
    }

    @ParameterizedTest
    @ValueSource(strings = {"000", "002", "077"})
    void createdFilesGetTheJdksPermissionsUnderAnyUmask(String umask) throws Exception {
        Map<String, String> modes = createUnder(umask);
        assertEquals(5, modes.size(), modes.toString());
        for (Map.Entry<String, String> e : modes.entrySet()) {
            String[] both = e.getValue().split(" / ");
            assertTrue(both.length == 2, e.toString());
            assertEquals(both[0].substring(4), both[1].substring(6), "umask " + umask + ", " + e.getKey() + ": "
                    + e.getValue());
        }
    }
}
