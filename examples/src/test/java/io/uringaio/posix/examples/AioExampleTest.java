package io.uringaio.posix.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.uringaio.posix.Aio;
import io.uringaio.posix.Unistd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The aio(7) example port, run in-process: reads of regular files complete; a read of an empty pipe stays in progress
 * until a quit request (a "quit" line on stdin, or --quit-after) cancels it.
 */
class AioExampleTest {
    /** How long a wait for the program may take before the test fails. */
    private static final long DEADLINE_MILLIS = 20_000;
    /** How long the output must stay unchanged to count as "nothing more happens". */
    private static final long QUIET_MILLIS = 150;

    @TempDir
    Path dir;

    private final List<Integer> fdsToClose = new ArrayList<>();

    @AfterEach
    void closeFds() {
        // The write end after the read end was registered: closed first, so a pending pipe read sees EOF.
        for (int i = fdsToClose.size() - 1; i >= 0; i--) {
            Unistd.close(fdsToClose.get(i));
        }
        fdsToClose.clear();
    }

    /** {@code int[]{readEnd, writeEnd}} of a new pipe; both closed after the test. */
    private int[] pipe() {
        int[] fds = new int[2];
        assertEquals(0, Unistd.pipe(fds), () -> "pipe failed, errno " + Aio.errno());
        fdsToClose.add(fds[0]);
        fdsToClose.add(fds[1]);
        return fds;
    }

