package io.uringaio.posix;

import static io.uringaio.posix.Errno.EINPROGRESS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * Many ordered writes outstanding on one descriptor (O_APPEND writes, overwrites of one range): they land in call
 * order, and the per-descriptor bookkeeping that orders them costs a bounded number of list steps per request (issue
 * 11 item 11: 5,000 / 20,000 / 40,000 appends took 1.2 / 5.8 / 20.4 s, every completion walking every outstanding
 * request; 20,000 overwrites of one block took 364 M steps). The cost is asserted by counting the steps, not by
 * timing.
 */
class OrderingScaleTest extends PrivateContextSupport {

    private static final int RECORD = 8;
    /** Steps allowed per request: a constant, whatever the depth (the quadratic walk took ~n/2 each). */
    private static final long STEPS_PER_REQUEST = 8;

    @Test
    void fortyThousandAppends_landInCallOrder_inLinearBookkeeping() throws Exception {
        int n = 40_000;
        int fd = openTemp("log", Fcntl.O_APPEND);
        long stepsBefore = ctx.fdScanSteps(fd); // the number may have served an earlier test's descriptor
        // A few reads and an fsync mixed in, so the walks have something else to step over.
        ByteBuffer records = ByteBuffer.allocateDirect(n * RECORD);
        Aiocb[] w = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            byte[] rec = String.format("%07d\n", i).getBytes(StandardCharsets.ISO_8859_1);
            records.put(i * RECORD, rec);
            w[i] = aiocb(fd, 0, records.slice(i * RECORD, RECORD), RECORD);
        }
        Aiocb[] reads = new Aiocb[100];
        for (int i = 0; i < n; i++) {
            if (i % 400 == 0) {
                Aiocb r = reads[i / 400] = readCb(fd, 0, 1);
                assertEquals(0, ctx.aio_read(r));
            }
            assertEquals(0, ctx.aio_write(w[i]));
        }
        Aiocb sync = new Aiocb();
        sync.aio_fildes = fd;
        assertEquals(0, ctx.aio_fsync(Fcntl.O_DSYNC, sync));
        awaitDone(ctx, w[n - 1]); // appends complete in call order: the last one done means all are
        awaitDone(ctx, sync);
        awaitDone(ctx, reads);
        for (int i = 0; i < n; i++) {
            assertTrue(ctx.aio_error(w[i]) != EINPROGRESS);
            assertEquals(RECORD, ctx.aio_return(w[i]), "append " + i);
        }
        assertEquals(0, ctx.aio_return(sync));
        long steps = ctx.fdScanSteps(fd) - stepsBefore;
        assertTrue(steps <= STEPS_PER_REQUEST * (n + reads.length + 1),
                "list steps for " + n + " appends: " + steps + " (more than " + STEPS_PER_REQUEST + " per request)");

        byte[] content = java.nio.file.Files.readAllBytes(dir.resolve("log"));
        assertEquals((long) n * RECORD, content.length);
        for (int i = 0; i < n; i++) {
            String rec = new String(content, i * RECORD, RECORD, StandardCharsets.ISO_8859_1);
            assertEquals(String.format("%07d\n", i), rec, "record at position " + i);
        }
    }

    @Test
    void twentyThousandOverwritesOfOneRange_lastCallWins_inLinearBookkeeping() throws Exception {
        int n = 20_000;
        int fd = openTemp("f", 0);
        long stepsBefore = ctx.fdScanSteps(fd); // the number may have served an earlier test's descriptor
        ByteBuffer records = ByteBuffer.allocateDirect(n * RECORD);
        Aiocb[] w = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            records.put(i * RECORD, String.format("%07d\n", i).getBytes(StandardCharsets.ISO_8859_1));
            w[i] = aiocb(fd, 0, records.slice(i * RECORD, RECORD), RECORD);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(0, ctx.aio_write(w[i]));
        }
        awaitDone(ctx, w);
        for (int i = 0; i < n; i++) {
            assertEquals(RECORD, ctx.aio_return(w[i]), "write " + i);
        }
        long steps = ctx.fdScanSteps(fd) - stepsBefore;
        assertTrue(steps <= STEPS_PER_REQUEST * n,
                "list steps for " + n + " overwrites: " + steps + " (more than " + STEPS_PER_REQUEST + " per request)");
        assertEquals(String.format("%07d\n", n - 1), fileContent("f"));
    }

    /**
     * Writes of random ranges that overlap each other partly, all outstanding at once, with appends of nothing else:
     * the file ends as if they ran one after the other in call order (seeded; the seed is printed).
     */
    @Test
    void partlyOverlappingWrites_endAsIfRunInCallOrder() throws Exception {
        long seed = System.nanoTime();
        System.out.println("OrderingScaleTest seed " + seed);
        java.util.Random random = new java.util.Random(seed);
        int size = 4096;
        int n = 3_000;
        int fd = openTemp("f", 0);
        byte[] model = new byte[size];
        Aiocb[] w = new Aiocb[n];
        for (int i = 0; i < n; i++) {
            int len = 1 + random.nextInt(random.nextBoolean() ? 16 : 700);
            int off = random.nextInt(size - len + 1);
            ByteBuffer b = ByteBuffer.allocateDirect(len);
            byte v = (byte) ('A' + i % 26);
            for (int j = 0; j < len; j++) {
                b.put(j, v);
                model[off + j] = v;
            }
            w[i] = aiocb(fd, off, b, len);
            w[i].aio_reqprio = random.nextInt(3); // priorities reorder only what may go at once, never a conflict
            assertEquals(0, ctx.aio_write(w[i]));
        }
        awaitDone(ctx, w);
        for (int i = 0; i < n; i++) {
            assertEquals(w[i].aio_nbytes, ctx.aio_return(w[i]), "write " + i + " (seed " + seed + ")");
        }
        byte[] content = java.nio.file.Files.readAllBytes(dir.resolve("f"));
        for (int i = 0; i < size; i++) {
            byte expected = model[i];
            byte got = i < content.length ? content[i] : 0;
            assertEquals(expected, got, "byte " + i + " (seed " + seed + ")");
        }
    }
}
