package io.uringaio.engine;

import static java.nio.file.StandardOpenOption.READ;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * {@link AsyncFile#closeAsync()} hands each caller a future of its own: a caller that gives up on its future
 * ({@code orTimeout}, {@code complete}, {@code cancel}) ends that future only, never the close others wait for.
 */
class AsyncFileCloseFutureTest extends KernelTest {
    @Test
    void aCloseFutureEndedByItsCallerLeavesTheRealCloseToReportItself() throws Exception {
        try (Pipe pipe = new Pipe(); RingEngine engine = RingEngine.open(config().rings(1))) {
            AsyncFile file = await(engine.open(pipe.readPath(), READ));
            CompletableFuture<Integer> read = file.read(ByteBuffer.allocate(16), 0); // held until the pipe has data
            CompletableFuture<Void> mine = file.closeAsync();
            mine.completeExceptionally(new TimeoutException("the caller gave up")); // what orTimeout does
            CompletableFuture<Void> other = file.closeAsync();
            assertFalse(other.isDone(), "the close still waits for the read in flight");

            pipe.write(5);
            assertEquals(5, await(read), "the read in flight ends on its own");
            await(other); // the real close: normal
            file.close(); // waits for the real close, not the caller's ended future
            assertTrue(file.closeAsync().isDone());
            assertFalse(file.isOpen());
        }
    }
}
