package io.uringaio.posix;

import static io.uringaio.posix.Errno.EAGAIN;
import static io.uringaio.posix.Errno.EINPROGRESS;
import static io.uringaio.posix.Fcntl.O_CREAT;
import static io.uringaio.posix.Fcntl.O_RDWR;
import static io.uringaio.posix.Fcntl.O_TRUNC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared plumbing of the facade's black-box tests: real files in a temporary directory, real pipes, and waits that all
 * have a deadline. Helpers that take an {@code AioContext} use the process-wide context ({@code Aio.*}) when it is
 * null.
 *
 * <p>The blocker: a read on an empty pipe stays in progress until something is written to the pipe or its write end is
 * closed, so "still in progress" is observed without any race. Every pipe is closed after the test, write end first,
 * which ends any read still pending on it (EOF).
 */
abstract class PosixTestSupport {

    /** How long any wait for a completion may take before the test fails (loaded 2-core machine: generous). */
    static final long DEADLINE_MILLIS = 20_000;

    /** How long we watch something that must not happen (no completion, no second notification). */
    static final long QUIET_MILLIS = 150;

    @TempDir
    Path dir;

    private final List<Integer> fdsToClose = new ArrayList<>();

    @AfterEach
    void closeFds() {
        // Write ends were registered after their read ends: close in reverse, so a pending pipe read sees EOF.
        for (int i = fdsToClose.size() - 1; i >= 0; i--) {
            Unistd.close(fdsToClose.get(i));
        }
        fdsToClose.clear();
    }

    // ---- files and pipes ----

    /** Opens (creating, truncating) a file in the temp dir with {@code O_RDWR | extraFlags}; closed after the test. */
    int openTemp(String name, int extraFlags) {
        int fd = Fcntl.open(dir.resolve(name).toString(), O_RDWR | O_CREAT | O_TRUNC | extraFlags, 0644);
        assertTrue(fd >= 0, () -> "open " + name + " failed, errno " + Aio.errno());
        fdsToClose.add(fd);
        return fd;
    }

    /** A temp file holding {@code content}, open O_RDWR. */
    int tempFileWith(String name, String content) {
        int fd = openTemp(name, 0);
        ByteBuffer b = bytes(content);
        assertEquals(b.capacity(), Unistd.pwrite(fd, b, b.capacity(), 0));
        return fd;
    }

    /** {@code int[]{readEnd, writeEnd}} of a new pipe; both closed after the test. */
    int[] pipe() {
        int[] fds = new int[2];
        assertEquals(0, Unistd.pipe(fds), () -> "pipe failed, errno " + Aio.errno());
        fdsToClose.add(fds[0]);
        fdsToClose.add(fds[1]);
        return fds;
    }

    /** Writes {@code s} to a pipe (or file at its position) with plain write(2). */
    static void writeTo(int fd, String s) {
        ByteBuffer b = bytes(s);
        assertEquals(b.capacity(), Unistd.write(fd, b, b.capacity()));
    }

    /** Closes an fd the test registered, now (it will not be closed again). */
    void closeNow(int fd) {
        assertTrue(fdsToClose.remove(Integer.valueOf(fd)));
        assertEquals(0, Unistd.close(fd));
    }

    String fileContent(String name) throws IOException {
        return Files.readString(dir.resolve(name), StandardCharsets.ISO_8859_1);
    }

    // ---- buffers ----

    static ByteBuffer bytes(String s) {
        byte[] a = s.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocateDirect(a.length);
        for (int i = 0; i < a.length; i++) {
            b.put(i, a[i]);
        }
        return b;
    }

    /** The first n bytes of b by absolute index, as text. */
    static String text(ByteBuffer b, long n) {
        byte[] a = new byte[(int) n];
        for (int i = 0; i < a.length; i++) {
            a[i] = b.get(i);
        }
        return new String(a, StandardCharsets.ISO_8859_1);
    }

