package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AsyncFile#closeAsync()} racing writers on other threads, and a file opened right after the close: no write of
 * the closed file ever lands in the file that takes its descriptor number, each write either completes on its own file
 * or fails with {@link ClosedChannelException}, and the close completes. Pins the counted-operation close (the
 * descriptor is closed only when no operation is counted) on both backends; bounded: 30 rounds.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AsyncFileCloseRaceTest extends KernelTest {
    private static final int ROUNDS = 30;
    private static final int WRITERS = 3;

    @TempDir
    Path dir;

    @Test
    void writesRacingCloseNeverReachTheFileThatTakesTheNumber() throws Exception {
        try (RingEngine engine = engine(2)) {
            for (int round = 0; round < ROUNDS; round++) {
                Path own = dir.resolve("own-" + round);
                Path bystander = dir.resolve("bystander-" + round);
                AsyncFile file = await(engine.open(own, READ, WRITE, CREATE));
                CountDownLatch writing = new CountDownLatch(WRITERS);
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                List<Thread> writers = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    int me = w;
                    writers.add(Thread.ofPlatform().start(() -> writeUntilClosed(file, me, writing, unexpected)));
                }
                assertTrue(writing.await(20, TimeUnit.SECONDS), "writers never started");
                await(file.closeAsync());
                // The lowest free number: the closed file's, unless something else took it first.
                try (FileChannel other = FileChannel.open(bystander, CREATE, WRITE)) {
                    other.write(ByteBuffer.wrap("untouched".getBytes(StandardCharsets.US_ASCII)));
                    for (Thread t : writers) {
                        t.join(20_000);
                        assertTrue(!t.isAlive(), "a writer did not stop after the close");
                    }
                }
                assertEquals(null, unexpected.get(), "a write failed otherwise than with ClosedChannelException");
                assertEquals("untouched", Files.readString(bystander), "round " + round);
                for (byte b : Files.readAllBytes(own)) {
                    assertTrue(b == 0 || b == 'W', "a foreign byte in the closed file: " + b);
                }
            }
        }
    }

    /** Writes 'W' blocks at offsets of its own until a write fails with ClosedChannelException. */
    private static void writeUntilClosed(AsyncFile file, int me, CountDownLatch writing,
                                         AtomicReference<Throwable> unexpected) {
        ByteBuffer src = ByteBuffer.allocateDirect(512);
        while (src.hasRemaining()) {
            src.put((byte) 'W');
        }
        boolean first = true;
        for (long i = 0; ; i++) {
            CompletableFuture<Integer> f = file.write(src.clear(), (i % 64) * 512 * WRITERS + me * 512L);
            if (first) {
                writing.countDown();
                first = false;
            }
            try {
                f.get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof ClosedChannelException)) {
                    unexpected.compareAndSet(null, e.getCause());
                }
                return;
            } catch (Exception e) {
                unexpected.compareAndSet(null, e);
                return;
            }
        }
    }
}
