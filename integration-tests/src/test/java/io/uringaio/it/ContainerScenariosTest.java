package io.uringaio.it;

import io.uringaio.it.driver.DurableRecord;
import io.uringaio.it.driver.RofsScenario;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The engine and the POSIX facade inside real Docker containers started by Testcontainers, one test per scenario of
 * issue #7. Each container runs {@code ContainerDriver} (or the benchmark) on the host's JDK; the test reads its stdout
 * lines and exit status and checks the files it left on bind-mounted host directories.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContainerScenariosTest {
    private static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);
    private static final int KILL_ROUNDS = Integer.getInteger("uringaio.it.killRounds", 20);
    private static final long MEMORY_LIMIT_BYTES = 256L << 20;
    /** Room for the JVM's own threads and the driver's ballast, which takes the rest. */
    private static final long PIDS_LIMIT = 64;
    /** Prints the memory cgroup's limit and peak usage as seen inside the container (cgroup v1, else v2). */
    private static final String MEMORY_REPORT = "if [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then "
            + "echo MEMORY limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
            + " peak=$(cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes); "
            + "else echo MEMORY limit=$(cat /sys/fs/cgroup/memory.max)"
            + " peak=$(cat /sys/fs/cgroup/memory.peak 2>/dev/null); fi";
    private static final Map<String, Duration> DURATIONS = Collections.synchronizedMap(new LinkedHashMap<>());

    /** Scenario 1's results, which scenario 2 must reproduce on the thread pool. */
    private static volatile String ioUringWorkloadCrc;
    private static volatile String ioUringLioCrc;

    private Path work;
    private long started;

    @BeforeEach
    void workDir(TestInfo info) throws IOException {
        DockerEnv.requireDockerAndImages(); // skips (or, in CI, fails) each scenario without a daemon
        String name = info.getTestMethod().orElseThrow().getName();
        work = DockerEnv.target().resolve("it-data").resolve(name);
        deleteTree(work);
        Files.createDirectories(work);
        started = System.nanoTime();
    }

    private void took(String scenario) {
        Duration d = Duration.ofNanos(System.nanoTime() - started);
        DURATIONS.put(scenario, d);
        System.out.printf("[container scenario] %s: %.1f s%n", scenario, d.toMillis() / 1000.0);
    }

    @AfterAll
    static void summary() throws IOException {
        if (DURATIONS.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder("container scenarios (wall time each):\n");
        DURATIONS.forEach((k, v) -> sb.append(String.format("  %-48s %6.1f s%n", k, v.toMillis() / 1000.0)));
        System.out.print(sb);
        Files.writeString(DockerEnv.target().resolve("container-scenarios.txt"), sb.toString());
    }

    // ---------------------------------------------------------------- 1. default seccomp

    @Test
    @Order(1)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void defaultSeccompRunsOnIoUring() throws IOException {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("mixed", "/data").bind(work, "/data")) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        String backend = r.first("BACKEND ");
        assertNotNull(backend, r::transcript);
        assertTrue(backend.startsWith("BACKEND IO_URING "), () -> "expected io_uring under Docker's default seccomp "
                + "profile (Docker 20.10's allows it; 25+ denies it): " + backend + "\n" + r.transcript());
        assertTrue(r.all("BACKEND ").stream().allMatch(l -> l.startsWith("BACKEND IO_URING ")), r::transcript);
        ioUringWorkloadCrc = verifyWorkload(r);
        ioUringLioCrc = verifyLio(r);
        took("1 default seccomp: IO_URING");
    }

    // ---------------------------------------------------------------- 2. io_uring denied by seccomp

    @Test
    @Order(2)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void seccompWithoutIoUringFallsBackToThreadPool() throws IOException {
        String profile = resource("/seccomp/deny-io_uring.json");
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("mixed", "/data").bind(work, "/data").seccomp(profile)) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        List<String> backends = r.all("BACKEND ");
        assertFalse(backends.isEmpty(), r::transcript);
        for (String b : backends) {
            assertTrue(b.startsWith("BACKEND THREAD_POOL "), () -> "AUTO must fall back: " + b + "\n" + r.transcript());
            assertTrue(b.contains("io_uring_setup: EPERM"), () -> "the reason must name the refusal: " + b);
        }
        String workloadCrc = verifyWorkload(r);
        String lioCrc = verifyLio(r);
        if (ioUringWorkloadCrc != null) {
            assertEquals(ioUringWorkloadCrc, workloadCrc, "the same workload, the same bytes, on both backends");
            assertEquals(ioUringLioCrc, lioCrc, "the same lio_listio workload, the same bytes, on both backends");
        }
        took("2 seccomp denies io_uring: THREAD_POOL fallback");
    }

    private String verifyWorkload(DriverContainer.Result r) throws IOException {
        String crc = r.value("RESULT workload", "crc32c");
        assertNotNull(crc, r::transcript);
        assertTrue(r.lines().contains("CHECK workload-verify-plain ok 4194304 bytes"), r::transcript);
        assertEquals(crc, crc32c(work.resolve("workload.dat")), "the file on the host has the driver's bytes");
        return crc;
    }

    private String verifyLio(DriverContainer.Result r) throws IOException {
        String crc = r.value("RESULT facade-lio", "crc32c");
        assertNotNull(crc, r::transcript);
        assertTrue(r.lines().contains("CHECK lio-verify ok 2097152 bytes"), r::transcript);
        assertEquals(crc, crc32c(work.resolve("lio.dat")), "the file on the host has the driver's bytes");
        return crc;
    }

    // ---------------------------------------------------------------- 3. ENOSPC on a small tmpfs

    @Test
    @Order(3)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void fullTmpfsFailsWithEnospcAndKeepsEarlierData() {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("enospc", "/full").tmpfs("/full", "rw,size=16m")) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertTrue(r.first("ERRNO enospc-facade 28 ENOSPC") != null, () -> "aio_error = ENOSPC\n" + r.transcript());
        assertTrue(r.first("ERRNO enospc-engine 28 ENOSPC") != null, () -> "engine errno ENOSPC\n" + r.transcript());
        String facade = r.value("RESULT enospc", "facade");
        String engine = r.value("RESULT enospc", "engine");
        assertNotNull(facade, r::transcript);
        assertTrue(Long.parseLong(facade) >= 15L << 20, "the facade filled the 16 MiB tmpfs before ENOSPC: " + facade);
        assertTrue(Long.parseLong(engine) >= 15L << 20, "the engine filled the 16 MiB tmpfs before ENOSPC: " + engine);
        assertTrue(r.lines().contains("CHECK enospc-facade-verify ok " + facade + " bytes intact"), r::transcript);
        assertTrue(r.lines().contains("CHECK enospc-engine-verify ok " + engine + " bytes intact"), r::transcript);
        took("3 16 MiB tmpfs: ENOSPC");
    }

    // ---------------------------------------------------------------- 4. read-only mount

    @Test
    @Order(4)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void readOnlyMountRefusesWritesAndServesReads() throws Exception {
        RofsScenario.prepare(work);
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("rofs", "/ro").bindReadOnly(work, "/ro")) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertTrue(r.lines().contains("KERNEL open-rw EROFS create EROFS pwrite-on-ro-fd EBADF"), r::transcript);
        for (String expected : List.of("ERRNO rofs-engine-open-rw 30 EROFS", "ERRNO rofs-engine-create 30 EROFS",
                "ERRNO rofs-engine-write-on-ro-file 9 EBADF", "ERRNO rofs-facade-write 9 EBADF aio_return -1")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        assertTrue(r.lines().contains("CHECK rofs-engine-read ok 1048576 bytes"), r::transcript);
        assertTrue(r.lines().contains("CHECK rofs-facade-read-data ok 1048576 bytes"), r::transcript);
        assertEquals(List.of("ro.dat"), list(work), "nothing was created on the read-only mount");
        took("4 read-only mount: EROFS/EBADF");
    }

    // ---------------------------------------------------------------- 5. SIGKILL during durable writes

    @Test
    @Order(5)
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void sigkillLosesNoAcknowledgedDurableWrite() throws Exception {
        Random random = new Random();
        long seed = random.nextLong();
        random.setSeed(seed);
        List<String> rounds = new ArrayList<>();
        long totalAcked = 0;
        for (int round = 1; round <= KILL_ROUNDS; round++) {
            Path dir = work.resolve("round-" + round);
            Files.createDirectories(dir);
            CountDownLatch firstAck = new CountDownLatch(1);
            AtomicLong liveAcks = new AtomicLong();
            // At a random moment: after 1 to ~400 acknowledgements have been seen, plus 0-300 ms.
            long killAfterAcks = 1 + random.nextInt(400);
            long extraMillis = random.nextInt(300);
            CountDownLatch enough = new CountDownLatch(1);
            List<String> acked;
            long killMillis;
            Integer exit;
            String transcript;
            try (DriverContainer c = DriverContainer.driver("durable-stream", "/data/log.dat", "100000000", "8")
                    .jvm("-XX:TieredStopAtLevel=1")
                    .bind(dir, "/data")
                    .onLine(line -> {
                        if (line.startsWith("ACK ")) {
                            firstAck.countDown();
                            if (liveAcks.incrementAndGet() >= killAfterAcks) {
                                enough.countDown();
                            }
                        }
                    })) {
                c.start();
                assertTrue(firstAck.await(60, TimeUnit.SECONDS), "round " + round + ": no ACK within 60 s\n"
                        + c.stdout() + "\n" + c.stderr());
                long firstAckNanos = System.nanoTime();
                enough.await(20, TimeUnit.SECONDS);
                Thread.sleep(extraMillis);
                c.kill();
                killMillis = (System.nanoTime() - firstAckNanos) / 1_000_000;
                var state = c.state();
                exit = state.getExitCodeLong() == null ? null : state.getExitCodeLong().intValue();
                acked = c.stdout().stream().filter(l -> l.startsWith("ACK ")).toList();
                transcript = "round " + round + " (seed " + seed + "), exit " + exit + ", " + acked.size()
                        + " acks; stderr:\n" + c.stderr();
            }
            assertEquals(137, exit, "SIGKILL: exit status 128 + 9\n" + transcript);
            assertTrue(liveAcks.get() <= acked.size(), transcript);
            byte[] log = Files.readAllBytes(dir.resolve("log.dat"));
            for (String ack : acked) {
                long seq = Long.parseLong(ack.substring(4).trim());
                long offset = seq * DurableRecord.SIZE;
                assertTrue(offset + DurableRecord.SIZE <= log.length && DurableRecord.isIntact(log, (int) offset, seq),
                        "acknowledged record " + seq + " is missing or torn after SIGKILL (file " + log.length
                                + " bytes)\n" + transcript);
            }
            totalAcked += acked.size();
            rounds.add(acked.size() + " acks, killed " + killMillis + " ms after the first");
            deleteTree(dir);
        }
        System.out.println("[container scenario] SIGKILL rounds (seed " + seed + "), all acknowledged records intact:\n  "
                + String.join("\n  ", rounds));
        assertTrue(totalAcked > 0, "some writes were acknowledged before the kills");
        took("5 SIGKILL x" + KILL_ROUNDS + " during durable writes");
    }

    // ---------------------------------------------------------------- 6. memory-limited benchmark

    @Test
    @Order(6)
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void benchmarkQuickModeCompletesIn256MiB() throws IOException {
        Path bench = DockerEnv.root().resolve("bench/target");
        Path demo = bench.resolve("classes/io/uringaio/bench/Demo.class");
        assumeTrue(Files.isRegularFile(demo) && Files.isDirectory(bench.resolve("lib")),
                "the benchmark is not built (" + demo + ", bench/target/lib): scenario 6 skipped");
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.program("io.uringaio.bench.Demo",
                        List.of("--quick", "--file", "/data/bench.dat"))
                .classpathDir(bench.resolve("classes"), "/app/bench/classes", false)
                .classpathDir(bench.resolve("lib"), "/app/bench/lib", true)
                .bind(work, "/data")
                .memory(MEMORY_LIMIT_BYTES)
                .thenShell(MEMORY_REPORT)) {
            r = c.run(Duration.ofMinutes(3));
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertNotNull(r.first("verify "), () -> "the copy was verified\n" + r.transcript());
        assertTrue(r.lines().stream().anyMatch(l -> l.startsWith("summary")), r::transcript);
        String limit = r.value("MEMORY", "limit");
        String peak = r.value("MEMORY", "peak");
        assertNotNull(limit, () -> "the container's memory cgroup was not readable\n" + r.transcript());
        assertEquals(MEMORY_LIMIT_BYTES, Long.parseLong(limit), "the container ran under the limit");
        if (peak != null && !peak.isEmpty()) {
            assertTrue(Long.parseLong(peak) <= MEMORY_LIMIT_BYTES, r::transcript);
        }
        String peakMiB = peak == null || peak.isEmpty() ? "?" : String.valueOf(Long.parseLong(peak) >> 20);
        System.out.println("[container scenario] benchmark --quick in 256 MiB (peak " + peakMiB + " MiB):\n  "
                + String.join("\n  ", r.lines()));
        took("6 256 MiB memory limit: bench --quick");
    }

    // ---------------------------------------------------------------- 7. pids limit: no thread to be had

    @Test
    @Order(7)
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void pidsLimitRefusesThreadsWithEagainNotErrors() {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("pids", "/data").bind(work, "/data")
                // No GC workers or compiler threads that come and go: the driver's ballast takes every pid left.
                .jvm("-XX:+UseSerialGC", "-XX:-UseDynamicNumberOfCompilerThreads")
                .pidsLimit(PIDS_LIMIT)) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertNotNull(r.first("PIDS ballast="), r::transcript);
        assertFalse(r.stderr().contains("Exception in thread"), () -> "no thread of ours died\n" + r.transcript());
        // Every step ends in a result or EAGAIN, never an Error, a hang or ECANCELED (the driver fails otherwise).
        for (String l : r.all("OUTCOME ")) {
            assertTrue(l.contains(" ok ") || l.contains(" errno EAGAIN"), () -> l + "\n" + r.transcript());
        }
        assertTrue(r.lines().contains("CHECK pids-running-engine-closed ok"), r::transcript);
        String sweep0 = r.first("SWEEP free=0 ");
        assertNotNull(sweep0, r::transcript);
        assertTrue(r.lines().stream().anyMatch(l -> l.startsWith("SWEEP free=") && l.contains(
                " THREAD_POOL callerRings=0 reason=cannot start a ring thread")),
                () -> "AUTO falls back to the pool, naming the refused thread\n" + r.transcript());
        for (String expected : List.of("CHECK pids-signal-delivered-once ok the notification ran 1 time(s) in all",
                "CHECK pids-close-from-callback ok close() from a completion threw null",
                "CHECK pids-close-from-callback-finished ok")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        assertNotNull(r.first("CHECK pids-sweep ok"), r::transcript);
        for (String expected : List.of("CHECK pids-facade-notified-once ok the notification ran 1 time(s) in all",
                "CHECK pids-engine-recovers-read ok 65536 bytes read back intact",
                "CHECK pids-facade-recovers ok aio_error 0 after the release",
                "CHECK pids-facade-notified-again ok the notification ran 2 time(s) in all",
                "CHECK pids-closed ok engines and context closed")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        took("7 pids limit: thread creation refused");
    }

    // ---------------------------------------------------------------- 8. seccomp refusing part of io_uring

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "deny-io_uring_enter.json, io_uring_enter: EPERM (seccomp?)",
            "deny-io_uring_register.json, io_uring_register: EPERM (seccomp?)",
            "enosys-io_uring_setup.json, io_uring_setup: ENOSYS (kernel without io_uring)"})
    @Order(8)
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void seccompRefusingPartOfIoUringFallsBackWithTheReason(String profile, String reason) throws IOException {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("backend-smoke", "/data").bind(work, "/data")
                .seccomp(resource("/seccomp/" + profile))) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        List<String> backends = r.all("BACKEND ");
        assertEquals(2, backends.size(), r::transcript); // the engine's and the facade context's
        for (String b : backends) {
            assertEquals("BACKEND THREAD_POOL " + reason, b, () -> "AUTO falls back naming the refused call\n"
                    + r.transcript());
        }
        assertTrue(r.lines().contains("CALLER-RINGS 0"), () -> "no caller rings on the pool\n" + r.transcript());
        assertTrue(r.lines().contains("REFUSED io_uring IO_URING backend requested, but " + reason),
                () -> "an explicit IO_URING is refused with the reason\n" + r.transcript());
        for (String expected : List.of("CHECK smoke-engine-read ok 262144 bytes intact",
                "CHECK smoke-facade-fsync ok 0", "CHECK smoke-facade-read-data ok 262144 bytes intact")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        took("8 seccomp " + profile + ": THREAD_POOL");
    }

    // ---------------------------------------------------------------- 9. half of one CPU

    @Test
    @Order(9)
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void halfOfOneCpuSizesTheEngineForOne() {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("backend-smoke", "/data").bind(work, "/data").halfOfOneCpu()) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertTrue(r.lines().contains("CPUS available=1 rings=1 pool=4"),
                () -> "one processor seen: one ring, the pool's floor of 4 workers\n" + r.transcript());
        assertTrue(r.all("BACKEND ").stream().allMatch(l -> l.startsWith("BACKEND IO_URING ")), r::transcript);
        assertTrue(r.lines().contains("CALLER-RINGS 1"), r::transcript);
        for (String expected : List.of("CHECK smoke-engine-read ok 262144 bytes intact",
                "CHECK smoke-facade-fsync ok 0", "CHECK smoke-facade-read-data ok 262144 bytes intact")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        took("9 --cpus 0.5 --cpuset-cpus 0");
    }

    // ---------------------------------------------------------------- 10. descriptor table full

    @Test
    @Order(10)
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void fullDescriptorTableFailsOpensWithEmfile() {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("nofile", "/data").bind(work, "/data").ulimit("nofile", 64)) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        assertTrue(r.lines().contains("ERRNO nofile-engine-open EMFILE open /data/nofile.dat: EMFILE (Too many open"
                + " files)"), () -> "the engine's open fails EMFILE naming the file\n" + r.transcript());
        assertTrue(r.lines().contains("ERRNO nofile-facade-open EMFILE open returned -1"), r::transcript);
        List<String> backends = r.all("BACKEND ");
        assertEquals(3, backends.size(), r::transcript);
        assertTrue(backends.get(0).startsWith("BACKEND IO_URING "), r::transcript);
        assertEquals("BACKEND THREAD_POOL io_uring_setup: EMFILE (Too many open files)", backends.get(1),
                () -> "an engine opened with no descriptor free falls back, saying why\n" + r.transcript());
        assertTrue(backends.get(2).startsWith("BACKEND IO_URING "), () -> "and once released, io_uring again\n"
                + r.transcript());
        for (String expected : List.of("CHECK nofile-bystander-read ok 65536 bytes intact",
                "CHECK nofile-facade-bystander ok 65536", "CHECK nofile-recovers-engine ok open and write",
                "CHECK nofile-recovers-facade ok 65536", "CHECK nofile-closed ok")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        took("10 --ulimit nofile=64: EMFILE");
    }

    // ---------------------------------------------------------------- 11. no locked memory

    @Test
    @Order(11)
    @Timeout(value = 2, unit = TimeUnit.MINUTES)
    void zeroMemlockFallsBackToThreadPool() {
        DriverContainer.Result r;
        try (DriverContainer c = DriverContainer.driver("backend-smoke", "/data").bind(work, "/data")
                .ulimit("memlock", 0)) {
            r = c.run(RUN_TIMEOUT);
        }
        assertEquals(0, r.exitCode(), r::transcript);
        List<String> backends = r.all("BACKEND ");
        assertEquals(2, backends.size(), r::transcript);
        for (String b : backends) {
            // Either io_uring works without locked memory (kernels charging rings to the memory cgroup) or AUTO falls
            // back naming the limit; never a failed open.
            assertTrue(b.startsWith("BACKEND IO_URING ") || (b.startsWith("BACKEND THREAD_POOL ")
                    && b.contains("memlock")), () -> b + "\n" + r.transcript());
        }
        for (String expected : List.of("CHECK smoke-engine-read ok 262144 bytes intact",
                "CHECK smoke-facade-fsync ok 0", "CHECK smoke-facade-read-data ok 262144 bytes intact")) {
            assertTrue(r.lines().contains(expected), () -> expected + "\n" + r.transcript());
        }
        took("11 --ulimit memlock=0: " + backends.get(0).split(" ")[1]);
    }

    // ---------------------------------------------------------------- helpers

    private static String resource(String name) throws IOException {
        try (InputStream in = ContainerScenariosTest.class.getResourceAsStream(name)) {
            assertNotNull(in, name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String crc32c(Path file) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(Files.readAllBytes(file));
        return String.format("%08x", crc.getValue());
    }

    private static List<String> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
