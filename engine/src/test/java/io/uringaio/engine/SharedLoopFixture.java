package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.EventExecutor;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;


/**
 * What the shared-event-loop tests start from ({@link SharedEventLoopHostileTest}, {@link SharedEventLoopSecondPassTest}):
 * an application's io_uring groups, engines on them and other resources, closed after each test in reverse (the
 * resources, then the engines, then the groups); files of patterned blocks; an echo connection on the group, the
 * application's own traffic that must keep working. The shared group is an io_uring feature: on the thread-pool
 * backend every test skips, saying so.
 */
abstract class SharedLoopFixture extends KernelTest {
    @TempDir
    Path dir;

    final List<IoEventLoopGroup> groups = new ArrayList<>();
    final List<RingEngine> engines = new ArrayList<>();
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void ringsOnly() {
        assumeRings("an application's Netty group carries io_uring rings only");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        for (RingEngine e : engines) {
            closeWithin(e);
        }
        for (IoEventLoopGroup g : groups) {
            assertTrue(g.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS),
                    "the application's group shut down");
        }
    }

    IoEventLoopGroup group(int loops) {
        IoEventLoopGroup g = new MultiThreadIoEventLoopGroup(loops, IoUringIoHandler.newFactory());
        groups.add(g);
        return g;
    }

    RingEngine engineOn(IoEventLoopGroup group) {
        return engineOn(config().eventLoopGroup(group));
    }

    RingEngine engineOn(RingEngineConfig config) {
        RingEngine e = RingEngine.open(config);
        engines.add(e);
        return e;
    }

    static List<EventLoop> loops(IoEventLoopGroup group) {
        List<EventLoop> all = new ArrayList<>();
        for (EventExecutor e : group) {
            all.add((EventLoop) e);
        }
        return all;
    }

    /** Runs {@code task} on {@code loop} and returns its result within the deadline. */
    static <T> T onLoop(EventExecutor loop, Callable<T> task) throws Exception {
        return await(loop.submit(task));
    }

    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i);
        }
        return b;
    }

    /** A file of {@code blocks} 4 KiB blocks, block i filled with pattern(i). */
    Path fileOf(String name, int blocks) throws Exception {
        Path p = dir.resolve(name);
        byte[] all = new byte[blocks * 4096];
        for (int i = 0; i < blocks; i++) {
            System.arraycopy(pattern(i, 4096), 0, all, i * 4096, 4096);
        }
        Files.write(p, all);
        return p;
    }

    static void assertBlock(AsyncFile f, int block) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(4096);
        assertEquals(4096, await(f.read(b, block * 4096L)));
        assertArrayEquals(pattern(block, 4096), b.array(), "block " + block);
    }

    static void assertSettled(RingEngine engine) throws InterruptedException {
        waitUntil(() -> {
            EngineStats s = engine.stats();
            return s.inFlight() == 0 && s.queued() == 0 && s.submitted() == s.completed();
        }, () -> "engine settled: " + engine.stats());
    }

    /**
     * An echo server and a client connected to it, both channels on the application's group: the application's own
     * traffic, which the engine sharing its loops must leave working.
     */
    static final class Echo implements AutoCloseable {
        final Channel server;
        final Channel client;
        final Channel accepted;
        private final LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        private final StringBuilder pending = new StringBuilder();

        Echo(IoEventLoopGroup group) throws Exception {
            CompletableFuture<Channel> child = new CompletableFuture<>();
            server = new ServerBootstrap().group(group).channel(IoUringServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            child.complete(ch);
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ctx.writeAndFlush(msg);
                                }
                            });
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            client = new Bootstrap().group(group).channel(IoUringSocketChannel.class)
                    .handler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ByteBuf buf = (ByteBuf) msg;
                            received.add(buf.toString(StandardCharsets.UTF_8));
                            buf.release();
                        }
                    }).connect(server.localAddress()).sync().channel();
            accepted = await(child);
        }

        /** Sends {@code text} and waits for its echo. */
        void roundTrip(String text) throws Exception {
            client.writeAndFlush(Unpooled.copiedBuffer(text, StandardCharsets.UTF_8)).sync();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (pending.length() < text.length()) {
                String chunk = received.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (chunk == null) {
                    fail("no echo of '" + text + "' within " + WAIT_SECONDS + " s; have '" + pending + "'");
                }
                pending.append(chunk);
            }
            assertEquals(text, pending.substring(0, text.length()));
            pending.delete(0, text.length());
        }

        @Override
        public void close() throws Exception {
            client.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
            server.close().await(WAIT_SECONDS, TimeUnit.SECONDS);
        }
    }

    /** An {@link Echo} on {@code group}, closed after the test (before the engines and groups). */
    Echo echo(IoEventLoopGroup group) throws Exception {
        return closing(new Echo(group));
    }

    /** Closes {@code c} after the test, before what was registered earlier, and before the engines and groups. */
    <T extends AutoCloseable> T closing(T c) {
        closeables.add(0, c);
        return c;
    }

    /** A raw read of an empty pipe: in flight until someone writes. */
    static Request pipeRead(Pipe pipe, MemorySegment buf, Completion done) {
        return new Request(done).prepRead(pipe.readFd, buf, 0);
    }
}
