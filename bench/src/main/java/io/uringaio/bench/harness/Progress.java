package io.uringaio.bench.harness;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The progress line on stderr: contender, workload, elapsed, running IOPS. On a terminal one line refreshed in place
 * (every 0.25 s); otherwise (CI logs) one line per second of measurement, none during warm-up.
 */
public final class Progress {
    private static final long TERMINAL_REFRESH_NANOS = 250_000_000L;
    private static final long LOG_REFRESH_NANOS = 1_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final boolean quiet;
    private int index;
    private int total;
    private volatile boolean stopped;

    public Progress(PrintStream out, boolean terminal, boolean quiet) {
        this.out = out;
        this.terminal = terminal;
        this.quiet = quiet;
    }

    /** Progress on stderr, in place when stderr is a terminal. */
    public static Progress stderr(boolean quiet) {
        java.io.Console console = System.console();
        return new Progress(System.err, console != null && console.isTerminal(), quiet);
    }

    /** Sets the trial count shown as "[i/n]". */
    public void plan(int trials) {
        this.total = trials;
        this.index = 0;
    }

    /** Marks the run as cut short (the JVM is exiting): nothing more is printed. */
    public void stop() {
        stopped = true;
    }

    /** Whether {@link #stop} was called. */
    public boolean stopped() {
        return stopped;
    }

    /** How many trials have begun (the one running included). */
    public int begun() {
        return index;
    }

    /** The trial count given to {@link #plan}. */
    public int planned() {
        return total;
    }

    public Task begin(String contender, String workload) {
        index++;
        return new Task(String.format(Locale.ROOT, "[%d/%d] %-20s %-25s", index, total, contender, workload));
    }

    /** Prints a whole line (a skip, a failure), clearing an in-place line first. */
    public void line(String text) {
        if (quiet || stopped) {
            return;
        }
        if (terminal) {
            out.print("\r\033[K");
        }
        out.println(text);
        out.flush();
    }

    /** One trial's line. */
    public final class Task {
        private final String prefix;
        private final long startNanos = System.nanoTime();
        private long lastPrintNanos;
        private long lastOps;
        private long lastOpsNanos;
        private long measureStartNanos;
        private boolean printedInPlace;

        Task(String prefix) {
            this.prefix = prefix;
        }

        void warmingUp(long opsSoFar) {
            if (terminal) {
                print(String.format(Locale.ROOT, "%s warm-up %5.1f s", prefix, elapsed()), false);
            }
        }

        /** During the measured window: {@code seconds} into it, {@code ops} done in it. */
        public void measuring(double seconds, long ops) {
            long now = System.nanoTime();
            if (measureStartNanos == 0) {
                measureStartNanos = now - (long) (seconds * 1e9);
                lastOpsNanos = measureStartNanos;
                lastPrintNanos = measureStartNanos;
            }
            long every = terminal ? TERMINAL_REFRESH_NANOS : LOG_REFRESH_NANOS;
            if (now - lastPrintNanos < every) {
                return;
            }
            double iops = (ops - lastOps) / Math.max(1e-9, (now - lastOpsNanos) / 1e9);
            lastOps = ops;
            lastOpsNanos = now;
            print(String.format(Locale.ROOT, "%s %5.1f s %,12.0f IOPS", prefix, seconds, iops), !terminal);
        }

        /** For external contenders (fio): elapsed only. */
        public void running(double seconds) {
            long now = System.nanoTime();
            if (lastPrintNanos == 0) {
                lastPrintNanos = now;
            }
            if (now - lastPrintNanos < (terminal ? TERMINAL_REFRESH_NANOS : LOG_REFRESH_NANOS)) {
                return;
            }
            print(String.format(Locale.ROOT, "%s %5.1f s (external)", prefix, seconds), !terminal);
        }

        private void print(String text, boolean newline) {
            lastPrintNanos = System.nanoTime();
            if (quiet) {
                return;
            }
            if (newline) {
                out.println(text);
            } else {
                out.print("\r\033[K" + text);
                printedInPlace = true;
            }
            out.flush();
        }

        private double elapsed() {
            return (System.nanoTime() - startNanos) / 1e9;
        }

        void end() {
            if (printedInPlace && !quiet) {
                out.print("\r\033[K");
                out.flush();
            }
        }
    }
}
