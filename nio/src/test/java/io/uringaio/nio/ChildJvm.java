package io.uringaio.nio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a main class of the test class path in a child JVM and returns its standard output. */
public final class ChildJvm {
    private ChildJvm() {
    }

    public static String run(Class<?> main, String... args) throws IOException, InterruptedException {
        return run(List.of(), main, args);
    }

    public static String run(List<String> jvmOptions, Class<?> main, String... args)
            throws IOException, InterruptedException {
        java.nio.file.Path output = java.nio.file.Files.createTempFile("child-", ".out");
        try {
            // Output to a file, so a hung child fails the test after the wait instead of blocking a pipe read.
            Process process = command(jvmOptions, main, args).redirectOutput(output.toFile()).start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("child " + main.getSimpleName() + " did not finish in 60 s");
            }
            byte[] out = java.nio.file.Files.readAllBytes(output);
            return check(process, main, out);
        } finally {
            java.nio.file.Files.deleteIfExists(output);
        }
    }

    private static String check(Process process, Class<?> main, byte[] out) {
        if (process.exitValue() != 0) {
            throw new AssertionError("child " + main.getSimpleName() + " exited " + process.exitValue() + ": "
                    + new String(out, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    public static Process start(List<String> jvmOptions, Class<?> main, String... args) throws IOException {
        return command(jvmOptions, main, args).start();
    }

    private static ProcessBuilder command(List<String> jvmOptions, Class<?> main, String... args) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.addAll(jvmOptions);
        command.add(main.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
    }
}
