package io.uringaio.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

class DemoOptionsTest {
    @Test
    void helpNamesTheCommandThatRunsTheDemo() {
        String usage = Demo.Options.usage();
        assertTrue(usage.startsWith("Usage: ./uring-aio java io.uringaio.bench.Demo "), usage);
        for (String option : new String[] {"--file=PATH", "--size=MiB", "--seconds=N", "--quick", "--help"}) {
            assertTrue(usage.contains(option), option + " in\n" + usage);
        }
        assertNull(assertThrows(Demo.UsageException.class, () -> Demo.Options.parse(new String[] {"-h"}))
                .getMessage());
    }

    @Test
    void defaultsQuickAndOverrides() {
        Demo.Options d = Demo.Options.parse(new String[0]);
        assertEquals(256, d.sizeMiB());
        assertEquals(5, d.seconds());
        assertFalse(d.fileGiven());
        assertEquals(Path.of("bench-results", "bench-256MiB.dat"), d.file());
        Demo.Options q = Demo.Options.parse(new String[] {"--quick"});
        assertEquals(32, q.sizeMiB());
        assertEquals(1, q.seconds());
        Demo.Options o = Demo.Options.parse(new String[] {"--file", "/data/f", "--size", "8", "--seconds", "0.5"});
        assertEquals(Path.of("/data/f"), o.file());
        assertTrue(o.fileGiven());
        assertEquals(8, o.sizeMiB());
        assertEquals(0.5, o.seconds());
    }

    @Test
    void mistakesSayWhatIsWrong() {
        assertEquals("--size wants a whole number in 1..1048576, got 0", error("--size", "0"));
        assertEquals("--seconds wants a number of seconds in (0, 3600], got 0.0", error("--seconds", "0"));
        assertEquals("Unknown option: '--bogus'", error("--bogus"));
        assertEquals("Missing required parameter for option '--file' (PATH)", error("--file"));
        assertEquals("--file wants a path, got ''", error("--file", "")); // was the working directory: EISDIR
    }

    /** Java's double syntax took "1d", "2f" and hex: "--seconds 1d" ran 1 s phases. Decimal only. */
    @Test
    void secondsAreDecimalNotJavaLiterals() {
        for (String v : new String[] {"1d", "2F", "0x1p3"}) {
            assertEquals("Invalid value for option '--seconds': '" + v + "' is not a decimal number",
                    error("--seconds", v), v);
        }
        assertEquals(0.5, Demo.Options.parse(new String[] {"--seconds", "5e-1"}).seconds());
    }

    /** A mistake is one line on stderr with status 2; --help is the usage on stdout with status 0. */
    @Test
    void aMistakeIsOneLineAndHelpGoesToStdout() {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        assertEquals(2, Demo.explain(assertThrows(Demo.UsageException.class,
                () -> Demo.Options.parse(new String[] {"--size", "x"})), print(out), print(err)));
        String text = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, text.lines().count(), text);
        assertTrue(text.startsWith("./uring-aio java io.uringaio.bench.Demo: Invalid value for option '--size'"),
                text);
        assertEquals("", out.toString(java.nio.charset.StandardCharsets.UTF_8));
        err.reset();
        assertEquals(0, Demo.explain(assertThrows(Demo.UsageException.class,
                () -> Demo.Options.parse(new String[] {"--help"})), print(out), print(err)));
        assertEquals(Demo.Options.usage(), out.toString(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("", err.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static java.io.PrintStream print(java.io.ByteArrayOutputStream bytes) {
        return new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static String error(String... args) {
        return assertThrows(Demo.UsageException.class, () -> Demo.Options.parse(args)).getMessage();
    }
}
