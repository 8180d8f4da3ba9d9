package io.uringaio.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The facade's order per descriptor on a pipe, on both backends (spec: Semantics; {@link FdState}): reads submitted A
 * then B take the pipe's bytes in that order (A gets the first ones), and writes land in call order. Before the fix,
 * reads of a pipe were not ordered at all: on the thread pool each waiting read polls the pipe in its own worker and
 * whichever reads first takes the first bytes; on io_uring the facade's first read goes to the thread's caller ring and
 * the next ones to its Netty ring, which race the same way.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PipeOrderTest extends PosixTestSupport {
    private static final int ROUNDS = 40;
    private static final int READS = 4;

    @Test
    void readsOfAPipeTakeItsBytesInCallOrder() {
        try (AioContext ctx = new AioContext()) {
            int[] p = pipe();
            int violations = 0;
            String first = null;
            for (int round = 0; round < ROUNDS; round++) {
                Aiocb[] reads = new Aiocb[READS];
                for (int i = 0; i < READS; i++) {
                    reads[i] = readCb(p[0], 0, 2);
                    assertEquals(0, ctx.aio_read(reads[i]), "aio_read");
                }
                StringBuilder all = new StringBuilder();
                for (int i = 0; i < READS; i++) {
                    all.append(repeat((char) ('a' + i), 2));
                }
                writeTo(p[1], all.toString()); // one write: every waiting read can take a part of it
                awaitDone(ctx, reads);
                StringBuilder got = new StringBuilder();
                for (int i = 0; i < READS; i++) {
                    assertEquals(2, ctx.aio_return(reads[i]), "aio_return of read " + i);
                    got.append(text(reads[i].aio_buf, 2));
                }
                if (!got.toString().equals(all.toString())) {
                    violations++;
                    if (first == null) {
                        first = "round " + round + ": reads in call order got " + got;
                    }
                }
            }
            assertEquals(0, violations, "rounds whose reads took the bytes out of call order; first: " + first);
        }
    }

    @Test
    void writesToAPipeLandInCallOrder() {
        try (AioContext ctx = new AioContext()) {
            int[] p = pipe();
            for (int round = 0; round < ROUNDS / 4; round++) {
                Aiocb[] writes = new Aiocb[16];
                StringBuilder expected = new StringBuilder();
                for (int i = 0; i < writes.length; i++) {
                    String part = repeat((char) ('a' + i), 3);
                    expected.append(part);
                    writes[i] = writeCb(p[1], 0, part);
                    assertEquals(0, ctx.aio_write(writes[i]), "aio_write");
                }
                awaitDone(ctx, writes);
                for (Aiocb w : writes) {
                    assertEquals(3, ctx.aio_return(w));
                }
                ByteBuffer in = ByteBuffer.allocateDirect(expected.length());
                long n = 0;
                while (n < expected.length()) {
                    long r = Unistd.read(p[0], in.slice((int) n, expected.length() - (int) n), expected.length() - n);
                    assertEquals(true, r > 0, "read: " + r + ", errno " + Aio.errno());
                    n += r;
                }
                assertEquals(expected.toString(), text(in, expected.length()), "round " + round);
            }
        }
    }
}
