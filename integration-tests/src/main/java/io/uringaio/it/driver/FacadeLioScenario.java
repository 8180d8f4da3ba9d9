package io.uringaio.it.driver;

import io.uringaio.posix.Aio;
import io.uringaio.posix.Aiocb;
import io.uringaio.posix.Fcntl;
import io.uringaio.posix.Unistd;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;

import static io.uringaio.it.driver.DriverSupport.backend;
import static io.uringaio.it.driver.DriverSupport.check;
import static io.uringaio.it.driver.DriverSupport.crc32c;
import static io.uringaio.it.driver.DriverSupport.direct;
import static io.uringaio.it.driver.DriverSupport.fill;
import static io.uringaio.it.driver.DriverSupport.firstDifference;
import static io.uringaio.it.driver.DriverSupport.line;
import static io.uringaio.it.driver.FacadeSupport.cb;
import static io.uringaio.it.driver.FacadeSupport.expect;
import static io.uringaio.it.driver.FacadeSupport.expectAll;
import static io.uringaio.it.driver.FacadeSupport.waitFor;

/**
 * The POSIX facade on {@code DIR/lio.dat}: 64 writes of 32 KiB in one {@code lio_listio(LIO_WAIT)},
 * {@code aio_fsync}, 64 reads in one {@code lio_listio}, then a mixed list (reads and writes of disjoint regions, a
 * NOP and a null entry), each entry's {@code aio_error} and {@code aio_return} checked, and the file compared byte for
 * byte through {@code pread}.
 */
final class FacadeLioScenario {
    private static final int ENTRIES = 64;
    private static final int ENTRY_BYTES = 32 << 10;
    private static final int TOTAL = ENTRIES * ENTRY_BYTES;
    private static final long SEED = 0x5EED_0002L;

    private final int fd;
    /** What the file holds once every write is in. */
    private final byte[] image = new byte[TOTAL];

    private FacadeLioScenario(int fd) {
        this.fd = fd;
    }

    static void run(Path dir) {
        int fd = Fcntl.open(dir.resolve("lio.dat").toString(), Fcntl.O_RDWR | Fcntl.O_CREAT | Fcntl.O_TRUNC, 0644);
        check(fd >= 0, "lio-open", "fd " + fd + " errno " + Aio.errno());
        backend(Aio.context());
        new FacadeLioScenario(fd).run();
        Aio.context().close();
    }

    private void run() {
        fill(image, SEED, 0, 0, TOTAL);
        writeAllInOneList();
        fsync();
        readAllInOneList();
        mixedList();
        verifyWithPread();
        check(Unistd.close(fd) == 0, "lio-close", "fd " + fd);
        line(String.format("RESULT facade-lio crc32c=%08x bytes=%d", crc32c(image, TOTAL), TOTAL));
    }

    private Aiocb writeEntry(int i) {
        return cb(fd, offset(i), direct(image, i * ENTRY_BYTES, ENTRY_BYTES), ENTRY_BYTES, Aio.LIO_WRITE);
    }

    private Aiocb readEntry(int i) {
        return cb(fd, offset(i), ByteBuffer.allocateDirect(ENTRY_BYTES), ENTRY_BYTES, Aio.LIO_READ);
    }

    private static long offset(int entry) {
        return (long) entry * ENTRY_BYTES;
    }

    private void writeAllInOneList() {
        Aiocb[] list = new Aiocb[ENTRIES];
        for (int i = 0; i < ENTRIES; i++) {
            list[i] = writeEntry(i);
        }
        check(Aio.lio_listio(Aio.LIO_WAIT, list, ENTRIES, null) == 0, "lio-write", ENTRIES + " writes of "
                + ENTRY_BYTES + " bytes (errno " + Aio.errno() + ")");
        expectAll(list, "lio-write");
    }

    private void fsync() {
        Aiocb sync = new Aiocb();
        sync.aio_fildes = fd;
        check(Aio.aio_fsync(Fcntl.O_SYNC, sync) == 0, "lio-fsync-queued", "errno " + Aio.errno());
        waitFor(sync);
        check(Aio.aio_error(sync) == 0 && Aio.aio_return(sync) == 0, "lio-fsync", "aio_error 0");
    }

    private void readAllInOneList() {
        Aiocb[] list = new Aiocb[ENTRIES];
        for (int i = 0; i < ENTRIES; i++) {
            list[i] = readEntry(i);
        }
        check(Aio.lio_listio(Aio.LIO_WAIT, list, ENTRIES, null) == 0, "lio-read", ENTRIES + " reads (errno "
                + Aio.errno() + ")");
        for (int i = 0; i < ENTRIES; i++) {
            requireImage(list[i], i, "lio-read-data");
        }
        expectAll(list, "lio-read");
        line("CHECK lio-read-data ok " + TOTAL + " bytes");
    }

    /** Even entries rewrite their block with a new generation, odd entries read theirs; plus a NOP and a null. */
    private void mixedList() {
        Aiocb[] mixed = new Aiocb[ENTRIES + 2];
        for (int i = 0; i < ENTRIES; i++) {
            if (i % 2 == 0) {
                fill(image, SEED, 1, i * ENTRY_BYTES, ENTRY_BYTES);
                mixed[i] = writeEntry(i);
            } else {
                mixed[i] = readEntry(i);
            }
        }
        mixed[ENTRIES] = cb(fd, 0, ByteBuffer.allocateDirect(1), 1, Aio.LIO_NOP);
        mixed[ENTRIES + 1] = null;
        check(Aio.lio_listio(Aio.LIO_WAIT, mixed, mixed.length, null) == 0, "lio-mixed",
                ENTRIES + " entries, a NOP and a null (errno " + Aio.errno() + ")");
        for (int i = 0; i < ENTRIES; i++) {
            expect(mixed[i], ENTRY_BYTES, "lio-mixed");
            if (i % 2 == 1) {
                requireImage(mixed[i], i, "lio-mixed-data");
            }
        }
        line("CHECK lio-mixed-data ok");
    }

    /** Fails the check {@code name} unless the read {@code entry} holds the image's block. */
    private void requireImage(Aiocb read, int entry, String name) {
        byte[] got = new byte[ENTRY_BYTES];
        read.aio_buf.get(0, got);
        if (!Arrays.equals(got, 0, ENTRY_BYTES, image, entry * ENTRY_BYTES, (entry + 1) * ENTRY_BYTES)) {
            throw new CheckFailed(name + ": entry " + entry + " differs");
        }
    }

    /** Every byte through plain {@code pread}. */
    private void verifyWithPread() {
        ByteBuffer all = ByteBuffer.allocateDirect(TOTAL);
        long got = Unistd.pread(fd, all, TOTAL, 0);
        check(got == TOTAL, "lio-pread", got + " bytes");
        byte[] bytes = new byte[TOTAL];
        all.get(0, bytes);
        int diff = firstDifference(bytes, image, TOTAL);
        check(diff < 0, "lio-verify", diff < 0 ? TOTAL + " bytes" : "differs at " + diff);
    }
}
