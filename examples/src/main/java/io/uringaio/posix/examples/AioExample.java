package io.uringaio.posix.examples;

import static io.uringaio.posix.Aio.*;
import static io.uringaio.posix.Errno.*;
import static io.uringaio.posix.Fcntl.*;
import static io.uringaio.posix.Signals.*;

import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.SigEvent;
import io.uringaio.posix.SigInfo;
import io.uringaio.posix.Unistd;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The example program of the aio(7) man page, ported line for line: one {@code aio_read} per file named on the command
 * line, completion notified by SIGEV_SIGNAL with the request as the value, a monitoring loop that polls
 * {@code aio_error}, cancel of every outstanding request on a quit request, then {@code aio_return}.
 *
 * <p>The C program cancels on SIGQUIT (control-\). A JVM does not hand SIGQUIT to the program (it prints a thread
 * dump), so here the quit request is a line {@code quit} on standard input, or {@code --quit-after SECONDS}; both set
 * the same flag the C signal handler sets (so does an interrupt of the main thread), and the monitoring loop takes the
 * same cancel path. Two more departures, for a user at a shell: an error names the errno as well as strerror's text
 * ("open: /x: No such file or directory (ENOENT)"), and a read that failed makes the exit status 1 (the C program
 * exits 0).
 *
 * <pre>
 * ./uring-aio java io.uringaio.posix.examples.AioExample [--interval MS] [--quit-after SECONDS] [--] FILE...
 * </pre>
 * Try it with a pipe that nobody writes to: {@code mkfifo /tmp/f; ./uring-aio java ... /tmp/f /etc/hostname} and
 * type {@code quit} (the fifo needs a writer to open: {@code sleep 600 > /tmp/f &}).
 */
public final class AioExample {

    private static final int BUF_SIZE = 20;       // size of buffers for read operations

    private static final int IO_SIGNAL = SIGUSR1; // signal used to notify I/O completion

    /** Application-defined structure for tracking I/O requests. */
    private static final class IoRequest {
        int reqNum;
        int status;
        Aiocb aiocbp;
    }

    private volatile boolean gotSIGQUIT;

    private final PrintStream out;

