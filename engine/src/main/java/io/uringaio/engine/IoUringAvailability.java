package io.uringaio.engine;

import io.netty.channel.uring.IoUring;
import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.ErrnoTable;
import io.uringaio.engine.uapi.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decides whether io_uring can be used, and says why not: the hook that backend selection consults. The default asks
 * Netty ({@code IoUring.isAvailable()}, which tried {@code io_uring_setup}) and names the cause; a test can install
 * one that reports io_uring unavailable to exercise the fallback without touching the kernel. Package-private: a
 * test hook, not API.
 */
@FunctionalInterface
interface IoUringAvailability {
    /** The reason io_uring cannot be used, or null when it can. */
    String unavailableReason();

    /**
     * Netty's verdict, with the cause turned into a short reason such as {@code "io_uring_setup: EPERM (seccomp?)"};
     * then, where Netty says yes, whether {@code io_uring_enter} is allowed ({@link #enterRefusal}).
     */
    IoUringAvailability NETTY = () -> {
        if (IoUring.isAvailable()) {
            return enterRefusal();
        }
        return describe(IoUring.unavailabilityCause());
    };

    /**
     * Sets up a one-entry ring and enters it with nothing to do: null when the kernel answers 0, else the reason. Netty's
     * availability check sets a ring up and registers on it but never enters one, so a seccomp profile that denies only
     * {@code io_uring_enter} passed it, and every ring loop then died on its first enter: the engine's open failed with
     * a {@code RejectedExecutionException} instead of falling back. One setup, one enter and one close per engine open.
     */
    static String enterRefusal() {
        try (Arena arena = Arena.ofConfined()) {
            int fd = Libc.ioUringSetup(1, arena.allocate(Uapi.IO_URING_PARAMS_SIZE, 8).address());
            if (fd < 0) {
                return "io_uring_setup: " + ErrnoTable.describe(-fd);
            }
            int res = Libc.ioUringEnter(fd, 0, 0, 0, 0, 0);
            Libc.close(fd);
            if (res < 0) {
                return "io_uring_enter: " + ErrnoTable.name(-res) + (res == -ErrnoTable.EPERM ? " (seccomp?)" : "");
            }
            return null;
        }
    }

    String SETUP = "io_uring_setup";

    /**
     * The system call the cause names ({@code io_uring_register} or {@code io_uring_enter}, as Netty's messages
     * do), else {@code io_uring_setup}: a profile that denies only {@code io_uring_register} was reported as a refused
     * setup.
     */
    static String refusedCall(Throwable cause) {
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String m = String.valueOf(t.getMessage());
            for (String call : new String[] {"io_uring_register", "io_uring_enter"}) {
                if (m.contains(call)) {
                    return call;
                }
            }
        }
        return SETUP;
    }

    /** A short reason for a failure to set up io_uring. */
    static String describe(Throwable cause) {
        String sysctl = "";
        try {
            Path p = Path.of("/proc/sys/kernel/io_uring_disabled");
            if (Files.isReadable(p)) {
                String v = Files.readString(p).trim();
                if (!v.equals("0")) {
                    sysctl = ", kernel.io_uring_disabled=" + v;
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // the sysctl is only a hint
        }
        String message = cause == null ? "unknown" : String.valueOf(cause.getMessage());
        String call = refusedCall(cause);
        if (message.contains("Operation not permitted") || message.contains("EPERM")) {
            return call + ": EPERM (seccomp?" + sysctl + ")";
        }
        if (message.contains("Function not implemented") || message.contains("ENOSYS")) {
            return call + ": ENOSYS (" + (call.equals(SETUP) ? "kernel without io_uring" : "seccomp?") + sysctl + ")";
        }
        return "io_uring unavailable: " + (cause == null ? "unknown" : cause.toString()) + sysctl;
    }
}
