// A JDBC client session against doris-rs, over MariaDB Connector/J (Debian's
// libmariadb-java): connect, run statements, a client-side prepared query, commit and
// rollback as a Java tool does. Prints one line per outcome for the test to read:
//   connected <version> | row <cells, tab-separated> | ok <update count> |
//   error <code> <message> | tx ok
// Usage: java JdbcSession <port> <db> <user> <password> <sql>... ; an argument
// "?<int>|<sql>" runs <sql> as a PreparedStatement with <int> bound to its one parameter.
import java.sql.*;

public class JdbcSession {
    static void print(ResultSet r) throws SQLException {
        int n = r.getMetaData().getColumnCount();
        StringBuilder head = new StringBuilder("columns");
        for (int k = 1; k <= n; k++) head.append('\t').append(r.getMetaData().getColumnLabel(k));
        System.out.println(head);
        while (r.next()) {
            StringBuilder b = new StringBuilder("row");
            for (int k = 1; k <= n; k++) b.append('\t').append(r.getString(k));
            System.out.println(b);
        }
    }

    public static void main(String[] a) throws Exception {
        String url = "jdbc:mariadb://127.0.0.1:" + a[0] + "/" + a[1];
        try (Connection c = DriverManager.getConnection(url, a[2], a[3])) {
            System.out.println("connected\t" + c.getMetaData().getDatabaseProductVersion());
            for (int i = 4; i < a.length; i++) {
                String sql = a[i];
                try {
                    if (sql.startsWith("?")) {
                        int bar = sql.indexOf('|');
                        try (PreparedStatement p = c.prepareStatement(sql.substring(bar + 1))) {
                            p.setInt(1, Integer.parseInt(sql.substring(1, bar)));
                            try (ResultSet r = p.executeQuery()) { print(r); }
                        }
                        continue;
                    }
                    try (Statement s = c.createStatement()) {
                        if (s.execute(sql)) {
                            try (ResultSet r = s.getResultSet()) { print(r); }
                        } else {
                            System.out.println("ok\t" + s.getUpdateCount());
                        }
                    }
                } catch (SQLException e) {
                    System.out.println("error\t" + e.getErrorCode() + "\t" + e.getMessage());
                }
            }
            // What a Java tool's transaction handling sends: autocommit off, commit, rollback.
            c.setAutoCommit(false);
            c.commit();
            c.rollback();
            c.setAutoCommit(true);
            System.out.println("tx\tok");
        }
    }
}
