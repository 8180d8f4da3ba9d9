package io.uringaio.it;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.BuildImageResultCallback;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.utility.TestcontainersConfiguration;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The Docker side of the integration tests: is a daemon reachable, and the two local images (no registry is
 * reachable, so nothing is pulled): {@value #BUSYBOX}, Debian's static busybox on {@code scratch}, and {@value #JDK}, a
 * skeleton that runs the host's JDK from the host's {@code /usr} mounted read-only.
 *
 * <p>Without a daemon the tests are skipped with the reason, unless {@code URINGAIO_IT_REQUIRE_DOCKER=true} (set by
 * CI, which always has one): then they fail.
 */
final class DockerEnv {
    static final String BUSYBOX = "uring-aio-it/busybox:1";
    static final String JDK = "uring-aio-it/jdk:1";
    static final Path STATIC_BUSYBOX = Path.of("/bin/busybox");

    private static volatile String unavailable;
    private static volatile boolean ready;

    private DockerEnv() {
    }

    /** The repository root (the parent of integration-tests/). */
    static Path root() {
        return Path.of(System.getProperty("uringaio.it.root", "..")).toAbsolutePath().normalize();
    }

    /** integration-tests/target. */
    static Path target() {
        return Path.of(System.getProperty("uringaio.it.target", "target")).toAbsolutePath().normalize();
    }

    static boolean dockerRequired() {
        return "true".equalsIgnoreCase(System.getenv("URINGAIO_IT_REQUIRE_DOCKER"));
    }

    /**
     * Skips the calling test (or fails it, where Docker is required) unless a daemon answers and the images are
     * built; builds them on first use.
     */
    static synchronized void requireDockerAndImages() {
        if (!ready && unavailable == null) {
            long t0 = System.nanoTime();
            unavailable = prepare();
            ready = unavailable == null;
            if (ready) {
                System.out.printf("[container scenario] Docker %s; images %s and %s built in %.1f s; Testcontainers'"
                        + " tiny image %s%n", serverVersion(), BUSYBOX, JDK, (System.nanoTime() - t0) / 1e9,
                        TestcontainersConfiguration.getInstance().getTinyImage());
            } else {
                System.out.println("[container scenario] container tests skipped: " + unavailable);
            }
        }
        if (unavailable != null) {
            if (dockerRequired()) {
                throw new IllegalStateException("Docker is required here (URINGAIO_IT_REQUIRE_DOCKER=true) but "
                        + unavailable);
            }
            Assumptions.abort("container tests skipped: " + unavailable);
        }
    }

    private static String serverVersion() {
        try {
            return DockerClientFactory.instance().client().versionCmd().exec().getVersion() + " (API "
                    + DockerClientFactory.instance().getActiveApiVersion() + ")";
        } catch (RuntimeException e) {
            return "?";
        }
    }

    private static String prepare() {
        boolean available;
        try {
            available = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            available = false;
        }
        if (!available) {
            String host = System.getenv("DOCKER_HOST");
            return "no Docker daemon is reachable (" + (host == null ? "DOCKER_HOST unset" : "DOCKER_HOST=" + host)
                    + "; ./uring-aio test starts dockerd when Docker is installed: apt-get install docker.io)";
        }
        String javaHome = System.getProperty("java.home");
        if (!javaHome.startsWith("/usr/")) {
            return "the JDK running the tests (" + javaHome + ") is not under /usr, which the containers mount";
        }
        if (!Files.isExecutable(STATIC_BUSYBOX)) {
            return STATIC_BUSYBOX + " is missing: apt-get install busybox-static";
        }
        try {
            if (!isStatic(STATIC_BUSYBOX)) {
                return STATIC_BUSYBOX + " is dynamically linked: apt-get install busybox-static";
            }
            build("busybox", BUSYBOX, true);
            build("jdk", JDK, false);
        } catch (IOException | RuntimeException e) {
            return "building the local images failed: " + e;
        }
        return null;
    }

    /** An ELF executable without a PT_INTERP program header is statically linked. */
    private static boolean isStatic(Path elf) throws IOException {
        byte[] b = Files.readAllBytes(elf);
        java.nio.ByteBuffer h = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        if (b.length < 64 || h.getInt(0) != 0x464C457F || b[4] != 2) {
            return false; // not a 64-bit ELF
        }
        long phoff = h.getLong(32);
        int phentsize = Short.toUnsignedInt(h.getShort(54));
        int phnum = Short.toUnsignedInt(h.getShort(56));
        for (int i = 0; i < phnum; i++) {
            if (h.getInt((int) (phoff + (long) i * phentsize)) == 3) { // PT_INTERP
                return false;
            }
        }
        return true;
    }

    /** Builds src/test/docker/NAME as TAG (the layer cache makes a rebuild instant); never pulls. */
    private static void build(String name, String tag, boolean withBusybox) throws IOException {
        Path source = root().resolve("integration-tests/src/test/docker").resolve(name);
        Path context = target().resolve("docker").resolve(name);
        Files.createDirectories(context);
        Files.copy(source.resolve("Dockerfile"), context.resolve("Dockerfile"), StandardCopyOption.REPLACE_EXISTING);
        if (withBusybox) {
            Files.copy(STATIC_BUSYBOX, context.resolve("busybox"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.COPY_ATTRIBUTES);
        }
        DockerClient client = DockerClientFactory.instance().client();
        String id = client.buildImageCmd(context.toFile())
                .withTags(Set.of(tag))
                .withPull(false)
                .withRemove(true)
                .exec(new BuildImageResultCallback())
                .awaitImageId(5, TimeUnit.MINUTES);
        if (id == null || id.isEmpty()) {
            throw new IOException("docker build of " + tag + " gave no image id");
        }
    }
}
