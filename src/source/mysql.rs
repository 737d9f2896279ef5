//! MySQL / MariaDB: `START TRANSACTION READ ONLY`, binary-protocol values
//! decoded per column type chosen once per query.

use std::str::FromStr;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlValueRef};
use sqlx::{Column as _, Connection, Decode, Executor, Row as _, Statement, TypeInfo, ValueRef};

use super::{render, BatchSender, Column, Dialect, Kind, Param, Query, Source, SourceError};

/// A MySQL or MariaDB database.
pub struct MySqlSource {
    pool: MySqlPool,
}

impl MySqlSource {
    /// Connects a small pool; `password` overrides the URL's. `mariadb://`
    /// is accepted as a spelling of `mysql://`.
    pub async fn connect(url: &str, password: Option<String>) -> Result<Self, sqlx::Error> {
        let url = url.replacen("mariadb://", "mysql://", 1);
        let mut opts = MySqlConnectOptions::from_str(&url)?;
        if let Some(p) = password {
            opts = opts.password(&p);
        }
        let pool = MySqlPoolOptions::new().max_connections(4).connect_with(opts).await?;
        Ok(MySqlSource { pool })
    }
}

#[derive(Clone, Copy)]
enum Decoder {
    Bool,
    Int,
    UInt,
    Float,
    Double,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    DateTime,
    Timestamp,
}

fn decoder(column: &str, type_name: &str) -> Result<(Decoder, Kind), SourceError> {
    use Decoder as D;
    Ok(match type_name {
        "BOOLEAN" => (D::Bool, Kind::Boolean),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => (D::Int, Kind::Integer),
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" | "BIGINT UNSIGNED"
        | "YEAR" => (D::UInt, Kind::Integer),
        "FLOAT" => (D::Float, Kind::Float),
        "DOUBLE" => (D::Double, Kind::Float),
        "DECIMAL" => (D::Decimal, Kind::Decimal),
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" | "JSON" | "NULL" => {
            (D::Text, if type_name == "JSON" { Kind::Json } else { Kind::Text })
        }
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => (D::Bytes, Kind::Binary),
        "DATE" => (D::Date, Kind::Date),
        "TIME" => (D::Time, Kind::Time),
        "DATETIME" => (D::DateTime, Kind::Timestamp),
        "TIMESTAMP" => (D::Timestamp, Kind::TimestampTz),
        other => {
            return Err(SourceError::Unsupported {
                column: column.to_string(),
                type_name: other.to_string(),
            })
        }
    })
}

fn render_value(d: Decoder, raw: MySqlValueRef<'_>, out: &mut String) -> Result<(), sqlx::error::BoxDynError> {
    use Decoder as D;
    match d {
        D::Bool => render::boolean(out, <bool as Decode<MySql>>::decode(raw)?),
        D::Int => render::int(out, <i64 as Decode<MySql>>::decode(raw)?),
        D::UInt => render::int(out, <u64 as Decode<MySql>>::decode(raw)?),
        D::Float => render::float(out, f64::from(<f32 as Decode<MySql>>::decode(raw)?)),
        D::Double => render::float(out, <f64 as Decode<MySql>>::decode(raw)?),
        // MySQL sends DECIMAL as its exact text.
        D::Decimal => out.push_str(<&str as Decode<MySql>>::decode(raw)?),
        D::Text => out.push_str(<&str as Decode<MySql>>::decode(raw)?),
        D::Bytes => render::binary(out, <&[u8] as Decode<MySql>>::decode(raw)?),
        D::Date => render::date(out, <chrono::NaiveDate as Decode<MySql>>::decode(raw)?),
        D::Time => render::time(out, <chrono::NaiveTime as Decode<MySql>>::decode(raw)?),
        D::DateTime => render::timestamp(out, <chrono::NaiveDateTime as Decode<MySql>>::decode(raw)?),
        D::Timestamp => render::timestamp_tz(out, <chrono::DateTime<chrono::Utc> as Decode<MySql>>::decode(raw)?),
    }
    Ok(())
}

impl Source for MySqlSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::MySql)?;
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
            let mut tx = conn
                .begin_with("START TRANSACTION READ ONLY")
                .await
                .map_err(SourceError::query)?;
            let stmt = (&mut *tx).prepare(&sql).await.map_err(SourceError::query)?;
            let mut decoders = Vec::with_capacity(stmt.columns().len());
            let mut columns = Vec::with_capacity(stmt.columns().len());
            for c in stmt.columns() {
                let (d, kind) = decoder(c.name(), c.type_info().name())?;
                decoders.push(d);
                columns.push(Column::new(c.name(), kind));
            }
            out.columns(columns).await?;
            stream_rows!(bind_params!(stmt, values).fetch(&mut *tx), decoders, out, render_value);
            tx.rollback().await.map_err(SourceError::query)
        })
    }
}
