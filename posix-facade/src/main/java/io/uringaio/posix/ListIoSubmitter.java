package io.uringaio.posix;

import io.uringaio.engine.Request;

import java.util.Arrays;

/**
 * {@code lio_listio}: each entry is claimed, checked, snapshot and put in its descriptor's order like a single
 * submission, but fails on its own (with its own notification), and every entry that may go at once reaches the
 * engine in one batch. The list's {@link ListIo} counts the entries down and fires the list's notification (or wakes
 * the LIO_WAIT caller).
 */
final class ListIoSubmitter {
    private static final System.Logger LOG = System.getLogger("io.uringaio.posix");
    private static final ThreadLocal<LioScratch> LIO_SCRATCH = ThreadLocal.withInitial(LioScratch::new);

    private final AioContext context;
    private final FdTable fds;
    private final Dispatcher dispatcher;
    private final Completion completion;

    ListIoSubmitter(AioContext context, FdTable fds, Dispatcher dispatcher) {
        this.context = context;
        this.fds = fds;
        this.dispatcher = dispatcher;
        this.completion = dispatcher.completion();
    }

    /** See {@link Aio#lio_listio}. */
    int submit(int mode, Aiocb[] list, int nent, SigEvent sig) {
        if ((mode != Aio.LIO_WAIT && mode != Aio.LIO_NOWAIT) || nent < 0 || nent > Aio.AIO_LISTIO_MAX
                || (list == null ? nent > 0 : nent > list.length)) {
            return Errno.fail(Errno.EINVAL);
        }
        // The list's sigevent is read once, by the ListIo, and that copy is checked: a check of the caller's object
        // and a copy made after it could differ (another thread writing it), and the list's notification be lost.
        ListIo group = new ListIo(mode == Aio.LIO_NOWAIT ? sig : null);
        if (group.sigeventError() != 0) {
            return Errno.fail(Errno.EINVAL);
        }
        if (context.isClosed()) {
            refuseEntries(list, nent, group);
            return Errno.fail(Errno.EAGAIN);
        }
        LioScratch scratch = LIO_SCRATCH.get().ensure(nent);
        Request[] batch = scratch.requests;
        Aiocb[] batchCbs = scratch.aiocbs;
        int n = 0;
        for (int i = 0; i < nent; i++) {
            Aiocb cb = list[i];
            int opcode = cb == null ? Aio.LIO_NOP : cb.aio_lio_opcode; // read once: the NOP test and the op agree
            if (opcode == Aio.LIO_NOP) {
                continue;
            }
            // A block listed twice in this call is taken by its first entry only: an entry that completes at once
            // (a bad opcode, a bad fildes) is claimable again, and would otherwise run and notify a second time.
            if (cb.listedIn == group || !cb.claim()) {
                group.failed(); // EBUSY: this entry is someone else's request (or listed twice); leave it alone
                continue;
            }
            cb.listedIn = group;
            byte op = transferOp(opcode);
            RequestPrep.capture(cb, op); // each field read once; a bad opcode's entry keeps only its sigevent
            int err = op < 0 ? Errno.EINVAL : SubmitChecks.transfer(cb, op);
            if (err == 0) {
                err = Bounce.reserve(cb, op);
            }
            if (err != 0) {
                failEntry(cb, err);
                group.failed();
                continue;
            }
            // Before the entry enters its descriptor's order (see there); only an accepted entry: one refused above
            // never starts this context, so an aio_init after it still takes effect.
            context.joinLive();
            RequestPrep.snapshot(cb, op, group, context);
            group.add();
            boolean goesNow;
            try {
                goesNow = fds.enqueue(cb);
            } catch (Throwable t) { // out of memory for a new descriptor state: this entry was not queued
                LOG.log(System.Logger.Level.WARNING, "lio_listio entry not queued", t);
                cb.state = Aiocb.IN_KERNEL;
                completion.completed(cb, -Errno.EAGAIN);
                continue;
            }
            if (goesNow) {
                int res;
                try {
                    res = RequestPrep.prepare(cb);
                } catch (Throwable t) { // the facade's own failure, before the engine saw the request
                    LOG.log(System.Logger.Level.ERROR, "lio_listio entry failed in the facade", t);
                    res = -Errno.EIO;
                }
                if (res == 0) {
                    batch[n] = cb.request;
                    batchCbs[n] = cb;
                    n++;
                } else {
                    completion.completed(cb, res);
                }
            }
        }
        Aiocb single = n == 1 ? batchCbs[0] : null;
        if (single != null) {
            // A list of one is one batch either way: it takes the one-request path (the page cache first for a
            // read, the caller's own ring), which a batch cannot.
            dispatcher.submitPrepared(single);
        } else if (n > 0) {
            dispatcher.submitBatch(batch, batchCbs, n);
        }
        Arrays.fill(batch, 0, n, null);
        Arrays.fill(batchCbs, 0, n, null);
        group.release(false);
        if (mode == Aio.LIO_NOWAIT) {
            return 0;
        }
        if (single != null) {
            context.awaitInLane(single);
        }
        try {
            group.await();
        } catch (InterruptedException e) {
            return Errno.fail(Errno.EINTR);
        }
        return group.anyFailed() ? Errno.fail(Errno.EIO) : 0;
    }

