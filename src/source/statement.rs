//! The first read-only layer: every statement is parsed in its database's
//! dialect (by `sqlparser`) before anything reaches the server, and refused
//! unless it is one read. MariaDB commits DDL on its own, so the read-only
//! transaction (the second layer) cannot stop `DROP TABLE` there; this check
//! can, on every database alike.

use sqlparser::ast::{Query, SetExpr, Statement};
use sqlparser::dialect::{self, Dialect as SqlDialect};
use sqlparser::parser::Parser;

use super::{Dialect, SourceError};

fn dialect_of(d: Dialect) -> Box<dyn SqlDialect> {
    match d {
        Dialect::Sqlite => Box::new(dialect::SQLiteDialect {}),
        Dialect::Postgres => Box::new(dialect::PostgreSqlDialect {}),
        Dialect::MySql => Box::new(dialect::MySqlDialect {}),
    }
}

/// Refuses `sql` (placeholders already in the dialect's form) unless it is
/// a single read: SELECT, WITH … SELECT, VALUES, a SHOW, or EXPLAIN without
/// ANALYZE.
pub(super) fn check_read_only(sql: &str, d: Dialect) -> Result<(), SourceError> {
    let statements = Parser::parse_sql(&*dialect_of(d), sql).map_err(|e| SourceError::NotRead {
        what: format!("the SQL does not parse as one {} statement: {e}", d.name()),
    })?;
    match statements.as_slice() {
        [] => Err(SourceError::NotRead {
            what: "the SQL holds no statement".into(),
        }),
        [one] => match read_kind(one) {
            None => Ok(()),
            Some(kind) => Err(SourceError::NotRead {
                what: format!("the SQL is {kind}"),
            }),
        },
        many => Err(SourceError::NotRead {
            what: format!(
                "the SQL holds {} statements ({}); a query is one statement",
                many.len(),
                many.iter().map(kind_of).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// `None` for a read, else what the statement is ("a DROP TABLE").
fn read_kind(s: &Statement) -> Option<String> {
    match s {
        Statement::Query(q) => query_kind(q),
        Statement::Explain {
            analyze: false,
            statement,
            ..
        } => read_kind(statement),
        Statement::Explain { analyze: true, .. } => Some("an EXPLAIN ANALYZE (it runs the statement)".into()),
        Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. } => None,
        other => Some(kind_of(other)),
    }
}

fn query_kind(q: &Query) -> Option<String> {
    if let Some(with) = &q.with {
        if let Some(k) = with.cte_tables.iter().find_map(|c| query_kind(&c.query)) {
            return Some(format!("{k} inside a WITH"));
        }
    }
    if !q.locks.is_empty() {
        return Some("a SELECT … FOR UPDATE/SHARE (it locks rows)".into());
    }
    set_kind(&q.body)
}

fn set_kind(body: &SetExpr) -> Option<String> {
    match body {
        SetExpr::Select(s) if s.into.is_some() => Some("a SELECT … INTO (it creates a table)".into()),
        SetExpr::Select(_) | SetExpr::Values(_) | SetExpr::Table(_) => None,
        SetExpr::Query(q) => query_kind(q),
        SetExpr::SetOperation { left, right, .. } => set_kind(left).or_else(|| set_kind(right)),
        SetExpr::Insert(s) | SetExpr::Update(s) | SetExpr::Delete(s) | SetExpr::Merge(s) => Some(kind_of(s)),
    }
}

/// The statement's leading keywords, as a person names it: "a DROP TABLE",
/// "an INSERT".
fn kind_of(s: &Statement) -> String {
    let text = s.to_string();
    let mut words = text.split_whitespace().map(str::to_ascii_uppercase);
    let first = words.next().unwrap_or_default();
    let two = [
        "CREATE", "DROP", "ALTER", "RENAME", "TRUNCATE", "GRANT", "REVOKE", "LOCK",
    ];
    let kind = match words.next() {
        Some(second) if two.contains(&first.as_str()) && second.chars().all(|c| c.is_ascii_alphabetic()) => {
            format!("{first} {second}")
        }
        _ => first,
    };
    let article = if kind.starts_with(['A', 'E', 'I', 'O', 'U']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(sql: &str, d: Dialect) -> String {
        check_read_only(sql, d).unwrap_err().to_string()
    }

    #[test]
    fn reads_pass_on_every_dialect() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
            for sql in [
                "SELECT 1",
                "SELECT a, b FROM t WHERE c = ? ORDER BY a;",
                "WITH x AS (SELECT 1 AS n) SELECT n FROM x UNION ALL SELECT 2",
                "VALUES (1, 2)",
                "EXPLAIN SELECT * FROM t",
                "-- a comment\nSELECT 1 /* another */",
            ] {
                let sql = if d == Dialect::Postgres {
                    sql.replace('?', "$1")
                } else {
                    sql.to_string()
                };
                assert!(
                    check_read_only(&sql, d).is_ok(),
                    "{d:?}: {sql}: {:?}",
                    check_read_only(&sql, d)
                );
            }
        }
        assert!(check_read_only("SHOW TABLES", Dialect::MySql).is_ok());
    }

    #[test]
    fn writes_ddl_and_hidden_statements_are_refused_by_kind() {
        for (sql, kind) in [
            ("DROP TABLE t", "a DROP TABLE"),
            ("TRUNCATE TABLE t", "a TRUNCATE TABLE"),
            ("ALTER TABLE t ADD COLUMN x INT", "an ALTER TABLE"),
            ("CREATE INDEX i ON t (a)", "a CREATE INDEX"),
            ("CREATE VIEW v AS SELECT 1", "a CREATE VIEW"),
            ("CREATE TABLE u (a INT)", "a CREATE TABLE"),
            ("INSERT INTO t VALUES (1)", "an INSERT"),
            ("UPDATE t SET a = 1", "an UPDATE"),
            ("DELETE FROM t", "a DELETE"),
            ("CALL p()", "a CALL"),
        ] {
            for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql] {
                let e = refused(sql, d);
                assert!(e.contains(&format!("the SQL is {kind}")), "{d:?} {sql}: {e}");
            }
        }
        let e = refused("SELECT 1; DROP TABLE t", Dialect::MySql);
        assert!(e.contains("2 statements (a SELECT, a DROP TABLE)"), "{e}");
        let e = refused("/* harmless */ DROP TABLE t -- SELECT", Dialect::Postgres);
        assert!(e.contains("a DROP TABLE"), "{e}");
        let e = refused(
            "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone",
            Dialect::Postgres,
        );
        assert!(e.contains("a DELETE inside a WITH"), "{e}");
        assert!(refused("RENAME TABLE a TO b", Dialect::MySql).contains("a RENAME TABLE"));
        assert!(refused("SELECT * FROM t FOR UPDATE", Dialect::Postgres).contains("locks rows"));
        assert!(refused("EXPLAIN ANALYZE DELETE FROM t", Dialect::Postgres).contains("EXPLAIN ANALYZE"));
        let e = refused("SELEC 1", Dialect::Sqlite);
        assert!(e.contains("does not parse as one SQLite statement"), "{e}");
    }
}
