package io.uringaio.posix;

import static io.uringaio.posix.Aio.AIO_CANCELED;
import static io.uringaio.posix.Aio.LIO_NOWAIT;
import static io.uringaio.posix.Aio.LIO_READ;
import static io.uringaio.posix.Aio.LIO_WAIT;
import static io.uringaio.posix.Errno.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A second hostile pass over the facade, as a C programmer porting POSIX AIO code would use it: each case asserts the
 * spec's answer and that nothing ran twice or stalled. Private context; both backends (the pom runs the suite twice).
 */
class FacadeSecondPassTest extends PosixTestSupport {

    private AioContext ctx;
    private final AtomicInteger notified = new AtomicInteger();

    @BeforeEach
    void start() {
        ctx = new AioContext();
    }

    @AfterEach
    void stop() {
        ctx.close();
    }

    private void assertNotifications(int expected) {
        awaitTrue(expected + " notifications", () -> notified.get() >= expected);
        sleepMillis(QUIET_MILLIS);
        assertEquals(expected, notified.get());
    }

    // ---------------------------------------------------------------- Unistd

    @Test
    void unistd_writeFromAReadOnlyHeapBuffer_writesIt() throws Exception {
        int fd = openTemp("ro", 0);
        ByteBuffer ro = ByteBuffer.wrap("xxabcdef".getBytes(StandardCharsets.ISO_8859_1), 2, 6).slice()
                .asReadOnlyBuffer();
        assertEquals(6, Unistd.pwrite(fd, ro, 6, 0));
        assertEquals(3, Unistd.write(fd, ro, 3)); // at the descriptor's position, 0: overwrites "abc"
        assertEquals("abcdef", fileContent("ro"));
        assertEquals(0, ro.position());
    }
}
