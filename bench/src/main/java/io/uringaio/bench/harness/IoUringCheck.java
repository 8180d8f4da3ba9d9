package io.uringaio.bench.harness;

import io.uringaio.engine.Backend;
import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

/** Whether the engine can run on io_uring here, asked once: the engine's AUTO selection and its reason. */
final class IoUringCheck {
    private static volatile String reason;
    private static volatile boolean checked;

    private IoUringCheck() {
    }

    /** Null when io_uring works here; otherwise the engine's reason for falling back. */
    static synchronized String unavailableReason() {
        if (!checked) {
            try (RingEngine e = RingEngine.open(new RingEngineConfig().backend(Backend.AUTO).rings(1))) {
                reason = e.backend() == Backend.IO_URING ? null : "io_uring unavailable: " + e.backendReason();
            } catch (RuntimeException | Error e) {
                reason = "io_uring unavailable: " + e;
            }
            checked = true;
        }
        return reason;
    }
}
