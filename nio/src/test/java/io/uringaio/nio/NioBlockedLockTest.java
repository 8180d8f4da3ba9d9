package io.uringaio.nio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.FileLockInterruptionException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Operations that really block (a lock another process holds), ended by a close from another thread, an interrupt,
 * or a cancel: the JDK's outcome, the channel closed or not as the JDK's, and no descriptor of the file left open.
 */
@org.junit.jupiter.api.Timeout(value = 60, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class NioBlockedLockTest {
    @TempDir
    Path dir;

    private Process holder;

    /** A child process holding an exclusive lock of the whole of {@code f} until {@link #release()}. */
    private void holdLockElsewhere(Path f) throws IOException {
        holder = ChildJvm.start(List.of(), LockAndHoldMain.class, f.toString());
        BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                StandardCharsets.UTF_8));
        assertEquals("HELD", out.readLine(), "the child took the lock");
    }

    @AfterEach
    void release() throws Exception {
        if (holder != null) {
            holder.getOutputStream().close();
            if (!holder.waitFor(30, TimeUnit.SECONDS)) {
                holder.destroyForcibly();
            }
        }
    }

    private Path file() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, "hello, uring".getBytes(StandardCharsets.US_ASCII));
        return f;
    }

    /** Waits (bounded) until {@code t} is inside the native lock call: no event marks that, so its stack is polled. */
    private static void awaitBlockedInLock(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Stream.of(t.getStackTrace()).noneMatch(e -> e.getMethodName().equals("lock0"))) {
            assertTrue(System.nanoTime() < deadline, "the thread never blocked in lock: " + t.getState());
            Thread.sleep(5);
        }
    }

    /** How many of this process's descriptors are open on {@code f}. */
    private static long descriptorsOn(Path f) throws IOException {
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

    /** Runs {@code lock} on a new platform thread; what it threw (or null) and whether it was still interrupted. */
    private static Thread locker(FileChannel ch, CompletableFuture<Throwable> thrown, boolean[] interrupted) {
        return Thread.ofPlatform().start(() -> {
            try {
                FileLock l = ch.lock();
                thrown.complete(new AssertionError("locked: " + l));
            } catch (Throwable e) {
                interrupted[0] = Thread.currentThread().isInterrupted();
                thrown.complete(e);
            }
        });
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void closeFromAnotherThreadEndsABlockedLockWithAsynchronousCloseException(Impl impl) throws Exception {
        Path f = file();
        holdLockElsewhere(f);
        FileChannel ch = impl.open(f, READ, WRITE);
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        Thread t = locker(ch, thrown, new boolean[1]);
        awaitBlockedInLock(t);
        ch.close();
        Throwable e = thrown.get(30, TimeUnit.SECONDS);
        assertInstanceOf(AsynchronousCloseException.class, e);
        assertFalse(e instanceof ClosedByInterruptException, e.toString());
        assertFalse(ch.isOpen());
        t.join();
        assertEquals(0, descriptorsOn(f), "no descriptor left on the file");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anInterruptEndsABlockedLockAndClosesTheChannel(Impl impl) throws Exception {
        Path f = file();
        holdLockElsewhere(f);
        FileChannel ch = impl.open(f, READ, WRITE);
        CompletableFuture<Throwable> thrown = new CompletableFuture<>();
        boolean[] interrupted = new boolean[1];
        Thread t = locker(ch, thrown, interrupted);
        awaitBlockedInLock(t);
        t.interrupt();
        assertInstanceOf(FileLockInterruptionException.class, thrown.get(30, TimeUnit.SECONDS));
        t.join();
        assertTrue(interrupted[0], "the interrupt status kept");
        assertFalse(ch.isOpen(), "the channel closed, as the JDK's");
        assertEquals(0, descriptorsOn(f), "no descriptor left on the file");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aPendingAsynchronousLockCanBeCancelled(Impl impl) throws Exception {
        Path f = file();
        holdLockElsewhere(f);
        AsynchronousFileChannel ch = impl.openAsync(f, null, READ, WRITE);
        Future<FileLock> lock = ch.lock(0, 10, false);
        assertFalse(lock.isDone(), "another process holds the lock");
        assertTrue(lock.cancel(false), "a pending operation cancels");
        assertTrue(lock.isCancelled());
        assertTrue(lock.isDone());
        assertThrows(CancellationException.class, lock::get);
        assertFalse(lock.cancel(false), "once");
        assertTrue(ch.isOpen(), "cancel(false) leaves the channel open");
        Future<FileLock> second = ch.lock(100, 1, true); // (the JDK keeps the cancelled one in its lock table)
        assertTrue(second.cancel(true));
        assertFalse(ch.isOpen(), "cancel(true) closes the channel, as the JDK's");
        assertThrows(CancellationException.class, () -> second.get(30, TimeUnit.SECONDS));
        assertEquals(0, descriptorsOn(f), "no descriptor left on the file");
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void closeFailsAPendingLockHandlerOnce(Impl impl) throws Exception {
        Path f = file();
        holdLockElsewhere(f);
        AsynchronousFileChannel ch = impl.openAsync(f, null, READ, WRITE);
        List<Object> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<Void> first = new CompletableFuture<>();
        ch.lock(0, Long.MAX_VALUE, false, "att", new CompletionHandler<FileLock, String>() {
            @Override
            public void completed(FileLock result, String attachment) {
                outcomes.add(result);
                first.complete(null);
            }

            @Override
            public void failed(Throwable exc, String attachment) {
                outcomes.add(exc.getClass().getName() + " " + attachment);
                first.complete(null);
            }
        });
        ch.close();
        first.get(30, TimeUnit.SECONDS);
        assertEquals(List.of(AsynchronousCloseException.class.getName() + " att"), outcomes);
        assertEquals(0, descriptorsOn(f), "no descriptor left on the file");
    }
}
