// A JDBC client — PostgreSQL's own driver, pgjdbc, which DBeaver and most Java tools use — walks
// zhongshu's catalog through DatabaseMetaData as a database browser does (schemas, tables,
// columns, keys and indexes), reads a table with a prepared statement and tries to delete from
// it. Prints one tab-separated line per fact, for
// tests/python/test_governed_query.py to check; a step that fails prints `error`, the step, the
// SQLSTATE and the message.
//
//   java -cp /usr/share/java/postgresql.jar JdbcCatalog.java HOST PORT USER PASSWORD SCHEMA.TABLE
import java.sql.*;

public class JdbcCatalog {
    interface Step {
        void run() throws SQLException;
    }

    static void step(String name, Step step) {
        try {
            step.run();
        } catch (SQLException e) {
            System.out.println("error\t" + name + "\t" + e.getSQLState() + "\t" + e.getMessage().replace('\n', ' '));
        }
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/zhongshu";
        String table = args[4];
        String[] parts = table.split("\\.");
        try (Connection conn = DriverManager.getConnection(url, args[2], args[3])) {
            DatabaseMetaData meta = conn.getMetaData();
            System.out.println("product\t" + meta.getDatabaseProductName() + "\t" + meta.getDatabaseProductVersion());
            System.out.println("user\t" + meta.getUserName());
            step("catalogs", () -> {
                try (ResultSet rs = meta.getCatalogs()) {
                    while (rs.next()) System.out.println("catalog\t" + rs.getString("TABLE_CAT"));
                }
            });
            step("schemas", () -> {
                try (ResultSet rs = meta.getSchemas()) {
                    while (rs.next()) System.out.println("schema\t" + rs.getString("TABLE_SCHEM"));
                }
            });
            step("tables", () -> {
                try (ResultSet rs = meta.getTables(null, null, "%", new String[] {"TABLE", "VIEW"})) {
                    while (rs.next()) {
                        System.out.println("table\t" + rs.getString("TABLE_SCHEM") + "." + rs.getString("TABLE_NAME")
                            + "\t" + rs.getString("TABLE_TYPE"));
                    }
                }
            });
            step("columns", () -> {
                try (ResultSet rs = meta.getColumns(null, parts[0], parts[1], "%")) {
                    while (rs.next()) {
                        System.out.println("column\t" + rs.getString("COLUMN_NAME") + "\t" + rs.getString("TYPE_NAME")
                            + "\t" + rs.getInt("ORDINAL_POSITION"));
                    }
                }
            });
            step("primary_keys", () -> {
                try (ResultSet rs = meta.getPrimaryKeys(null, parts[0], parts[1])) {
                    int keys = 0;
                    while (rs.next()) keys++;
                    System.out.println("primary_keys\t" + keys);
                }
            });
            step("indexes", () -> {
                try (ResultSet rs = meta.getIndexInfo(null, parts[0], parts[1], false, true)) {
                    int indexes = 0;
                    while (rs.next()) indexes++;
                    System.out.println("indexes\t" + indexes);
                }
            });
            step("foreign_keys", () -> {
                int keys = 0;
                try (ResultSet rs = meta.getImportedKeys(null, parts[0], parts[1])) {
                    while (rs.next()) keys++;
                }
                try (ResultSet rs = meta.getExportedKeys(null, parts[0], parts[1])) {
                    while (rs.next()) keys++;
                }
                System.out.println("foreign_keys\t" + keys);
            });
            step("count", () -> {
                try (PreparedStatement st = conn.prepareStatement("SELECT count(*) FROM " + table + " WHERE length(?) > 0")) {
                    st.setString(1, "x");
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        System.out.println("count\t" + rs.getLong(1));
                    }
                }
            });
            step("rows", () -> {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM " + table + " LIMIT 3")) {
                    ResultSetMetaData columns = rs.getMetaData();
                    while (rs.next()) {
                        StringBuilder row = new StringBuilder("row");
                        for (int i = 1; i <= columns.getColumnCount(); i++) {
                            row.append('\t').append(columns.getColumnName(i)).append('=').append(rs.getString(i));
                        }
                        System.out.println(row);
                    }
                }
            });
            step("delete", () -> {
                try (Statement st = conn.createStatement()) {
                    st.executeUpdate("DELETE FROM " + table);
                    System.out.println("deleted");
                }
            });
        }
    }
}
