//! SQLite: read through `rusqlite` on a blocking thread, the file opened
//! read-only; values rendered from each value's storage class, booleans
//! recognised by the column's declared type.
//!
//! The cursor is stepped and every value rendered straight into the batch on
//! one thread, with no copy of a value and no hand-off per row: only full
//! batches cross to the writer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::{render, BatchSender, Column, Dialect, Kind, Param, Query, ServerProbe, Source, SourceError};

/// Connections kept open between queries.
const IDLE: usize = 4;

/// A SQLite database opened read-only.
pub(super) struct SqliteSource {
    shared: Arc<Shared>,
}

struct Shared {
    /// What `sqlite3_open_v2` is given: a path, or a `file:` URI.
    target: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteSource {
    /// Opens the database of a `sqlite:` URL read-only (a write is refused
    /// by SQLite itself); fails when the file cannot be opened.
    pub(super) fn connect(url: &str) -> Result<Self, rusqlite::Error> {
        let shared = Arc::new(Shared {
            target: target_of(url),
            idle: Mutex::new(Vec::new()),
        });
        let first = shared.open()?;
        shared.give_back(first);
        Ok(SqliteSource { shared })
    }
}

/// The path (or URI, when the URL carries `?options`) of a `sqlite:` URL.
fn target_of(url: &str) -> PathBuf {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    match rest.split_once('?') {
        Some((path, options)) => {
            let path = path.replace('%', "%25").replace('#', "%23");
            PathBuf::from(format!("file:{path}?{options}"))
        }
        None => PathBuf::from(rest),
    }
}

impl Shared {
    fn open(&self) -> Result<Connection, rusqlite::Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&self.target, flags)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, rusqlite::Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        match idle {
            Some(c) => Ok(c),
            None => self.open(),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < IDLE {
            idle.push(conn);
        }
    }
}

/// The kind a declared column type gives, read the way SQLite's type
/// affinity reads it; `None` (an expression, or a type such as NUMERIC)
/// means the first row's values decide.
fn declared_kind(declared: &str) -> Option<Kind> {
    let d = declared.to_ascii_lowercase();
    Some(match d.as_str() {
        "boolean" | "bool" => Kind::Boolean,
        "date" => Kind::Date,
        "time" => Kind::Text,
        "datetime" | "timestamp" => Kind::Timestamp,
        _ if d.contains("int") => Kind::Integer,
        _ if d.contains("char") || d.contains("clob") || d.contains("text") => Kind::Text,
        _ if d.contains("blob") => Kind::Binary,
        _ if d.contains("real") || d.contains("floa") || d.contains("doub") => Kind::Float,
        _ => return None,
    })
}

fn refused(e: rusqlite::Error) -> SourceError {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => SourceError::refused(msg),
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            SourceError::refused(format!("{msg} (at character {} of the SQL)", offset + 1))
        }
        e => SourceError::refused(e.to_string()),
    }
}

fn to_sql(p: &Param) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match p {
        Param::Null => Value::Null,
        Param::Bool(b) => Value::Integer(i64::from(*b)),
        Param::Int(i) => Value::Integer(*i),
        Param::Float(f) => Value::Real(*f),
        Param::Text(s) => Value::Text(s.clone()),
        Param::Date(d) => Value::Text(d.format("%Y-%m-%d").to_string()),
    }
}

/// Renders one non-NULL value by its storage class.
fn render_value(v: ValueRef<'_>, boolean: bool, out: &mut String) -> Result<(), std::str::Utf8Error> {
    match v {
        ValueRef::Null => {}
        ValueRef::Integer(i) if boolean => render::boolean(out, i != 0),
        ValueRef::Integer(i) => render::int(out, i),
        ValueRef::Real(f) => render::float(out, f),
        ValueRef::Text(t) => render::text(out, t)?,
        ValueRef::Blob(b) => render::binary(out, b),
    }
    Ok(())
}

