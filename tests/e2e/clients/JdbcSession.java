// A JDBC client session against doris-rs, over MariaDB Connector/J (Debian's
// libmariadb-java): connect, run statements, a client-side prepared query, commit and
// rollback as a Java tool does. Prints one line per outcome for the test to read:
//   connected <version> | row <cells, tab-separated> | ok <update count> |
//   error <code> <message> | tx ok
// Usage: java JdbcSession <port> <db> <user> <password> <sql>... ; an argument
// "?<int>|<sql>" runs <sql> as a PreparedStatement with <int> bound to its one parameter;
// "let|<name>|<column>|<sql>" keeps <column> of <sql>'s first row as ${<name>} for later
// statements (prints "let <name> <value>"); "wait|<sql>" re-runs a SHOW BACKUP/RESTORE
// until its last row's State is FINISHED or CANCELLED, as a tool polls a job (prints
// "state <State>").
import java.sql.*;
import java.util.HashMap;
import java.util.Map;

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

    // The named column of the query's first (or last) row; null when it has no row.
    static String cell(Connection c, String sql, String column, boolean last) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            String v = null;
            while (r.next()) {
                v = r.getString(column);
                if (!last) break;
            }
            return v;
        }
    }

    public static void main(String[] a) throws Exception {
        Map<String, String> vars = new HashMap<>();
        String url = "jdbc:mariadb://127.0.0.1:" + a[0] + "/" + a[1];
        try (Connection c = DriverManager.getConnection(url, a[2], a[3])) {
            System.out.println("connected\t" + c.getMetaData().getDatabaseProductVersion());
            for (int i = 4; i < a.length; i++) {
                String sql = a[i];
                for (Map.Entry<String, String> v : vars.entrySet()) sql = sql.replace("${" + v.getKey() + "}", v.getValue());
                try {
                    if (sql.startsWith("let|")) {
                        String[] p = sql.split("\\|", 4);
                        String v = cell(c, p[3], p[2], false);
                        vars.put(p[1], v);
                        System.out.println("let\t" + p[1] + "\t" + v);
                        continue;
                    }
                    if (sql.startsWith("wait|")) {
                        String q = sql.substring(5), state = null;
                        long deadline = System.currentTimeMillis() + 120_000;
                        while (System.currentTimeMillis() < deadline) {
                            state = cell(c, q, "State", true);
                            if ("FINISHED".equals(state) || "CANCELLED".equals(state)) break;
                            Thread.sleep(200);
                        }
                        System.out.println("state\t" + state);
                        continue;
                    }
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
