package io.uringaio.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.uringaio.engine.RingEngine;
import io.uringaio.engine.RingEngineConfig;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's copy leaves no part-written copy behind when it fails (a full disk, a source that shrank). */
class DemoCopyTest {
    @TempDir
    Path tmp;

    @Test
    void aFailedCopyIsRemoved() throws Exception {
        Path source = tmp.resolve("src.dat");
        BenchFiles.prepare(source, 1 << 20);
        Path copy = tmp.resolve("src.dat.copy");
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1))) {
            // the source holds 1 MiB of the 2 asked for: the copy fails at the end of file, half written
            Exception e = assertThrows(Exception.class, () -> Demo.copy(engine, source, copy, 2 << 20));
            assertTrue(String.valueOf(e.getMessage()).contains("unexpected end of file"), String.valueOf(e));
        }
        assertFalse(Files.exists(copy), "the part-written copy was removed");
        assertEquals(1 << 20, Files.size(source), "the source is untouched");
    }

    @Test
    void aCopyOntoADirectoryLeavesTheDirectory() throws Exception {
        Path source = tmp.resolve("src.dat");
        BenchFiles.prepare(source, 1 << 20);
        Path copy = Files.createDirectory(tmp.resolve("src.dat.copy"));
        Files.writeString(copy.resolve("keep"), "keep");
        try (RingEngine engine = RingEngine.open(new RingEngineConfig().rings(1))) {
            assertThrows(Exception.class, () -> Demo.copy(engine, source, copy, 1 << 20));
        }
        assertEquals("keep", Files.readString(copy.resolve("keep")), "not the demo's to delete");
    }
}
