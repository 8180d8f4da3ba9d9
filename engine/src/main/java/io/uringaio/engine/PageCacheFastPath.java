package io.uringaio.engine;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.uringaio.engine.internal.sys.Libc;
import io.uringaio.engine.uapi.Uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;

/**
 * The page-cache fast path: a read marked {@link Request#pageCacheFirst(boolean)} is first tried on the submitting
 * thread with {@code preadv2(..., RWF_NOWAIT)}, which copies the data only when all of it is in the page cache and
 * fails with {@code EAGAIN} rather than block. A read fully served that way completes right there, inside
 * {@code submit}, with no hand-off to a ring. Anything else (not cached, partly cached, end of file, any error) goes to
 * the lane as if the fast path did not exist, so short reads and errors are the lane's usual answers.
 *
 * <p>A completion that resubmits from inside a fast-path completion nests on the same stack; after {@link #MAX_DEPTH}
 * nested levels on one thread the read goes to the lane instead, so the stack stays bounded however a caller loops.
 */
final class PageCacheFastPath {
    /** Nested fast-path completions allowed on one thread before a read goes to the lane. */
    static final int MAX_DEPTH = 8;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** One thread's {@code struct iovec} for the call, and its nesting depth. */
    private static final class Scratch {
        final MemorySegment iovec = Arena.ofAuto().allocate(16, 8);
        int depth;
    }

    private PageCacheFastPath() {
    }

    /** Whether {@code r} may take the fast path: a plain {@code IORING_OP_READ} its submitter marked for it. */
    static boolean eligible(Request r) {
        return r.pageCacheFirst && r.opcode == Uapi.IORING_OP_READ && r.opFlags == 0 && r.length > 0
                && r.linkNext == null;
    }

    /**
     * Tries {@code r} (QUEUED) on this thread. True when every byte came from the page cache: {@code r} is then idle
     * again, its completion has run with the byte count, and {@code afterBatch} has run; false when it must go to a
     * lane (nothing happened to it).
     */
    static boolean tryComplete(Request r, Runnable afterBatch, LongAdder hits) {
        Scratch s = SCRATCH.get();
        if (s.depth >= MAX_DEPTH) {
            return false;
        }
        s.iovec.set(JAVA_LONG, 0, r.address);
        s.iovec.set(JAVA_LONG, 8, r.length);
        long res = Libc.preadv2NoErrno(r.fd, s.iovec.address(), 1, r.offset, Libc.RWF_NOWAIT);
        if (res != r.length) {
            return false;
        }
        r.result = r.length;
        hits.increment();
        s.depth++;
        try {
            r.deliver();
        } finally {
            s.depth--;
        }
        Request.runAfterBatch(afterBatch);
        return true;
    }
}