    /** The request of a LIO_READ or LIO_WRITE entry, or -1 for any other opcode (its entry fails with EINVAL). */
    private static byte transferOp(int opcode) {
        return opcode == Aio.LIO_READ ? Aiocb.OP_READ : opcode == Aio.LIO_WRITE ? Aiocb.OP_WRITE : -1;
    }

    /**
     * The entries of a list refused because the context is closed: each one the call would have taken gets a status,
     * EAGAIN (or the errno of its own checks), as a single submission refused after close does, and nothing is
     * notified (the call started nothing). POSIX has the caller of a failed lio_listio check each entry's status to
     * find the ones that failed; left as they were, a block whose earlier request had completed (not yet returned)
     * still read that success, and its old count, as this call's. Null, LIO_NOP, in-flight and repeated entries are
     * left alone, as in an open context.
     */
    private static void refuseEntries(Aiocb[] list, int nent, ListIo group) {
        for (int i = 0; i < nent; i++) {
            Aiocb cb = list[i];
            int opcode = cb == null ? Aio.LIO_NOP : cb.aio_lio_opcode;
            if (opcode == Aio.LIO_NOP || cb.listedIn == group || !cb.claim()) {
                continue;
            }
            cb.listedIn = group;
            byte op = transferOp(opcode);
            RequestPrep.capture(cb, op);
            int err = op < 0 ? Errno.EINVAL : SubmitChecks.transfer(cb, op);
            SubmitChecks.reject(cb, err != 0 ? err : Errno.EAGAIN);
        }
    }

    /**
     * An entry that failed its own checks: its status is that errno, and, as for any request that fails, its own
     * notification fires once when its sigevent is valid (an invalid one cannot be fired). It is not counted in its
     * list: it is complete before the list's notification can fire.
     */
    private static void failEntry(Aiocb cb, int err) {
        // The sigevent as captured (the caller's object is not read again), taken before the rejection drops it.
        boolean fires = SubmitChecks.capturedSigevent(cb) == 0;
        int notify = cb.notify;
        int signo = cb.signo;
        Object value = cb.value;
        var function = cb.function;
        var executor = cb.executor;
        SubmitChecks.reject(cb, err);
        if (fires) {
            Notifier.notify(notify, signo, value, function, executor);
        }
    }

    /** Per-thread arrays for one lio_listio call's batch, so a call allocates only its {@link ListIo}. */
    private static final class LioScratch {
        Request[] requests = new Request[32];
        Aiocb[] aiocbs = new Aiocb[32];

        LioScratch ensure(int n) {
            if (requests.length < n) {
                requests = new Request[n];
                aiocbs = new Aiocb[n];
            }
            return this;
        }
    }
}
