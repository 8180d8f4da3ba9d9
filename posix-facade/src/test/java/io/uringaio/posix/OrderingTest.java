package io.uringaio.posix;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Ordering guarantees on one fildes, through the process-wide context: O_APPEND writes land in call order, the later of
 * two overlapping writes wins, and aio_fsync completes only after every earlier read and write on its fildes.
 */
class OrderingTest extends PosixTestSupport {

    @Test
    void appendWrites_landInCallOrder() throws Exception {
        int fd = openTemp("log", O_APPEND);
        int n = 200;
        Aiocb[] w = new Aiocb[n];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String rec = String.format("%03d|", i);
            expected.append(rec);
            w[i] = writeCb(fd, 0, rec); // offset is ignored for O_APPEND
            assertEquals(0, aio_write(w[i]));
        }
        awaitDone(w);
        for (Aiocb cb : w) {
            assertEquals(4, aio_return(cb));
        }
        assertEquals(expected.toString(), fileContent("log"));
    }

    @Test
    void appendWrites_ofDifferentSizes_landInCallOrder_evenWithPriorities() throws Exception {
        int fd = openTemp("log", O_APPEND);
        int n = 64;
        Aiocb[] w = new Aiocb[n];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String rec = repeat((char) ('A' + i % 26), 1 + (i * 37) % 3000);
            expected.append(rec);
            w[i] = writeCb(fd, 0, rec);
            w[i].aio_reqprio = (n - i) % (AIO_PRIO_DELTA_MAX + 1);
            assertEquals(0, aio_write(w[i]));
        }
        awaitDone(w);
        assertEquals(expected.toString(), fileContent("log"));
    }

    @Test
    void appendWrites_fromLioListio_landInListOrder() throws Exception {
        int fd = openTemp("log", O_APPEND);
        Aiocb[] w = new Aiocb[32];
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < w.length; i++) {
            String rec = String.format("<%02d>", i);
            expected.append(rec);
            w[i] = lioCb(LIO_WRITE, writeCb(fd, 0, rec));
        }
        assertEquals(0, lio_listio(LIO_WAIT, w, w.length, null));
        assertEquals(expected.toString(), fileContent("log"));
    }

    @Test
    void overlappingWrites_laterCallWins() throws Exception {
        int fd = openTemp("f", 0);
        int size = 64 * 1024;
        List<Aiocb> all = new ArrayList<>();
        for (int round = 0; round < 20; round++) {
            char c = (char) ('a' + round);
            Aiocb w = writeCb(fd, 0, repeat(c, size));
            all.add(w);
            assertEquals(0, aio_write(w));
        }
        // A partial overlap at the end: the last call covers [size/2, size/2 + 100).
        Aiocb tail = writeCb(fd, size / 2, repeat('Z', 100));
        all.add(tail);
        assertEquals(0, aio_write(tail));
        awaitDone(all.toArray(new Aiocb[0]));
        String expected = repeat('t', size / 2) + repeat('Z', 100) + repeat('t', size / 2 - 100);
        assertEquals(expected, fileContent("f"));
    }

    @Test
    void fsync_completesOnlyAfterEveryEarlierWriteOnItsFildes() {
        int fd = openTemp("f", 0);
        for (int round = 0; round < 5; round++) {
            int n = 24;
            Aiocb[] w = new Aiocb[n];
            String chunk = repeat((char) ('a' + round), 64 * 1024);
            for (int i = 0; i < n; i++) {
                w[i] = writeCb(fd, (long) i * chunk.length(), chunk);
                assertEquals(0, aio_write(w[i]));
            }
            ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
            Aiocb s = new Aiocb();
            s.aio_fildes = fd;
            s.aio_sigevent = SigEvent.thread(v -> {
                for (int i = 0; i < n; i++) {
                    if (aio_error(w[i]) == EINPROGRESS) {
                        violations.add("write " + i + " in progress inside the fsync notification");
                    }
                }
            }, null);
            assertEquals(0, aio_fsync(round % 2 == 0 ? O_SYNC : O_DSYNC, s));
            // Wait on the fsync alone; the moment it is complete, every earlier write must be.
            awaitDone(s);
            for (int i = 0; i < n; i++) {
                assertTrue(aio_error(w[i]) != EINPROGRESS, "write " + i + " still in progress after the fsync");
            }
            assertEquals(0, aio_return(s));
            awaitDone(w);
            for (Aiocb cb : w) {
                assertEquals(chunk.length(), aio_return(cb));
            }
            sleepMillis(20);
            assertTrue(violations.isEmpty(), violations.toString());
        }
    }

    @Test
    void fsync_waitsForAnEarlierReadThatIsStillInProgress() {
        // The barrier covers reads as well: an fsync behind a blocked pipe read stays in progress until it completes
        // (and then fails with EINVAL, as fsync of a pipe does).
        int[] p = pipe();
        Aiocb r = readCb(p[0], 0, 8);
        assertEquals(0, aio_read(r));
        Aiocb s = new Aiocb();
        s.aio_fildes = p[0];
        assertEquals(0, aio_fsync(O_SYNC, s));
        assertStaysInProgress(null, s);
        writeTo(p[1], "go");
        awaitDone(s);
        assertTrue(aio_error(r) != EINPROGRESS, "fsync done before the earlier read");
        assertEquals(2, aio_return(r));
        assertEquals(EINVAL, aio_error(s));
        assertEquals(-1, aio_return(s));
    }

    @Test
    void fsync_doesNotWaitForLaterRequestsNorOtherFildes() {
        int[] p = pipe();
        int fd = openTemp("f", 0);
        Aiocb otherFd = readCb(p[0], 0, 8); // blocked, on another fildes
        assertEquals(0, aio_read(otherFd));
        Aiocb w = writeCb(fd, 0, "data");
        assertEquals(0, aio_write(w));
        Aiocb s = new Aiocb();
        s.aio_fildes = fd;
        assertEquals(0, aio_fsync(O_SYNC, s));
        awaitDone(s);
        assertEquals(0, aio_return(s));
        assertEquals(EINPROGRESS, aio_error(otherFd));
        writeTo(p[1], "x");
        awaitDone(otherFd);
    }
    @Test
    void writesAndFsyncsFromManyThreadsOnOneFildes_eachCompleteOnceWithTheirOwnResult() throws Exception {
        // Each thread keeps a batch of writes and an fsync outstanding, so completions keep releasing waiting fsyncs
        // while other threads add requests: a request that may go at once must never also be released (and so
        // submitted a second time) by a completion. Two seconds of it, then every byte is checked.
        int fd = openTemp("f", 0);
        int threads = 4;
        int batch = 16;
        int block = 512;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int lane = t;
            workers.add(Thread.ofPlatform().name("lane-" + t).start(() -> {
                try {
                    Aiocb[] writes = new Aiocb[batch];
                    for (int i = 0; i < batch; i++) {
                        writes[i] = lioCb(LIO_WRITE,
                                writeCb(fd, (long) (lane * batch + i) * block, repeat((char) ('a' + lane), block)));
                    }
                    Aiocb sync = new Aiocb();
                    sync.aio_fildes = fd;
                    for (int round = 0; System.nanoTime() - until < 0; round++) {
                        assertEquals(0, lio_listio(LIO_NOWAIT, writes, batch, null), "lio_listio, round " + round);
                        assertEquals(0, aio_fsync(O_DSYNC, sync), "aio_fsync, round " + round);
                        awaitDone(writes);
                        awaitDone(sync);
                        for (Aiocb w : writes) {
                            assertEquals(block, aio_return(w), "write, round " + round);
                        }
                        assertEquals(0, aio_return(sync), "fsync, round " + round);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
        }
        for (Thread w : workers) {
            join(w);
        }
        assertTrue(failures.isEmpty(), () -> failures.peek().toString());
        StringBuilder expected = new StringBuilder();
        for (int t = 0; t < threads; t++) {
            expected.append(repeat((char) ('a' + t), batch * block));
        }
        assertEquals(expected.toString(), fileContent("f"));
    }
}
