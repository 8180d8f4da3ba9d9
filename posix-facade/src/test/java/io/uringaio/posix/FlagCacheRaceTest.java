package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile interleavings of {@link FdState}'s kept flags with {@link FdState#forgetFlags}: a read asks for the flags
 * outside the state's monitor, so a forget ({@link Fcntl#fcntl} {@code F_SETFL}) may land between its {@code fcntl}
 * and its keeping the answer. The answer it got is then older than the forget and must not be kept: every later
 * request (a write's O_APPEND orders it) would see the flags from before the {@code F_SETFL} until the next forget.
 * Each step is run in a fixed order through {@link FdState#flagSource}, so the race is deterministic.
 */
class FlagCacheRaceTest {
    private Path dir;
    private int fd = -1;

    @BeforeEach
    void openFile() throws Exception {
        Path target = Path.of("target");
        Files.createDirectories(target);
        dir = Files.createTempDirectory(target, "flag-race-");
        fd = Fcntl.open(dir.resolve("f").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
        assertTrue(fd >= 0, "open: errno " + Aio.errno());
    }

    @AfterEach
    void closeFile() throws Exception {
        if (fd >= 0) {
            Unistd.close(fd);
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /**
     * A read's {@code F_GETFL} answers "no O_APPEND"; before it keeps that answer, another thread sets O_APPEND with
     * {@code Fcntl.fcntl(F_SETFL)}, which forgets the flags. The next write, submitted after that call returned, must
     * be an append (ordered behind every older write). Failed before: the read kept its answer after the forget, and
     * every later write of the descriptor was a plain write, out of the O_APPEND call order.
     */
    @Test
    void aForgetBetweenAReadsFcntlAndItsKeeping_isNotLost() {
        FdState state = new FdState(false);
        state.flagSource = f -> {
            int before = RequestPrep.flagsNow(f);
            // What another thread does now, while this read holds the answer it just got:
            assertEquals(0, Fcntl.fcntl(f, Fcntl.F_SETFL, Fcntl.O_APPEND));
            state.forgetFlags(); // Fcntl.fcntl forgot it in every live context; this state is in none
            return before;
        };
        Aiocb read = cb(Aiocb.OP_READ, 0);
        assertTrue(state.add(read));
        assertTrue(state.readsInline(fd), "the read itself got the answer from before the F_SETFL: a buffered file");
        state.flagSource = RequestPrep::flagsNow;
        Aiocb older = cb(Aiocb.OP_WRITE, 0);
        assertTrue(state.add(older));
        assertTrue(older.append, "the F_SETFL returned before this write: it is an O_APPEND write");
        Aiocb younger = cb(Aiocb.OP_WRITE, 8192);
        assertFalse(state.add(younger), "an append waits for every older write");
        assertTrue(younger.append);
        state.remove(read);
        Aiocb released = state.remove(older);
        assertEquals(younger, released, "the younger append goes once the older one left");
    }

    /** The same with the flag cleared: a forgotten O_APPEND must not come back from a read's older answer. */
    @Test
    void aClearedAppendIsNotBroughtBackByARacingRead() {
        assertEquals(0, Fcntl.fcntl(fd, Fcntl.F_SETFL, Fcntl.O_APPEND));
        FdState state = new FdState(false);
        state.flagSource = f -> {
            int before = RequestPrep.flagsNow(f);
            assertEquals(0, Fcntl.fcntl(f, Fcntl.F_SETFL, 0));
            state.forgetFlags();
            return before;
        };
        Aiocb read = cb(Aiocb.OP_READ, 0);
        assertTrue(state.add(read));
        state.readsInline(fd);
        state.flagSource = RequestPrep::flagsNow;
        Aiocb a = cb(Aiocb.OP_WRITE, 0);
        Aiocb b = cb(Aiocb.OP_WRITE, 8192);
        assertTrue(state.add(a));
        assertTrue(state.add(b), "plain writes to other ranges go at once: O_APPEND was cleared before them");
        assertFalse(a.append);
        assertFalse(b.append);
    }

    private Aiocb cb(byte op, long offset) {
        Aiocb cb = new Aiocb();
        cb.op = op;
        cb.fd = fd;
        cb.offset = offset;
        cb.nbytes = 4096;
        return cb;
    }

    /**
     * A context's first request keeps its descriptor's flags before the context's engine starts, which is when the
     * context joined the live contexts that {@link Fcntl#fcntl}'s forget reaches. An {@code F_SETFL} O_APPEND by
     * another thread in that window (here: between the first write's {@code F_GETFL} and its keeping the answer) must
     * still be seen by every write after it returned. Failed before: the context was not live yet, the forget missed
     * it, and its later writes were plain writes for good.
     */
    @Test
    void anSetflWhileAContextsFirstRequestKeepsTheFlags_isNotLost() throws Exception {
        AtomicBoolean once = new AtomicBoolean();
        int target = fd;
        FdState.newStatesAsk = f -> {
            int before = RequestPrep.flagsNow(f);
            if (f == target && once.compareAndSet(false, true)) {
                assertEquals(0, Fcntl.fcntl(f, Fcntl.F_SETFL, Fcntl.O_APPEND)); // another thread's, at this moment
            }
            return before;
        };
        try (AioContext fresh = new AioContext()) {
            Aiocb first = write(fresh, "a", 0);
            FdState.newStatesAsk = RequestPrep::flagsNow;
            assertTrue(once.get(), "the first write asked through the hook");
            assertFalse(first.append, "the first write got the answer from before the F_SETFL");
            assertTrue(write(fresh, "b", 0).append, "the F_SETFL returned before this write: an O_APPEND write");
        } finally {
            FdState.newStatesAsk = RequestPrep::flagsNow;
        }
    }

    private Aiocb write(AioContext context, String s, long offset) {
        ByteBuffer data = PosixTestSupport.bytes(s);
        Aiocb cb = PosixTestSupport.aiocb(fd, offset, data, data.capacity());
        assertEquals(0, context.aio_write(cb));
        PosixTestSupport.awaitDone(context, cb);
        assertEquals(data.capacity(), context.aio_return(cb));
        return cb;
    }

    /**
     * A descriptor numbered beyond the dense table keeps its state in a map, made (and its first write's flags kept)
     * inside the map's compute, before the map shows it. A forget ({@code F_SETFL} O_APPEND on another thread) in
     * that moment must still reach it. Failed before: the forget looked the number up, found no state yet and did
     * nothing; the state was then published with the old flags, and the next write, after the F_SETFL returned, was a
     * plain write. (The other thread's forget waits for the compute once fixed: it is waited for at most 200 ms here.)
     */
    @Test
    void aForgetWhileANewMapStateIsMade_isNotLost() throws Exception {
        FdTable table = new FdTable(0); // every number in the map
        CountDownLatch setflDone = new CountDownLatch(1);
        CountDownLatch forgetDone = new CountDownLatch(1);
        Thread[] other = new Thread[1];
        AtomicBoolean once = new AtomicBoolean();
        int target = fd;
        FdState.newStatesAsk = f -> {
            int before = RequestPrep.flagsNow(f);
            if (f == target && once.compareAndSet(false, true)) {
                other[0] = Thread.ofPlatform().start(() -> {
                    Fcntl.fcntl(f, Fcntl.F_SETFL, Fcntl.O_APPEND);
                    setflDone.countDown();
                    table.forgetFlags(f); // what LiveContexts.forgetFlags does in the context owning this table
                    forgetDone.countDown();
                });
                awaitQuietly(setflDone, 20_000);
                awaitQuietly(forgetDone, 200);
            }
            return before;
        };
        try {
            Aiocb first = cb(Aiocb.OP_WRITE, 0);
            assertTrue(table.add(fd, first));
            assertFalse(first.append, "the first write got the answer from before the F_SETFL");
            other[0].join(20_000);
            assertEquals(0, forgetDone.getCount(), "the forget finished");
            Aiocb second = cb(Aiocb.OP_WRITE, 8192);
            assertFalse(table.add(fd, second), "an append waits for every older write");
            assertTrue(second.append, "the F_SETFL and its forget returned before this write: an O_APPEND write");
        } finally {
            FdState.newStatesAsk = RequestPrep::flagsNow;
        }
    }

    private static void awaitQuietly(CountDownLatch latch, long millis) {
        try {
            latch.await(millis, java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
