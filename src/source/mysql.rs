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
    /// For the second connection that stops a statement (`KILL QUERY`).
    opts: MySqlConnectOptions,
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
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect_with(opts.clone())
            .await?;
        Ok(MySqlSource { pool, opts })
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

type Bad = sqlx::error::BoxDynError;

fn bytes<'r>(raw: MySqlValueRef<'r>) -> Result<&'r [u8], Bad> {
    <&[u8] as Decode<MySql>>::decode(raw)
}

/// A whole number in the binary protocol: 1, 2, 4 or 8 bytes, little-endian.
fn le_int(b: &[u8], signed: bool) -> Result<i128, Bad> {
    if b.is_empty() || b.len() > 8 {
        return Err(format!("expected 1 to 8 bytes for an integer, got {}", b.len()).into());
    }
    let mut word = [0u8; 8];
    word[..b.len()].copy_from_slice(b);
    let v = u64::from_le_bytes(word);
    let shift = 64 - 8 * b.len() as u32;
    Ok(match signed {
        true => i128::from(((v << shift) as i64) >> shift),
        false => i128::from(v),
    })
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A DATE, DATETIME or TIMESTAMP value in the binary protocol (length byte,
/// year, month, day, then hour, minute, second and microseconds when
/// present) written directly; `None` for anything unusual (a zero date, a
/// leap second), which the driver's decoder then reads or rejects.
fn stamp(out: &mut String, b: &[u8], with_time: Option<char>) -> Option<()> {
    let len = usize::from(*b.first()?);
    let b = b.get(1..1 + len)?;
    if len < 4 {
        return None;
    }
    let (y, m, d) = (
        u32::from(u16::from_le_bytes([b[0], b[1]])),
        u32::from(b[2]),
        u32::from(b[3]),
    );
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let (h, mi, s, micros) = match len {
        4 => (0, 0, 0, 0),
        7 | 11 => {
            let micros = b.get(7..11).map_or(0, |u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]));
            (u32::from(b[4]), u32::from(b[5]), u32::from(b[6]), micros)
        }
        _ => return None,
    };
    if h > 23 || mi > 59 || s > 59 || micros > 999_999 {
        return None;
    }
    render::ymd(out, y as i32, m, d);
    if let Some(sep) = with_time {
        out.push(sep);
        render::hms(out, h, mi, s, micros);
        if sep == 'T' {
            out.push('Z');
        }
    }
    Some(())
}

fn render_value(d: Decoder, raw: MySqlValueRef<'_>, out: &mut String) -> Result<(), Bad> {
    use Decoder as D;
    match d {
        D::Bool => render::boolean(out, <bool as Decode<MySql>>::decode(raw)?),
        D::Int => render::int(out, le_int(bytes(raw)?, true)? as i64),
        D::UInt => render::int(out, le_int(bytes(raw)?, false)? as u64),
        D::Float => render::float(out, f64::from(<f32 as Decode<MySql>>::decode(raw)?)),
        D::Double => render::float(out, <f64 as Decode<MySql>>::decode(raw)?),
        // MySQL sends DECIMAL as its exact text.
        D::Decimal | D::Text => render::text(out, bytes(raw)?)?,
        D::Bytes => render::binary(out, bytes(raw)?),
        D::Date => {
            if stamp(out, bytes(raw.clone())?, None).is_none() {
                render::date(out, <chrono::NaiveDate as Decode<MySql>>::decode(raw)?);
            }
        }
        D::Time => render::time(out, <chrono::NaiveTime as Decode<MySql>>::decode(raw)?),
        D::DateTime => {
            if stamp(out, bytes(raw.clone())?, Some(' ')).is_none() {
                render::timestamp(out, <chrono::NaiveDateTime as Decode<MySql>>::decode(raw)?);
            }
        }
        D::Timestamp => {
            if stamp(out, bytes(raw.clone())?, Some('T')).is_none() {
                render::timestamp_tz(out, <chrono::DateTime<chrono::Utc> as Decode<MySql>>::decode(raw)?);
            }
        }
    }
    Ok(())
}

impl Source for MySqlSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::MySql)?;
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
            let id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
                .fetch_one(&mut *conn)
                .await
                .map_err(SourceError::query)?;
            let gone = out.reader_gone();
            let work = read(&mut conn, sql, values, out);
            super::until_reader_gone(work, gone, kill_query(&self.opts, id)).await
        })
    }
}

/// Stops connection `id`'s statement from a connection of its own (the
/// pool's may all be busy).
async fn kill_query(opts: &MySqlConnectOptions, id: u64) {
    let killed = async {
        let mut c = sqlx::mysql::MySqlConnection::connect_with(opts).await?;
        sqlx::query(&format!("KILL QUERY {id}")).execute(&mut c).await?;
        c.close().await
    };
    if let Err(e) = killed.await {
        tracing::warn!(error = %e, connection = id, "Cannot stop a MariaDB/MySQL statement; it runs until it ends.");
    }
}

async fn read(
    conn: &mut sqlx::pool::PoolConnection<MySql>,
    sql: String,
    values: Vec<Param>,
    out: &mut BatchSender,
) -> Result<(), SourceError> {
    let mut tx = conn
        .begin_with("START TRANSACTION READ ONLY")
        .await
        .map_err(SourceError::query)?;
    let stmt = (&mut *tx).prepare(&sql).await.map_err(SourceError::query)?;
    if stmt.columns().is_empty() {
        return Err(SourceError::NoResultSet);
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_every_width_and_sign() {
        assert_eq!(le_int(&[0xff], true).unwrap(), -1);
        assert_eq!(le_int(&[0xff], false).unwrap(), 255);
        assert_eq!(le_int(&(-300i16).to_le_bytes(), true).unwrap(), -300);
        assert_eq!(le_int(&u64::MAX.to_le_bytes(), false).unwrap(), i128::from(u64::MAX));
        assert_eq!(le_int(&i64::MIN.to_le_bytes(), true).unwrap(), i128::from(i64::MIN));
        assert!(le_int(&[], true).is_err());
    }

    #[test]
    fn dates_and_times_in_the_binary_protocol() {
        let r = |b: &[u8], t: Option<char>| {
            let mut s = String::new();
            stamp(&mut s, b, t).map(|()| s)
        };
        assert_eq!(r(&[4, 0xe8, 0x07, 2, 29], None).as_deref(), Some("2024-02-29"));
        assert_eq!(r(&[4, 0xe9, 0x07, 2, 29], None), None);
        assert_eq!(r(&[0], None), None);
        let dt = [11, 0xe8, 0x07, 12, 31, 23, 59, 58, 0x40, 0xe2, 0x01, 0];
        assert_eq!(r(&dt, Some(' ')).as_deref(), Some("2024-12-31 23:59:58.123456"));
        assert_eq!(r(&dt[..8], Some('T')), None);
        let mut seven = dt[..8].to_vec();
        seven[0] = 7;
        assert_eq!(r(&seven, Some('T')).as_deref(), Some("2024-12-31T23:59:58Z"));
        assert_eq!(
            r(&[4, 0xe8, 0x07, 1, 2], Some(' ')).as_deref(),
            Some("2024-01-02 00:00:00")
        );
    }
}
