package io.uringaio.storage;

import static io.uringaio.storage.StorageTesting.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.uringaio.engine.Backend;
import io.netty.channel.uring.IoUring;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AppendLog#close()} racing appenders on other threads, with small segments so that segments roll during the
 * race: every append either is acknowledged and then read back at its position with its bytes, or fails with
 * {@link LogClosedException} and is not in the log; nothing else is in the log; a file opened right after the close
 * (which may take a segment's descriptor number) is untouched. Both backends; bounded: 5 rounds each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AppendLogCloseRaceTest {
    private static final int ROUNDS = 5;
    private static final int APPENDERS = 3;

    @TempDir
    Path dir;

    /** Storage's suite runs on the default backend only: this case names both. */
    @ParameterizedTest
    @EnumSource(value = Backend.class, names = {"IO_URING", "THREAD_POOL"})
    void appendsRacingCloseAreAcknowledgedAndReadableOrRefusedAndAbsent(Backend backend) throws Exception {
        assumeTrue(backend != Backend.IO_URING || IoUring.isAvailable(),
                () -> "io_uring is not available here: " + IoUring.unavailabilityCause());
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1).ringSize(256).backend(backend))) {
            for (int round = 0; round < ROUNDS; round++) {
                Path logDir = Files.createDirectories(dir.resolve(backend + "-log-" + round));
                AppendLog log = AppendLog.open(engine, logDir, new AppendLogConfig().segmentBytes(64 * 1024));
                Map<Long, String> acknowledged = new ConcurrentHashMap<>();
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                CountDownLatch appending = new CountDownLatch(APPENDERS);
                List<Thread> appenders = new ArrayList<>();
                for (int a = 0; a < APPENDERS; a++) {
                    int me = a;
                    appenders.add(Thread.ofPlatform().start(
                            () -> appendUntilClosed(log, me, appending, acknowledged, unexpected)));
                }
                assertTrue(appending.await(20, TimeUnit.SECONDS), "appenders never started");
                log.close();
                Path bystander = dir.resolve(backend + "-bystander-" + round);
                Files.writeString(bystander, "untouched");
                for (Thread t : appenders) {
                    t.join(20_000);
                    assertTrue(!t.isAlive(), "an appender did not stop after the close");
                }
                assertEquals(null, unexpected.get(), "an append failed otherwise than with LogClosedException");
                Map<Long, String> found = new ConcurrentHashMap<>();
                try (AppendLog reopened = AppendLog.open(engine, logDir)) {
                    reopened.read(0, (position, payload) -> {
                        byte[] b = new byte[payload.remaining()];
                        payload.get(payload.position(), b);
                        found.put(position, new String(b, java.nio.charset.StandardCharsets.US_ASCII));
                        return true;
                    });
                }
                assertEquals(acknowledged, found, "round " + round + ": the log holds exactly the acknowledged records");
                assertEquals("untouched", Files.readString(bystander));
            }
        }
    }

    /** Appends records of its own until one is refused with LogClosedException; records what was acknowledged. */
    private static void appendUntilClosed(AppendLog log, int me, CountDownLatch appending,
                                          Map<Long, String> acknowledged, AtomicReference<Throwable> unexpected) {
        boolean first = true;
        for (long i = 0; ; i++) {
            String text = "appender " + me + " record " + i + " " + "x".repeat((int) (i % 300));
            CompletableFuture<Long> f = log.append(ByteBuffer.wrap(text.getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII)));
            if (first) {
                appending.countDown();
                first = false;
            }
            try {
                acknowledged.put(await(f), text);
            } catch (LogClosedException closed) {
                return;
            } catch (Exception e) {
                Throwable cause = e instanceof ExecutionException ee ? ee.getCause() : e;
                if (!(cause instanceof LogClosedException)) {
                    unexpected.compareAndSet(null, cause);
                }
                return;
            }
        }
    }
}
