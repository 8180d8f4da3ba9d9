package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.BlockingOperationException;
import io.netty.util.concurrent.ScheduledFuture;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A hostile pass on the engine as a Netty application uses it: {@link RingEngineConfig#eventLoopGroup} puts the
 * engine's rings on the application's own io_uring event loops, beside its sockets. Each case asserts the typed
 * outcome AND that the bystanders (other requests and files, the application's channels and scheduled tasks on the
 * loops) are untouched, every completion runs exactly once, and nothing nobody canceled ends canceled. The shared
 * group is an io_uring feature: on the thread-pool backend every test skips, saying so.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedEventLoopHostileTest extends SharedLoopFixture {
    // ---------------------------------------------------------------- the cases

    /** A handler does file I/O and answers from the completion, on its own loop: the completion runs there. */
    @Test
    void fileIoFromAChannelHandlerCompletesOnThatSameLoop() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(group);
        Path data = fileOf("data", 8);
        AsyncFile file = await(engine.open(data, READ, WRITE));
        List<String> offLoop = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger completions = new AtomicInteger();
        CompletableFuture<Channel> child = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(group).channel(IoUringServerSocketChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        child.complete(ch);
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf in = (ByteBuf) msg;
                                int block = in.readByte() - '0';
                                in.release();
                                // Write the block (same bytes) first, then read it back: a chain on the loop.
                                ByteBuffer page = ByteBuffer.wrap(pattern(block, 4096));
                                file.write(page, block * 4096L).thenCompose(n -> {
                                    if (!ctx.executor().inEventLoop()) {
                                        offLoop.add("write " + block + " on " + Thread.currentThread().getName());
                                    }
                                    return file.read(ByteBuffer.allocate(4096), block * 4096L);
                                }).whenComplete((n, t) -> {
                                    completions.incrementAndGet();
                                    if (!ctx.executor().inEventLoop()) {
                                        offLoop.add("read " + block + " on " + Thread.currentThread().getName());
                                    }
                                    ctx.writeAndFlush(Unpooled.copiedBuffer(t == null ? "ok" + n + ";" : "err;",
                                            StandardCharsets.UTF_8));
                                });
                            }
                        });
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        LinkedBlockingQueue<String> answers = new LinkedBlockingQueue<>();
        Channel client = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                .handler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                        answers.add(((ByteBuf) msg).toString(StandardCharsets.UTF_8));
                        ((ByteBuf) msg).release();
                    }
                }).connect(server.localAddress()).sync().channel();
        try {
            StringBuilder got = new StringBuilder();
            for (int i = 0; i < 8; i++) {
                client.writeAndFlush(Unpooled.copiedBuffer(Integer.toString(i), StandardCharsets.UTF_8)).sync();
                while (got.indexOf(";") < 0) {
                    String a = answers.poll(WAIT_SECONDS, TimeUnit.SECONDS);
                    assertNotNull(a, "no answer for block " + i);
                    got.append(a);
                }
                assertEquals("ok4096;", got.substring(0, got.indexOf(";") + 1));
                got.delete(0, got.indexOf(";") + 1);
            }
            assertEquals(List.of(), offLoop, "every completion continued on the handler's loop");
            assertEquals(8, completions.get());
            for (int i = 0; i < 8; i++) {
                assertBlock(file, i);
            }
        } finally {
            client.close().sync();
            server.close().sync();
        }
        file.close();
        assertSettled(engine);
    }

    /**
     * A handler that blocks on its own file operation: the request went to the handler's own loop, which cannot run
     * it while the handler waits. join, get and get with a timeout fail at once with Netty's
     * {@link BlockingOperationException} (what its own promises throw there) instead of hanging the loop; the
     * operation itself goes on and completes once, with its own result, when the handler returned.
     */
    @Test
    void blockingOnAnOperationOfTheCallersOwnLoopFailsFastAndTheOperationStillCompletes() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        Echo echo = echo(group);
        AsyncFile file = await(engine.open(dir.resolve("self"), CREATE, READ, WRITE));
        EventLoop loop = loops(group).get(0);
        for (String how : List.of("join", "get", "getTimed")) {
            AtomicInteger completions = new AtomicInteger();
            AtomicReference<CompletableFuture<Integer>> op = new AtomicReference<>();
            Throwable thrown = onLoop(loop, () -> {
                assertTrue(engine.isEngineThread(), "a loop of the group is one of the engine's threads");
                CompletableFuture<Integer> w = file.write(ByteBuffer.wrap(pattern(7, 4096)), 0);
                w.whenComplete((n, t) -> completions.incrementAndGet());
                op.set(w);
                try {
                    switch (how) {
                        case "join" -> w.join();
                        case "get" -> w.get();
                        default -> w.get(WAIT_SECONDS, TimeUnit.SECONDS);
                    }
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            assertInstanceOf(BlockingOperationException.class, thrown, how + ": " + thrown);
            assertTrue(thrown.getMessage().contains("event loop"), thrown.getMessage());
            assertEquals(4096, await(op.get()), how + ": the operation went on");
            waitUntil(() -> completions.get() == 1, () -> how + ": completed");
            assertEquals(1, completions.get(), how + ": completed once");
        }
        echo.roundTrip("still-echoing");
        assertBlock2(file);
        file.close();
        assertSettled(engine);
    }

    /**
     * The same self-wait through a dependent stage ({@code thenApply(...).join()}, {@code whenComplete(...).get()}):
     * fails fast on the loop while the operation is not done; the operation and its dependents still complete once.
     */
    @Test
    void blockingOnADependentOfAnOperationOfTheCallersOwnLoopFailsFast() throws Exception {
        IoEventLoopGroup group = group(1);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        AsyncFile file = await(engine.open(dir.resolve("dep"), CREATE, READ, WRITE));
        EventLoop loop = loops(group).get(0);
        AtomicInteger applied = new AtomicInteger();
        AtomicReference<CompletableFuture<Integer>> dependent = new AtomicReference<>();
        Throwable thrown = onLoop(loop, () -> {
            CompletableFuture<Integer> d = file.write(ByteBuffer.wrap(pattern(3, 4096)), 0)
                    .thenApply(n -> {
                        applied.incrementAndGet();
                        return n + 1;
                    })
                    .whenComplete((n, t) -> { });
            dependent.set(d);
            try {
                d.join();
                return null;
            } catch (Throwable t) {
                return t;
            }
        });
        assertInstanceOf(BlockingOperationException.class, thrown, String.valueOf(thrown));
        assertEquals(4097, await(dependent.get()));
        assertEquals(1, applied.get());
        // Done: a join of the dependent on the loop answers at once.
        assertEquals(4097, (int) onLoop(loop, () -> dependent.get().join()));
        file.close();
        assertSettled(engine);
    }

    private static void assertBlock2(AsyncFile f) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4096);
        assertEquals(4096, await(f.read(b, 0)));
        assertArrayEquals(pattern(7, 4096), b.array());
    }

    /**
     * A future already done answers at once on any loop, its own and another's. (A wait on a loop for another loop's
     * operation not yet done fails fast, as it can deadlock: {@link SharedEventLoopSecondPassTest}.)
     */
    @Test
    void blockingOnALoopForAnOperationAlreadyDoneAnswersAtOnce() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        fileOf("other", 1);
        AsyncFile file = await(engine.open(dir.resolve("other"), READ, WRITE));
        List<EventLoop> loops = loops(group);
        // Submitted on loop 1: its request is on loop 1's ring.
        CompletableFuture<Integer> onOne = onLoop(loops.get(1),
                () -> file.read(ByteBuffer.allocate(4096), 0));
        assertEquals(4096, await(onOne));
        assertEquals(4096, (int) onLoop(loops.get(0), onOne::join));
        CompletableFuture<Integer> done = CompletableFuture.completedFuture(1);
        assertEquals(1, (int) onLoop(loops.get(0), done::join));
        // Done already: join on its own loop is fine.
        CompletableFuture<Integer> own = onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(4096), 0));
        assertEquals(4096, await(own));
        assertEquals(4096, (int) onLoop(loops.get(0), own::join));
        file.close();
        assertSettled(engine);
    }

    /**
     * The application shuts its group down while the engine is open with requests in the kernel and queued: each ends
     * exactly once, canceled by the close of its ring (typed), nothing hangs; later submissions are refused with
     * {@link EngineRejectedException} (raw) or fail the future with {@link EngineClosedException}, never hang or leak
     * an untyped exception; engine.close() then returns.
     */
    @Test
    void groupShutDownUnderAnOpenEngineEndsEveryRequestOnceAndRefusesLaterOnes() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        List<Pipe> pipes = pipes(2);
        try (Arena arena = Arena.ofShared()) {
            // Without the page-cache fast path: a cached read would be served on the calling thread, rings or not.
            RingEngine engine = RingEngine.open(config().eventLoopGroup(group).maxInFlightPerRing(4)
                    .pageCacheFastPath(false));
            fileOf("f", 1);
            AsyncFile file = await(engine.open(dir.resolve("f"), READ, WRITE));
            List<Recorder> recorders = new ArrayList<>();
            List<EventLoop> loops = loops(group);
            for (int i = 0; i < 16; i++) { // 8 per ring, 4 of them in the kernel, 4 queued in the engine
                Recorder r = new Recorder();
                recorders.add(r);
                Request read = pipeRead(pipes.get(i % 2), arena.allocate(16), r);
                onLoop(loops.get(i % 2), () -> {
                    engine.submit(read);
                    return null;
                });
            }
            waitUntil(() -> engine.stats().inFlight() == 8, () -> "8 in the kernel: " + engine.stats());
            assertEquals(8, engine.stats().queued(), engine.stats().toString());
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "the group shut down");
            for (Recorder r : recorders) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult(), "ended canceled");
                assertTrue(r.byClose, "canceled by the close of its ring, not by anybody's cancel");
            }
            // Later work: refused, typed.
            assertThrows(EngineRejectedException.class,
                    () -> engine.submit(pipeRead(pipes.get(0), arena.allocate(16), new Recorder())));
            CompletableFuture<Integer> late = file.read(ByteBuffer.allocate(16), 0);
            assertInstanceOf(EngineClosedException.class, failure(late));
            assertInstanceOf(EngineClosedException.class, failure(engine.open(dir.resolve("f"), READ)));
            closeWithin(engine);
            for (Recorder r : recorders) {
                assertEquals(1, r.calls(), "exactly once");
            }
            EngineStats s = engine.stats();
            assertEquals(0, s.inFlight(), s.toString());
            assertEquals(0, s.queued(), s.toString());
        } finally {
            closeAll(pipes);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * Submitters race the application's group shutdown (4 threads, from outside and from the loops, for at most a few
     * seconds): every submission is either refused at once with {@link EngineRejectedException} (and never completes)
     * or completes exactly once, with its bytes or with ECANCELED as canceled by close. Pipe reads are kept in the
     * kernel throughout, so the shutdown always finds requests there.
     */
    @Test
    void submittersRacingTheGroupShutdownEachGetOneTypedAnswer() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        List<Pipe> pipes = pipes(2);
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config().eventLoopGroup(group).pageCacheFastPath(false));
            fileOf("race", 1);
            AsyncFile file = await(engine.open(dir.resolve("race"), READ));
            List<EventLoop> loops = loops(group);
            List<Recorder> pending = new java.util.concurrent.CopyOnWriteArrayList<>();
            for (int i = 0; i < 8; i++) {
                Recorder r = new Recorder();
                pending.add(r);
                Request read = pipeRead(pipes.get(i % 2), arena.allocate(16), r);
                onLoop(loops.get(i % 2), () -> {
                    engine.submit(read);
                    return null;
                });
            }
            List<Recorder> accepted = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Recorder> refused = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicInteger completedOk = new AtomicInteger();
            CountDownLatch going = new CountDownLatch(4);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    MemorySegment seg = arena.allocate(4096);
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    boolean counted = false;
                    while (System.nanoTime() < end) {
                        Recorder r = new Recorder() {
                            @Override
                            public void complete(Request request, int res) {
                                super.complete(request, res);
                                if (res == 4096) {
                                    completedOk.incrementAndGet();
                                }
                            }
                        };
                        Request read = new Request(r).prepRead(file.fd(), seg, 0);
                        if (!counted) {
                            counted = true;
                            going.countDown();
                        }
                        try {
                            if (id % 2 == 0) {
                                engine.submit(read);
                                accepted.add(r);
                            } else {
                                // From a loop, as a handler would; refused there too once it shuts down.
                                CompletableFuture<Boolean> taken = new CompletableFuture<>();
                                loops.get(id / 2).execute(() -> {
                                    try {
                                        engine.submit(read);
                                        accepted.add(r);
                                        taken.complete(true);
                                    } catch (EngineRejectedException e) {
                                        refused.add(r);
                                        taken.complete(false);
                                    }
                                });
                                if (!taken.get(2, TimeUnit.SECONDS)) {
                                    break;
                                }
                            }
                            r.first.get(WAIT_SECONDS, TimeUnit.SECONDS); // one at a time: no unbounded queue
                        } catch (EngineRejectedException e) {
                            refused.add(r);
                            break;
                        } catch (java.util.concurrent.RejectedExecutionException | TimeoutException loopGone) {
                            break; // the loop refused (or dropped, dying) the task: no submission was made there
                        } catch (InterruptedException | ExecutionException e) {
                            throw new AssertionError(e);
                        }
                        if (!counted) {
                            counted = true;
                            going.countDown();
                        }
                    }
                    if (!counted) {
                        going.countDown();
                    }
                });
                threads.add(th);
                th.start();
            }
            assertTrue(going.await(WAIT_SECONDS, TimeUnit.SECONDS));
            waitUntil(() -> completedOk.get() > 100, () -> "reads completing: " + completedOk.get());
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
            for (Thread th : threads) {
                th.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
                assertFalse(th.isAlive());
            }
            for (Recorder r : pending) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult(), "a pipe read in the kernel ends canceled");
                assertTrue(r.byClose);
            }
            for (Recorder r : accepted) {
                int res = r.awaitResult();
                assertTrue(res == 4096 || (res == -ErrnoTable.ECANCELED && r.byClose), "result " + res);
            }
            closeWithin(engine);
            for (Recorder r : accepted) {
                assertEquals(1, r.calls(), "exactly once");
            }
            for (Recorder r : pending) {
                assertEquals(1, r.calls(), "exactly once");
            }
            for (Recorder r : refused) {
                assertEquals(0, r.calls(), "a refused request never completes");
            }
            assertFalse(refused.isEmpty() && accepted.isEmpty());
            EngineStats s = engine.stats();
            assertEquals(0, s.inFlight(), s.toString());
            assertEquals(s.submitted(), s.completed(), s.toString());
        } finally {
            closeAll(pipes);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * A careless handler closes the engine and at once shuts the group down, from the loop: the close (which cannot
     * wait on the loop, so finishes on another thread) and the loop's death race. Every request still ends once,
     * ECANCELED as by close, the close finishes, and nothing hangs.
     */
    @Test
    void closeFromAHandlerThenGroupShutdownFromTheSameLoop() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        List<Pipe> pipes = pipes(2);
        try (Arena arena = Arena.ofShared()) {
            RingEngine engine = RingEngine.open(config().eventLoopGroup(group));
            List<EventLoop> loops = loops(group);
            List<Recorder> recorders = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Recorder r = new Recorder();
                recorders.add(r);
                Request read = pipeRead(pipes.get(i % 2), arena.allocate(16), r);
                onLoop(loops.get(i % 2), () -> {
                    engine.submit(read);
                    return null;
                });
            }
            waitUntil(() -> engine.stats().inFlight() == 4, () -> "in flight: " + engine.stats());
            onLoop(loops.get(0), () -> {
                engine.close(); // on the engine's own thread: begins the close, returns at once
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                return null;
            });
            assertFalse(engine.isOpen());
            assertTrue(group.terminationFuture().await(WAIT_SECONDS, TimeUnit.SECONDS), "the group terminated");
            closeWithin(engine); // a second closer waits for the first close to finish
            for (Recorder r : recorders) {
                assertEquals(-ErrnoTable.ECANCELED, r.awaitResult());
                assertTrue(r.byClose);
                assertEquals(1, r.calls(), "exactly once");
            }
            EngineStats s = engine.stats();
            assertEquals(0, s.inFlight(), s.toString());
            assertEquals(s.submitted(), s.completed(), s.toString());
        } finally {
            closeAll(pipes);
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * With nothing in flight, the group shut down first: a raw submission is refused with
     * {@link EngineRejectedException} (before: Netty's untyped RejectedExecutionException, or a request left queued
     * forever while the loop was between shutting down and terminated), an AsyncFile operation fails its future with
     * {@link EngineClosedException}, the request is idle again and can be reused, and engine.close() returns.
     */
    @Test
    void submissionsAfterTheGroupShutDownAreRefusedTyped() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            RingEngine engine = RingEngine.open(config().eventLoopGroup(group).pageCacheFastPath(false));
            fileOf("g", 1);
            AsyncFile file = await(engine.open(dir.resolve("g"), READ, WRITE));
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
            Recorder never = new Recorder();
            Request raw = pipeRead(pipe, arena.allocate(16), never);
            EngineRejectedException refused = assertThrows(EngineRejectedException.class, () -> engine.submit(raw));
            assertTrue(refused.getMessage().contains("shut down"), refused.getMessage());
            assertFalse(raw.inFlight(), "the refused request is idle again");
            assertThrows(EngineRejectedException.class, () -> engine.submitBatch(new Request[] {raw}, 1));
            assertThrows(EngineRejectedException.class, () -> engine.submitLinked(raw));
            assertFalse(raw.inFlight());
            assertInstanceOf(EngineClosedException.class, failure(file.write(ByteBuffer.allocate(16), 0)));
            assertInstanceOf(EngineClosedException.class, failure(file.writeDurable(ByteBuffer.allocate(16), 0)));
            assertInstanceOf(EngineClosedException.class, failure(file.fsync()));
            closeWithin(engine);
            assertEquals(0, never.calls(), "a refused request never completes");
            EngineStats s = engine.stats();
            assertEquals(s.submitted(), s.completed(), s.toString());
            assertEquals(0, s.inFlight());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    /**
     * engine.close() leaves the application's group, its channels and its scheduled tasks running: a connection open
     * across the close still echoes, a task scheduled before the close still fires after it.
     */
    @Test
    void closingTheEngineLeavesTheApplicationsChannelsAndTasksRunning() throws Exception {
        IoEventLoopGroup group = group(2);
        Echo echo = echo(group);
        RingEngine engine = RingEngine.open(config().eventLoopGroup(group));
        echo.roundTrip("before");
        // A periodic task on every loop: the application's timers, which must keep firing across the close.
        List<AtomicInteger> ticks = new ArrayList<>();
        List<ScheduledFuture<?>> timers = new ArrayList<>();
        for (EventLoop loop : loops(group)) {
            AtomicInteger t = new AtomicInteger();
            ticks.add(t);
            timers.add(loop.scheduleAtFixedRate(t::incrementAndGet, 1, 1, TimeUnit.MILLISECONDS));
        }
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            AsyncFile file = await(engine.open(dir.resolve("x"), CREATE, READ, WRITE));
            assertEquals(4096, await(file.write(ByteBuffer.wrap(pattern(1, 4096)), 0)));
            Recorder inFlight = new Recorder();
            engine.submit(pipeRead(pipe, arena.allocate(16), inFlight));
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "in flight: " + engine.stats());
            echo.roundTrip("during");
            closeWithin(engine);
            assertEquals(-ErrnoTable.ECANCELED, inFlight.awaitResult());
            assertTrue(inFlight.byClose);
            assertEquals(1, inFlight.calls());
        }
        assertFalse(group.isShuttingDown(), "the engine left the application's group alone");
        assertTrue(echo.client.isActive() && echo.accepted.isActive(), "the connection stayed open");
        echo.roundTrip("after");
        for (AtomicInteger t : ticks) {
            int atClose = t.get();
            waitUntil(() -> t.get() > atClose + 2, () -> "the application's timer fires after the close");
        }
        for (ScheduledFuture<?> timer : timers) {
            assertFalse(timer.isDone(), "the timer was not canceled");
            timer.cancel(false);
        }
        // A new connection after the close works as well.
        Echo second = echo(group);
        second.roundTrip("new");
    }

    /** Two engines on one group: each works; closing one leaves the other's requests and files alone. */
    @Test
    void twoEnginesOnOneGroupAreIndependent() throws Exception {
        IoEventLoopGroup group = group(2);
        Echo echo = echo(group);
        RingEngine first = RingEngine.open(config().eventLoopGroup(group));
        RingEngine second = engineOn(group);
        fileOf("a", 4);
        fileOf("b", 4);
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe()) {
            AsyncFile a = await(first.open(dir.resolve("a"), READ));
            AsyncFile b = await(second.open(dir.resolve("b"), READ));
            for (int i = 0; i < 4; i++) {
                assertBlock(a, i);
                assertBlock(b, i);
            }
            Recorder secondsRead = new Recorder();
            MemorySegment buf = arena.allocate(16);
            second.submit(pipeRead(pipe, buf, secondsRead));
            waitUntil(() -> second.stats().inFlight() == 1, () -> "in flight: " + second.stats());
            Recorder firstsRead = new Recorder();
            try (Pipe other = new Pipe()) {
                first.submit(pipeRead(other, arena.allocate(16), firstsRead));
                waitUntil(() -> first.stats().inFlight() == 1, () -> "in flight: " + first.stats());
                closeWithin(first);
            }
            assertEquals(-ErrnoTable.ECANCELED, firstsRead.awaitResult());
            assertTrue(firstsRead.byClose);
            // The second engine's request is still in flight, untouched, and ends with its own result.
            assertEquals(0, secondsRead.calls(), "the other engine's request was left alone");
            assertEquals(1, second.stats().inFlight());
            pipe.write(5);
            assertEquals(5, secondsRead.awaitResult());
            assertFalse(secondsRead.byClose);
            assertEquals(1, secondsRead.calls());
            for (int i = 0; i < 4; i++) {
                assertBlock(b, i);
            }
            assertThrows(EngineRejectedException.class, () -> first.submit(pipeRead(pipe, buf, new Recorder())));
            assertInstanceOf(EngineClosedException.class, failure(a.read(ByteBuffer.allocate(16), 0)));
            echo.roundTrip("both");
            b.close();
            assertSettled(second);
        }
    }

    /** Groups with one loop and with more loops than cores: one ring per loop, each used. */
    @Test
    void groupsOfOneLoopAndOfMoreLoopsThanCoresWork() throws Exception {
        int many = Runtime.getRuntime().availableProcessors() * 2 + 1;
        for (int loops : new int[] {1, many}) {
            IoEventLoopGroup group = group(loops);
            RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
            assertEquals(loops, engine.ringCount());
            fileOf("n" + loops, 4);
            AsyncFile file = await(engine.open(dir.resolve("n" + loops), READ, WRITE));
            // From every loop (each uses its own ring) and from outside.
            List<CompletableFuture<Integer>> reads = new ArrayList<>();
            for (EventLoop loop : loops(group)) {
                reads.add(onLoop(loop, () -> file.read(ByteBuffer.allocate(4096), 4096)));
            }
            for (CompletableFuture<Integer> r : reads) {
                assertEquals(4096, await(r));
            }
            assertBlock(file, 3);
            file.close();
            assertSettled(engine);
            assertEquals(loops + 1 + 1 + 1, engine.stats().submitted(), "open, reads, read, close");
        }
    }

    /**
     * A completion that throws on a shared loop is logged; the loop goes on: the next completions of that ring, the
     * application's tasks on it and the other loops are unaffected. A completion that blocks holds up its own loop
     * only (documented: "completions must not block"); the other loop's requests and channels go on, and nothing is
     * lost once it returns.
     */
    @Test
    void aCompletionThatThrowsOrBlocksOnASharedLoopLosesNothing() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).pageCacheFastPath(false));
        List<EventLoop> loops = loops(group);
        fileOf("t", 2);
        AsyncFile file = await(engine.open(dir.resolve("t"), READ, WRITE));
        // Throwing: a raw completion and a future's dependent.
        AtomicInteger thrownRaw = new AtomicInteger();
        try (Arena arena = Arena.ofShared()) {
            Request boom = new Request((r, res) -> {
                thrownRaw.incrementAndGet();
                throw new IllegalStateException("application bug in a completion");
            });
            MemorySegment seg = arena.allocate(4096);
            onLoop(loops.get(0), () -> {
                engine.submit(boom.prepRead(fileFd(file), seg, 0));
                return null;
            });
            waitUntil(() -> thrownRaw.get() == 1, () -> "the throwing completion ran");
            CompletableFuture<Integer> dep = onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(16), 0));
            dep.thenRun(() -> {
                throw new IllegalStateException("application bug in a dependent");
            });
            assertEquals(16, await(dep));
            assertEquals("task", onLoop(loops.get(0), () -> "task"), "the loop still runs the application's tasks");
            assertEquals(16, await(onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(16), 0))));
            assertEquals(1, thrownRaw.get(), "the throwing completion ran once");
        }
        // Blocking: loop 0's completion waits on a latch; loop 1 goes on meanwhile.
        Echo echo = echo(group);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch blocking = new CountDownLatch(1);
        AtomicInteger blockedCalls = new AtomicInteger();
        // The dependent is attached on the loop, before the request can complete: it runs on loop 0's ring thread.
        onLoop(loops.get(0), () -> file.read(ByteBuffer.allocate(16), 0).whenComplete((n, t) -> {
            blockedCalls.incrementAndGet();
            blocking.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        assertTrue(blocking.await(WAIT_SECONDS, TimeUnit.SECONDS));
        // Submitted to loop 0's ring while it is held: they wait, and must not be lost.
        List<io.netty.util.concurrent.Future<CompletableFuture<Integer>>> queued = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            queued.add(loops.get(0).submit(() -> file.read(ByteBuffer.allocate(16), 4096)));
        }
        // Loop 1 is unaffected.
        assertEquals(16, await(onLoop(loops.get(1), () -> file.read(ByteBuffer.allocate(16), 0))));
        assertEquals("task1", onLoop(loops.get(1), () -> "task1"));
        release.countDown();
        for (var q : queued) {
            assertEquals(16, await(await(q)));
        }
        assertEquals(1, blockedCalls.get());
        echo.roundTrip("after-block");
        file.close();
        assertSettled(engine);
    }

    /** Virtual threads block on AsyncFile futures whose requests run on the shared loops: all complete, once each. */
    @Test
    void virtualThreadCallersOnASharedGroup() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group));
        Echo echo = echo(group);
        fileOf("v", 16);
        AsyncFile file = await(engine.open(dir.resolve("v"), READ, WRITE));
        EngineStats before = engine.stats();
        AtomicInteger ok = new AtomicInteger();
        try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<?>> all = new ArrayList<>();
            for (int t = 0; t < 32; t++) {
                int block = t % 16;
                all.add(vts.submit(() -> {
                    for (int i = 0; i < 20; i++) {
                        ByteBuffer b = ByteBuffer.allocate(4096);
                        assertEquals(4096, file.read(b, block * 4096L).join());
                        assertArrayEquals(pattern(block, 4096), b.array());
                        assertEquals(4096, file.write(ByteBuffer.wrap(pattern(block, 4096)), block * 4096L).join());
                        ok.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : all) {
                await(f);
            }
        }
        assertEquals(32 * 20, ok.get());
        echo.roundTrip("vt");
        assertSettled(engine);
        EngineStats d = engine.stats().since(before);
        assertEquals(32 * 20 * 2, d.submitted(), d.toString());
        assertEquals(d.submitted(), d.completed(), d.toString());
        file.close();
    }

    /**
     * A cancel issued on the loop that runs the request: the outcome is CANCELED and the completion runs once with
     * ECANCELED (not by close); a bystander on the same loop and one on the other loop end with their own results. A
     * join of the cancel's outcome on that same loop, before the kernel answered, fails fast instead of hanging.
     */
    @Test
    void cancelFromTheLoopThread() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(group);
        List<EventLoop> loops = loops(group);
        try (Arena arena = Arena.ofShared(); Pipe target = new Pipe(); Pipe bystander = new Pipe();
             Pipe far = new Pipe()) {
            Recorder canceled = new Recorder();
            Recorder near = new Recorder();
            Recorder other = new Recorder();
            Request t = pipeRead(target, arena.allocate(16), canceled);
            onLoop(loops.get(0), () -> {
                engine.submit(t);
                engine.submit(pipeRead(bystander, arena.allocate(16), near));
                return null;
            });
            onLoop(loops.get(1), () -> {
                engine.submit(pipeRead(far, arena.allocate(16), other));
                return null;
            });
            waitUntil(() -> engine.stats().inFlight() == 3, () -> "3 in flight: " + engine.stats());
            AtomicReference<Throwable> joinOnLoop = new AtomicReference<>();
            CompletableFuture<CancelOutcome> outcome = onLoop(loops.get(0), () -> {
                CompletableFuture<CancelOutcome> o = engine.cancel(t);
                if (!o.isDone()) {
                    try {
                        o.join();
                    } catch (Throwable e) {
                        joinOnLoop.set(e);
                    }
                }
                return o;
            });
            assertEquals(CancelOutcome.CANCELED, await(outcome));
            if (joinOnLoop.get() != null) {
                assertInstanceOf(BlockingOperationException.class, joinOnLoop.get());
            }
            assertEquals(-ErrnoTable.ECANCELED, canceled.awaitResult());
            assertFalse(canceled.byClose);
            assertEquals(0, near.calls(), "the bystander on the same loop is untouched");
            assertEquals(0, other.calls(), "the bystander on the other loop is untouched");
            bystander.write(3);
            far.write(4);
            assertEquals(3, near.awaitResult());
            assertEquals(4, other.awaitResult());
            assertSettled(engine);
            assertEquals(1, canceled.calls());
            assertEquals(1, near.calls());
            assertEquals(1, other.calls());
        }
    }

    /**
     * Caller rings and the page-cache fast path on a shared group: platform threads (caller rings), loop threads (their
     * Netty ring, or the fast path), and virtual threads all read correct data; the stats add up (every submission
     * completed, nothing in flight or queued) and the application's channels still echo.
     */
    @Test
    void callerRingsAndThePageCacheFastPathWithASharedGroup() throws Exception {
        IoEventLoopGroup group = group(2);
        RingEngine engine = engineOn(config().eventLoopGroup(group).callerRings(1).pageCacheFastPath(true));
        Echo echo = echo(group);
        fileOf("c", 8);
        AsyncFile file = await(engine.open(dir.resolve("c"), READ, WRITE));
        EngineStats before = engine.stats();
        int n = 0;
        // Platform threads: through their caller ring (or the fast path for cached data).
        for (int i = 0; i < 8; i++) {
            assertBlock(file, i);
            n++;
        }
        // Each loop: its own ring or the fast path; a blocking join there on a fast-path read is done already.
        for (EventLoop loop : loops(group)) {
            for (int i = 0; i < 8; i++) {
                int block = i;
                ByteBuffer b = ByteBuffer.allocate(4096);
                CompletableFuture<Integer> r = onLoop(loop, () -> file.read(b, block * 4096L));
                assertEquals(4096, await(r));
                assertArrayEquals(pattern(block, 4096), b.array());
                n++;
            }
        }
        try (ExecutorService vts = Executors.newVirtualThreadPerTaskExecutor()) {
            List<java.util.concurrent.Future<?>> all = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int block = i;
                all.add(vts.submit(() -> {
                    assertBlock(file, block);
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : all) {
                await(f);
            }
            n += 8;
        }
        echo.roundTrip("caller-rings");
        assertSettled(engine);
        EngineStats d = engine.stats().since(before);
        assertEquals(n, d.submitted(), d.toString());
        assertEquals(n, d.completed(), d.toString());
        file.close();
        closeWithin(engine);
        assertFalse(group.isShuttingDown());
        echo.roundTrip("after-close");
    }

    /** A group of NIO loops is refused with a message naming the cause; so is a group already shut down. */
    @Test
    void aNonIoUringGroupOrADeadGroupIsRefusedClearly() throws Exception {
        IoEventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RingEngine.open(config().eventLoopGroup(nio)));
            assertTrue(e.getMessage().contains("IoUringIoHandler"), e.getMessage());
            assertEquals("ran", await(nio.next().submit(() -> "ran")), "the refused group is left running");
        } finally {
            nio.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS);
        }
        IoEventLoopGroup dead = new MultiThreadIoEventLoopGroup(1, IoUringIoHandler.newFactory());
        assertTrue(dead.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        RuntimeException e = assertThrows(RuntimeException.class, () -> RingEngine.open(config().eventLoopGroup(dead)));
        assertTrue(e instanceof IllegalArgumentException || e instanceof IllegalStateException, e.toString());
        assertTrue(e.getMessage().contains("shut down"), e.getMessage());
    }

    private static int fileFd(AsyncFile file) throws Exception {
        java.lang.reflect.Field fd = AsyncFile.class.getDeclaredField("fd");
        fd.setAccessible(true);
        return fd.getInt(file);
    }
}
