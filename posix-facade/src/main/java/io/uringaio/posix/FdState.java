package io.uringaio.posix;

/**
 * The outstanding requests of one file descriptor, in call order: what {@code aio_cancel(fd, NULL)} cancels, what an
 * {@code aio_fsync} waits for, and what orders O_APPEND and overlapping writes. A request is held back (WAITING) while
 * an older one it must follow is outstanding:
 * <ul>
 * <li>an fsync, behind every older read and write (not behind an older fsync);</li>
 * <li>an O_APPEND write, behind every older write;</li>
 * <li>a write, behind every older write whose range overlaps its own.</li>
 * </ul>
 * Guarded by its own monitor.
 */
final class FdState {
    private Aiocb head;
    private Aiocb tail;
    private int waiting;

    /**
     * Appends {@code cb} and sets its state under this monitor (WAITING or IN_KERNEL), so a concurrent {@link #remove}
     * never sees a request that may go now as one it should release; true when it may go to the kernel now.
     */
    synchronized boolean add(Aiocb cb) {
        boolean blocked = mustWait(cb);
        cb.state = blocked ? Aiocb.WAITING : Aiocb.IN_KERNEL;
        cb.fdState = this;
        cb.fdPrev = tail;
        cb.fdNext = null;
        if (tail == null) {
            head = cb;
        } else {
            tail.fdNext = cb;
        }
        tail = cb;
        if (blocked) {
            waiting++;
        }
        return !blocked;
    }

    /**
     * Removes {@code cb}; returns the waiting requests it released, in (priority, call order), marked IN_KERNEL, or null.
     */
    synchronized Aiocb[] remove(Aiocb cb) {
        unlink(cb);
        if (waiting == 0) {
            return null;
        }
        Aiocb[] released = null;
        int n = 0;
        for (Aiocb w = head; w != null; w = w.fdNext) {
            if (w.state == Aiocb.WAITING && !mustWait(w)) {
                if (released == null) {
                    released = new Aiocb[waiting];
                }
                released[n++] = w;
                w.state = Aiocb.IN_KERNEL;
                waiting--;
            }
        }
        if (released == null) {
            return null;
        }
        Aiocb[] out = java.util.Arrays.copyOf(released, n);
        java.util.Arrays.sort(out, (a, b) -> a.priority != b.priority ? Integer.compare(a.priority, b.priority)
                : Long.compare(a.seq, b.seq));
        return out;
    }

    /** Removes a waiting request that was canceled; true if it was still waiting here. */
    synchronized boolean removeWaiting(Aiocb cb) {
        if (cb.fdState != this || cb.state != Aiocb.WAITING) {
            return false;
        }
        unlink(cb);
        waiting--;
        return true;
    }

    /** The outstanding requests now, oldest first. */
    synchronized Aiocb[] snapshot() {
        int n = 0;
        for (Aiocb a = head; a != null; a = a.fdNext) {
            n++;
        }
        Aiocb[] out = new Aiocb[n];
        int i = 0;
        for (Aiocb a = head; a != null; a = a.fdNext) {
            out[i++] = a;
        }
        return out;
    }

    private void unlink(Aiocb cb) {
        if (cb.fdState != this) {
            return;
        }
        if (cb.fdPrev == null) {
            head = cb.fdNext;
        } else {
            cb.fdPrev.fdNext = cb.fdNext;
        }
        if (cb.fdNext == null) {
            tail = cb.fdPrev;
        } else {
            cb.fdNext.fdPrev = cb.fdPrev;
        }
        cb.fdPrev = null;
        cb.fdNext = null;
        cb.fdState = null;
    }

    /** Whether an older outstanding request (before {@code cb} in the list, or all of them if cb is new) holds it. */
    private boolean mustWait(Aiocb cb) {
        if (cb.op == Aiocb.OP_READ) {
            return false; // reads wait for nothing: skip the walk
        }
        for (Aiocb older = head; older != null && older != cb; older = older.fdNext) {
            if (blocks(older, cb)) {
                return true;
            }
        }
        return false;
    }

    private static boolean blocks(Aiocb older, Aiocb cb) {
        switch (cb.op) {
            case Aiocb.OP_FSYNC, Aiocb.OP_FDATASYNC -> {
                // After every earlier read and write; an earlier fsync completes on its own and need not be waited for.
                return older.op == Aiocb.OP_READ || older.op == Aiocb.OP_WRITE;
            }
            case Aiocb.OP_WRITE -> {
                if (older.op != Aiocb.OP_WRITE) {
                    return false;
                }
                if (cb.append || older.append) {
                    return true;
                }
                return older.offset < cb.offset + cb.nbytes && cb.offset < older.offset + older.nbytes;
            }
            default -> {
                return false;
            }
        }
    }
}
