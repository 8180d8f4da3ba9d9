package io.uringaio.bench.harness;

import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * RocksDB's write-ahead log, the durable log a Java storage engineer would otherwise pick: one platform thread per
 * appender, each {@code Put}s its record (the append workloads' 100 bytes, under a 16-byte key of appender and
 * sequence) with {@link WriteOptions#setSync(boolean) sync = true}, so a {@code Put} returns once its WAL write is
 * fdatasync'ed. RocksDB groups concurrent writers itself (one leader writes and syncs the group). The database lives
 * in a fresh directory beside the benchmark file (same file system) and is deleted after the trial; default options
 * otherwise. Runs the {@link Workload.Op#APPEND} workloads only.
 */
public final class RocksDbWalContender extends InProcessContender {
    static final String NAME = "rocksdb-wal";
    private static final int KEY_BYTES = 16;

    /** Why RocksDB's native library cannot load here, or null; asked once. */
    private static volatile String unavailable;
    private static volatile boolean checked;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "RocksDB " + version() + " (rocksdbjni) write-ahead log: one platform thread per appender, a Put of "
                + "the record with WriteOptions.setSync(true) (fdatasync before it returns; RocksDB groups concurrent "
                + "writers)";
    }

    @Override
    public String unavailableReason() {
        if (!checked) {
            synchronized (RocksDbWalContender.class) {
                if (!checked) {
                    try {
                        RocksDB.loadLibrary();
                    } catch (Throwable t) { // UnsatisfiedLinkError and the like: RocksDB is then skipped, not fatal
                        unavailable = "RocksDB's native library does not load here: " + t;
                    }
                    checked = true;
                }
            }
        }
        return unavailable;
    }

    private String version() {
        if (unavailableReason() != null) {
            return "";
        }
        RocksDB.Version v = RocksDB.rocksdbVersion();
        return v.getMajor() + "." + v.getMinor() + "." + v.getPatch();
    }

    @Override
    public boolean appliesTo(Workload workload) {
        return workload.op() == Workload.Op.APPEND;
    }

    @Override
    protected Load start(Trial trial, TrialContext context) throws Exception {
        Workload w = trial.workload();
        if (!appliesTo(w)) {
            throw new IllegalArgumentException(NAME + " runs the append workloads only, not " + w.name());
        }
        Path dir = Scratch.besideTestFile(context.file(), "rocksdb");
        deleteTree(dir);
        Scratch.track(dir); // a Ctrl-C during the trial must not leave it beside the test file
        Options options = new Options().setCreateIfMissing(true);
        RocksDB db;
        try {
            db = RocksDB.open(options, dir.toString());
        } catch (RocksDBException | RuntimeException e) {
            options.close();
            deleteTree(dir);
            Scratch.untrack(dir);
            throw e;
        }
        int recordBytes = w.blockBytes() - 8; // the record without the log's frame (length + CRC32C)
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < trial.depth(); i++) {
            int lane = i;
            trial.laneStarted();
            threads.add(Thread.ofPlatform().daemon().name("bench-" + NAME + "-" + i)
                    .start(() -> runAppender(trial, db, lane, recordBytes)));
        }
        return () -> {
            try {
                for (Thread t : threads) {
                    t.join(TimeUnit.SECONDS.toMillis(60));
                }
                db.close();
            } finally {
                options.close();
                deleteTree(dir);
                Scratch.untrack(dir);
            }
        };
    }

    /** One appender: Put (synced), record, while the trial runs; keys are (lane, sequence), never overwritten. */
    private static void runAppender(Trial trial, RocksDB db, int lane, int recordBytes) {
        LaneRecorder recorder = trial.lane(lane);
        byte[] key = new byte[KEY_BYTES];
        ByteBuffer keyView = ByteBuffer.wrap(key).putLong(0, lane);
        byte[] record = new byte[recordBytes];
        for (int i = 0; i < recordBytes; i++) {
            record[i] = (byte) (lane + i);
        }
        try (WriteOptions sync = new WriteOptions().setSync(true)) {
            for (long sequence = 0; trial.running(); sequence++) {
                keyView.putLong(8, sequence);
                recorder.started();
                db.put(sync, key, record);
                recorder.done();
            }
        } catch (RocksDBException | RuntimeException e) {
            trial.fail("put failed: " + e);
        } finally {
            trial.laneStopped();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
