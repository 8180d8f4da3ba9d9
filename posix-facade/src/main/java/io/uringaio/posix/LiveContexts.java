package io.uringaio.posix;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The contexts that have taken a request: {@link Unistd#close} asks each of them to settle the descriptor's
 * outstanding requests before the number is given back to the kernel (see {@link AioContext#beforeClose}), and each
 * forgets a descriptor's kept flags when the facade sees them change ({@link #forgetFlags}). A context joins before its
 * first request enters its descriptor's order ({@link AioContext#joinLive}; its engine starts after) and leaves when
 * it is closed; one that never submitted anything has no request to settle and no flags kept.
 */
final class LiveContexts {
    private static final Set<AioContext> LIVE = ConcurrentHashMap.newKeySet();

    private LiveContexts() {
    }

    static void add(AioContext context) {
        LIVE.add(context);
    }

    static void remove(AioContext context) {
        LIVE.remove(context);
    }

    /** Runs {@link AioContext#beforeClose} for {@code fd} in every live context. Never throws. */
    static void beforeClose(int fd) {
        if (fd < 0 || LIVE.isEmpty()) {
            return;
        }
        for (AioContext context : LIVE) {
            try {
                context.beforeClose(fd);
            } catch (RuntimeException e) {
                System.getLogger(LiveContexts.class.getName()).log(System.Logger.Level.ERROR,
                        "settling the requests of descriptor " + fd + " before its close failed", e);
            }
        }
    }

    /**
     * Makes every live context forget what it knew of descriptor {@code fd}'s flags ({@link FdState#forgetFlags}):
     * the number now refers to another file, or its flags changed.
     */
    static void forgetFlags(int fd) {
        if (fd < 0 || LIVE.isEmpty()) {
            return;
        }
        for (AioContext context : LIVE) {
            context.forgetFlags(fd);
        }
    }
}
