package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.uring.IoUringIoHandler;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The engine on an event loop group the application owns. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EventLoopGroupTest extends KernelTest {
    @org.junit.jupiter.api.BeforeEach
    void ringsOnly() {
        assumeRings("rings on an application's Netty loops");
    }

    @TempDir
    Path dir;

    @Test
    void runsOnAnApplicationGroupAndLeavesItRunning() throws Exception {
        IoEventLoopGroup group = new MultiThreadIoEventLoopGroup(2, IoUringIoHandler.newFactory());
        try {
            RingEngine engine = RingEngine.open(config().eventLoopGroup(group));
            Set<String> threads = ConcurrentHashMap.newKeySet();
            try {
                assertEquals(2, engine.ringCount());
                AsyncFile f = await(engine.open(dir.resolve("shared"), CREATE, READ, WRITE));
                List<CompletableFuture<Integer>> writes = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    byte[] chunk = new byte[4096];
                    java.util.Arrays.fill(chunk, (byte) i);
                    writes.add(f.write(ByteBuffer.wrap(chunk), i * 4096L)
                            .whenComplete((n, t) -> threads.add(Thread.currentThread().getName())));
                }
                for (CompletableFuture<Integer> w : writes) {
                    assertEquals(4096, await(w));
                }
                await(f.fsync());
                for (int i = 0; i < 64; i++) {
                    ByteBuffer b = ByteBuffer.allocate(4096);
                    assertEquals(4096, await(f.read(b, i * 4096L)));
                    byte[] expected = new byte[4096];
                    java.util.Arrays.fill(expected, (byte) i);
                    assertArrayEquals(expected, b.array());
                }
                f.close();
            } finally {
                closeWithin(engine);
            }
            assertFalse(engine.isOpen());
            assertFalse(group.isShuttingDown(), "the engine left the application's group alone");
            // The group still runs tasks, on both loops.
            for (int i = 0; i < 2; i++) {
                assertEquals("ran", group.next().submit(() -> "ran").get(WAIT_SECONDS, TimeUnit.SECONDS));
            }
            assertEquals("later", group.schedule(() -> "later", 1, TimeUnit.MILLISECONDS)
                    .get(WAIT_SECONDS, TimeUnit.SECONDS));
            // A second engine can use the same group after the first closed.
            try (RingEngine again = RingEngine.open(config().eventLoopGroup(group))) {
                AsyncFile f = await(again.open(dir.resolve("shared"), READ));
                assertEquals(64L * 4096, await(f.size()));
                f.close();
            }
        } finally {
            assertTrue(group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }

    @Test
    void aGroupOfNonIoUringLoopsIsRefused() throws Exception {
        IoEventLoopGroup nio = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RingEngine.open(config().eventLoopGroup(nio)));
            assertTrue(e.getMessage().contains("IoUringIoHandler"), e.getMessage());
            assertFalse(nio.isShuttingDown(), "the refused group is left alone");
        } finally {
            assertTrue(nio.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(WAIT_SECONDS, TimeUnit.SECONDS));
        }
    }
}
