package io.uringaio.nio.installed;

import io.uringaio.engine.EngineStats;
import io.uringaio.nio.ChildJvm;
import io.uringaio.nio.UringFiles;
import io.uringaio.nio.UringFileSystemProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * H2 (MVStore; its disk file system opens {@code FileChannel.open(Paths.get(name))}) unchanged on the uring
 * provider installed as the JVM's default.
 */
class H2OnUringTest {
    private static final int ROWS = 100_000;
    private static final int PER_TRANSACTION = 1_000;

    @TempDir
    Path dir;

    private String url(String name) {
        // WRITE_DELAY=0: each commit is written to the store when commit() returns.
        return "jdbc:h2:" + dir.resolve(name).toAbsolutePath() + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
    }

    @Test
    void insertsQueriesAndReopens() throws Exception {
        assertInstanceOf(UringFileSystemProvider.class, FileSystems.getDefault().provider());
        Backend before = Backend.of(UringFiles.stats());
        try (Connection c = DriverManager.getConnection(url("workload"))) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE item(id INT PRIMARY KEY, grp INT, name VARCHAR(64), amount BIGINT)");
                s.execute("CREATE INDEX item_grp ON item(grp)");
            }
            c.setAutoCommit(false);
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO item VALUES (?, ?, ?, ?)")) {
                for (int i = 0; i < ROWS; i++) {
                    insert.setInt(1, i);
                    insert.setInt(2, i % 100);
                    insert.setString(3, "item-" + i);
                    insert.setLong(4, (long) i * 3);
                    insert.addBatch();
                    if (i % PER_TRANSACTION == PER_TRANSACTION - 1) {
                        insert.executeBatch();
                        c.commit();
                    }
                }
            }
            try (Statement s = c.createStatement()) {
                s.execute("UPDATE item SET amount = amount + 1 WHERE grp = 7");
                s.execute("DELETE FROM item WHERE grp = 99");
            }
            c.commit();
            verify(c);
        }
        EngineStats during = UringFiles.stats();
        assertNotNull(during, "the engine started");
        assertTrue(during.completed() - before.completed > 100,
                "H2's writes went through the engine: " + during);
        try (Connection c = DriverManager.getConnection(url("workload"))) {
            verify(c);
        }
    }

    private static void verify(Connection c) throws SQLException {
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT COUNT(*), SUM(amount) FROM item")) {
            r.next();
            long expectedRows = ROWS - ROWS / 100;
            long sum = 0;
            for (int i = 0; i < ROWS; i++) {
                if (i % 100 != 99) {
                    sum += (long) i * 3 + (i % 100 == 7 ? 1 : 0);
                }
            }
            assertEquals(expectedRows, r.getLong(1));
            assertEquals(sum, r.getLong(2));
        }
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT name, amount FROM item WHERE id = 4207")) {
            assertTrue(r.next());
            assertEquals("item-4207", r.getString(1));
            assertEquals(4207L * 3 + 1, r.getLong(2));
        }
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT COUNT(*) FROM item WHERE grp = 42")) {
            r.next();
            assertEquals(ROWS / 100, r.getLong(1));
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 120, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
    void everyCommittedTransactionSurvivesSigkill() throws Exception {
        String url = url("crash");
        Process child = ChildJvm.start(List.of("-Djava.nio.file.spi.DefaultFileSystemProvider="
                + UringFileSystemProvider.class.getName()), H2CrashMain.class, url);
        int lastCommitted = -1;
        String ready;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            ready = out.readLine();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            String line;
            while (System.nanoTime() < deadline && (line = out.readLine()) != null) {
                lastCommitted = Integer.parseInt(line.substring("COMMITTED ".length()));
                if (lastCommitted >= 2000) {
                    break;
                }
            }
            // SIGKILL through the handle: Process.destroyForcibly would also close our end of its output.
            assertTrue(child.toHandle().destroyForcibly());
            assertTrue(child.waitFor(30, TimeUnit.SECONDS));
            // Lines already in the pipe were committed too: read them all.
            while ((line = out.readLine()) != null) {
                if (line.startsWith("COMMITTED ")) {
                    lastCommitted = Integer.parseInt(line.substring("COMMITTED ".length()));
                }
            }
        } finally {
            child.toHandle().destroyForcibly(); // never leave the child behind, whatever failed
        }
        assertNotNull(ready);
        assertEquals("READY " + UringFiles.backend(), ready, "the child runs on the same backend");
        assertTrue(lastCommitted >= 10, "the child committed only " + lastCommitted + " transactions");
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT COUNT(*), MAX(txn) FROM t WHERE txn <= " + lastCommitted)) {
                r.next();
                assertEquals(2L * (lastCommitted + 1), r.getLong(1), "every committed transaction is there ("
                        + ready + ", last " + lastCommitted + ")");
                assertEquals(lastCommitted, r.getInt(2));
            }
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT txn, COUNT(*) FROM t GROUP BY txn HAVING COUNT(*) <> 2")) {
                assertTrue(!r.next(), "a transaction was torn");
            }
        }
    }

    /** The completed count before the workload (0 when the engine has not started yet). */
    private record Backend(long completed) {
        static Backend of(EngineStats stats) {
            return new Backend(stats == null ? 0 : stats.completed());
        }
    }
}
