//! What `ferry test-connection` tells about a database: the server, the
//! account, and whether that account could change anything. ferry's own
//! layers (the statement check, the read-only transaction) stop a script
//! from writing; an account that can only read is the layer a bug in ferry,
//! or in the database, cannot get past.

/// A database as the configured account sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerProbe {
    /// The server's product and version, as it reports them.
    pub version: String,
    /// The account ferry is logged in as.
    pub account: String,
    /// What the account may change, one entry per grant or right; empty
    /// when it can only read.
    pub writes: Vec<String>,
}

/// What to do about an account that could write, for the database at `url`.
pub fn read_only_advice(url: &str) -> &'static str {
    match url {
        _ if url.starts_with("postgres") => {
            "give ferry a role that can only read: CREATE ROLE ferry LOGIN PASSWORD '...'; \
             GRANT pg_read_all_data TO ferry; (or GRANT USAGE ON SCHEMA s and SELECT ON ALL TABLES IN SCHEMA s)"
        }
        _ => {
            "give ferry an account that can only read: CREATE USER 'ferry'@'%' IDENTIFIED BY '...'; \
              GRANT SELECT, SHOW VIEW ON sis.* TO 'ferry'@'%';"
        }
    }
}

/// Privileges that only read (or only look at the server). Anything else a
/// MariaDB/MySQL grant lists is taken as a way to change something.
const READS: &[&str] = &[
    "SELECT",
    "SHOW VIEW",
    "USAGE",
    "SHOW DATABASES",
    "PROCESS",
    "EXECUTE",
    "REPLICATION CLIENT",
    "BINLOG MONITOR",
    "SLAVE MONITOR",
    "REPLICA MONITOR",
];

/// The write privileges in the lines of `SHOW GRANTS`, each with the object
/// it is granted on (`INSERT on test.*`). A role grant (`GRANT r TO u`)
/// carries no privileges itself and is skipped: MariaDB lists the role's
/// own grants in the same output once it is the default role.
pub(super) fn mysql_write_grants(lines: &[String]) -> Vec<String> {
    let mut writes = Vec::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("GRANT ") else {
            continue;
        };
        let Some((privileges, after)) = rest.split_once(" ON ") else {
            continue;
        };
        if privileges.trim() == "PROXY" {
            continue;
        }
        let object = after.split(" TO ").next().unwrap_or(after).replace('`', "");
        for p in split_privileges(privileges) {
            // Column grants name their columns: `UPDATE (grade)`.
            let name = p.split('(').next().unwrap_or(&p).trim().to_ascii_uppercase();
            if READS.contains(&name.as_str()) {
                continue;
            }
            writes.push(format!("{} on {object}", p.trim()));
        }
        if after.contains("WITH GRANT OPTION") {
            writes.push(format!("GRANT OPTION on {object}"));
        }
    }
    writes
}

/// Splits `SELECT, UPDATE (a, b), INSERT` at the commas between privileges,
/// not those inside a column list.
fn split_privileges(list: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0);
    for ch in list.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// PostgreSQL: the role's attributes and what it may change, one row per
/// finding. A standby (in recovery) cannot be written by anyone.
pub(super) const PG_WRITES: &str = "\
WITH me AS (SELECT * FROM pg_roles WHERE rolname = current_user),
     tables AS (
       SELECT c.oid, c.relowner, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm')
         AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%')
SELECT finding FROM (
  SELECT 'superuser (can change anything)' AS finding FROM me WHERE rolsuper
  UNION ALL SELECT 'CREATEDB' FROM me WHERE rolcreatedb
  UNION ALL SELECT 'CREATEROLE' FROM me WHERE rolcreaterole
  UNION ALL SELECT 'CREATE on database ' || current_database()
    WHERE has_database_privilege(current_database(), 'CREATE')
  UNION ALL SELECT 'CREATE in schema ' || nspname FROM pg_namespace
    WHERE has_schema_privilege(oid, 'CREATE')
      AND nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg_t%'
  UNION ALL SELECT p || ' on ' || count(*) || ' table(s), e.g. ' || min(oid::regclass::text)
    FROM tables, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) AS p
    WHERE has_table_privilege(oid, p) GROUP BY p
  UNION ALL SELECT 'owns ' || count(*) || ' table(s) (can drop or alter them), e.g. ' || min(oid::regclass::text)
    FROM tables WHERE pg_has_role(relowner, 'USAGE') HAVING count(*) > 0
) f WHERE NOT pg_is_in_recovery()";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_grants_are_not_writes_and_every_other_grant_is() {
        let lines: Vec<String> = [
            "GRANT USAGE ON *.* TO `ro`@`%` IDENTIFIED BY PASSWORD '*AB'",
            "GRANT SELECT, SHOW VIEW ON `sis`.* TO `ro`@`%`",
            "GRANT SELECT, UPDATE (grade, name), INSERT ON `sis`.`students` TO `rw`@`%`",
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION",
            "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
            "GRANT `reporting` TO `ro`@`%`",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(mysql_write_grants(&lines[..2]), Vec::<String>::new());
        assert_eq!(
            mysql_write_grants(&lines[2..]),
            [
                "UPDATE (grade, name) on sis.students",
                "INSERT on sis.students",
                "ALL PRIVILEGES on *.*",
                "GRANT OPTION on *.*",
            ]
        );
    }
}
