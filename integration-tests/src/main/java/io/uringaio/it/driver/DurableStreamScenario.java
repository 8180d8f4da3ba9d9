package io.uringaio.it.driver;

import io.uringaio.engine.AsyncFile;
import io.uringaio.engine.RingEngine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.join;
import static io.uringaio.it.driver.DriverSupport.line;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.READ;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * Appends {@link DurableRecord}s with {@code writeDurable} (write linked to fdatasync), {@code inflight} at a time,
 * and prints {@code ACK seq} for each only after its future completed. The host kills the container at a random moment
 * and then checks that every acknowledged record is on disk and intact.
 */
final class DurableStreamScenario {
    private final AsyncFile log;
    /** Bounds the records in flight; a completion gives its permit back. */
    private final Semaphore window;
    /** The first failed or short write; no record is appended after it. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private DurableStreamScenario(AsyncFile log, int inflight) {
        this.log = log;
        this.window = new Semaphore(inflight);
    }

    static void run(Path file, long records, int inflight) throws IOException {
        try (RingEngine engine = RingEngine.open()) {
            backend(engine);
            AsyncFile log = join(engine.open(file, READ, WRITE, CREATE, TRUNCATE_EXISTING));
            line("READY " + file);
            new DurableStreamScenario(log, inflight).append(records, inflight);
            log.close();
        }
    }

    /** Appends records 0 to {@code records - 1} and waits until the last one completed. */
    private void append(long records, int inflight) throws IOException {
        for (long seq = 0; seq < records && failure.get() == null; seq++) {
            window.acquireUninterruptibly();
            appendRecord(seq);
        }
        window.acquireUninterruptibly(inflight);
        if (failure.get() != null) {
            throw new IOException("durable write failed", failure.get());
        }
    }

    private void appendRecord(long seq) {
        log.writeDurable(DurableRecord.encode(seq), seq * DurableRecord.SIZE).whenComplete((n, t) -> {
            if (t != null) {
                failure.compareAndSet(null, t);
            } else if (n != DurableRecord.SIZE) {
                failure.compareAndSet(null, new IOException("short durable write " + n));
            } else {
                line("ACK " + seq);
            }
            window.release();
        });
    }
}
