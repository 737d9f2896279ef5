//! SQLite: a read-only connection pool; values rendered from each value's
//! storage class, booleans recognised by the column's declared type.

use std::str::FromStr;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Column as _, Connection, Decode, Executor, Row as _, Sqlite, Statement, TypeInfo, ValueRef};

use super::{render, BatchSender, Column, Dialect, Kind, Param, Query, Source, SourceError};

/// A SQLite database opened read-only.
pub struct SqliteSource {
    pool: SqlitePool,
}

impl SqliteSource {
    /// Opens `url` read-only: a write is refused by SQLite itself.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let opts = SqliteConnectOptions::from_str(url)?.read_only(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(opts).await?;
        Ok(SqliteSource { pool })
    }
}

fn kind_of(declared: &str) -> Kind {
    let d = declared.to_ascii_uppercase();
    if d.contains("BOOL") {
        Kind::Boolean
    } else if d.contains("INT") {
        Kind::Integer
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Kind::Float
    } else if d.contains("DEC") || d.contains("NUMERIC") {
        Kind::Decimal
    } else if d == "DATE" {
        Kind::Date
    } else if d.contains("TIMESTAMP") || d.contains("DATETIME") {
        Kind::Timestamp
    } else if d.contains("BLOB") {
        Kind::Binary
    } else {
        Kind::Text
    }
}

impl Source for SqliteSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::Sqlite)?;
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
            let mut tx = conn.begin().await.map_err(SourceError::query)?;
            let stmt = (&mut *tx).prepare(&sql).await.map_err(SourceError::query)?;
            // Columns without a declared type (expressions such as COUNT(*))
            // take their kind from the first row's values.
            let mut columns: Vec<(Column, bool)> = stmt
                .columns()
                .iter()
                .map(|c| {
                    let declared = c.type_info().name();
                    let undeclared = declared == "NULL" || c.type_info().is_null();
                    (Column::new(c.name(), kind_of(declared)), undeclared)
                })
                .collect();
            let booleans: Vec<bool> = columns.iter().map(|(c, _)| c.kind == Kind::Boolean).collect();
            let mut announced = false;
            let mut rows = bind_params!(stmt, values).fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(SourceError::query)? {
                if !announced {
                    for (i, (c, undeclared)) in columns.iter_mut().enumerate() {
                        let raw = row.try_get_raw(i).map_err(SourceError::query)?;
                        if *undeclared && !raw.is_null() {
                            c.kind = match raw.type_info().name() {
                                "INTEGER" => Kind::Integer,
                                "REAL" => Kind::Float,
                                "BLOB" => Kind::Binary,
                                _ => Kind::Text,
                            };
                        }
                    }
                    out.columns(columns.drain(..).map(|(c, _)| c).collect()).await?;
                    announced = true;
                }
                let batch = out.batch();
                for (i, is_bool) in booleans.iter().enumerate() {
                    let raw = row.try_get_raw(i).map_err(SourceError::query)?;
                    if raw.is_null() {
                        batch.push_null();
                        continue;
                    }
                    let text = batch.text();
                    let decoded: Result<(), sqlx::error::BoxDynError> = (|| {
                        match raw.type_info().name() {
                            "INTEGER" | "BOOLEAN" => {
                                let v = <i64 as Decode<Sqlite>>::decode(raw)?;
                                if *is_bool {
                                    render::boolean(text, v != 0)
                                } else {
                                    render::int(text, v)
                                }
                            }
                            "REAL" => render::float(text, <f64 as Decode<Sqlite>>::decode(raw)?),
                            "BLOB" => render::binary(text, <&[u8] as Decode<Sqlite>>::decode(raw)?),
                            _ => text.push_str(<&str as Decode<Sqlite>>::decode(raw)?),
                        }
                        Ok(())
                    })();
                    decoded.map_err(|e| SourceError::Query {
                        message: format!("cannot read column {} : {e}", i + 1),
                    })?;
                    batch.end_cell();
                }
                out.row_done().await?;
            }
            drop(rows);
            if !announced {
                out.columns(columns.into_iter().map(|(c, _)| c).collect()).await?;
            }
            tx.rollback().await.map_err(SourceError::query)
        })
    }
}
