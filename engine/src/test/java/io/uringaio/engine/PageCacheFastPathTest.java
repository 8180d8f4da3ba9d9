package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page-cache fast path ({@link Request#pageCacheFirst(boolean)}): a read of cached bytes completes on the
 * submitting thread inside {@code submit}; everything else (a miss, a short read, an error) is the lane's, as if the
 * fast path did not exist. On both backends.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PageCacheFastPathTest extends KernelTest {
    private static final int SIZE = 64 * 1024;

    @TempDir
    Path dir;
    Path file;
    int fd = -1;
    Arena arena;
    MemorySegment buf;

    @BeforeEach
    void cachedFile() throws Exception {
        byte[] data = new byte[SIZE];
        for (int i = 0; i < SIZE; i++) {
            data[i] = (byte) (i * 31 + 7);
        }
        file = dir.resolve("cached.dat");
        Files.write(file, data); // just written: every page is in the page cache
        fd = Libc.open(file.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "open: " + fd);
        arena = Arena.ofShared();
        buf = arena.allocate(SIZE, 4096);
    }

    @AfterEach
    void closeFile() {
        if (fd >= 0) {
            Libc.close(fd);
        }
        arena.close();
    }

    @Test
    void aCachedReadCompletesOnTheSubmittingThreadBeforeSubmitReturns() throws Exception {
        try (RingEngine engine = RingEngine.open(config())) {
            EngineStats before = engine.stats();
            Recorder rec = new Recorder();
            Request r = new Request(rec).prepRead(fd, buf.address(), 4096, 8192).pageCacheFirst(true);
            engine.submit(r);
            assertEquals(1, rec.calls(), "completed inside submit");
            assertEquals(Thread.currentThread().getName(), rec.thread);
            assertEquals(4096, rec.results.get(0));
            assertEquals((byte) (8192 * 31 + 7), buf.get(ValueLayout.JAVA_BYTE, 0), "the bytes at offset 8192");
            assertTrue(!r.inFlight(), "idle again: reusable");
            EngineStats s = engine.stats().since(before);
            assertEquals(1, s.pageCacheHits());
            assertEquals(1, s.submitted());
            assertEquals(1, s.completed());
            assertEquals(0, s.sqesSubmitted(), "no SQE for it");
        }
    }

    @Test
    void anUnmarkedReadOrAnEngineWithTheFastPathOffUsesTheLane() throws Exception {
        try (RingEngine engine = RingEngine.open(config())) {
            Recorder rec = new Recorder();
            engine.submit(new Request(rec).prepRead(fd, buf.address(), 4096, 0));
            assertEquals(4096, rec.awaitResult());
            assertTrue(rec.thread.startsWith(completionThreadPrefix()), rec.thread);
            assertEquals(0, engine.stats().pageCacheHits());
        }
        try (RingEngine engine = RingEngine.open(config().pageCacheFastPath(false))) {
            Recorder rec = new Recorder();
            engine.submit(new Request(rec).prepRead(fd, buf.address(), 4096, 0).pageCacheFirst(true));
            assertEquals(4096, rec.awaitResult());
            assertTrue(rec.thread.startsWith(completionThreadPrefix()), rec.thread);
            assertEquals(0, engine.stats().pageCacheHits());
        }
    }

    @Test
    void shortReadsErrorsAndMissesGetTheLanesAnswer() throws Exception {
        try (RingEngine engine = RingEngine.open(config()); Pipe pipe = new Pipe()) {
            Recorder tail = new Recorder(); // 4096 asked, 1000 left before end of file
            engine.submit(new Request(tail).prepRead(fd, buf.address(), 4096, SIZE - 1000).pageCacheFirst(true));
            assertEquals(1000, tail.awaitResult());
            Recorder eof = new Recorder();
            engine.submit(new Request(eof).prepRead(fd, buf.address(), 4096, SIZE + 4096).pageCacheFirst(true));
            assertEquals(0, eof.awaitResult());
            Recorder badFd = new Recorder();
            engine.submit(new Request(badFd).prepRead(9999, buf.address(), 4096, 0).pageCacheFirst(true));
            assertEquals(-ErrnoTable.EBADF, badFd.awaitResult());
            Recorder empty = new Recorder(); // nothing to read yet: waits in the lane until bytes arrive
            engine.submit(new Request(empty).prepRead(pipe.readFd, buf.address(), 64, 0).pageCacheFirst(true));
            Thread.sleep(50);
            assertEquals(0, empty.calls(), "a read with no data waits");
            pipe.write(5);
            assertEquals(5, empty.awaitResult());
            for (Recorder rec : new Recorder[] {tail, eof, badFd, empty}) {
                assertEquals(1, rec.calls());
                assertTrue(rec.thread.startsWith(completionThreadPrefix()), rec.thread);
            }
            assertEquals(0, engine.stats().pageCacheHits());
        }
    }

    @Test
    void aCompletionThatResubmitsRunsOnABoundedStack() throws Exception {
        // A closed loop resubmitting from its completion: fast-path completions nest at most MAX_DEPTH deep on one
        // thread, then a read goes to the lane (whose thread starts a fresh stack), so 50,000 reads never overflow it.
        // (At depth 1 the ring is idle when a completion resubmits, so the fast path applies on its thread too.)
        int total = 50_000;
        try (RingEngine engine = RingEngine.open(config())) {
            AtomicInteger done = new AtomicInteger();
            ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]); // nesting on this thread's stack
            AtomicInteger maxDepth = new AtomicInteger();
            AtomicInteger wrong = new AtomicInteger();
            CompletableFuture<Void> finished = new CompletableFuture<>();
            Request r = new Request(null);
            r.completion((req, res) -> {
                if (res != 4096) {
                    wrong.incrementAndGet();
                }
                if (done.incrementAndGet() == total) {
                    finished.complete(null);
                    return;
                }
                int[] d = depth.get();
                maxDepth.accumulateAndGet(++d[0], Math::max);
                try {
                    engine.submit(req.prepRead(fd, buf.address(), 4096, (done.get() % 16) * 4096L));
                } finally {
                    d[0]--;
                }
            });
            r.prepRead(fd, buf.address(), 4096, 0).pageCacheFirst(true);
            engine.submit(r);
            await(finished);
            assertEquals(0, wrong.get());
            assertTrue(maxDepth.get() <= PageCacheFastPath.MAX_DEPTH + 1, "nesting " + maxDepth.get());
            EngineStats s = engine.stats();
            assertTrue(s.pageCacheHits() > total / 2, "most reads from the page cache: " + s);
            assertTrue(s.pageCacheHits() < total, "some went to the lane at the nesting bound: " + s);
        }
    }

    @Test
    void aReadSubmittedOnARingThreadWithOtherReadsInFlightStaysOnTheRing() throws Exception {
        assumeRings("the busy-ring rule is about io_uring rings");
        for (boolean busy : new boolean[] {false, true}) {
            try (RingEngine engine = RingEngine.open(config().rings(1)); Pipe pipe = new Pipe()) {
                Recorder blocked = new Recorder();
                if (busy) { // keeps the ring's in-flight count above zero
                    engine.submit(new Request(blocked).prepRead(pipe.readFd, buf.address() + 8192, 64, 0));
                    waitUntil(() -> engine.stats().inFlight() == 1, () -> "pipe read in flight: " + engine.stats());
                }
                Recorder second = new Recorder();
                Request marked = new Request(second).prepRead(fd, buf.address(), 4096, 0).pageCacheFirst(true);
                CompletableFuture<Boolean> submittedOnRing = new CompletableFuture<>();
                Request first = new Request((r, res) -> { // runs on the ring's thread
                    submittedOnRing.complete(Thread.currentThread().getName().startsWith(completionThreadPrefix()));
                    engine.submit(marked);
                }).prepRead(fd, buf.address() + 4096, 4096, 4096); // unmarked: through the ring
                engine.submit(first);
                assertTrue(await(submittedOnRing));
                assertEquals(4096, second.awaitResult());
                assertEquals(busy ? 0 : 1, engine.stats().pageCacheHits(),
                        busy ? "busy ring: read by the ring" : "idle ring: read inline on its thread");
                if (busy) {
                    pipe.write(1);
                    assertEquals(1, blocked.awaitResult());
                }
            }
        }
    }

    @Test
    void asyncFileReadsOfACachedFileAreCompleteWhenReadReturns() throws Exception {
        try (RingEngine engine = RingEngine.open(config())) {
            AsyncFile f = await(engine.open(file, READ));
            try {
                ByteBuffer direct = ByteBuffer.allocateDirect(4096);
                CompletableFuture<Integer> a = f.read(direct, 4096);
                assertTrue(a.isDone(), "direct buffer: complete on return");
                assertEquals(4096, a.join());
                assertEquals(4096, direct.position());
                assertEquals((byte) (4096 * 31 + 7), direct.get(0));
                ByteBuffer heap = ByteBuffer.allocate(100);
                CompletableFuture<Integer> b = f.read(heap, 3);
                assertTrue(b.isDone(), "heap buffer through a bounce buffer: complete on return");
                assertEquals(100, b.join());
                assertEquals((byte) (3 * 31 + 7), heap.get(0));
                assertEquals(2, engine.stats().pageCacheHits());
            } finally {
                await(f.closeAsync());
            }
        }
    }
}
