package io.uringaio.engine;

import java.util.ArrayList;
import java.util.List;

/**
 * Orders a file's syncs after its writes across rings: {@link #afterWrites(Runnable)} runs its action once every write
 * that {@link #enterWrite() entered} before it has {@link #exitWrite(Epoch) exited}. Writes are grouped in epochs; a
 * sync seals the current epoch and waits for it and every older one to drain. A write costs one uncontended lock and no
 * allocation; a sync that has to wait allocates one epoch.
 */
final class WriteBarrier {
    /** Writes entered between two syncs. */
    static final class Epoch {
        int pending;
        boolean sealed;
        Epoch newer;
        List<Runnable> actions;
    }

    private Epoch oldest;
    private Epoch current;

    WriteBarrier() {
        current = oldest = new Epoch();
    }

    synchronized Epoch enterWrite() {
        current.pending++;
        return current;
    }

    void exitWrite(Epoch epoch) {
        List<Runnable> ready;
        synchronized (this) {
            epoch.pending--;
            assert epoch.pending >= 0;
            ready = releaseDrained();
        }
        run(ready);
    }

    /** Whether no write is in flight now (nothing for a sync to wait for). */
    synchronized boolean quiet() {
        return oldest == current && current.pending == 0;
    }

    /** Runs {@code action} (possibly at once, on this thread) after every write entered before this call. */
    void afterWrites(Runnable action) {
        synchronized (this) {
            if (oldest == current && current.pending == 0) {
                // Nothing in flight: no epoch to wait for.
            } else {
                Epoch sealed = current;
                sealed.sealed = true;
                if (sealed.actions == null) {
                    sealed.actions = new ArrayList<>(2);
                }
                sealed.actions.add(action);
                Epoch fresh = new Epoch();
                sealed.newer = fresh;
                current = fresh;
                return;
            }
        }
        action.run();
    }

    private List<Runnable> releaseDrained() {
        List<Runnable> ready = null;
        while (oldest != current && oldest.sealed && oldest.pending == 0) {
            if (oldest.actions != null) {
                if (ready == null) {
                    ready = new ArrayList<>();
                }
                ready.addAll(oldest.actions);
            }
            oldest = oldest.newer;
        }
        return ready;
    }

    private static void run(List<Runnable> actions) {
        if (actions != null) {
            for (Runnable a : actions) {
                a.run();
            }
        }
    }
}
