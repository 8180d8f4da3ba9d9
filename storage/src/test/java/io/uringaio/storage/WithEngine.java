package io.uringaio.storage;

import io.uringaio.engine.RingEngine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * What most storage tests start from: a fresh small engine ({@link StorageTesting#engine()}) and an empty temporary
 * directory per test, the engine closed after it.
 */
abstract class WithEngine {
    @TempDir
    Path dir;
    RingEngine engine;

    @BeforeEach
    void openEngine() {
        engine = StorageTesting.engine();
    }

    @AfterEach
    void closeEngine() {
        engine.close();
    }
}
