package io.uringaio.nio;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.CompletionHandler;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile inputs to {@link UringAsynchronousFileChannel}, each run on the JDK's {@code AsynchronousFileChannel} and on
 * ours: what the call throws, what its future or handler gets, and what it left (the file, the buffer, the channel
 * open or not, a bystander channel on the same file) must be the JDK's.
 */
class NioAsyncHostileTest {
    private static final byte[] HELLO = "hello, uring".getBytes(StandardCharsets.US_ASCII);
    private static final OpenOption[] RW = {READ, WRITE};
    private static final OpenOption[] RO = {READ};
    private static final OpenOption[] WO = {WRITE};

    @TempDir
    Path dir;

    @FunctionalInterface
    interface Scenario {
        Object run(AsynchronousFileChannel channel) throws Throwable;
    }

    private static Arguments c(String name, OpenOption[] options, Scenario scenario) {
        return Arguments.of(name, options, scenario);
    }

    /** A handler's outcome: "completed v attachment" or "failed Type attachment", once (a second call is recorded). */
    static class Outcome<V> implements CompletionHandler<V, Object> {
        final CompletableFuture<String> first = new CompletableFuture<>();
        final List<String> all = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public void completed(V result, Object attachment) {
            record("completed " + NioHostileTest.outcome(() -> result).substring(2) + " att=" + attachment);
        }

        @Override
        public void failed(Throwable exc, Object attachment) {
            record("failed " + NioHostileTest.outcome(() -> {
                throw exc;
            }).substring(2) + " att=" + attachment);
        }

        private void record(String s) {
            all.add(s);
            first.complete(s);
        }

        String await() throws Exception {
            try {
                return first.get(10, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                return "no handler call in 10 s";
            }
        }
    }

    /** A future's outcome: its value, or the type of its ExecutionException's cause. */
    static String await(Future<?> f) throws Exception {
        try {
            Object v = f.get(10, TimeUnit.SECONDS);
            return "value " + NioHostileTest.outcome(() -> v);
        } catch (ExecutionException e) {
            return "cause " + NioHostileTest.outcome(() -> {
                throw e.getCause();
            });
        } catch (TimeoutException e) {
            return "not done in 10 s";
        }
    }

