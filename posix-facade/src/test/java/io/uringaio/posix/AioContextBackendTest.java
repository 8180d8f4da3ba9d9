package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.uringaio.engine.Backend;
import io.uringaio.engine.EngineRejectedException;
import io.uringaio.engine.RingEngineConfig;
import org.junit.jupiter.api.Test;

/**
 * {@link AioContext#backend()} and {@link AioContext#backendReason()}: what the POSIX API tells of its engine, now that
 * it does not hand the engine out.
 */
class AioContextBackendTest {

    @Test
    void reportsTheBackendItsEngineRunsOnAndWhy() {
        try (AioContext ctx = new AioContext(new RingEngineConfig().backend(Backend.THREAD_POOL).rings(1))) {
            assertEquals(Backend.THREAD_POOL, ctx.backend());
            assertEquals("THREAD_POOL requested", ctx.backendReason());
            assertSame(ctx.engine().backend(), ctx.backend(), "the engine the context submits to");
        }
    }

    @Test
    void aClosedContextStartsNoEngineToAnswer() {
        AioContext ctx = new AioContext(new RingEngineConfig().rings(1));
        ctx.close();
        assertThrows(EngineRejectedException.class, ctx::backend);
        assertThrows(EngineRejectedException.class, ctx::backendReason);
        assertEquals(0, ctx.engineStats().submitted(), "nothing started, nothing submitted");
    }
}
