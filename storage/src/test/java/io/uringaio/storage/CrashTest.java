package io.uringaio.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real processes, real SIGKILL. A child JVM ({@link CrashChild}) appends as fast as it can and prints every
 * acknowledged position; this test kills it with {@link Process#destroyForcibly()} (SIGKILL) a random time after it
 * printed {@code ready}, recovers the log, and checks that every acknowledged record is present and intact and that
 * every record recovery accepts is a complete one that some child wrote. The next child appends to the same, recovered
 * log, so recovery, truncation of torn tails and segment roll-over are exercised again and again.
 *
 * <p>{@code -Duringaio.crash.kills=N} (default 100) and {@code -Duringaio.crash.seed=S} (default: the clock; printed)
 * reproduce a run: the seed fixes the kill delays and the payloads, not the kernel's timing.
 */
@Timeout(value = 15, unit = TimeUnit.MINUTES)
class CrashTest {
    private static final long SEGMENT_BYTES = 256 << 10;
    private static final int APPENDERS = 8;
    private static final long READY_SECONDS = 60;

    @TempDir
    Path tmp;

    @Test
    void acknowledgedRecordsSurviveSigkill() throws Exception {
        int kills = Integer.getInteger("uringaio.crash.kills", 100);
        long seed = Long.getLong("uringaio.crash.seed", System.nanoTime());
        System.out.println("CrashTest: " + kills + " kills, seed " + seed + " (-Duringaio.crash.seed=" + seed
                + " to repeat)");
        Random random = new Random(seed);
        Path dir = tmp.resolve("log");
        long started = System.nanoTime();
        long generationStart = 0;
        long acknowledgedTotal = 0;
        long recoveredTotal = 0;
        int tornTails = 0;
        for (int generation = 0; generation < kills; generation++) {
            long lifeMillis = 20 + random.nextInt(280);
            Path stderr = tmp.resolve("child-" + generation + ".err");
            ChildOutput output = new ChildOutput(tmp.resolve("child-" + generation + ".out"));
            Process child = startChild(dir, generation, seed, output.file(), stderr);
            try {
                long readyPosition = output.awaitReady(child, READY_SECONDS);
                if (readyPosition < 0) {
                    fail("child " + generation + " never printed ready; stderr:\n" + Files.readString(stderr));
                }
                assertEquals(generationStart, readyPosition, "child opened the log where recovery left it");
                Thread.sleep(lifeMillis);
            } finally {
                child.destroyForcibly();
                assertTrue(child.waitFor(READY_SECONDS, TimeUnit.SECONDS), "child " + generation + " did not die");
            }
            Map<Long, Long> acknowledged = output.acknowledged(); // position -> seq

            LogRecovery.Result recovery = LogRecovery.recover(dir);
            if (recovery.tornTail()) {
                tornTails++;
            }
            assertTrue(recovery.tail() >= generationStart, "recovery cut into earlier generations: " + recovery);
            int gen = generation;
            Map<Long, ByteBuffer> found = new HashMap<>();
            LogRecovery.read(dir, generationStart, (position, payload) -> {
                ByteBuffer copy = ByteBuffer.allocate(payload.remaining()).put(payload.duplicate()).flip();
                found.put(position, copy);
                return true;
            });
            // Every record recovery accepts is one that this child wrote, whole.
            for (Map.Entry<Long, ByteBuffer> e : found.entrySet()) {
                ByteBuffer payload = e.getValue().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                assertTrue(payload.remaining() >= 16, "record at " + e.getKey() + " too short");
                assertEquals(CrashChild.MAGIC, payload.getInt(0), "magic at " + e.getKey());
                assertEquals(gen, payload.getInt(4), "generation at " + e.getKey());
                long seq = payload.getLong(8);
                assertEquals(CrashChild.payload(seed, gen, seq), e.getValue(),
                        "record at " + e.getKey() + " (seq " + seq + ") differs from what the child wrote");
            }
            // Every acknowledged record is there, and is the record acknowledged.
            for (Map.Entry<Long, Long> ack : acknowledged.entrySet()) {
                ByteBuffer payload = found.get(ack.getKey());
                assertNotNull(payload, "generation " + gen + ": acknowledged record seq " + ack.getValue() + " at "
                        + ack.getKey() + " lost; recovery " + recovery + "; seed " + seed);
                assertEquals(ack.getValue(), payload.order(ByteOrder.LITTLE_ENDIAN).getLong(8),
                        "another record at acknowledged position " + ack.getKey());
            }
            acknowledgedTotal += acknowledged.size();
            recoveredTotal += found.size();
            generationStart = recovery.tail();
            Files.delete(output.file());
            Files.delete(stderr);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("CrashTest: %d kills in %.1f s (%.2f s per kill); %d acknowledged records, %d recovered"
                        + " (the rest were written, not yet acknowledged); %d torn tails cut; %d segments%n",
                kills, seconds, seconds / kills, acknowledgedTotal, recoveredTotal, tornTails,
                LogSegment.list(dir).size());
        assertTrue(acknowledgedTotal > 0, "no child acknowledged anything");
    }

    private static Process startChild(Path dir, int generation, long seed, Path stdout, Path stderr)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java,
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-Xmx128m",
                "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"),
                CrashChild.class.getName(), dir.toString(), Integer.toString(generation), Long.toString(seed),
                Integer.toString(APPENDERS), Long.toString(SEGMENT_BYTES)));
        return new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    }

    /**
     * The child's stdout, a file (a pipe read on another thread races the JDK's process reaper, which drains and
     * closes it when the child dies): the ready line, then the acknowledgements.
     */
    private record ChildOutput(Path file) {
        /** The position the child printed as ready, or -1 if it died first; polls the file until the deadline. */
        long awaitReady(Process child, long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                String text = Files.readString(file, StandardCharsets.US_ASCII);
                int end = text.indexOf('\n');
                if (end > 0 && text.startsWith("ready ")) {
                    return Long.parseLong(text.substring("ready ".length(), end));
                }
                if (!child.isAlive()) {
                    return -1;
                }
                Thread.sleep(5);
            }
            return -1;
        }

        /** position -> seq of every complete acknowledgement line; a line cut by the kill was never acknowledged. */
        Map<Long, Long> acknowledged() throws IOException {
            Map<Long, Long> acks = new HashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
                String[] f = line.split(" ");
                if (f.length == 4 && f[0].equals("A") && f[3].equals(";")) {
                    Long previous = acks.put(Long.parseLong(f[2]), Long.parseLong(f[1]));
                    assertTrue(previous == null, "position " + f[2] + " acknowledged twice");
                }
            }
            return acks;
        }
    }
}
