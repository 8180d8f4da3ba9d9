package io.uringaio.nio.installed;

import java.io.PrintStream;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;

/**
 * The child of {@link H2OnUringTest#everyCommittedTransactionSurvivesSigkill}: commits one transaction after another
 * (two rows each) and prints "COMMITTED n" after each commit returned, until it is killed.
 */
public final class H2CrashMain {
    private H2CrashMain() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = System.out;
        try (Connection c = DriverManager.getConnection(args[0])) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS t(id INT PRIMARY KEY, txn INT, v VARCHAR(100))");
            }
            c.setAutoCommit(false);
            out.println("READY " + io.uringaio.nio.UringFiles.backend());
            out.flush();
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO t VALUES (?, ?, ?)")) {
                for (int txn = 0; ; txn++) {
                    for (int k = 0; k < 2; k++) {
                        insert.setInt(1, 2 * txn + k);
                        insert.setInt(2, txn);
                        insert.setString(3, "value " + txn + "/" + k);
                        insert.executeUpdate();
                    }
                    c.commit();
                    out.println("COMMITTED " + txn);
                    out.flush();
                }
            }
        }
    }
}