    /** Polls {@code cond} until true or the deadline (the program's output has no completion to wait on). */
    private static void awaitTrue(String what, BooleanSupplier cond) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MILLIS);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("timed out waiting for: " + what);
            }
            sleepMillis(2);
        }
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private static void join(Thread t) throws InterruptedException {
        t.join(DEADLINE_MILLIS);
        assertTrue(!t.isAlive(), "thread did not finish before the deadline");
    }

    /** A PrintStream over a buffer that other threads may read while the program runs. */
    private static final class Capture {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PrintStream stream = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        String text() {
            synchronized (stream) { // PrintStream writes under its own lock
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }
    }

    private static InputStream noStdin() {
        return new ByteArrayInputStream(new byte[0]);
    }

    private Path file(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    private static int count(String haystack, String needle) {
        return haystack.split(Pattern.quote(needle), -1).length - 1;
    }

    /** The descriptor the program printed for path ("opened PATH on descriptor N"), or -1 before it did. */
    private static int descriptorOf(String out, String path) {
        Matcher m = Pattern.compile("opened " + Pattern.quote(path) + " on descriptor (\\d+)").matcher(out);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * The cancel report of one request: "Request J on descriptor N:" then "I/O canceled". As in the C program, the
     * completion handler may print its line between the two halves (the cancel notifies at once).
     */
    private static boolean reportsCanceled(String out, int j, int fd) {
        return Pattern.compile("    Request " + j + " on descriptor " + fd
                + ":(I/O completion signal received\\n)?I/O canceled\\n").matcher(out).find();
    }

    @Test
    void regularFiles_readsComplete() throws Exception {
        String a = file("a", "hello").toString();
        String b = file("b", "world!").toString();
        String c = file("c", "more than twenty bytes of text").toString();
        Capture out = new Capture();
        Capture err = new Capture();
        int rc = AioExample.run(new String[] {"--interval", "20", a, b, c}, noStdin(), out.stream, err.stream);
        String s = out.text();
        assertEquals(0, rc, s + err.text());
        int fa = descriptorOf(s, a);
        assertTrue(fa >= 0, s);
        int fb = descriptorOf(s, b);
        int fc = descriptorOf(s, c);
        assertTrue(s.contains("for request 0 (descriptor " + fa + "): I/O succeeded"), s);
        assertTrue(s.contains("for request 1 (descriptor " + fb + "): I/O succeeded"), s);
        assertTrue(s.contains("All I/O requests completed\naio_return():\n"), s);
        assertTrue(s.contains("    for request 0 (descriptor " + fa + "): 5\n"), s);
        assertTrue(s.contains("    for request 1 (descriptor " + fb + "): 6\n"), s);
        assertTrue(s.contains("    for request 2 (descriptor " + fc + "): 20\n"), s);
        assertTrue(!s.contains("got SIGQUIT"), s);
        // The completion handler runs on the facade's delivery thread: once per request, possibly after the loop.
        awaitTrue("three completion signals", () -> count(out.text(), "I/O completion signal received") >= 3);
        sleepMillis(QUIET_MILLIS);
        assertEquals(3, count(out.text(), "I/O completion signal received"));
        assertEquals("", err.text());
    }

    @Test
    void pipeRead_staysInProgress_untilQuitOnStdinCancelsIt() throws Exception {
        int[] p = pipe();
        String pipePath = "/proc/self/fd/" + p[0];
        String a = file("a", "hello").toString();
        PipedOutputStream stdinWriter = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(stdinWriter);
        Capture out = new Capture();
        Capture err = new Capture();
        AtomicInteger rc = new AtomicInteger(-99);
        Thread program = new Thread(() -> rc.set(AioExample.run(new String[] {"--interval", "20", a, pipePath},
                stdin, out.stream, err.stream)), "aio-example-main");
        program.start();
        try {
            awaitTrue("the file read succeeded and the pipe read is in progress", () -> {
                String s = out.text();
                return s.contains("for request 0 (descriptor " + descriptorOf(s, a) + "): I/O succeeded")
                        && s.contains("for request 1 (descriptor " + descriptorOf(s, pipePath) + "): In progress");
            });
            stdinWriter.write("quit\n".getBytes(StandardCharsets.UTF_8));
            stdinWriter.flush();
            join(program);
        } finally {
            stdinWriter.close();
            if (program.isAlive()) {
                program.interrupt(); // ends the program through its quit path
                program.join(DEADLINE_MILLIS);
            }
        }
        String s = out.text();
        assertEquals(0, rc.get(), s + err.text());
        int fp = descriptorOf(s, pipePath);
        int fa = descriptorOf(s, a);
        assertTrue(s.contains("got SIGQUIT; canceling I/O requests: \n"), s);
        assertTrue(reportsCanceled(s, 1, fp), s);
        assertTrue(!s.contains("Request 0 on descriptor"), "the finished request is not canceled again: " + s);
        assertTrue(s.contains("for request 1 (descriptor " + fp + "): Canceled"), s);
        assertTrue(s.contains("    for request 0 (descriptor " + fa + "): 5\n"), s);
        assertTrue(s.contains("    for request 1 (descriptor " + fp + "): -1\n"), s);
        awaitTrue("two completion signals (the cancel notifies too)",
                () -> count(out.text(), "I/O completion signal received") >= 2);
        assertEquals("", err.text());
    }

    @Test
    void quitAfter_cancelsThePipeRead() {
        int[] p = pipe();
        String pipePath = "/proc/self/fd/" + p[0];
        Capture out = new Capture();
        Capture err = new Capture();
        int rc = AioExample.run(new String[] {"--interval", "20", "--quit-after", "0.2", pipePath}, noStdin(),
                out.stream, err.stream);
        String s = out.text();
        assertEquals(0, rc, s + err.text());
        int fp = descriptorOf(s, pipePath);
        assertTrue(s.contains("for request 0 (descriptor " + fp + "): In progress"), s);
        assertTrue(reportsCanceled(s, 0, fp), s);
        assertTrue(s.contains("for request 0 (descriptor " + fp + "): Canceled"), s);
        assertTrue(s.contains("    for request 0 (descriptor " + fp + "): -1\n"), s);
    }

    @Test
    void usageAndOpenErrors_exitOne() {
        Capture out = new Capture();
        Capture err = new Capture();
        assertEquals(1, AioExample.run(new String[0], noStdin(), out.stream, err.stream));
        assertTrue(err.text().startsWith("Usage:"), err.text());
        Capture err2 = new Capture();
        assertEquals(1, AioExample.run(new String[] {dir.resolve("missing").toString()}, noStdin(), out.stream,
                err2.stream));
        assertEquals("open: " + dir.resolve("missing") + ": No such file or directory (ENOENT)\n", err2.text());
    }

    /**
     * A read that fails (a directory: EISDIR) is reported with its errno's name, the run goes on to the end as the C
     * program's, and the exit status says it failed (it was 0: only a canceled read is not a failure). The other
     * file's read is a bystander: it succeeds.
     */
    @Test
    void aFailedReadNamesTheErrnoAndTheExitStatusIsOne() throws Exception {
        String good = file("good", "hello").toString();
        Path sub = Files.createDirectory(dir.resolve("sub"));
        Capture out = new Capture();
        Capture err = new Capture();
        int rc = AioExample.run(new String[] {"--interval", "20", good, sub.toString()}, noStdin(), out.stream,
                err.stream);
        String s = out.text();
        assertEquals(1, rc, s + err.text());
        assertEquals("aio_error: Is a directory (EISDIR)\n", err.text());
        int fg = descriptorOf(s, good);
        int fs = descriptorOf(s, sub.toString());
        assertTrue(s.contains("for request 0 (descriptor " + fg + "): I/O succeeded"), s);
        assertTrue(s.contains("All I/O requests completed\naio_return():\n"), s);
        assertTrue(s.contains("    for request 0 (descriptor " + fg + "): 5\n"), s);
        assertTrue(s.contains("    for request 1 (descriptor " + fs + "): -1\n"), s);
    }

    /** Option mistakes are one line and status 1, never an exception out of main; --help is the usage, status 0. */
    @Test
    void optionMistakesAreOneLineAndHelpIsTheUsage() throws Exception {
        String file = file("a", "aaaa").toString();
        for (String[] args : List.of(new String[] {"--interval"}, new String[] {file, "--quit-after"},
                new String[] {"--interval", "abc", file}, new String[] {"--interval", "-5", file},
                new String[] {"--quit-after", "x", file}, new String[] {"--quit-after", "NaN", file},
                new String[] {"--quit-after", "-1", file}, new String[] {"--bogus", file})) {
            Capture out = new Capture();
            Capture err = new Capture();
            int rc = AioExample.run(args, noStdin(), out.stream, err.stream);
            String what = String.join(" ", args);
            assertEquals(1, rc, what);
            assertEquals("", out.text(), what);
            assertEquals(1, err.text().lines().count(), what + ": " + err.text());
            assertTrue(err.text().startsWith("AioExample: "), err.text());
        }
        for (String help : List.of("--help", "-h")) {
            Capture out = new Capture();
            Capture err = new Capture();
            assertEquals(0, AioExample.run(new String[] {help}, noStdin(), out.stream, err.stream));
            assertTrue(out.text().startsWith("Usage:"), out.text());
            assertEquals("", err.text());
        }
    }

    /** After "--" every argument is a file, even one that looks like an option. */
    @Test
    void doubleDashEndsTheOptions() throws Exception {
        Path odd = file("--interval", "odd!");
        Capture out = new Capture();
        Capture err = new Capture();
        String relative = odd.getFileName().toString(); // "--interval", resolved against the working directory
        assertEquals("--interval", relative);
        assertEquals(0, AioExample.run(new String[] {"--interval", "20", "--", odd.toString()}, noStdin(),
                out.stream, err.stream), err.text());
        assertTrue(out.text().contains("opened " + odd + " on descriptor"), out.text());
    }
}
