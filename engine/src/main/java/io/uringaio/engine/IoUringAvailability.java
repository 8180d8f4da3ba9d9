package io.uringaio.engine;

import io.netty.channel.uring.IoUring;

import java.io.IOException;
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

    /** Netty's verdict, with the cause turned into a short reason such as {@code "io_uring_setup: EPERM (seccomp?)"}. */
    IoUringAvailability NETTY = () -> {
        if (IoUring.isAvailable()) {
            return null;
        }
        return describe(IoUring.unavailabilityCause());
    };

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
        if (message.contains("Operation not permitted") || message.contains("EPERM")) {
            return "io_uring_setup: EPERM (seccomp?" + sysctl + ")";
        }
        if (message.contains("Function not implemented") || message.contains("ENOSYS")) {
            return "io_uring_setup: ENOSYS (kernel without io_uring" + sysctl + ")";
        }
        return "io_uring unavailable: " + (cause == null ? "unknown" : cause.toString()) + sysctl;
    }
}