/// Runs the query on `conn` and streams it into `out`; blocking.
fn run(conn: &mut Connection, sql: &str, values: &[Param], out: &mut BatchSender) -> Result<(), SourceError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Deferred)
        .map_err(refused)?;
    let mut stmt = tx.prepare_cached(sql).map_err(refused)?;
    if stmt.column_count() == 0 {
        return Err(SourceError::NoResultSet);
    }
    let mut columns: Vec<(Column, bool)> = stmt
        .columns()
        .iter()
        .map(|c| match c.decl_type().and_then(declared_kind) {
            Some(kind) => (Column::new(c.name(), kind), false),
            None => (Column::new(c.name(), Kind::Text), true),
        })
        .collect();
    let booleans: Vec<bool> = columns.iter().map(|(c, _)| c.kind == Kind::Boolean).collect();
    let names: Vec<String> = columns.iter().map(|(c, _)| c.name.clone()).collect();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(values.iter().map(to_sql)))
        .map_err(refused)?;
    let mut announced = false;
    while let Some(row) = rows.next().map_err(refused)? {
        if !announced {
            // Columns without a declared type (expressions such as
            // COUNT(*)) take their kind from the first row's values.
            for (i, (c, undeclared)) in columns.iter_mut().enumerate() {
                if *undeclared {
                    c.kind = match row.get_ref_unwrap(i) {
                        ValueRef::Integer(_) => Kind::Integer,
                        ValueRef::Real(_) => Kind::Float,
                        ValueRef::Blob(_) => Kind::Binary,
                        ValueRef::Text(_) | ValueRef::Null => Kind::Text,
                    };
                }
            }
            out.blocking_columns(columns.drain(..).map(|(c, _)| c).collect())?;
            announced = true;
        }
        let batch = out.batch();
        for (i, &is_bool) in booleans.iter().enumerate() {
            let v = row.get_ref_unwrap(i);
            if v == ValueRef::Null {
                batch.push_null();
                continue;
            }
            render_value(v, is_bool, batch.text()).map_err(|e| SourceError::unreadable(&names, i, e))?;
            batch.end_cell();
        }
        out.blocking_row_done()?;
    }
    drop(rows);
    drop(stmt);
    if !announced {
        out.blocking_columns(columns.into_iter().map(|(c, _)| c).collect())?;
    }
    tx.rollback().map_err(refused)
}

impl Source for SqliteSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::Sqlite)?;
            let shared = &self.shared;
            let mut conn = shared.take().map_err(refused)?;
            // A long query (a sort, a scan before the first row) is
            // interrupted when the reader goes away (time limit, cancel).
            let interrupt = conn.get_interrupt_handle();
            let reader_gone = out.reader_gone();
            let mut sender = out.detach();
            let mut work = tokio::task::spawn_blocking(move || {
                let result = run(&mut conn, &sql, &values, &mut sender);
                (result, sender, conn)
            });
            let joined = tokio::select! {
                j = &mut work => j,
                () = reader_gone => {
                    interrupt.interrupt();
                    work.await
                }
            };
            let (result, sender, conn) = joined.map_err(|e| SourceError::Query {
                message: format!("the SQLite reader stopped: {e}"),
            })?;
            shared.give_back(conn);
            *out = sender;
            result
        })
    }

    fn probe(&self) -> BoxFuture<'_, Result<ServerProbe, SourceError>> {
        Box::pin(async move {
            let conn = self.shared.take().map_err(refused)?;
            let version: String = conn
                .query_row("SELECT sqlite_version()", [], |r| r.get(0))
                .map_err(refused)?;
            self.shared.give_back(conn);
            Ok(ServerProbe {
                version: format!("SQLite {version}"),
                account: format!("the file {} (opened read-only)", self.shared.target.display()),
                writes: Vec::new(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_read_like_sqlite_affinity() {
        assert_eq!(declared_kind("BOOLEAN"), Some(Kind::Boolean));
        assert_eq!(declared_kind("VARCHAR(64)"), Some(Kind::Text));
        assert_eq!(declared_kind("BIGINT"), Some(Kind::Integer));
        assert_eq!(declared_kind("TIMESTAMP"), Some(Kind::Timestamp));
        assert_eq!(declared_kind("DATE"), Some(Kind::Date));
        assert_eq!(declared_kind("DOUBLE PRECISION"), Some(Kind::Float));
        assert_eq!(declared_kind("NUMERIC(10,2)"), None);
    }

    #[test]
    fn urls_become_paths_or_uris() {
        assert_eq!(target_of("sqlite:/x/a.db"), PathBuf::from("/x/a.db"));
        assert_eq!(target_of("sqlite:///x/a.db"), PathBuf::from("/x/a.db"));
        assert_eq!(
            target_of("sqlite:/x/a#1.db?mode=ro"),
            PathBuf::from("file:/x/a%231.db?mode=ro")
        );
    }
}
