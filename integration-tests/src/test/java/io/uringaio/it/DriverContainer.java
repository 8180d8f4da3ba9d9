package io.uringaio.it;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.Ulimit;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.output.OutputFrame;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.utility.DockerImageName;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A container that runs a Java program of the project on the host's JDK: the {@value DockerEnv#JDK} skeleton, the
 * host's {@code /usr} read-only, the classpath directories read-only under {@code /app}, a tmpfs {@code /tmp}, no
 * network. Built with {@link #driver} (the integration tests' {@code ContainerDriver}) or {@link #program}; runs to
 * completion with {@link #run}, or starts with {@link #start} and is killed with {@link #kill}.
 */
final class DriverContainer implements AutoCloseable {
    static final String DRIVER_MAIN = "io.uringaio.it.driver.ContainerDriver";

    private final List<String> classpath = new ArrayList<>();
    private final Map<Path, String> binds = new HashMap<>();
    private final Map<Path, String> readOnlyBinds = new HashMap<>();
    private final Map<String, String> tmpfs = new HashMap<>();
    private final List<String> jvmOptions = new ArrayList<>();
    private final List<Consumer<CreateContainerCmd>> modifiers = new ArrayList<>();
    private final String main;
    private final List<String> args;
    private GenericContainer<?> container;
    private final StringBuilder partialOut = new StringBuilder();
    private Consumer<String> lineListener = line -> { };
    private String shellEpilogue;

    private DriverContainer(String main, List<String> args) {
        this.main = main;
        this.args = args;
        tmpfs.put("/tmp", "rw,exec,nosuid,size=64m"); // exec: Netty extracts its native library there
    }

    /** The project's container driver with a subcommand and its arguments. */
    static DriverContainer driver(String... args) {
        DriverContainer c = new DriverContainer(DRIVER_MAIN, List.of(args));
        Path target = DockerEnv.target();
        c.classpathDir(target.resolve("classes"), "/app/classes", false);
        c.classpathDir(target.resolve("lib"), "/app/lib", true);
        return c;
    }

    /** Another program of the project: {@code main} with the given classpath directories (jars: {@code lib} dirs). */
    static DriverContainer program(String main, List<String> args) {
        return new DriverContainer(main, args);
    }

    DriverContainer classpathDir(Path host, String inContainer, boolean jars) {
        readOnlyBinds.put(host, inContainer);
        classpath.add(jars ? inContainer + "/*" : inContainer);
        return this;
    }

    DriverContainer bind(Path host, String inContainer) {
        binds.put(host, inContainer);
        return this;
    }

    DriverContainer bindReadOnly(Path host, String inContainer) {
        readOnlyBinds.put(host, inContainer);
        return this;
    }

    DriverContainer tmpfs(String path, String options) {
        tmpfs.put(path, options);
        return this;
    }

    DriverContainer jvm(String... options) {
        jvmOptions.addAll(List.of(options));
        return this;
    }

    /** Runs with a seccomp profile (its JSON text), as {@code docker run --security-opt seccomp=FILE} does. */
    DriverContainer seccomp(String profileJson) {
        modifiers.add(cmd -> cmd.getHostConfig().withSecurityOpts(List.of("seccomp=" + profileJson)));
        return this;
    }

    /** Limits the container's processes and threads to {@code pids}, as {@code docker run --pids-limit} does. */
    DriverContainer pidsLimit(long pids) {
        modifiers.add(cmd -> cmd.getHostConfig().withPidsLimit(pids));
        return this;
    }

    /** Half a CPU of time on one CPU only, as {@code docker run --cpus 0.5 --cpuset-cpus 0} does. */
    DriverContainer halfOfOneCpu() {
        modifiers.add(cmd -> cmd.getHostConfig().withCpusetCpus("0").withCpuPeriod(100_000L).withCpuQuota(50_000L));
        return this;
    }

    /** A resource limit, soft and hard, as {@code docker run --ulimit name=value:value} does. */
    DriverContainer ulimit(String name, long value) {
        modifiers.add(cmd -> cmd.getHostConfig().withUlimits(List.of(new Ulimit(name, value, value))));
        return this;
    }

    /** Limits memory (and memory plus swap) to {@code bytes}. */
    DriverContainer memory(long bytes) {
        modifiers.add(cmd -> cmd.getHostConfig().withMemory(bytes).withMemorySwap(bytes));
        return this;
    }

    /**
     * Runs the program under busybox {@code sh}, then {@code epilogue} (a shell command whose output follows the
     * program's); the container exits with the program's status.
     */
    DriverContainer thenShell(String epilogue) {
        this.shellEpilogue = epilogue;
        return this;
    }

    /** Called on the docker log thread with each complete stdout line as it arrives. */
    DriverContainer onLine(Consumer<String> listener) {
        this.lineListener = listener;
        return this;
    }

    private List<String> command() {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + "/bin/java");
        cmd.add("-ea");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-XX:-UsePerfData");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(String.join(":", classpath));
        cmd.add(main);
        cmd.addAll(args);
        if (shellEpilogue == null) {
            return cmd;
        }
        String program = cmd.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").collect(Collectors.joining(" "));
        return List.of("/bin/sh", "-c", program + "; status=$?; " + shellEpilogue + "; exit $status");
    }

    /** Starts the container and returns at once (the program may already have finished). */
    void start() {
        for (Path p : readOnlyBinds.keySet()) {
            if (!Files.exists(p)) {
                throw new IllegalStateException(p + " is missing: build the project first (mvn -B verify builds it)");
            }
        }
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(DockerEnv.JDK));
        c.withImagePullPolicy(image -> false) // local images only
                .withNetworkMode("none")
                .withFileSystemBind("/usr", "/usr", BindMode.READ_ONLY)
                .withTmpFs(tmpfs)
                .withStartupCheckStrategy(new StartedIsEnough())
                .withCommand(command().toArray(String[]::new))
                .withLogConsumer(this::frame);
        readOnlyBinds.forEach((host, path) -> c.withFileSystemBind(host.toString(), path, BindMode.READ_ONLY));
        binds.forEach((host, path) -> c.withFileSystemBind(host.toString(), path, BindMode.READ_WRITE));
        c.withCreateContainerCmdModifier(cmd -> modifiers.forEach(m -> m.accept(cmd)));
        container = c;
        c.start();
    }

    private void frame(OutputFrame frame) {
        if (frame.getType() != OutputFrame.OutputType.STDOUT || frame.getBytes() == null) {
            return;
        }
        List<String> complete = new ArrayList<>();
        synchronized (partialOut) {
            partialOut.append(new String(frame.getBytes(), StandardCharsets.UTF_8));
            int nl;
            while ((nl = partialOut.indexOf("\n")) >= 0) {
                String line = partialOut.substring(0, nl);
                partialOut.delete(0, nl + 1);
                complete.add(line);
            }
        }
        complete.forEach(lineListener);
    }

    /** Waits for the program to exit; its exit code, or null on timeout. */
    Integer waitForExit(Duration timeout) {
        DockerClient client = DockerClientFactory.instance().client();
        try {
            return client.waitContainerCmd(container.getContainerId()).start()
                    .awaitStatusCode(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** SIGKILL, as {@code docker kill} does, then waits for the container to stop. */
    void kill() {
        DockerClient client = DockerClientFactory.instance().client();
        client.killContainerCmd(container.getContainerId()).withSignal("KILL").exec();
        waitForExit(Duration.ofSeconds(30));
    }

    InspectContainerResponse.ContainerState state() {
        return DockerClientFactory.instance().client().inspectContainerCmd(container.getContainerId()).exec()
                .getState();
    }

    /** Everything the program wrote on stdout, from the daemon's log (complete once it exited). */
    List<String> stdout() {
        return container.getLogs(OutputFrame.OutputType.STDOUT).lines().collect(Collectors.toList());
    }

    String stderr() {
        return container.getLogs(OutputFrame.OutputType.STDERR);
    }

    /** Starts, waits for the exit and returns what happened; the container is removed by {@link #close()}. */
    Result run(Duration timeout) {
        long t0 = System.nanoTime();
        start();
        Integer code = waitForExit(timeout);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        return new Result(code, stdout(), stderr(), took);
    }

    @Override
    public void close() {
        if (container != null) {
            container.stop();
        }
    }

    /** A finished run: the exit code (null if it timed out), stdout lines, stderr, and the wall time. */
    record Result(Integer exitCode, List<String> lines, String stderr, Duration took) {
        /** The first stdout line that starts with {@code prefix}, or null. */
        String first(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).findFirst().orElse(null);
        }

        List<String> all(String prefix) {
            return lines.stream().filter(l -> l.startsWith(prefix)).collect(Collectors.toList());
        }

        /** The value of {@code key=} in the first line starting with {@code prefix}. */
        String value(String prefix, String key) {
            String line = first(prefix);
            if (line == null) {
                return null;
            }
            for (String part : line.split(" ")) {
                if (part.startsWith(key + "=")) {
                    return part.substring(key.length() + 1);
                }
            }
            return null;
        }

        /** Everything, for an assertion message. */
        String transcript() {
            return "exit " + exitCode + " after " + took.toMillis() + " ms\n--- stdout\n" + String.join("\n", lines)
                    + "\n--- stderr\n" + stderr;
        }
    }

    /** The program runs to completion: a container that started (or already exited) is all we wait for. */
    private static final class StartedIsEnough extends StartupCheckStrategy {
        @Override
        public StartupStatus checkStartupState(DockerClient dockerClient, String containerId) {
            return StartupStatus.SUCCESSFUL;
        }
    }
}
