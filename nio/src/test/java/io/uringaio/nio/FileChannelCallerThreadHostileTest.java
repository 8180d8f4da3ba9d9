package io.uringaio.nio;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writes and forces a platform thread makes on its own thread ({@link FileChannelCallerThreadTest}), against the
 * JDK's channel on the same calls: the same exception (class), the same channel state after it (open or closed), the
 * same interrupt status, the same bytes on disk.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FileChannelCallerThreadHostileTest {
    @TempDir
    Path dir;

    interface Opener {
        FileChannel open(Path path) throws Exception;
    }

    interface Call {
        Object run(FileChannel ch) throws Exception;
    }

    /** What one call did: its result or exception class, the channel's state, the thread's interrupt, the file. */
    record Outcome(String result, boolean open, boolean interrupted, String bytes) {
    }

    private static final Opener JDK = path -> FileChannel.open(path, CREATE, READ, WRITE);
    private static final Opener URING = path -> UringFiles.newFileChannel(path, CREATE, READ, WRITE);

    /** Runs {@code call} on a fresh platform thread, interrupted first when {@code interrupt}, on a 3-byte file. */
    private Outcome outcome(Opener opener, String name, boolean interrupt, Call call) throws Exception {
        Path path = dir.resolve(name);
        Files.write(path, new byte[] {1, 2, 3});
        AtomicReference<Outcome> out = new AtomicReference<>();
        AtomicReference<Throwable> broken = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (FileChannel ch = opener.open(path)) {
                if (interrupt) {
                    Thread.currentThread().interrupt();
                }
                String result;
                try {
                    result = String.valueOf(call.run(ch));
                } catch (Exception e) {
                    result = kind(e);
                }
                boolean interrupted = Thread.interrupted();
                out.set(new Outcome(result, ch.isOpen(), interrupted,
                        java.util.Arrays.toString(Files.readAllBytes(path))));
            } catch (Throwable e) {
                broken.set(e);
            }
        });
        t.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(t.isAlive());
        assertNull(broken.get());
        return out.get();
    }

    /**
     * An exception's class, the engine's errno exception counted as the plain IOException the JDK throws for an errno
     * (it is one, with the errno named).
     */
    private static String kind(Exception e) {
        return e instanceof io.uringaio.engine.UringIOException ? "IOException" : e.getClass().getSimpleName();
    }

    private void sameAsTheJdk(String name, boolean interrupt, Call call) throws Exception {
        Outcome jdk = outcome(JDK, name + "-jdk", interrupt, call);
        Outcome ours = outcome(URING, name + "-uring", interrupt, call);
        assertEquals(jdk, ours, name);
    }

    @Test
    void anInterruptedThreadsWritesAndForcesAsTheJdks() throws Exception {
        sameAsTheJdk("write", true, ch -> ch.write(ByteBuffer.wrap(new byte[] {9})));
        sameAsTheJdk("pwrite", true, ch -> ch.write(ByteBuffer.wrap(new byte[] {9}), 1));
        sameAsTheJdk("pwrite-direct", true, ch -> ch.write(ByteBuffer.allocateDirect(2), 0));
        sameAsTheJdk("force", true, ch -> {
            ch.force(false);
            return "forced";
        });
        sameAsTheJdk("force-meta", true, ch -> {
            ch.force(true);
            return "forced";
        });
        sameAsTheJdk("write-then-force", false, ch -> {
            ch.write(ByteBuffer.wrap(new byte[] {7, 7}), 2);
            Thread.currentThread().interrupt();
            ch.force(true);
            return "forced";
        });
    }

    @Test
    void oddBuffersAndPositionsAsTheJdks() throws Exception {
        sameAsTheJdk("ro-heap", false, ch -> ch.write(ByteBuffer.wrap(new byte[] {4, 5, 6}).asReadOnlyBuffer(), 1));
        sameAsTheJdk("ro-direct", false,
                ch -> ch.write(ByteBuffer.allocateDirect(4).put((byte) 8).flip().asReadOnlyBuffer()));
        sameAsTheJdk("slice", false, ch -> ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5}).slice(2, 2)));
        sameAsTheJdk("zero-at-max", false, ch -> ch.write(ByteBuffer.allocate(0), Long.MAX_VALUE));
        sameAsTheJdk("past-max", false, ch -> ch.write(ByteBuffer.wrap(new byte[] {1, 2}), Long.MAX_VALUE - 1));
        sameAsTheJdk("negative", false, ch -> ch.write(ByteBuffer.wrap(new byte[] {1}), -1));
        sameAsTheJdk("gather-one", false, ch -> ch.write(new ByteBuffer[] {ByteBuffer.allocate(0),
                ByteBuffer.wrap(new byte[] {6, 6}), ByteBuffer.allocate(0)}, 1, 1) + " position=" + ch.position());
        sameAsTheJdk("closed-arena", false, ch -> {
            Arena arena = Arena.ofShared();
            ByteBuffer gone = arena.allocate(4).asByteBuffer();
            arena.close();
            return ch.write(gone, 0);
        });
        sameAsTheJdk("confined-elsewhere", false, ch -> {
            AtomicReference<ByteBuffer> theirs = new AtomicReference<>();
            CountDownLatch made = new CountDownLatch(1);
            CountDownLatch used = new CountDownLatch(1);
            Thread owner = Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    theirs.set(arena.allocate(4).asByteBuffer());
                    made.countDown();
                    used.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            made.await();
            try {
                return ch.write(theirs.get(), 0);
            } finally {
                used.countDown();
                owner.join();
            }
        });
    }

    /**
     * A thread writes in a loop; another interrupts it once. As the JDK's: the loop ends with
     * ClosedByInterruptException, the channel is closed, the thread keeps its interrupt, the interrupter returns, and
     * the file holds whole writes only.
     */
    @Test
    void anInterruptDuringAWriteLoopClosesTheChannelAsTheJdks() throws Exception {
        for (Opener opener : new Opener[] {JDK, URING}) {
            for (int round = 0; round < 5; round++) {
                Path path = dir.resolve("loop-" + (opener == JDK) + round);
                AtomicReference<Throwable> ended = new AtomicReference<>();
                AtomicReference<Boolean> interrupted = new AtomicReference<>();
                CountDownLatch running = new CountDownLatch(1);
                FileChannel ch = opener.open(path);
                Thread writer = Thread.ofPlatform().start(() -> {
                    ByteBuffer chunk = ByteBuffer.allocate(4096);
                    try {
                        while (true) {
                            chunk.clear();
                            while (chunk.hasRemaining()) {
                                ch.write(chunk);
                            }
                            ch.force(false);
                            running.countDown();
                        }
                    } catch (Throwable e) {
                        ended.set(e);
                        interrupted.set(Thread.currentThread().isInterrupted());
                    }
                });
                assertTrue(running.await(30, TimeUnit.SECONDS));
                writer.interrupt();
                writer.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(writer.isAlive());
                assertTrue(ended.get() instanceof ClosedByInterruptException, String.valueOf(ended.get()));
                assertTrue(interrupted.get(), "the interrupt status is kept");
                assertFalse(ch.isOpen());
                assertEquals(0, Files.size(path) % 4096, "whole writes only");
            }
        }
    }

    /**
     * A shared arena closed by another thread while a FileChannel writes its buffer: as the JDK's channel (which
     * acquires the arena for the call), the close fails with IllegalStateException and every byte is written. Fails
     * on the code before dcfbcfd (the arena closed under the write, which came back short).
     */
    @Test
    void aSharedArenaCannotBeClosedUnderAWriteAsTheJdks() throws Exception {
        int size = 64 << 20;
        for (Opener opener : new Opener[] {JDK, URING}) {
            String name = opener == JDK ? "jdk" : "uring";
            Path path = dir.resolve("arena-" + name);
            Arena arena = Arena.ofShared();
            ByteBuffer src = arena.allocate(size).asByteBuffer();
            AtomicReference<Throwable> closeFailure = new AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean callEnded = new java.util.concurrent.atomic.AtomicBoolean();
            long written;
            try (FileChannel ch = opener.open(path)) {
                Thread closer = Thread.ofPlatform().start(() -> {
                    try {
                        while (Files.size(path) == 0 && !callEnded.get()) { // the write is under way once the file has grown
                            Thread.onSpinWait();
                        }
                        arena.close();
                    } catch (Throwable e) {
                        closeFailure.set(e);
                    }
                });
                try {
                    written = ch.write(src, 0);
                } finally {
                    callEnded.set(true); // a closer never spins on after the call
                    closer.join(TimeUnit.SECONDS.toMillis(30));
                }
                assertFalse(closer.isAlive());
            }
            assertEquals(size, written, name);
            // The close failed while the write ran; it succeeded only if it came after the write (a closer kept off
            // its CPU for the whole write on a loaded machine): never a failure of another kind.
            assertTrue(closeFailure.get() == null || closeFailure.get() instanceof IllegalStateException,
                    name + ": " + closeFailure.get());
            if (arena.scope().isAlive()) {
                arena.close();
            }
            assertEquals(size, Files.size(path), name);
        }
    }

    /** AsynchronousFileChannel.force on an interrupted platform thread: as the JDK's, it syncs and keeps the status. */
    @Test
    void anAsynchronousChannelsForceOnAnInterruptedThreadAsTheJdks() throws Exception {
        for (boolean uring : new boolean[] {false, true}) {
            Path path = dir.resolve("async-" + uring);
            AtomicReference<String> seen = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try (AsynchronousFileChannel ch = uring
                        ? UringFiles.newAsynchronousFileChannel(path, CREATE, READ, WRITE)
                        : AsynchronousFileChannel.open(path, CREATE, READ, WRITE)) {
                    ch.write(ByteBuffer.wrap(new byte[] {3}), 0).get();
                    Thread.currentThread().interrupt();
                    String result;
                    try {
                        ch.force(true);
                        result = "forced";
                    } catch (Exception e) {
                        result = e.getClass().getSimpleName();
                    }
                    seen.set(result + " interrupted=" + Thread.interrupted() + " open=" + ch.isOpen());
                } catch (Exception e) {
                    seen.set("broken " + e);
                }
            });
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(t.isAlive());
            assertEquals("forced interrupted=true open=true", seen.get(), uring ? "uring" : "jdk");
            assertArrayEquals(new byte[] {3}, Files.readAllBytes(path));
        }
    }
}
