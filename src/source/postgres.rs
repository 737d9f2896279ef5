//! PostgreSQL: `BEGIN READ ONLY`; the statement is prepared for its columns,
//! then a plain read streams through `COPY (query) TO STDOUT (FORMAT binary)`
//! ([`super::pg_copy`]) and anything else as the prepared statement's rows.
//! Both carry the same binary values, rendered by one decoder per column
//! chosen once per query ([`super::pg_values`]), so both give the same bytes.

use std::str::FromStr;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgTypeInfo, PgValueRef};
use sqlx::{Column as _, Connection, Executor, Row as _, Statement, ValueRef};

use super::pg_copy::{copy_statement, CopyReader};
use super::pg_values::{decoder, render_value, Bad, Decoder};
use super::{probe, BatchSender, Column, Dialect, Param, Query, ServerProbe, Source, SourceError};

/// A PostgreSQL database.
pub struct PgSource {
    pool: PgPool,
    /// For the second connection that cancels a statement.
    opts: PgConnectOptions,
    /// Plain reads go through `COPY ... (FORMAT binary)`.
    copy: bool,
}

impl PgSource {
    /// Connects a small pool; `password` overrides the URL's.
    pub async fn connect(url: &str, password: Option<String>) -> Result<Self, sqlx::Error> {
        let mut opts = PgConnectOptions::from_str(url)?.application_name("ferry");
        if let Some(p) = password {
            opts = opts.password(&p);
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts.clone())
            .await?;
        Ok(PgSource { pool, opts, copy: true })
    }

    /// The same source with the COPY fast path off, so every query takes
    /// the generic path: for comparing the two.
    pub fn without_copy(self) -> Self {
        PgSource { copy: false, ..self }
    }

    /// True when `query` is read through `COPY (query) TO STDOUT` rather
    /// than as a prepared statement's result rows.
    pub fn uses_copy(&self, query: &Query) -> bool {
        self.copy_of(query).is_some()
    }

    fn copy_of(&self, query: &Query) -> Option<String> {
        self.copy.then(|| copy_statement(&query.sql, &query.params)).flatten()
    }
}

/// A value of a result row: always the binary format, as the statement is
/// prepared.
#[inline]
fn render_raw(d: Decoder, raw: PgValueRef<'_>, out: &mut String) -> Result<(), Bad> {
    render_value(d, raw.as_bytes()?, out)
}

/// Streams the rows of a `COPY ... TO STDOUT (FORMAT binary)` into `out`.
async fn copy_rows(
    conn: &mut PgConnection,
    copy: &str,
    decoders: &[Decoder],
    names: &[String],
    out: &mut BatchSender,
) -> Result<(), SourceError> {
    let mut chunks = conn.copy_out_raw(copy).await.map_err(SourceError::query)?;
    let mut reader = CopyReader::new(decoders, names);
    while let Some(chunk) = chunks.try_next().await.map_err(SourceError::query)? {
        if reader.feed(&chunk, out)? > 0 {
            out.row_done().await?;
        }
    }
    if !reader.done {
        return Err(SourceError::Query {
            message: "PostgreSQL ended the COPY data early".into(),
        });
    }
    Ok(())
}

/// Asks the server to stop backend `pid`'s statement, from a connection of
/// its own (the pool's may all be busy): `pg_cancel_backend` is the cancel
/// request in SQL, as sqlx does not expose the protocol's cancel key.
async fn cancel_backend(opts: &PgConnectOptions, pid: i32) {
    let cancelled = async {
        let mut c = PgConnection::connect_with(opts).await?;
        sqlx::query("SELECT pg_cancel_backend($1)")
            .bind(pid)
            .execute(&mut c)
            .await?;
        c.close().await
    };
    if let Err(e) = cancelled.await {
        tracing::warn!(error = %e, backend = pid, "Cannot cancel a PostgreSQL statement; it runs until it ends.");
    }
}

impl Source for PgSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::Postgres)?;
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *conn)
                .await
                .map_err(SourceError::query)?;
            let gone = out.reader_gone();
            let work = self.read(&mut conn, query, sql, values, out);
            super::until_reader_gone(work, gone, cancel_backend(&self.opts, pid)).await
        })
    }

    fn probe(&self) -> BoxFuture<'_, Result<ServerProbe, SourceError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
            let (version, account): (String, String) =
                sqlx::query_as("SELECT 'PostgreSQL ' || current_setting('server_version'), current_user::text")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(SourceError::query)?;
            let writes = sqlx::query_scalar(probe::PG_WRITES)
                .fetch_all(&mut *conn)
                .await
                .map_err(SourceError::query)?;
            Ok(ServerProbe {
                version,
                account,
                writes,
            })
        })
    }
}

impl PgSource {
    async fn read(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Postgres>,
        query: &Query,
        sql: String,
        values: Vec<Param>,
        out: &mut BatchSender,
    ) -> Result<(), SourceError> {
        let mut tx = conn.begin_with("BEGIN READ ONLY").await.map_err(SourceError::query)?;
        // Parameter types follow the values (bigint, double, boolean,
        // text), as the values are sent in binary; NULL leaves the type to
        // the server. Text compared with a date needs a cast in SQL
        // (`:start::date`).
        let types: Vec<PgTypeInfo> = values
            .iter()
            .map(|v| match v {
                Param::Null => PgTypeInfo::with_oid(Oid(0)),
                Param::Bool(_) => PgTypeInfo::with_name("bool"),
                Param::Int(_) => PgTypeInfo::with_name("int8"),
                Param::Float(_) => PgTypeInfo::with_name("float8"),
                Param::Text(_) => PgTypeInfo::with_name("text"),
                Param::Date(_) => PgTypeInfo::with_name("date"),
            })
            .collect();
        let stmt = (&mut *tx)
            .prepare_with(&sql, &types)
            .await
            .map_err(SourceError::query)?;
        if stmt.columns().is_empty() {
            return Err(SourceError::NoResultSet);
        }
        let mut decoders = Vec::with_capacity(stmt.columns().len());
        let mut columns = Vec::with_capacity(stmt.columns().len());
        for c in stmt.columns() {
            let (d, kind) = decoder(c.name(), c.type_info())?;
            decoders.push(d);
            columns.push(Column::new(c.name(), kind));
        }
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        out.columns(columns).await?;
        if let Some(copy) = self.copy_of(query) {
            drop(stmt);
            let copied = copy_rows(&mut tx, &copy, &decoders, &names, out).await;
            if copied.is_err() {
                // The protocol may be mid-COPY: this connection is not reused.
                drop(tx);
                conn.close_on_drop();
                return copied;
            }
        } else {
            stream_rows!(
                bind_params!(stmt, values).fetch(&mut *tx),
                decoders,
                &names,
                out,
                render_raw
            );
        }
        tx.rollback().await.map_err(SourceError::query)
    }
}
