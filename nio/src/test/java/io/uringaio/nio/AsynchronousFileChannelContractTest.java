package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static java.nio.file.StandardOpenOption.CREATE_NEW;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The same scenarios against the JDK's {@code AsynchronousFileChannel} and {@link UringAsynchronousFileChannel}. */
class AsynchronousFileChannelContractTest {
    private static final byte[] HELLO = "hello, uring".getBytes(StandardCharsets.US_ASCII);

    @TempDir
    Path dir;

    private Path fileWith(byte[] content) throws IOException {
        Path p = dir.resolve("f");
        Files.write(p, content);
        return p;
    }

    /** A handler that records its outcome, the attachment and the thread it ran on. */
    private static final class Recorder<V> implements CompletionHandler<V, String> {
        final CompletableFuture<Object> outcome = new CompletableFuture<>();
        volatile String attachment;
        volatile Thread thread;

        @Override
        public void completed(V result, String attachment) {
            this.attachment = attachment;
            this.thread = Thread.currentThread();
            outcome.complete(result);
        }

        @Override
        public void failed(Throwable exc, String attachment) {
            this.attachment = attachment;
            this.thread = Thread.currentThread();
            outcome.complete(exc);
        }

        Object await() throws Exception {
            return outcome.get(10, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void futuresReadAndWriteWithPositionsAndEndOfFile(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        try (AsynchronousFileChannel ch = impl.openAsync(p, null, READ, WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(5);
            assertEquals(5, ch.read(b, 7).get());
            assertEquals(5, b.position());
            assertEquals("uring", new String(b.array(), StandardCharsets.US_ASCII));
            b.clear();
            assertEquals(-1, ch.read(b, 12).get());
            assertEquals(0, b.position());
            ByteBuffer d = ByteBuffer.allocateDirect(3).put("XYZ".getBytes(StandardCharsets.US_ASCII)).flip();
            assertEquals(3, ch.write(d, 20).get());
            assertEquals(3, d.position());
            assertEquals(23, ch.size());
            ch.force(true);
            ch.truncate(10);
            assertEquals(10, ch.size());
            assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1), -1));
            assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), 0));
            assertThrows(IllegalArgumentException.class, () -> ch.truncate(-1));
        }
        try (AsynchronousFileChannel ro = impl.openAsync(p, null, READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.write(ByteBuffer.allocate(1), 0));
            assertThrows(NonWritableChannelException.class, () -> ro.truncate(0));
            assertThrows(NonWritableChannelException.class, () -> ro.tryLock(0, 1, false));
        }
        try (AsynchronousFileChannel wo = impl.openAsync(p, null, WRITE)) {
            assertThrows(NonReadableChannelException.class, () -> wo.read(ByteBuffer.allocate(1), 0));
            assertThrows(NonReadableChannelException.class, () -> wo.tryLock(0, 1, true));
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void handlersRunOnTheGivenExecutorWithTheirAttachment(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        ExecutorService executor = Executors.newFixedThreadPool(2, r -> new Thread(r, "app-handler"));
        try (AsynchronousFileChannel ch = impl.openAsync(p, executor, READ, WRITE)) {
            Recorder<Integer> read = new Recorder<>();
            ByteBuffer b = ByteBuffer.allocate(5);
            ch.read(b, 0, "att-r", read);
            assertEquals(5, read.await());
            assertEquals("att-r", read.attachment);
            assertEquals("app-handler", read.thread.getName());
            assertEquals(5, b.position());
            Recorder<Integer> write = new Recorder<>();
            ch.write(ByteBuffer.wrap(new byte[] {'!'}), 12, "att-w", write);
            assertEquals(1, write.await());
            assertEquals("app-handler", write.thread.getName());
            Recorder<Integer> eof = new Recorder<>();
            ch.read(ByteBuffer.allocate(4), 100, null, eof);
            assertEquals(-1, eof.await());
            Recorder<FileLock> lock = new Recorder<>();
            ch.lock(0, 10, false, "att-l", lock);
            FileLock l = assertInstanceOf(FileLock.class, lock.await());
            assertSame(ch, l.acquiredBy());
            assertEquals("app-handler", lock.thread.getName());
            l.release();
        } finally {
            executor.shutdown();
            assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
        }
        assertEquals("hello, uring!", Files.readString(p));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void withoutAnExecutorHandlersNeverRunOnARingThread(Impl impl) throws Exception {
        Path p = fileWith(new byte[1 << 20]);
        try (AsynchronousFileChannel ch = impl.openAsync(p, null, READ)) {
            for (int i = 0; i < 20; i++) {
                Recorder<Integer> r = new Recorder<>();
                ch.read(ByteBuffer.allocateDirect(4096), (long) i * 4096, null, r);
                assertEquals(4096, r.await());
                assertFalse(r.thread.getName().startsWith("uring-aio-nio-ring"), r.thread.getName());
                assertFalse(r.thread == Thread.currentThread(), "the handler ran on the caller");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aClosedChannelFailsFuturesAndHandlersWithClosedChannelException(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        AsynchronousFileChannel ch = impl.openAsync(p, null, READ, WRITE);
        ch.close();
        assertFalse(ch.isOpen());
        ch.close();
        ByteBuffer b = ByteBuffer.allocate(4);
        ExecutionException read = assertThrows(ExecutionException.class, () -> ch.read(b, 0).get());
        assertInstanceOf(ClosedChannelException.class, read.getCause());
        ExecutionException write = assertThrows(ExecutionException.class,
                () -> ch.write(ByteBuffer.wrap(HELLO), 0).get());
        assertInstanceOf(ClosedChannelException.class, write.getCause());
        Recorder<Integer> handler = new Recorder<>();
        ch.read(b, 0, "a", handler);
        assertInstanceOf(ClosedChannelException.class, handler.await());
        ExecutionException lock = assertThrows(ExecutionException.class, () -> ch.lock().get());
        assertInstanceOf(ClosedChannelException.class, lock.getCause());
        assertThrows(ClosedChannelException.class, ch::size);
        assertThrows(ClosedChannelException.class, () -> ch.truncate(0));
        assertThrows(ClosedChannelException.class, () -> ch.force(false));
        assertThrows(ClosedChannelException.class, () -> ch.tryLock());
        assertEquals(0, b.position());
        assertEquals("hello, uring", Files.readString(p));
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void closeCompletesEveryPendingHandlerOnce(Impl impl) throws Exception {
        Path p = fileWith(new byte[4 << 20]);
        for (int round = 0; round < 5; round++) {
            AsynchronousFileChannel ch = impl.openAsync(p, null, READ);
            int n = 64;
            CountDownLatch done = new CountDownLatch(n);
            List<Object> outcomes = new CopyOnWriteArrayList<>();
            for (int i = 0; i < n; i++) {
                ch.read(ByteBuffer.allocateDirect(64 << 10), (long) i * (64 << 10), null,
                        new CompletionHandler<Integer, Void>() {
                            @Override
                            public void completed(Integer result, Void a) {
                                outcomes.add(result);
                                done.countDown();
                            }

                            @Override
                            public void failed(Throwable exc, Void a) {
                                outcomes.add(exc);
                                done.countDown();
                            }
                        });
            }
            ch.close();
            assertTrue(done.await(10, TimeUnit.SECONDS), "every handler ran");
            assertEquals(n, outcomes.size(), "and only once");
            for (Object o : outcomes) {
                assertTrue(Integer.valueOf(64 << 10).equals(o) || o instanceof AsynchronousCloseException
                        || o instanceof ClosedChannelException, "unexpected outcome " + o);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void locksAreExclusiveHereAndInAnotherProcess(Impl impl) throws Exception {
        Path p = fileWith(HELLO);
        try (AsynchronousFileChannel ch = impl.openAsync(p, null, READ, WRITE)) {
            Future<FileLock> f = ch.lock();
            FileLock lock = f.get(10, TimeUnit.SECONDS);
            assertNotNull(lock);
            assertTrue(lock.isValid());
            assertThrows(OverlappingFileLockException.class, () -> ch.tryLock(0, 1, false));
            assertEquals("BUSY", ChildJvm.run(LockHolderMain.class, p.toString()).trim());
            lock.release();
            assertFalse(lock.isValid());
            FileLock again = ch.tryLock();
            assertNotNull(again);
            ch.close();
            assertFalse(again.isValid());
        }
        assertEquals("LOCKED", ChildJvm.run(LockHolderMain.class, p.toString()).trim());
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void createNewOnAnExistingFileFails(Impl impl) throws IOException {
        Path p = fileWith(HELLO);
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> impl.openAsync(p, null, WRITE, CREATE_NEW));
        assertThrows(java.nio.file.NoSuchFileException.class, () -> impl.openAsync(dir.resolve("no"), null, READ));
        assertThrows(UnsupportedOperationException.class,
                () -> impl.openAsync(p, null, WRITE, java.nio.file.StandardOpenOption.APPEND));
    }
}
