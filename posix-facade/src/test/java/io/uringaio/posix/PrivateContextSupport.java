package io.uringaio.posix;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link PosixTestSupport} for a test class that runs on a context of its own ({@link #ctx}), opened before its first
 * test and closed after its last, so that what it leaves behind cannot reach another class's requests.
 */
abstract class PrivateContextSupport extends PosixTestSupport {

    /** The class's own context (the test classes run one after another). */
    static AioContext ctx;

    @BeforeAll
    static void openContext() {
        ctx = new AioContext();
    }

    @AfterAll
    static void closeContext() {
        ctx.close();
    }
}
