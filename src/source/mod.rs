//! Databases: named sources that stream rendered rows out of a read-only
//! transaction.
//!
//! A [`Source`] runs on the async runtime (SQLite on a blocking thread of
//! it) and pushes [`Batch`]es into a bounded channel; the consumer (a file writer on the script's thread) pulls
//! them with [`RowStream::next_batch`]. The channel bound is what keeps memory
//! flat however many rows a query returns, and emptied batches travel back to
//! the producer for reuse.

mod batch;
#[macro_use]
mod macros;
mod mysql;
mod params;
mod pg_copy;
mod pg_values;
mod postgres;
mod probe;
pub mod render;
mod sqlite;
mod statement;
mod stream;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::Mutex;

pub use batch::{Batch, Column, Kind, Row};
pub use params::{rewrite, Dialect, Param, Rewritten};
pub use postgres::PgSource;
pub use probe::{read_only_advice, ServerProbe};
pub use stream::{BatchSender, RowStream, StreamError};

use crate::config::DatabaseSettings;
pub use crate::config::{redact_url, url_has_password};

/// A database failure, with the database's name and a hint where one helps.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A script named a database that the configuration does not define.
    #[error("unknown database '{name}' (configured: {known}); add [databases.{name}] to ferry.toml")]
    Unknown { name: String, known: String },
    /// Could not connect or open.
    #[error("cannot connect to database '{name}' ({url}): {message}")]
    Connect {
        name: String,
        /// URL without secrets.
        url: String,
        message: String,
    },
    /// The database refused or failed the query.
    #[error("{message}")]
    Query {
        /// The driver's reason, with hints.
        message: String,
    },
    /// The SQL names a parameter the script did not pass.
    #[error("the SQL uses :{0} but the params map has no '{0}'")]
    MissingParam(String),
    /// A column type ferry does not render.
    #[error("column '{column}' has type {type_name}, which ferry cannot render; cast it in SQL (e.g. CAST({column} AS TEXT))")]
    Unsupported { column: String, type_name: String },
    /// The consumer stopped reading (the run was cancelled or failed).
    #[error("the reader of the rows went away")]
    Closed,
    /// The SQL is not one read statement; refused before it was sent.
    #[error("{what}: a query only reads, so ferry did not send it to the database")]
    NotRead {
        /// What was found.
        what: String,
    },
    /// The statement gives no rows to write (it is not a query).
    #[error("the statement returns no result set, so there is nothing to write; use a SELECT")]
    NoResultSet,
}

impl SourceError {
    /// A value of column `i` that cannot be written, named by its column.
    pub(crate) fn unreadable(names: &[String], i: usize, e: impl std::fmt::Display) -> SourceError {
        let column = names.get(i).map_or_else(|| format!("{}", i + 1), |n| format!("'{n}'"));
        SourceError::Query {
            message: format!("cannot write column {column}: {e}"),
        }
    }

    /// Classifies a driver error, adding what to do for the common cases.
    pub(crate) fn query(e: sqlx::Error) -> SourceError {
        SourceError::refused(e.to_string())
    }

    /// A database's refusal in its own words, with the read-only hint when
    /// the query tried to write.
    pub(crate) fn refused(text: String) -> SourceError {
        let lower = text.to_ascii_lowercase();
        let hint = if lower.contains("read-only") || lower.contains("readonly") || lower.contains("read only") {
            " (extracts run in a read-only transaction: a script can never change the database)"
        } else {
            ""
        };
        SourceError::Query {
            message: format!("{text}{hint}"),
        }
    }
}

/// One query to run: SQL with `:name` placeholders and the named values.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// SQL as the script wrote it.
    pub sql: String,
    /// Values for the placeholders.
    pub params: BTreeMap<String, Param>,
}