    static Stream<Arguments> asyncCases() {
        return Stream.of(
                c("read with a null handler", RW, ch -> {
                    ByteBuffer b = ByteBuffer.allocate(4);
                    return NioHostileTest.outcome(() -> {
                        ch.read(b, 0, "a", null);
                        return null;
                    }) + NioHostileTest.show(b);
                }),
                c("write with a null handler writes nothing", RW, ch -> {
                    ch.write(ByteBuffer.wrap(new byte[] {'X'}), 0, "a", null);
                    return null;
                }),
                c("read with a null attachment", RW, ch -> {
                    Outcome<Integer> h = new Outcome<>();
                    ByteBuffer b = ByteBuffer.allocate(4);
                    ch.read(b, 0, null, h);
                    return h.await() + NioHostileTest.show(b);
                }),
                c("every call with the interrupt status set: nothing closes, the status stays", RW, ch -> {
                    List<String> all = new ArrayList<>();
                    for (Callable<Object> call : List.<Callable<Object>>of(ch::size, () -> {
                        ch.force(true);
                        return "forced";
                    }, () -> ch.truncate(11).size(), () -> ch.tryLock(0, 1, false).isValid(), () -> {
                        ch.lock(2, 1, false); // its region is taken at the call (an overlap would throw here)
                        return "started";
                    }, () -> ch.tryLock(2, 1, false), () -> ch.tryLock(0, 1, false))) {
                        Thread.currentThread().interrupt();
                        String outcome = NioHostileTest.outcome(call::call);
                        all.add(outcome + " interrupted=" + Thread.interrupted() + " open=" + ch.isOpen());
                    }
                    // (a Future's get is left out: the JDK's throws InterruptedException only while it must wait,
                    // and whether an operation is done by then is timing)
                    return all;
                }),
                c("read with a null buffer", RW, ch -> ch.read(null, 0)),
                c("read into a null buffer on a closed channel", RW, ch -> {
                    ch.close();
                    return ch.read(null, 0);
                }),
                c("write a null buffer", RW, ch -> ch.write(null, 0)),
                c("write a null buffer at a negative position", RW, ch -> ch.write(null, -1)),
                c("write a null buffer on a read-only channel", RO, ch -> ch.write(null, 0)),
                c("write a null buffer to a closed channel", RW, ch -> {
                    ch.close();
                    return await(ch.write(null, 0));
                }),
                c("write a null buffer with a handler to a closed channel", RW, ch -> {
                    ch.close();
                    Outcome<Integer> h = new Outcome<>();
                    ch.write(null, 0, "w", h);
                    return h.await();
                }),
                c("truncate a closed read-only channel", RO, ch -> {
                    ch.close();
                    return ch.truncate(0);
                }),
                c("truncate a closed channel to a negative size", RW, ch -> {
                    ch.close();
                    return ch.truncate(-1);
                }),
                c("read into a read-only buffer on a write-only channel", WO,
                        ch -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), 0)),
                c("read at a negative position into a read-only buffer", RW,
                        ch -> ch.read(ByteBuffer.allocate(1).asReadOnlyBuffer(), -1)),
                c("read at a negative position on a write-only channel", WO,
                        ch -> ch.read(ByteBuffer.allocate(1), -1)),
                c("write at a negative position on a read-only channel", RO,
                        ch -> ch.write(ByteBuffer.allocate(1), -1)),
                c("read at Long.MAX_VALUE", RW, ch -> await(ch.read(ByteBuffer.allocate(4), Long.MAX_VALUE))),
                c("write whose end overflows a long", RW,
                        ch -> await(ch.write(ByteBuffer.allocate(10), Long.MAX_VALUE - 5))),
                c("read with no room at the end", RW, ch -> await(ch.read(ByteBuffer.allocate(0), 100))),
                c("write of nothing past the end", RW, ch -> await(ch.write(ByteBuffer.allocate(0), 100))),
                c("truncate past the size", RW, ch -> ch.truncate(100).size()),
                c("lock overlapping its own lock", RW, ch -> {
                    FileLock l = ch.lock(0, 10, false).get();
                    try {
                        return NioHostileTest.outcome(() -> ch.lock(5, 10, false)) + " "
                                + NioHostileTest.outcome(() -> ch.tryLock(5, 10, false));
                    } finally {
                        l.release();
                    }
                }),
                c("shared lock on a write-only channel", WO, ch -> ch.lock(0, 1, true)),
                c("lock at a negative position", RW, ch -> ch.lock(-1, 1, false)),
                c("lock release twice and after close", RW, ch -> {
                    FileLock l = ch.lock().get();
                    l.release();
                    l.release();
                    FileLock m = ch.tryLock();
                    ch.close();
                    return m.isValid() + " " + NioHostileTest.outcome(() -> {
                        m.release();
                        return null;
                    });
                }),
                c("every operation after close: handlers fail, nothing throws", RW, ch -> {
                    ch.close();
                    List<String> all = new ArrayList<>();
                    Outcome<Integer> r = new Outcome<>();
                    ch.read(ByteBuffer.allocate(4), 0, "r", r);
                    all.add(r.await());
                    Outcome<Integer> w = new Outcome<>();
                    ch.write(ByteBuffer.allocate(4), 0, "w", w);
                    all.add(w.await());
                    Outcome<FileLock> l = new Outcome<>();
                    ch.lock(0, 1, false, "l", l);
                    all.add(l.await());
                    all.add(await(ch.read(ByteBuffer.allocate(4), 0)));
                    all.add(await(ch.write(ByteBuffer.allocate(4), 0)));
                    all.add(await(ch.lock()));
                    all.add(NioHostileTest.outcome(() -> ch.read(ByteBuffer.allocate(4), -1)));
                    all.add(NioHostileTest.outcome(ch::size));
                    all.add(NioHostileTest.outcome(() -> ch.truncate(-1)));
                    // The JDK's says AsynchronousCloseException here, a ClosedChannelException as documented
                    all.add(NioHostileTest.outcome(() -> {
                        try {
                            return ch.truncate(1);
                        } catch (java.nio.channels.AsynchronousCloseException e) {
                            throw new java.nio.channels.ClosedChannelException();
                        }
                    }));
                    all.add(NioHostileTest.outcome(() -> {
                        ch.force(true);
                        return null;
                    }));
                    all.add(NioHostileTest.outcome(() -> ch.tryLock()));
                    return String.join("\n", all);
                }),
                c("a handler that throws does not stop the next", RW, ch -> {
                    CountDownLatch thrown = new CountDownLatch(1);
                    ch.read(ByteBuffer.allocate(4), 0, null, new CompletionHandler<Integer, Object>() {
                        @Override
                        public void completed(Integer result, Object attachment) {
                            thrown.countDown();
                            throw new IllegalStateException("a handler's bug");
                        }

                        @Override
                        public void failed(Throwable exc, Object attachment) {
                        }
                    });
                    assertTrue(thrown.await(10, TimeUnit.SECONDS));
                    Outcome<Integer> next = new Outcome<>();
                    ch.write(ByteBuffer.wrap(new byte[] {'!'}), 12, "n", next);
                    return next.await() + " " + await(ch.read(ByteBuffer.allocate(13), 0));
                }),
                c("many operations from two threads", RW, ch -> {
                    List<Future<Integer>> writes = new java.util.concurrent.CopyOnWriteArrayList<>();
                    Thread a = Thread.ofPlatform().start(() -> {
                        for (int k = 0; k < 200; k++) {
                            writes.add(ch.write(ByteBuffer.wrap(new byte[] {(byte) ('a' + k % 26)}), 100 + k));
                        }
                    });
                    Thread b = Thread.ofPlatform().start(() -> {
                        for (int k = 0; k < 200; k++) {
                            writes.add(ch.write(ByteBuffer.wrap(new byte[] {(byte) ('A' + k % 26)}), 300 + k));
                        }
                    });
                    a.join();
                    b.join();
                    int total = 0;
                    for (Future<Integer> f : writes) {
                        total += f.get(10, TimeUnit.SECONDS);
                    }
                    return total + " " + ch.size();
                })
        );
    }

    /** Runs a scenario on a fresh file: its outcome and what it left, as text. */
    private String observe(Impl impl, OpenOption[] options, Scenario scenario) throws Exception {
        Path sub = Files.createDirectory(dir.resolve(impl.name()));
        Path f = sub.resolve("f");
        Files.write(f, HELLO);
        ExecutorService executor = Executors.newFixedThreadPool(2);
        AsynchronousFileChannel ch = impl.openAsync(f, executor, options);
        try (AsynchronousFileChannel bystander = impl.openAsync(f, null, READ, WRITE)) {
            StringBuilder s = new StringBuilder(NioHostileTest.outcome(() -> scenario.run(ch)));
            s.append("\nopen=").append(ch.isOpen());
            // let anything the call started finish, so the file shows all of it
            ch.close();
            byte[] content = Files.readAllBytes(f);
            s.append("\nfile=").append(content.length > 64 ? content.length + " bytes, hash "
                    + java.util.Arrays.hashCode(content) : new String(content, StandardCharsets.ISO_8859_1)
                    .replace('\0', '.'));
            ByteBuffer b = ByteBuffer.allocate(4);
            s.append("\nbystander ").append(await(bystander.read(b, 0))).append(NioHostileTest.show(b));
            return s.toString();
        } finally {
            ch.close();
            executor.shutdown();
            assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("asyncCases")
    void asynchronousFileChannelBehavesAsTheJdks(String name, OpenOption[] options, Scenario scenario)
            throws Exception {
        String jdk = observe(Impl.JDK, options, scenario);
        String uring = observe(Impl.URING, options, scenario);
        assertEquals(jdk, uring, name);
    }

    /** An executor service that hands each task to {@code execute}; shut down as a flag. */
    static final class Custom extends AbstractExecutorService {
        private final java.util.function.Consumer<Runnable> execute;
        private volatile boolean shutdown;

        Custom(java.util.function.Consumer<Runnable> execute) {
            this.execute = execute;
        }

        @Override
        public void execute(Runnable command) {
            execute.accept(command);
        }

        @Override
        public void shutdown() {
            shutdown = true;
        }

        @Override
        public List<Runnable> shutdownNow() {
            shutdown = true;
            return List.of();
        }

        @Override
        public boolean isShutdown() {
            return shutdown;
        }

        @Override
        public boolean isTerminated() {
            return shutdown;
        }

        @Override
        public boolean awaitTermination(long timeout, TimeUnit unit) {
            return true;
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anExecutorThatRefusesTheHandlerNeverLosesTheCompletion(Impl impl) throws Exception {
        // The JDK runs the I/O itself on the executor: a refusal is thrown to the caller and nothing is written. An
        // operation of ours is in the kernel before its handler needs the executor; a refusal then must not drop the
        // completion silently: the caller learns of it one way or the other.
        Path f = dir.resolve("f");
        Files.write(f, HELLO);
        Custom refusing = new Custom(r -> {
            throw new RejectedExecutionException("refused");
        });
        try (AsynchronousFileChannel ch = impl.openAsync(f, refusing, READ, WRITE)) {
            Outcome<Integer> h = new Outcome<>();
            String call = NioHostileTest.outcome(() -> {
                ch.write(ByteBuffer.wrap(new byte[] {'J'}), 0, "w", h);
                return null;
            });
            String result = call.startsWith("! ") ? call : h.await();
            assertTrue(call.equals("! java.util.concurrent.RejectedExecutionException")
                    || result.equals("completed 1 att=w"), "call: " + call + ", handler: " + result);
            assertEquals(call.startsWith("! ") ? "hello, uring" : "Jello, uring", Files.readString(f));
        }
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void aDirectExecutorNeverRunsAHandlerOnARingThread(Impl impl) throws Exception {
        // An executor that runs the task in execute (caller-runs) must not bring user code onto a ring's thread:
        // a handler that then waits for I/O of the same engine would wait for the thread it blocks.
        Path f = dir.resolve("f");
        Files.write(f, HELLO);
        List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AsynchronousFileChannel ch = impl.openAsync(f, new Custom(Runnable::run), READ, WRITE)) {
            for (int i = 0; i < 20; i++) {
                Outcome<Integer> h = new Outcome<>() {
                    @Override
                    public void completed(Integer result, Object attachment) {
                        threads.add(Thread.currentThread().getName());
                        super.completed(result, attachment);
                    }
                };
                ch.write(ByteBuffer.wrap(new byte[] {'!'}), 12 + i, null, h);
                assertEquals("completed 1 att=null", h.await());
            }
        }
        assertEquals(List.of(), threads.stream().filter(t -> t.startsWith("uring-aio-nio-ring")).toList());
    }

    @ParameterizedTest
    @EnumSource(Impl.class)
    void anExecutorThatBlocksDoesNotStallOtherChannels(Impl impl) throws Exception {
        // An executor may block in execute (a bounded queue waiting for room; the JDK asks for one that does not):
        // that may hold up that channel's handlers, never the other channels of the process, which share the engine.
        Path f = dir.resolve("f");
        Files.write(f, new byte[1 << 16]);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocked = new CountDownLatch(1);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Custom blocking = new Custom(r -> {
            blocked.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            pool.execute(r);
        });
        Outcome<Integer> stuck = new Outcome<>();
        try (AsynchronousFileChannel a = impl.openAsync(f, blocking, READ, WRITE);
             AsynchronousFileChannel b = impl.openAsync(f, null, READ, WRITE)) {
            // a write: its completion comes from the ring (a cached read would complete on the calling thread)
            Thread.ofPlatform().start(() -> a.write(ByteBuffer.allocate(16), 0, "a", stuck));
            assertTrue(blocked.await(10, TimeUnit.SECONDS), "the executor was asked");
            List<String> others = new ArrayList<>();
            for (int i = 0; i < 32 && !others.contains("not done in 10 s"); i++) {
                // writes: a read of a cached page would be served on this thread, without the ring
                others.add(await(b.write(ByteBuffer.allocateDirect(1024), i * 1024L)));
            }
            release.countDown();
            assertEquals(java.util.Collections.nCopies(32, "value = 1024"), others);
            assertEquals("completed 16 att=a", stuck.await());
        } finally {
            release.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @org.junit.jupiter.api.Test
    void aBufferOfAClosedArenaIsRefusedAtTheCall() throws Exception {
        // The JDK's channel here never completes the future nor calls the handler (its task dies in the executor
        // with the IllegalStateException); ours refuses the call, as its FileChannel does, and submits nothing.
        Path f = dir.resolve("f");
        Files.write(f, HELLO);
        try (AsynchronousFileChannel ch = Impl.URING.openAsync(f, null, READ, WRITE)) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> ch.read(NioHostileTest.closedArenaBuffer(), 0));
            Outcome<Integer> h = new Outcome<>();
            org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> ch.write(NioHostileTest.closedArenaBuffer(), 0, "w", h));
            assertEquals("value = 1", await(ch.write(ByteBuffer.wrap(new byte[] {'J'}), 0)), "the channel works");
            assertEquals(false, h.first.isDone(), "no handler call for a refused call");
        }
        assertEquals("Jello, uring", Files.readString(f));
    }
}
