package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;
import io.uringaio.engine.Request;
import io.uringaio.engine.uapi.Uapi;
import io.uringaio.engine.UringIOException;
import io.uringaio.posix.AioContext;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Errno;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.SigEvent;
import io.uringaio.posix.Signals;
import io.uringaio.posix.Timespec;
import io.uringaio.posix.Unistd;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.errnoName;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.DriverSupport.patternBytes;
import static io.uringaio.it.driver.FacadeSupport.cb;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * Under a pids limit ({@code docker run --pids-limit}): the driver starts parked "ballast" threads until the kernel
 * refuses one (EAGAIN), so that every thread the engine or the facade wants to start from then on fails. Then, each
 * step reported on a line ({@code OUTCOME step ok ...} or {@code OUTCOME step errno NAME ...}): an engine opened on
 * AUTO, a file opened, written, read and synced through it; an engine that was already running on io_uring before the
 * exhaustion, asked to fsync (the kernel's io-wq needs a worker thread for it); a facade context's {@code aio_write}
 * with a SIGEV_THREAD notification, and one with SIGEV_SIGNAL; an engine closed from one of its completions; then a sweep that opens engines with 0, 1, 2, ... threads to be had, so that each
 * of an engine's threads in turn is the refused one ({@code SWEEP} lines). The rule: no {@link Error} out of the API,
 * no hang (a watchdog fails the step), a failure is a typed exception or an errno (EAGAIN, never an ECANCELED nobody
 * asked for), and every notification fires exactly once. Then the ballast is released and the same engine and context
 * must serve requests again.
 */
final class PidsScenario {
    private static final long SEED = 0x5EED_0006L;
    private static final int SIZE = 64 << 10;
    /** How long one step may take before the watchdog calls it a hang. */
    private static final long STEP_SECONDS = 20;
    /** How long the driver waits for one request's outcome. */
    private static final long WAIT_SECONDS = 10;

    private static final List<Ballast> BALLAST = new ArrayList<>();
    private static volatile String step = "start";
    private static volatile long stepDeadline = Long.MAX_VALUE;

    private PidsScenario() {
    }

    static void run(Path dir) throws Exception {
        startWatchdog();
        // Running on io_uring before the exhaustion, with no io-wq worker yet (nothing it ran needed one).
        RingEngine before = RingEngine.open();
        backend(before);
        AsyncFile beforeFile = DriverSupport.join(before.open(dir.resolve("before.dat"), READ, WRITE, CREATE));
        RingEngine closer = RingEngine.open(); // closed from one of its completions, with no thread to be had
        int ballast = exhaust();
        line("PIDS ballast=" + ballast + " threads started before the kernel refused one");

        step("running-engine");
        outcome("running-engine-write", () -> beforeFile.write(chunk(0), 0));
        outcome("running-engine-fsync", beforeFile::fsync);
        step("running-engine-close");
        exhaust();
        before.close(); // its loops' shutdown, with no thread to be had
        line("CHECK pids-running-engine-closed ok");

        step("engine-open");
        exhaust();
        RingEngine engine = RingEngine.open();
        backend(engine);
        exhaust();
        Path path = dir.resolve("pids.dat");
        AsyncFile file = outcome("engine-open-file", () -> engine.open(path, READ, WRITE, CREATE));
        if (file != null) {
            outcome("engine-write", () -> file.write(chunk(0), 0));
            outcome("engine-fsync", file::fsync);
        }

        step("facade");
        exhaust();
        AioContext context = new AioContext();
        int fd = Fcntl.open(dir.resolve("facade.dat").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT, 0644);
        check(fd >= 0, "pids-facade-open", "fd " + fd);
        AtomicInteger notified = new AtomicInteger();
        facadeWrite(context, fd, notified, "facade-write");
        backend(context);
        awaitNotifications(notified, 1, "pids-facade-notified-once");

        signal(context, fd);
        closeFromCallback(closer);
        sweep(dir);

        step("release");
        release(BALLAST.size());
        line("PIDS released");

        step("after-release");
        AsyncFile again = file != null ? file : DriverSupport.join(engine.open(path, READ, WRITE, CREATE));
        check(DriverSupport.join(again.write(chunk(1), 0)) == SIZE, "pids-engine-recovers-write", SIZE + " bytes");
        ByteBuffer back = ByteBuffer.allocateDirect(SIZE);
        check(DriverSupport.join(again.read(back, 0)) == SIZE && back.flip().equals(chunk(1)),
                "pids-engine-recovers-read", SIZE + " bytes read back intact");
        Aiocb after = facadeWrite(context, fd, notified, "facade-write-after");
        check(context.aio_error(after) == 0, "pids-facade-recovers", "aio_error 0 after the release");
        awaitNotifications(notified, 2, "pids-facade-notified-again");

        step("close");
        again.close();
        engine.close();
        Unistd.close(fd);
        context.close();
        line("CHECK pids-closed ok engines and context closed");
        stepDeadline = Long.MAX_VALUE;
    }

    /**
     * An {@code aio_write} with a SIGEV_SIGNAL notification, the facade's signal delivery thread not started yet: the
     * handler must still run, exactly once.
     */
    private static void signal(AioContext context, int fd) {
        step("signal");
        exhaust();
        AtomicInteger signals = new AtomicInteger();
        Signals.sigaction(Signals.SIGUSR1, info -> signals.incrementAndGet());
        Aiocb cb = cb(fd, 0, chunk(2), SIZE, 0);
        cb.aio_sigevent = SigEvent.signal(Signals.SIGUSR1, "pids");
        if (context.aio_write(cb) != 0) {
            line("OUTCOME signal-write errno " + errnoName(context.errno()) + " (aio_write returned -1)");
            return; // a call that returned -1 started nothing and notifies nothing
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (context.aio_error(cb) == Errno.EINPROGRESS && System.nanoTime() < deadline) {
            context.aio_suspend(new Aiocb[] {cb}, 1, new Timespec(1, 0));
        }
        int err = context.aio_error(cb);
        line("OUTCOME signal-write" + (err == 0 ? " ok " + SIZE + " bytes" : " errno " + errnoName(err)));
        awaitNotifications(signals, 1, "pids-signal-delivered-once");
        Signals.sigaction(Signals.SIGUSR1, null);
    }

    /**
     * {@code close()} called from a completion on a ring thread, with no thread to be had for the close to finish on:
     * it must not throw, the engine must refuse submissions from then on, and a later {@code close()} from this thread
     * must finish it (not wait for ever).
     */
    private static void closeFromCallback(RingEngine closer) throws InterruptedException {
        step("close-from-callback");
        exhaust();
        CountDownLatch ran = new CountDownLatch(1);
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Request nop = new Request((req, res) -> {
            try {
                closer.close();
            } catch (Throwable t) {
                thrown.set(t);
            } finally {
                ran.countDown();
            }
        });
        nop.prep(Uapi.IORING_OP_NOP, -1, 0, 0, 0, 0);
        closer.submit(nop);
        check(ran.await(WAIT_SECONDS, TimeUnit.SECONDS), "pids-close-from-callback-ran", "the completion ran");
        check(thrown.get() == null, "pids-close-from-callback", "close() from a completion threw " + thrown.get());
        check(!closer.isOpen(), "pids-close-from-callback-closed", "isOpen() false");
        closer.close(); // runs the close the callback could not start, or waits for it: the watchdog fails a hang
        line("CHECK pids-close-from-callback-finished ok");
    }

    /**
     * Opens (and closes) an engine with a caller ring with 0, 1, 2, ... threads to be had, until it runs on io_uring
     * with its caller ring: so that each of its threads in turn is the one refused (a ring loop, then the next, then
     * the caller rings' reaper). Each open must give an engine; a file opened on it works or fails with EAGAIN.
     */
    private static void sweep(Path dir) throws InterruptedException {
        for (int free = 0; free <= SWEEP_MAX; free++) {
            step("sweep-" + free);
            exhaust();
            release(free);
            RingEngine e = RingEngine.open(new RingEngineConfig().rings(2).callerRings(1));
            String shape = e.backend() + " callerRings=" + e.callerRingCount();
            outcome("sweep-" + free + "-open-file", () -> e.open(dir.resolve("sweep.dat"), READ, WRITE, CREATE)
                    .thenCompose(f -> f.write(chunk(3), 0).thenCompose(n -> f.closeAsync().thenApply(v -> n))));
            e.close();
            line("SWEEP free=" + free + " " + shape + " reason=" + e.backendReason());
            if (e.backend() == Backend.IO_URING && e.callerRingCount() > 0) {
                line("CHECK pids-sweep ok every thread of the engine refused in turn, " + free + " threads suffice");
                return;
            }
        }
        throw new CheckFailed("pids-sweep: no io_uring engine with its caller ring with " + SWEEP_MAX
                + " threads free");
    }

    private static final int SWEEP_MAX = 12;

    /** Waits (bounded) for the count of SIGEV_THREAD notifications to reach {@code expected}, then checks it is that. */
    private static void awaitNotifications(AtomicInteger notified, int expected, String name) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (notified.get() < expected && System.nanoTime() < deadline) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
        check(notified.get() == expected, name, "the notification ran " + notified.get() + " time(s) in all");
    }

    // ---------------------------------------------------------------- the steps

    /** One aio_write with a SIGEV_THREAD notification; reports its outcome, which must be 0 or EAGAIN. */
    private static Aiocb facadeWrite(AioContext context, int fd, AtomicInteger notified, String name) {
        Aiocb cb = cb(fd, 0, chunk(2), SIZE, 0);
        cb.aio_sigevent = SigEvent.thread(v -> notified.incrementAndGet(), name);
        int queued;
        try {
            queued = context.aio_write(cb);
        } catch (Error e) {
            throw new CheckFailed(name + ": aio_write threw " + e);
        }
        if (queued != 0) {
            int err = context.errno();
            line("OUTCOME " + name + " errno " + errnoName(err) + " (aio_write returned -1)");
            check(err == Errno.EAGAIN, "pids-" + name + "-errno", "EAGAIN");
            return cb;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (context.aio_error(cb) == Errno.EINPROGRESS && System.nanoTime() < deadline) {
            context.aio_suspend(new Aiocb[] {cb}, 1, new Timespec(1, 0));
        }
        int err = context.aio_error(cb);
        check(err != Errno.EINPROGRESS, "pids-" + name + "-completes", "aio_error final within " + WAIT_SECONDS + " s");
        line("OUTCOME " + name + (err == 0 ? " ok " + SIZE + " bytes" : " errno " + errnoName(err)));
        check(err == 0 || err == Errno.EAGAIN, "pids-" + name + "-errno", "0 or EAGAIN, was " + errnoName(err));
        return cb;
    }

    /** Runs one engine call and reports what its future gave; an Error or a hang fails the scenario. */
    private static <T> T outcome(String name, Call<T> call) {
        CompletableFuture<T> future;
        try {
            future = call.start();
        } catch (Error e) {
            throw new CheckFailed(name + ": the call threw " + e);
        } catch (RuntimeException e) {
            line("OUTCOME " + name + " threw " + e);
            return null;
        }
        try {
            T value = future.get(WAIT_SECONDS, TimeUnit.SECONDS);
            line("OUTCOME " + name + " ok " + value);
            return value;
        } catch (TimeoutException e) {
            throw new CheckFailed(name + ": no completion within " + WAIT_SECONDS + " s");
        } catch (InterruptedException e) {
            throw new CheckFailed(name + ": interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof UringIOException u) {
                line("OUTCOME " + name + " errno " + u.errnoName() + " " + u.getMessage());
                check(u.errno() == Errno.EAGAIN, "pids-" + name + "-errno", "EAGAIN, was " + u.errnoName());
                return null;
            }
            throw new CheckFailed(name + ": failed with " + c + " (expected a UringIOException)");
        }
    }

    @FunctionalInterface
    private interface Call<T> {
        CompletableFuture<T> start();
    }

    private static ByteBuffer chunk(long gen) {
        return ByteBuffer.allocateDirect(SIZE).put(patternBytes(SEED, gen, 0, SIZE)).flip();
    }

    // ---------------------------------------------------------------- ballast and watchdog

    /**
     * Starts parked threads until the kernel refuses one; returns how many this call started. Called before each
     * step, so that pids freed meanwhile (an exited compiler thread, a released ballast thread) are taken again.
     */
    private static int exhaust() {
        int started = takeFreePids();
        // Threads that ended just before (a closed engine's loops) leave the kernel a little after their Java side is
        // done: look again a few times so that their pids are taken too.
        for (int i = 0; i < SETTLE_ROUNDS; i++) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            started += takeFreePids();
        }
        return started;
    }

    private static final int SETTLE_ROUNDS = 5;

    private static int takeFreePids() {
        int started = 0;
        while (true) {
            Ballast b = new Ballast();
            try {
                b.thread.start();
            } catch (OutOfMemoryError refused) {
                return started;
            }
            BALLAST.add(b);
            started++;
        }
    }

    /** Ends {@code count} ballast threads (the newest) and waits until they are gone: their pids are free again. */
    private static void release(int count) throws InterruptedException {
        List<Ballast> gone = new ArrayList<>();
        for (int i = 0; i < count && !BALLAST.isEmpty(); i++) {
            Ballast b = BALLAST.remove(BALLAST.size() - 1);
            b.released = true;
            LockSupport.unpark(b.thread);
            gone.add(b);
        }
        for (Ballast b : gone) {
            b.thread.join();
        }
    }

    /** A parked thread that holds one pid until released. */
    private static final class Ballast {
        volatile boolean released;
        final Thread thread = Thread.ofPlatform().daemon().stackSize(64 << 10).unstarted(() -> {
            while (!released) {
                LockSupport.park();
            }
        });
    }

    private static void step(String name) {
        step = name;
        stepDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_SECONDS);
        line("STEP " + name);
    }

    /** Started before the exhaustion: fails the scenario if a step hangs. */
    private static void startWatchdog() {
        Thread.ofPlatform().daemon().name("pids-watchdog").start(() -> {
            while (true) {
                LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
                if (System.nanoTime() - stepDeadline > 0) {
                    line("FAIL pids: step " + step + " hangs (more than " + STEP_SECONDS + " s)");
                    Thread.getAllStackTraces().forEach((t, st) -> {
                        System.err.println(t);
                        for (StackTraceElement e : st) {
                            System.err.println("    at " + e);
                        }
                    });
                    Runtime.getRuntime().halt(1);
                }
            }
        });
    }
}
