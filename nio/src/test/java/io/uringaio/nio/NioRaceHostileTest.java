package io.uringaio.nio;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two threads on one channel doing everything at once (relative and positional I/O, size, truncate, locks, transfers,
 * force), ended by a close from a third thread or by an interrupt: each call ends with a result or one of the
 * exceptions the JDK documents for it, nothing hangs, the channel ends closed, and no descriptor of the file is left.
 * Bounded: a fixed number of rounds, each a few milliseconds of work.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NioRaceHostileTest {
    private static final int ROUNDS = 30;

    @TempDir
    Path dir;

    /** How many of this process's descriptors are open on {@code f}. */
    static long descriptorsOn(Path f) throws IOException {
        Path real = f.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException gone) {
                    return false;
                }
            }).count();
        }
    }

    /** An end a call may have when the channel is closed or interrupted under it; anything else is a defect. */
    private static boolean expected(Throwable e) {
        return e instanceof ClosedChannelException // also AsynchronousCloseException, ClosedByInterruptException
                || e instanceof FileLockInterruptionException
                || e instanceof OverlappingFileLockException; // two workers locking the same range
    }

    /** One worker's mix of calls, until one throws (the channel was closed) or {@code ops} are done. */
    private static void work(FileChannel ch, int seed, int ops, List<Throwable> unexpected, Path other) {
        ByteBuffer heap = ByteBuffer.allocate(512);
        ByteBuffer direct = ByteBuffer.allocateDirect(512);
        try (FileChannel target = FileChannel.open(other, READ, WRITE)) {
            for (int i = 0; i < ops; i++) {
                heap.clear();
                direct.clear();
                switch ((seed + i) % 12) {
                    case 0 -> ch.read(heap);
                    case 1 -> ch.write(direct, (i % 16) * 512L);
                    case 2 -> ch.read(new ByteBuffer[] {heap, direct});
                    case 3 -> ch.write(new ByteBuffer[] {heap, direct});
                    case 4 -> ch.position((i % 8) * 100L);
                    case 5 -> ch.size();
                    case 6 -> ch.truncate(8192 - (i % 4) * 1024L);
                    case 7 -> {
                        FileLock l = ch.tryLock(seed * 100_000L + i, 1, false);
                        if (l != null) {
                            l.release();
                        }
                    }
                    case 8 -> ch.transferTo(0, 256, target);
                    case 9 -> ch.transferFrom(target, 1000, 128);
                    case 10 -> ch.force(false);
                    default -> ch.read(direct, (i % 16) * 512L);
                }
            }
        } catch (Throwable e) {
            if (!expected(e)) {
                unexpected.add(e);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void closeOrInterruptUnderTwoBusyThreadsEndsCleanly(Impl impl) throws Exception {
        Path f = dir.resolve("f");
        Path other = dir.resolve("other");
        Files.write(f, new byte[8192]);
        Files.write(other, new byte[4096]);
        List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            FileChannel ch = impl.open(f, READ, WRITE);
            CountDownLatch started = new CountDownLatch(2);
            int base = round;
            Thread[] workers = new Thread[2];
            for (int w = 0; w < 2; w++) {
                int seed = base * 7 + w * 5;
                workers[w] = Thread.ofPlatform().start(() -> {
                    started.countDown();
                    work(ch, seed, 100_000, unexpected, other);
                });
            }
            assertTrue(started.await(10, TimeUnit.SECONDS));
            if (round % 2 == 0) {
                ch.close();
            } else {
                workers[round % 4 == 1 ? 0 : 1].interrupt();
            }
            for (Thread t : workers) {
                t.join(TimeUnit.SECONDS.toMillis(20));
                assertFalse(t.isAlive(), "a worker hung: " + java.util.Arrays.toString(t.getStackTrace()));
            }
            assertFalse(ch.isOpen(), "round " + round + ": the channel closed");
            assertEquals(List.of(), unexpected, "round " + round);
            assertEquals(0, descriptorsOn(f), "round " + round + ": no descriptor left on the file");
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void asynchronousCloseUnderTwoBusyThreadsEndsCleanly(Impl impl) throws Exception {
        Path f = dir.resolve("f");
        Files.write(f, new byte[8192]);
        List<Throwable> unexpected = new CopyOnWriteArrayList<>();
        for (int round = 0; round < ROUNDS; round++) {
            AsynchronousFileChannel ch = impl.openAsync(f, null, READ, WRITE);
            CountDownLatch started = new CountDownLatch(2);
            Thread[] workers = new Thread[2];
            for (int w = 0; w < 2; w++) {
                int seed = w;
                workers[w] = Thread.ofPlatform().start(() -> {
                    started.countDown();
                    ByteBuffer b = ByteBuffer.allocateDirect(512);
                    for (int i = 0; i < 100_000; i++) {
                        try {
                            b.clear();
                            Future<?> op = switch ((seed + i) % 5) {
                                case 0 -> ch.read(b, (i % 16) * 512L);
                                case 1 -> ch.write(b, (i % 16) * 512L);
                                case 2 -> ch.lock(seed * 100_000L + i, 1, false);
                                default -> {
                                    ch.size();
                                    ch.truncate(8192);
                                    ch.force(false);
                                    yield null;
                                }
                            };
                            if (op != null) {
                                Object v = op.get(20, TimeUnit.SECONDS);
                                if (v instanceof FileLock l) {
                                    l.release();
                                }
                            }
                        } catch (ExecutionException e) {
                            if (!(e.getCause() instanceof ClosedChannelException)) {
                                unexpected.add(e.getCause());
                            }
                            return;
                        } catch (Throwable e) {
                            if (!(e instanceof ClosedChannelException)) {
                                unexpected.add(e);
                            }
                            return;
                        }
                    }
                });
            }
            assertTrue(started.await(10, TimeUnit.SECONDS));
            ch.close();
            for (Thread t : workers) {
                t.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(t.isAlive(), "a worker hung: " + java.util.Arrays.toString(t.getStackTrace()));
            }
            assertEquals(List.of(), unexpected, "round " + round);
            assertEquals(0, descriptorsOn(f), "round " + round + ": no descriptor left on the file");
        }
    }
}
