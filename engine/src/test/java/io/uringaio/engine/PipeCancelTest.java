package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Requests that wait on a pipe stay cancelable, and cheaply so, on both backends (issue 11, items 3 and 4): a write
 * blocked on a full pipe is canceled by {@link RingEngine#cancel} and by {@link RingEngine#close()}, and canceling
 * thousands of pending pipe reads one after another does not cost a poll timeout each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PipeCancelTest extends KernelTest {
    private static final int F_GETPIPE_SZ = 1032;

    /** A pipe whose buffer is full: a write to it waits until someone reads. */
    private static Pipe fullPipe() {
        Pipe pipe = new Pipe();
        int capacity = Libc.fcntl(pipe.writeFd, F_GETPIPE_SZ, 0);
        assertTrue(capacity > 0, "F_GETPIPE_SZ: " + capacity);
        pipe.write(capacity);
        return pipe;
    }

    @Test
    void writeBlockedOnAFullPipeIsCanceled() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = fullPipe(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(4096);
            Recorder done = new Recorder();
            Request w = new Request(done).prepWrite(pipe.writeFd, buf.address(), 4096, 0);
            engine.submit(w);
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "write in flight: " + engine.stats());
            try {
                assertEquals(CancelOutcome.CANCELED, await(engine.cancel(w)));
                assertEquals(-ErrnoTable.ECANCELED, done.awaitResult());
                assertEquals(1, done.calls());
                // The engine is still usable.
                Recorder read = new Recorder();
                engine.submit(new Request(read).prepRead(pipe.readFd, buf.address(), 4096, 0));
                assertEquals(4096, read.awaitResult());
            } finally {
                pipe.drain(1 << 20); // a write the fix missed ends, so the test fails instead of leaking a worker
            }
        }
    }

    @Test
    void closeCancelsAWriteBlockedOnAFullPipe() throws Exception {
        try (Arena arena = Arena.ofShared(); Pipe pipe = fullPipe()) {
            RingEngine engine = engine(1);
            MemorySegment buf = arena.allocate(4096);
            Recorder done = new Recorder();
            engine.submit(new Request(done).prepWrite(pipe.writeFd, buf.address(), 4096, 0));
            waitUntil(() -> engine.stats().inFlight() == 1, () -> "write in flight: " + engine.stats());
            try {
                closeWithin(engine);
                assertEquals(-ErrnoTable.ECANCELED, done.awaitResult());
                assertTrue(done.byClose, "canceled by close");
                assertEquals(1, done.calls());
            } finally {
                pipe.drain(1 << 20);
            }
        }
    }

    /**
     * 2,000 reads wait on one empty pipe; each is canceled and its completion awaited before the next cancel (what
     * {@code aio_cancel(fd, NULL)} does). Before the fix the thread pool noticed each cancel only when its 20 ms poll
     * slice ran out: 2,000 cancels took over 30 s. The bound is generous (a loaded machine), the fix is far below it.
     */
    @Test
    void thousandsOfPendingPipeReadsCancelQuickly() throws Exception {
        int n = 2000;
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(16);
            List<Recorder> done = new ArrayList<>();
            List<Request> reads = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Recorder rec = new Recorder();
                Request r = new Request(rec).prepRead(pipe.readFd, buf.address(), 16, 0);
                engine.submit(r);
                done.add(rec);
                reads.add(r);
            }
            long started = System.nanoTime();
            for (int i = 0; i < n; i++) {
                CancelOutcome outcome = await(engine.cancel(reads.get(i)));
                assertEquals(CancelOutcome.CANCELED, outcome, "read " + i);
                assertEquals(-ErrnoTable.ECANCELED, done.get(i).awaitResult(), "read " + i);
            }
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
            assertTrue(seconds < 10, n + " cancels took " + seconds + " s");
            for (Recorder rec : done) {
                assertEquals(1, rec.calls());
            }
            // Nothing was consumed: a byte written now is read by a new read.
            pipe.write(1);
            Recorder after = new Recorder();
            engine.submit(new Request(after).prepRead(pipe.readFd, buf.address(), 16, 0));
            assertEquals(1, after.awaitResult());
        }
    }

    /**
     * One-byte reads of a pipe that a feeder fills a byte at a time, each canceled at once: cancels race with data
     * arriving, with the worker's poll and with the read itself. A canceled read never consumes a byte (every byte is
     * read by a read that succeeded), every cancel's outcome comes, and it matches what its read ended with.
     */
    @Test
    void cancelsRacingWithArrivingDataLoseNoByteAndReportTheTruth() throws Exception {
        int bytes = 400;
        try (Arena arena = Arena.ofShared(); Pipe pipe = new Pipe(); RingEngine engine = engine(1)) {
            MemorySegment buf = arena.allocate(1);
            java.util.concurrent.Semaphore done = new java.util.concurrent.Semaphore(0);
            Request r = new Request((req, res) -> done.release()).prepRead(pipe.readFd, buf, 0);
            Thread feeder = Thread.ofPlatform().name("feeder").start(() -> {
                for (int i = 0; i < bytes; i++) {
                    pipe.write(1);
                    if (i % 8 == 0) {
                        Thread.yield();
                    }
                }
            });
            int received = 0;
            int canceled = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
            while (received < bytes && System.nanoTime() < deadline) {
                engine.submit(r);
                if ((received + canceled) % 3 == 0) {
                    Thread.yield(); // sometimes let the read reach its poll first
                }
                CancelOutcome outcome = await(engine.cancel(r));
                assertTrue(done.tryAcquire(WAIT_SECONDS, TimeUnit.SECONDS), "the read completed");
                int res = r.result();
                if (res == 1) {
                    received++;
                    assertTrue(outcome != CancelOutcome.CANCELED, "CANCELED, yet the read got its byte");
                } else {
                    assertEquals(-ErrnoTable.ECANCELED, res);
                    assertEquals(CancelOutcome.CANCELED, outcome, "the read ended ECANCELED: its own cancel did it");
                    canceled++;
                }
            }
            feeder.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
            assertEquals(bytes, received, "every byte read by a read that succeeded (" + canceled + " canceled)");
        }
    }
}
