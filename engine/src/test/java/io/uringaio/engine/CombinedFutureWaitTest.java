package io.uringaio.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.netty.util.concurrent.BlockingOperationException;

import java.nio.ByteBuffer;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link AsyncFile#allOf} and {@link AsyncFile#anyOf}: a wait on their result inside a completion callback (on a ring's
 * thread) fails at once with {@link BlockingOperationException}, where the JDK's {@code CompletableFuture.allOf} of the
 * same two pending reads hangs the ring for good (measured before: the callback's join never returned until the test
 * completed the combined future itself; nothing in the engine can see that wait, see {@link RingEngine}'s class
 * comment). On the thread pool the same join returns once the reads end on other workers. Every wait here is bounded,
 * and a hung combined future is completed by the test, so a regression fails instead of hanging the build.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CombinedFutureWaitTest extends KernelTest {

    /** What a callback on the engine's completion thread got from joining {@code combine} of two pending pipe reads. */
    private static String joinInACallback(
            BiFunction<CompletableFuture<Integer>, CompletableFuture<Integer>, CompletableFuture<?>> combine)
            throws Exception {
        try (Pipe pipe = new Pipe(); Pipe trigger = new Pipe(); RingEngine engine = engine(1)) {
            AsyncFile data = await(engine.open(pipe.readPath(), StandardOpenOption.READ));
            AsyncFile tick = await(engine.open(trigger.readPath(), StandardOpenOption.READ));
            AtomicReference<CompletableFuture<?>> combined = new AtomicReference<>();
            AtomicReference<List<CompletableFuture<Integer>>> reads = new AtomicReference<>();
            CompletableFuture<String> outcome = new CompletableFuture<>();
            tick.read(ByteBuffer.allocateDirect(8), 0).whenComplete((n, e) -> {
                try {
                    CompletableFuture<Integer> a = data.read(ByteBuffer.allocateDirect(4), 0);
                    CompletableFuture<Integer> b = data.read(ByteBuffer.allocateDirect(4), 0);
                    reads.set(List.of(a, b));
                    CompletableFuture<?> both = combine.apply(a, b);
                    combined.set(both);
                    both.join();
                    outcome.complete("returned");
                } catch (BlockingOperationException refused) {
                    outcome.complete("refused");
                } catch (Throwable t) {
                    outcome.complete("threw " + t);
                }
            });
            trigger.write(1);
            waitUntil(() -> reads.get() != null, () -> "the callback ran");
            pipe.write(8); // both reads can end now, if their ring is free to deliver them
            String got;
            try {
                got = outcome.get(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException hung) {
                combined.get().obtrudeValue(null); // frees the ring thread, so the engine can close
                got = "hung: " + outcome.get(WAIT_SECONDS, TimeUnit.SECONDS);
            }
            // The reads went on either way and end with their own results.
            assertEquals(4, await(reads.get().get(0)));
            assertEquals(4, await(reads.get().get(1)));
            data.close();
            tick.close();
            return got;
        }
    }

    private static String expected() {
        return BACKEND == Backend.IO_URING ? "refused" : "returned";
    }

    @Test
    void allOfJoinedInACallbackOnARingThreadFailsFast() throws Exception {
        assertEquals(expected(), joinInACallback((a, b) -> AsyncFile.allOf(a, b)));
    }

    @Test
    void anyOfJoinedInACallbackOnARingThreadFailsFast() throws Exception {
        assertEquals(expected(), joinInACallback((a, b) -> AsyncFile.anyOf(a, b)));
    }

    @Test
    void aStageOfAllOfIsCheckedToo() throws Exception {
        assertEquals(expected(), joinInACallback((a, b) -> AsyncFile.allOf(a, b).thenApply(v -> 1)));
    }

    @Test
    void allOfAndAnyOfCarryTheJdkOutcomes() throws Exception {
        CompletableFuture<Integer> one = CompletableFuture.completedFuture(1);
        CompletableFuture<Integer> failed = CompletableFuture.failedFuture(new IllegalStateException("x"));
        assertEquals(null, AsyncFile.allOf(one, one).get(1, TimeUnit.SECONDS));
        assertEquals(1, AsyncFile.anyOf(one, new CompletableFuture<Integer>()).get(1, TimeUnit.SECONDS));
        CompletableFuture<Void> all = AsyncFile.allOf(one, failed);
        assertEquals(IllegalStateException.class,
                org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> all.get(1, TimeUnit.SECONDS)).getCause().getClass());
        assertEquals(IllegalStateException.class,
                org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
                        all::join).getCause().getClass());
        assertFalse(AsyncFile.allOf(one, new CompletableFuture<Integer>()).isDone());
    }
}