impl Query {
    /// Rewrites the placeholders for `dialect` and lists the values in bind order.
    /// Anything but a single read statement is refused (`statement.rs`).
    pub fn positional(&self, dialect: Dialect) -> Result<(String, Vec<Param>), SourceError> {
        let r = rewrite(&self.sql, dialect);
        statement::check_read_only(&r.sql, dialect)?;
        let values = r
            .order
            .iter()
            .map(|n| {
                self.params
                    .get(n)
                    .cloned()
                    .ok_or_else(|| SourceError::MissingParam(n.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok((r.sql, values))
    }
}

/// A database kind. Implementations open a read-only transaction, stream the
/// result as rendered text, and roll back.
pub trait Source: Send + Sync {
    /// Runs `query`, sending the columns then the rows to `out`.
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>>;

    /// The server, the account and what that account could change, for
    /// `ferry test-connection`.
    fn probe(&self) -> BoxFuture<'_, Result<ServerProbe, SourceError>>;
}

/// Awaits `work`, a statement streaming into a sender whose reader may go
/// away (the run was cancelled, failed or passed its time limit). When the
/// reader goes first, `cancel` asks the server to stop the statement from a
/// second connection, and `work` is awaited a little longer so its
/// connection ends cleanly; a server that does not stop within 5 s is left
/// to finish on its own.
async fn until_reader_gone<T>(
    work: impl std::future::Future<Output = Result<T, SourceError>>,
    gone: impl std::future::Future<Output = ()>,
    cancel: impl std::future::Future<Output = ()>,
) -> Result<T, SourceError> {
    tokio::pin!(work);
    tokio::select! {
        biased;
        r = &mut work => r,
        () = gone => {
            cancel.await;
            tokio::time::timeout(std::time::Duration::from_secs(5), work)
                .await
                .unwrap_or(Err(SourceError::Closed))
        }
    }
}

/// The configured databases, connected on first use and kept for the
/// process's lifetime.
pub struct Databases {
    settings: BTreeMap<String, DatabaseSettings>,
    open: Mutex<BTreeMap<String, Arc<dyn Source>>>,
}

impl Databases {
    /// Databases as configured; nothing connects yet.
    pub fn new(settings: BTreeMap<String, DatabaseSettings>) -> Self {
        Databases {
            settings,
            open: Mutex::new(BTreeMap::new()),
        }
    }

    /// True when `name` is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.settings.contains_key(name)
    }

    /// The names configured, for messages.
    pub fn names(&self) -> String {
        self.settings.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// The source called `name`, connecting (and creating the demo district)
    /// on first use.
    pub async fn get(&self, name: &str) -> Result<Arc<dyn Source>, SourceError> {
        let mut open = self.open.lock().await;
        if let Some(s) = open.get(name) {
            return Ok(s.clone());
        }
        let settings = self.settings.get(name).ok_or_else(|| SourceError::Unknown {
            name: name.to_string(),
            known: self.names(),
        })?;
        let connect_err = |message: String| SourceError::Connect {
            name: name.to_string(),
            url: redact_url(&settings.url),
            message,
        };
        let password = settings
            .password
            .as_ref()
            .map(super::config::SecretRef::resolve)
            .transpose()
            .map_err(connect_err)?;
        let url = settings.url.as_str();
        let source: Arc<dyn Source> = if let Some(path) = url.strip_prefix("sqlite:") {
            if let Some(demo) = &settings.demo {
                crate::demo::ensure(std::path::Path::new(path), demo)
                    .await
                    .map_err(|e| connect_err(e.to_string()))?;
            }
            Arc::new(sqlite::SqliteSource::connect(url).map_err(|e| connect_err(e.to_string()))?)
        } else if url.starts_with("postgres") {
            Arc::new(
                postgres::PgSource::connect(url, password)
                    .await
                    .map_err(|e| connect_err(e.to_string()))?,
            )
        } else {
            Arc::new(
                mysql::MySqlSource::connect(url, password)
                    .await
                    .map_err(|e| connect_err(e.clone()))?,
            )
        };
        open.insert(name.to_string(), source.clone());
        Ok(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_shown() {
        assert!(url_has_password("postgres://u:pw@h/db"));
        assert!(!url_has_password("postgres://u@h/db"));
        assert_eq!(redact_url("mysql://root:s3cret@h:3306/t"), "mysql://root:***@h:3306/t");
        assert_eq!(redact_url("sqlite:/x.db"), "sqlite:/x.db");
    }

    #[test]
    fn missing_parameter_is_named() {
        let q = Query {
            sql: "SELECT :a, :b".into(),
            params: [("a".to_string(), Param::Int(1))].into(),
        };
        let e = q.positional(Dialect::Sqlite).unwrap_err().to_string();
        assert_eq!(e, "the SQL uses :b but the params map has no 'b'");
    }
}