    static String repeat(char c, int n) {
        return String.valueOf(c).repeat(n);
    }

    // ---- control blocks ----

    static Aiocb aiocb(int fd, long offset, ByteBuffer buf, long nbytes) {
        Aiocb cb = new Aiocb();
        cb.aio_fildes = fd;
        cb.aio_offset = offset;
        cb.aio_buf = buf;
        cb.aio_nbytes = nbytes;
        cb.aio_reqprio = 0;
        cb.aio_sigevent = null;
        return cb;
    }

    static Aiocb readCb(int fd, long offset, int nbytes) {
        return aiocb(fd, offset, ByteBuffer.allocateDirect(nbytes), nbytes);
    }

    static Aiocb writeCb(int fd, long offset, String data) {
        ByteBuffer b = bytes(data);
        return aiocb(fd, offset, b, b.capacity());
    }

    static Aiocb lioCb(int opcode, Aiocb cb) {
        cb.aio_lio_opcode = opcode;
        return cb;
    }

    // ---- the two kinds of context ----

    static int error(AioContext ctx, Aiocb cb) {
        return ctx == null ? Aio.aio_error(cb) : ctx.aio_error(cb);
    }

    static int suspend(AioContext ctx, Aiocb[] list, int nent, Timespec timeout) {
        return ctx == null ? Aio.aio_suspend(list, nent, timeout) : ctx.aio_suspend(list, nent, timeout);
    }

    static int errnoOf(AioContext ctx) {
        return ctx == null ? Aio.errno() : ctx.errno();
    }

    /** Waits (with a deadline) until none of cbs is in progress; fails the test at the deadline. */
    static void awaitDone(AioContext ctx, Aiocb... cbs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        for (Aiocb cb : cbs) {
            while (error(ctx, cb) == EINPROGRESS) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    fail("request still in progress after " + DEADLINE_MILLIS + " ms");
                }
                int s = suspend(ctx, new Aiocb[] {cb}, 1, new Timespec(0, Math.min(left, 100_000_000L)));
                if (s == -1) {
                    int e = errnoOf(ctx);
                    assertTrue(e == EAGAIN, "aio_suspend while awaiting completion: errno " + e);
                }
            }
        }
    }

    static void awaitDone(Aiocb... cbs) {
        awaitDone(null, cbs);
    }

    /** Asserts that cb is in progress and stays so for {@link #QUIET_MILLIS} (aio_suspend times out). */
    static void assertStaysInProgress(AioContext ctx, Aiocb cb) {
        assertEquals(EINPROGRESS, error(ctx, cb));
        assertEquals(-1, suspend(ctx, new Aiocb[] {cb}, 1, new Timespec(0, QUIET_MILLIS * 1_000_000L)));
        assertEquals(EAGAIN, errnoOf(ctx));
        assertEquals(EINPROGRESS, error(ctx, cb));
    }

    /** Polls cond until true or the deadline (for notifications, which have no aio_suspend). */
    static void awaitTrue(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for: " + what);
            }
            sleepMillis(2);
        }
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /**
     * Runs body on a new thread, waits (with a deadline) until that thread parks (WAITING or TIMED_WAITING), interrupts
     * it, and returns the finished thread's outcome. The body reports into the given result holder.
     */
    static void interruptWhenParked(Thread t) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (true) {
            Thread.State s = t.getState();
            if (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) {
                break;
            }
            if (s == Thread.State.TERMINATED) {
                fail("the waiting call returned before it was interrupted");
            }
            if (System.nanoTime() - deadline > 0) {
                fail("the thread never parked");
            }
            Thread.onSpinWait();
            sleepMillis(1);
        }
        t.interrupt();
    }

    static void join(Thread t) throws InterruptedException {
        t.join(DEADLINE_MILLIS);
        assertTrue(!t.isAlive(), "thread did not finish before the deadline");
    }
}
