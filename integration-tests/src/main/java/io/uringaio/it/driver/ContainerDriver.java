package io.uringaio.it.driver;

import java.nio.file.Path;
import java.util.Arrays;

import static io.uringaio.it.driver.DriverSupport.line;

/**
 * The program the integration tests run inside containers, on the host's JDK and the project's jars. Each subcommand
 * runs one scenario, which exercises the engine or the POSIX facade and reports on stdout, one fact a line:
 * <pre>
 * BACKEND IO_URING io_uring available and probe op succeeded
 * CHECK workload-verify ok 4194304 bytes
 * RESULT workload crc32c=1a2b3c4d bytes=4194304
 * ERRNO enospc-engine 28 ENOSPC write /full/engine.dat: ENOSPC (No space left on device)
 * ACK 17
 * DONE workload
 * </pre>
 * A failed check prints {@code FAIL ...} and exits with status 1; the host test reads the lines and the exit status.
 * The engine's backend follows {@code -Duringaio.backend} (AUTO when unset). The scenarios: {@link WorkloadScenario},
 * {@link FacadeLioScenario}, {@link EnospcScenario}, {@link RofsScenario}, {@link DurableStreamScenario}.
 */
public final class ContainerDriver {
    private ContainerDriver() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            usage();
            System.exit(2);
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            if (!dispatch(command, rest)) {
                usage();
                System.exit(2);
            }
        } catch (CheckFailed e) {
            line("FAIL " + e.getMessage());
            System.exit(1);
        } catch (Throwable t) {
            line("FAIL " + command + ": " + t);
            t.printStackTrace();
            System.exit(1);
        }
        line("DONE " + command);
        System.exit(0);
    }

    /** Runs the command's scenario; false if there is no such command. */
    private static boolean dispatch(String command, String[] rest) throws Exception {
        switch (command) {
            case "workload" -> WorkloadScenario.run(dir(rest));
            case "facade-lio" -> FacadeLioScenario.run(dir(rest));
            case "mixed" -> {
                WorkloadScenario.run(dir(rest));
                FacadeLioScenario.run(dir(rest));
            }
            case "enospc" -> EnospcScenario.run(dir(rest));
            case "rofs" -> RofsScenario.run(dir(rest));
            case "pids" -> PidsScenario.run(dir(rest));
            case "backend-smoke" -> BackendSmokeScenario.run(dir(rest));
            case "nofile" -> NofileScenario.run(dir(rest));
            case "rofs-prepare" -> line("RESULT rofs-prepare bytes=" + RofsScenario.prepare(dir(rest)));
            case "durable-stream" -> DurableStreamScenario.run(Path.of(arg(rest, 0, "FILE")),
                    Long.parseLong(arg(rest, 1, "RECORDS")), Integer.parseInt(arg(rest, 2, "INFLIGHT")));
            default -> {
                return false;
            }
        }
        return true;
    }

    private static void usage() {
        System.err.println("""
                usage: ContainerDriver workload DIR | facade-lio DIR | mixed DIR (both) | enospc DIR | rofs DIR | pids DIR
                                     | backend-smoke DIR | nofile DIR
                                     | rofs-prepare DIR
                                     | durable-stream FILE RECORDS INFLIGHT""");
    }

    private static Path dir(String[] args) {
        return Path.of(arg(args, 0, "DIR"));
    }

    private static String arg(String[] args, int i, String name) {
        if (i >= args.length) {
            throw new IllegalArgumentException("missing " + name);
        }
        return args[i];
    }
}