    private AioExample(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err));
    }

    /**
     * Runs the program; returns its exit status (0 success, 1 a mistake, a file that did not open or a read that
     * failed; a read canceled on a quit request is not a failure). {@code in} is where a "quit" line may come
     * from (it is read on a daemon thread; pass an empty stream to disable). Used by the tests to run it in-process.
     */
    public static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        long intervalMillis = 3000; // delay between each monitoring step, as the C program's sleep(3)
        double quitAfterSeconds = -1;
        List<String> files = new ArrayList<>();
        boolean options = true;
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (!options || !arg.startsWith("-") || arg.equals("-")) {
                    files.add(arg);
                    continue;
                }
                switch (arg) {
                    case "--" -> options = false;
                    case "-h", "--help" -> {
                        out.println(USAGE);
                        return 0;
                    }
                    case "--interval" -> intervalMillis = wholeMillis(arg, valueOf(args, ++i, arg));
                    case "--quit-after" -> quitAfterSeconds = seconds(arg, valueOf(args, ++i, arg));
                    default -> throw new IllegalArgumentException("unknown option " + arg + " (a file named so: "
                            + "put it after --)");
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("AioExample: " + e.getMessage());
            return 1;
        }
        if (files.isEmpty()) {
            err.println(USAGE);
            return 1;
        }
        return new AioExample(out).main(files, in, intervalMillis, quitAfterSeconds, err);
    }

    private static final String USAGE = "Usage: AioExample [--interval MS] [--quit-after SECONDS] [--] <pathname> "
            + "<pathname>...";

    private static String valueOf(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static long wholeMillis(String option, String value) {
        try {
            long v = Long.parseLong(value);
            if (v >= 0) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(option + " wants a whole number of milliseconds >= 0, got '" + value + "'");
    }

    private static double seconds(String option, String value) {
        try {
            double v = Double.parseDouble(value);
            if (v >= 0 && Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new IllegalArgumentException(option + " wants a number of seconds >= 0, got '" + value + "'");
    }

    /** Handler for the I/O completion signal. */
    private void aioSigHandler(SigInfo si) {
        if (si.si_code() == SI_ASYNCIO) {
            out.println("I/O completion signal received");
            // The corresponding IoRequest is si.si_value(), and its file descriptor
            // ((IoRequest) si.si_value()).aiocbp.aio_fildes.
        }
    }

    /** Starts the sources of a quit request: the stand-ins for SIGQUIT. */
    private void establishQuitSources(InputStream in, double quitAfterSeconds) {
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    if (line.trim().equals("quit")) {
                        gotSIGQUIT = true; // quitHandler
                    }
                }
            } catch (IOException e) {
                // stdin gone: no more quit requests from it
            }
        }, "aio-example-stdin");
        stdin.setDaemon(true);
        stdin.start();
        if (quitAfterSeconds >= 0) {
            Thread timer = new Thread(() -> {
                try {
                    Thread.sleep((long) (quitAfterSeconds * 1000));
                    gotSIGQUIT = true; // quitHandler
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "aio-example-quit-timer");
            timer.setDaemon(true);
            timer.start();
        }
    }

    private int main(List<String> argv, InputStream in, long intervalMillis, double quitAfterSeconds, PrintStream err) {
        int s;
        int numReqs = argv.size(); // total number of queued I/O requests
        int openReqs;              // number of I/O requests still in progress
        boolean failed = false;    // whether a request ended in an error (not a cancel): the exit status

        // Allocate our arrays.
        IoRequest[] ioList = new IoRequest[numReqs];
        Aiocb[] aiocbList = new Aiocb[numReqs];

        // Establish handlers for the quit request and the I/O completion signal.
        establishQuitSources(in, quitAfterSeconds);
        if (sigaction(IO_SIGNAL, this::aioSigHandler) == -1) {
            err.println("sigaction: " + describe(errno()));
            return 1;
        }

        try {
            // Open each file specified on the command line, and queue a read request on the resulting descriptor.
            for (int j = 0; j < numReqs; j++) {
                ioList[j] = new IoRequest();
                aiocbList[j] = new Aiocb();
                ioList[j].reqNum = j;
                ioList[j].status = EINPROGRESS;
                ioList[j].aiocbp = aiocbList[j];

                ioList[j].aiocbp.aio_fildes = open(argv.get(j), O_RDONLY, 0);
                if (ioList[j].aiocbp.aio_fildes == -1) {
                    // the C program: perror("open"); here with the file and the errno's name
                    err.println("open: " + argv.get(j) + ": " + describe(errno()));
                    return 1;
                }
                out.printf("opened %s on descriptor %d%n", argv.get(j), ioList[j].aiocbp.aio_fildes);

                ioList[j].aiocbp.aio_buf = ByteBuffer.allocateDirect(BUF_SIZE);
                ioList[j].aiocbp.aio_nbytes = BUF_SIZE;
                ioList[j].aiocbp.aio_reqprio = 0;
                ioList[j].aiocbp.aio_offset = 0;
                ioList[j].aiocbp.aio_sigevent = SigEvent.signal(IO_SIGNAL, ioList[j]);

                s = aio_read(ioList[j].aiocbp);
                if (s == -1) {
                    err.println("aio_read: " + describe(errno()));
                    return 1;
                }
            }

            openReqs = numReqs;

            // Loop, monitoring status of I/O requests.
            while (openReqs > 0) {
                sleep(intervalMillis); // delay between each monitoring step

                if (gotSIGQUIT) {
                    // On a quit request, attempt to cancel each of the outstanding I/O requests, and display the
                    // status returned from the cancelation requests.
                    out.println("got SIGQUIT; canceling I/O requests: ");

                    for (int j = 0; j < numReqs; j++) {
                        if (ioList[j].status == EINPROGRESS) {
                            // Each line goes out in one call: the signal handler prints from another thread.
                            String line = String.format("    Request %d on descriptor %d:", j,
                                    ioList[j].aiocbp.aio_fildes);
                            s = aio_cancel(ioList[j].aiocbp.aio_fildes, ioList[j].aiocbp);
                            if (s == AIO_CANCELED) {
                                out.println(line + "I/O canceled");
                            } else if (s == AIO_NOTCANCELED) {
                                out.println(line + "I/O not canceled");
                            } else if (s == AIO_ALLDONE) {
                                out.println(line + "I/O all done");
                            } else {
                                out.println(line);
                                err.println("aio_cancel: " + describe(errno()));
                            }
                        }
                    }

                    gotSIGQUIT = false;
                }

                // Check the status of each I/O request that is still in progress.
                out.println("aio_error():");
                for (int j = 0; j < numReqs; j++) {
                    if (ioList[j].status == EINPROGRESS) {
                        String line = String.format("    for request %d (descriptor %d): ", j,
                                ioList[j].aiocbp.aio_fildes);
                        ioList[j].status = aio_error(ioList[j].aiocbp);

                        switch (ioList[j].status) {
                            case 0 -> out.println(line + "I/O succeeded");
                            case EINPROGRESS -> out.println(line + "In progress");
                            case ECANCELED -> out.println(line + "Canceled");
                            default -> {
                                out.println(line);
                                err.println("aio_error: " + describe(ioList[j].status));
                                failed = true;
                            }
                        }

                        if (ioList[j].status != EINPROGRESS) {
                            openReqs--;
                        }
                    }
                }
            }

            out.println("All I/O requests completed");

            // Check status return of all I/O requests.
            out.println("aio_return():");
            for (int j = 0; j < numReqs; j++) {
                long ret = aio_return(ioList[j].aiocbp);
                out.printf("    for request %d (descriptor %d): %d%n", j, ioList[j].aiocbp.aio_fildes, ret);
            }
            // The C program exits EXIT_SUCCESS even when a read failed; a shell or script should see it failed. A
            // canceled read (the user asked) is not a failure.
            return failed ? 1 : 0;
        } finally {
            // The C program leaves this to exit(); in a JVM that goes on, close what we opened.
            for (Aiocb cb : aiocbList) {
                if (cb != null && cb.aio_fildes > 0) {
                    Unistd.close(cb.aio_fildes);
                }
            }
        }
    }

    /** strerror's message and the errno's name: "No such file or directory (ENOENT)". */
    private static String describe(int errnum) {
        return strerror(errnum) + " (" + ErrnoTable.name(errnum) + ")";
    }

    /** The C program's sleep(3): an interrupt of the main thread ends it early and counts as a quit request. */
    private void sleep(long millis) {
        try {
            TimeUnit.MILLISECONDS.sleep(millis);
        } catch (InterruptedException e) {
            gotSIGQUIT = true;
        }
    }
}
