package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The raw API: {@link Request}, {@link Completion}, {@link RingEngine#submit}, {@link RingEngine#cancel}. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawRequestTest extends KernelTest {
    @TempDir
    Path dir;

    @Test
    void badDescriptorCompletesWithMinusEbadfExactlyOnce() throws Exception {
        Recorder done = new Recorder();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(64);
            Request r = new Request(done).prepRead(-1, buf.address(), 64, 0);
            engine.submit(r);
            assertEquals(-ErrnoTable.EBADF, done.awaitResult());
            assertFalse(r.inFlight());
            assertEquals(-ErrnoTable.EBADF, r.result());
            assertFalse(r.canceledByClose());
            assertTrue(done.thread.startsWith(completionThreadPrefix()), "completion on the backend's thread: " + done.thread);
            closeWithin(engine);
            assertEquals(1, done.calls(), "exactly one completion");
            EngineStats s = engine.stats();
            assertEquals(1, s.submitted());
            assertEquals(1, s.completed());
        }
    }

    @Test
    void negativeOffsetIsRefusedAndNothingIsSubmitted() throws Exception {
        Recorder done = new Recorder();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(64);
            Request r = new Request(done).prepRead(-1, buf.address(), 64, -1);
            EngineStats before = engine.stats();
            assertThrows(IllegalArgumentException.class, () -> engine.submit(r));
            Request other = new Request(new Recorder()).prepRead(-1, buf.address(), 64, 0);
            assertThrows(IllegalArgumentException.class, () -> engine.submitLinked(other, r));
            assertFalse(r.inFlight());
            assertFalse(other.inFlight(), "the chain's other member is not left half-submitted");
            assertEquals(before.submitted(), engine.stats().submitted(), "nothing submitted");
            assertEquals(0, done.calls());
            // The request is still usable once fixed.
            engine.submit(r.prepRead(-1, buf.address(), 64, 0));
            assertEquals(-ErrnoTable.EBADF, done.awaitResult());
        }
    }

    @Test
    void requestWithoutCompletionIsRefused() {
        try (RingEngine engine = engine(1)) {
            assertThrows(NullPointerException.class, () -> engine.submit(new Request().prepFsync(-1, false)));
            assertThrows(NullPointerException.class, () -> engine.submit(null));
            assertEquals(0, engine.stats().submitted());
        }
    }

    @Test
    void resubmittingAnInFlightRequestIsRefused() throws Exception {
        Recorder done = new Recorder();
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Request r = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(r);
            assertTrue(r.inFlight());
            assertThrows(IllegalStateException.class, () -> engine.submit(r));
            Request fresh = new Request(new Recorder()).prepRead(pipe.readFd, buf.address(), 16, 0);
            assertThrows(IllegalStateException.class, () -> engine.submitLinked(fresh, r));
            assertFalse(fresh.inFlight(), "the refused chain's fresh member is idle again");
            assertEquals(1, engine.stats().submitted());
            pipe.write(3);
            assertEquals(3, done.awaitResult());
            closeWithin(engine);
            assertEquals(1, done.calls(), "the refused resubmission did not complete anything");
        }
    }

    @Test
    void cancelOfABlockedPipeReadCompletesItWithEcanceledOnce() throws Exception {
        Recorder done = new Recorder();
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            Request r = new Request(done).prepRead(pipe.readFd, buf.address(), 16, 0);
            engine.submit(r);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "read in the kernel: " + engine.stats());
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(r)));
            assertEquals(-ErrnoTable.ECANCELED, done.awaitResult());
            assertFalse(r.canceledByClose(), "canceled by the caller, not by close");
            // A completed request: nothing to cancel.
            assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(r)));
            assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(new Request(new Recorder()))),
                    "never submitted");
            // Writing now does not wake a canceled read.
            pipe.write(1);
            closeWithin(engine);
            assertEquals(1, done.calls());
            assertEquals(List.of(-ErrnoTable.ECANCELED), done.results);
            assertEquals(1, pipe.drain(16), "the byte is still in the pipe: the canceled read took nothing");
        }
    }

    @Test
    void cancelOfACompletedRequestIsAlreadyDone() throws Exception {
        Files.write(dir.resolve("f"), new byte[100]);
        int fd = Libc.open(dir.resolve("f").toString(), Libc.O_RDONLY, 0);
        Recorder done = new Recorder();
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(100);
            Request r = new Request(done).prepRead(fd, buf.address(), 100, 0);
            engine.submit(r);
            assertEquals(100, done.awaitResult());
            assertEquals(CancelOutcome.ALREADY_DONE, await(engine.cancel(r)));
        } finally {
            Libc.close(fd);
        }
        assertEquals(1, done.calls());
    }

    @Test
    void cancelOfAWaitingRequestTakesItOutOfTheQueue() throws Exception {
        Recorder blocked = new Recorder();
        Recorder waiting = new Recorder();
        Recorder behind = new Recorder();
        try (Pipe pipe = new Pipe(); Arena arena = Arena.ofShared();
             RingEngine engine = RingEngine.open(bounded(1, 1))) {
            MemorySegment buf = arena.allocate(16);
            Request first = new Request(blocked).prepRead(pipe.readFd, buf.address(), 1, 0);
            Request second = new Request(waiting).prepRead(pipe.readFd, buf.address(), 1, 0);
            Request third = new Request(behind).prepRead(pipe.readFd, buf.address(), 1, 0);
            engine.submit(first);
            engine.submit(second);
            engine.submit(third);
            waitUntil(() -> engine.stats().inFlight() == 1 && engine.stats().queued() == 2,
                    () -> "one in flight, two waiting: " + engine.stats());
            assertEquals(CancelOutcome.CANCELED, await(engine.cancel(second)));
            assertEquals(-ErrnoTable.ECANCELED, waiting.awaitResult());
            assertFalse(second.canceledByClose());
            assertEquals(0, blocked.calls());
            pipe.write(2);
            assertEquals(1, blocked.awaitResult());
            assertEquals(1, behind.awaitResult(), "the request behind the canceled one got in");
            closeWithin(engine);
            assertEquals(1, blocked.calls());
            assertEquals(1, waiting.calls());
            assertEquals(1, behind.calls());
        }
    }

    @Test
    void aCompletionMayResubmitItsOwnRequest() throws Exception {
        byte[] content = new byte[10 * 4096 + 123];
        new Random(3).nextBytes(content);
        Files.write(dir.resolve("chunks"), content);
        int fd = Libc.open(dir.resolve("chunks").toString(), Libc.O_RDONLY, 0);
        try (Arena arena = Arena.ofShared(); RingEngine engine = engine(2)) {
            MemorySegment all = arena.allocate(content.length + 4096);
            AtomicInteger calls = new AtomicInteger();
            CompletableFuture<Long> total = new CompletableFuture<>();
            long[] offset = {0};
            Request r = new Request();
            r.completion((req, res) -> {
                calls.incrementAndGet();
                if (res < 0) {
                    total.completeExceptionally(new UringIOException(-res, "read", "chunks"));
                } else if (res == 0) {
                    total.complete(offset[0]);
                } else {
                    offset[0] += res;
                    engine.submit(req.prepRead(fd, all.address() + offset[0], 4096, offset[0]));
                }
            });
            engine.submit(r.prepRead(fd, all.address(), 4096, 0));
            assertEquals(content.length, await(total));
            assertEquals(12, calls.get(), "11 reads with data, 1 at EOF");
            assertArrayEquals(content, all.asSlice(0, content.length).toArray(ValueLayout.JAVA_BYTE));
        } finally {
            Libc.close(fd);
        }
    }
}
