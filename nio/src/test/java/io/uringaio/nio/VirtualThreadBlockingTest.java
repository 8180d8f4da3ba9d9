package io.uringaio.nio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Virtual threads blocked in {@link UringFileChannel} calls leave their carrier free: in a child JVM with a single
 * carrier (and no compensating carriers), several virtual threads wait in reads of FIFOs at once and all complete.
 */
class VirtualThreadBlockingTest {
    @TempDir
    Path dir;

    @Test
    void blockedVirtualThreadsDoNotPinTheirCarrier() throws Exception {
        String out = ChildJvm.run(List.of("-Djdk.virtualThreadScheduler.parallelism=1",
                "-Djdk.virtualThreadScheduler.maxPoolSize=1"), PinningProbeMain.class, dir.toString());
        assertEquals("OK", out.lines().filter(l -> !l.isBlank()).reduce((a, b) -> b).orElse(""), out);
    }
}
