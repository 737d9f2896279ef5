//! MySQL / MariaDB through `mysql_async`: `START TRANSACTION READ ONLY`,
//! a prepared statement, binary-protocol values rendered per column by a
//! decoder chosen once per query.
//!
//! Text is told from binary by the column's character set (63 is binary),
//! which sqlx does not expose: a `utf8mb4_bin` or `latin1_bin` column
//! carries the same BINARY flag as a VARBINARY one, and reading the flag (or
//! a type name built from it) wrote binary-collated text as hexadecimal.

use futures::future::BoxFuture;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, Value};

use super::{probe, render, BatchSender, Column, Dialect, Kind, Param, Query, ServerProbe, Source, SourceError};

/// The character set number of binary strings.
const BINARY: u16 = 63;

/// What every session is set to (on connect and after each reset): UTC for
/// TIMESTAMP values, `||` as concatenation and UTF-8 text, as sqlx did.
const SETUP: &str = "SET time_zone = '+00:00', \
    sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT,NO_ENGINE_SUBSTITUTION'), NAMES utf8mb4";

/// A MySQL or MariaDB database.
pub(super) struct MySqlSource {
    pool: Pool,
    /// For the second connection that stops a statement (`KILL QUERY`).
    opts: Opts,
}

fn query_error(e: mysql_async::Error) -> SourceError {
    SourceError::refused(match e {
        mysql_async::Error::Server(s) => s.message,
        e => e.to_string(),
    })
}

impl MySqlSource {
    /// Connects a small pool (and checks one connection); `password`
    /// overrides the URL's. `mariadb://` is accepted as a spelling of `mysql://`.
    pub(super) async fn connect(url: &str, password: Option<String>) -> Result<Self, String> {
        let url = url.replacen("mariadb://", "mysql://", 1);
        let opts = Opts::from_url(&url).map_err(|e| e.to_string())?;
        let mut builder = OptsBuilder::from_opts(opts)
            .setup(vec![SETUP])
            .pool_opts(PoolOpts::default().with_constraints(PoolConstraints::new(0, 4).expect("0 <= 4")));
        if let Some(p) = password {
            builder = builder.pass(Some(p));
        }
        let opts = Opts::from(builder);
        let pool = Pool::new(opts.clone());
        pool.get_conn().await.map_err(|e| e.to_string())?;
        Ok(MySqlSource { pool, opts })
    }
}

#[derive(Clone, Copy)]
enum Decoder {
    Bool,
    Int,
    Float,
    Double,
    Decimal,
    Text,
    Bytes,
    Date,
    Time,
    DateTime,
    Timestamp,
    /// YEAR, always four digits (`0000` included).
    Year,
    /// BIT(n): its n bits as `0`/`1` digits.
    Bit(u32),
}

fn decoder(c: &mysql_async::Column) -> Result<(Decoder, Kind), SourceError> {
    use ColumnType as T;
    use Decoder as D;
    let text_or_binary = |text_kind| match c.character_set() {
        BINARY => (D::Bytes, Kind::Binary),
        _ => (D::Text, text_kind),
    };
    Ok(match c.column_type() {
        // BOOLEAN is TINYINT(1).
        T::MYSQL_TYPE_TINY if c.column_length() == 1 && !c.flags().contains(ColumnFlags::UNSIGNED_FLAG) => {
            (D::Bool, Kind::Boolean)
        }
        T::MYSQL_TYPE_TINY
        | T::MYSQL_TYPE_SHORT
        | T::MYSQL_TYPE_INT24
        | T::MYSQL_TYPE_LONG
        | T::MYSQL_TYPE_LONGLONG => (D::Int, Kind::Integer),
        T::MYSQL_TYPE_YEAR => (D::Year, Kind::Integer),
        T::MYSQL_TYPE_BIT => (D::Bit(c.column_length()), Kind::Text),
        T::MYSQL_TYPE_FLOAT => (D::Float, Kind::Float),
        T::MYSQL_TYPE_DOUBLE => (D::Double, Kind::Float),
        T::MYSQL_TYPE_DECIMAL | T::MYSQL_TYPE_NEWDECIMAL => (D::Decimal, Kind::Decimal),
        T::MYSQL_TYPE_JSON => (D::Text, Kind::Json),
        T::MYSQL_TYPE_NULL => (D::Text, Kind::Text),
        T::MYSQL_TYPE_ENUM | T::MYSQL_TYPE_SET => (D::Text, Kind::Text),
        T::MYSQL_TYPE_VARCHAR
        | T::MYSQL_TYPE_VAR_STRING
        | T::MYSQL_TYPE_STRING
        | T::MYSQL_TYPE_TINY_BLOB
        | T::MYSQL_TYPE_MEDIUM_BLOB
        | T::MYSQL_TYPE_LONG_BLOB
        | T::MYSQL_TYPE_BLOB => text_or_binary(Kind::Text),
        T::MYSQL_TYPE_DATE | T::MYSQL_TYPE_NEWDATE => (D::Date, Kind::Date),
        T::MYSQL_TYPE_TIME | T::MYSQL_TYPE_TIME2 => (D::Time, Kind::Time),
        T::MYSQL_TYPE_DATETIME | T::MYSQL_TYPE_DATETIME2 => (D::DateTime, Kind::Timestamp),
        T::MYSQL_TYPE_TIMESTAMP | T::MYSQL_TYPE_TIMESTAMP2 => (D::Timestamp, Kind::TimestampTz),
        other => {
            let name = format!("{other:?}");
            return Err(SourceError::Unsupported {
                column: c.name_str().into_owned(),
                type_name: name.trim_start_matches("MYSQL_TYPE_").to_string(),
            });
        }
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

/// A DATE, DATETIME or TIMESTAMP value; `with_time` is the separator
/// before the time (' ', or 'T' for an instant, which gets a 'Z').
fn stamp(
    out: &mut String,
    (y, m, d, h, mi, s, micros): (u16, u8, u8, u8, u8, u8, u32),
    with_time: Option<char>,
) -> Result<(), String> {
    let (y, m, d) = (u32::from(y), u32::from(m), u32::from(d));
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || h > 23 || mi > 59 || s > 59 || micros > 999_999 {
        return Err(format!(
            "the date '{y:04}-{m:02}-{d:02}' does not exist (a zero date?); turn it into NULL in SQL, e.g. NULLIF(col, '0000-00-00')"
        ));
    }
    render::ymd(out, y as i32, m, d);
    if let Some(sep) = with_time {
        out.push(sep);
        render::hms(out, u32::from(h), u32::from(mi), u32::from(s), micros);
        if sep == 'T' {
            out.push('Z');
        }
    }
    Ok(())
}

/// Renders one non-NULL value.
fn render_value(d: Decoder, v: &Value, out: &mut String) -> Result<(), String> {
    use Decoder as D;
    match (d, v) {
        (D::Bool, Value::Int(i)) => render::boolean(out, *i != 0),
        (D::Year, Value::Int(y)) if (0..=9999).contains(y) => render::year(out, *y as u32),
        (D::Year, Value::UInt(y)) if *y <= 9999 => render::year(out, *y as u32),
        (D::Bit(width), Value::Bytes(b)) => bits(out, b, width)?,
        (_, Value::Int(i)) => render::int(out, *i),
        (_, Value::UInt(u)) => render::int(out, *u),
        (_, Value::Float(f)) => render::float32(out, *f),
        (_, Value::Double(f)) => render::float(out, *f),
        // MySQL sends DECIMAL as its exact text.
        (D::Decimal | D::Text, Value::Bytes(b)) => render::text(out, b).map_err(|e| e.to_string())?,
        (D::Bytes, Value::Bytes(b)) => render::binary(out, b),
        (D::Date, Value::Date(y, m, dd, ..)) => stamp(out, (*y, *m, *dd, 0, 0, 0, 0), None)?,
        (D::DateTime, Value::Date(y, m, dd, h, mi, s, us)) => stamp(out, (*y, *m, *dd, *h, *mi, *s, *us), Some(' '))?,
        (D::Timestamp, Value::Date(y, m, dd, h, mi, s, us)) => stamp(out, (*y, *m, *dd, *h, *mi, *s, *us), Some('T'))?,
        (D::Time, Value::Time(negative, days, h, mi, s, us)) => {
            // TIME spans -838:59:59 to 838:59:59: hours past 23 are kept.
            if *negative {
                out.push('-');
            }
            let hours = days * 24 + u32::from(*h);
            if hours > 99 {
                render::int(out, hours / 100);
            }
            render::hms(out, hours % 100, u32::from(*mi), u32::from(*s), *us);
        }
        (_, other) => return Err(format!("unexpected value {other:?} for this column type")),
    }
    Ok(())
}

/// The last `width` bits of a BIT value (sent as whole bytes, most
/// significant first), as digits.
fn bits(out: &mut String, b: &[u8], width: u32) -> Result<(), String> {
    let total = b.len() * 8;
    let width = width as usize;
    if width > total {
        return Err(format!("a BIT({width}) value of {} bytes", b.len()));
    }
    out.reserve(width);
    for i in total - width..total {
        out.push(if b[i / 8] >> (7 - i % 8) & 1 == 1 { '1' } else { '0' });
    }
    Ok(())
}

fn to_value(p: Param) -> Value {
    use chrono::Datelike;
    match p {
        Param::Null => Value::NULL,
        Param::Bool(b) => Value::Int(i64::from(b)),
        Param::Int(i) => Value::Int(i),
        Param::Float(f) => Value::Double(f),
        Param::Text(s) => Value::Bytes(s.into_bytes()),
        Param::Date(d) => Value::Date(d.year() as u16, d.month() as u8, d.day() as u8, 0, 0, 0, 0),
    }
}

impl Source for MySqlSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::MySql)?;
            let mut conn = self.pool.get_conn().await.map_err(query_error)?;
            let id = conn.id();
            let gone = out.reader_gone();
            let work = read(&mut conn, sql, values, out);
            super::until_reader_gone(work, gone, kill_query(&self.opts, id)).await
        })
    }

    fn probe(&self) -> BoxFuture<'_, Result<ServerProbe, SourceError>> {
        Box::pin(async move {
            let mut conn = self.pool.get_conn().await.map_err(query_error)?;
            let (version, account): (String, String) = conn
                .query_first("SELECT VERSION(), CURRENT_USER()")
                .await
                .map_err(query_error)?
                .unwrap_or_default();
            let grants: Vec<String> = conn.query("SHOW GRANTS").await.map_err(query_error)?;
            Ok(ServerProbe {
                version: if version.contains("MariaDB") {
                    format!("MariaDB {version}")
                } else {
                    format!("MySQL {version}")
                },
                account,
                writes: probe::mysql_write_grants(&grants),
            })
        })
    }
}

/// Stops connection `id`'s statement from a connection of its own (the
/// pool's may all be busy).
async fn kill_query(opts: &Opts, id: u32) {
    let killed = async {
        let mut c = Conn::new(opts.clone()).await?;
        c.query_drop(format!("KILL QUERY {id}")).await?;
        c.disconnect().await
    };
    if let Err(e) = killed.await {
        tracing::warn!(error = %e, connection = id, "Cannot stop a MariaDB/MySQL statement; it runs until it ends.");
    }
}

async fn read(conn: &mut Conn, sql: String, values: Vec<Param>, out: &mut BatchSender) -> Result<(), SourceError> {
    conn.query_drop("START TRANSACTION READ ONLY")
        .await
        .map_err(query_error)?;
    let stmt = conn.prep(&sql).await.map_err(query_error)?;
    let mut decoders = Vec::with_capacity(stmt.columns().len());
    let mut columns = Vec::with_capacity(stmt.columns().len());
    for c in stmt.columns().iter() {
        let (d, kind) = decoder(c)?;
        decoders.push(d);
        columns.push(Column::new(c.name_str().into_owned(), kind));
    }
    if columns.is_empty() {
        conn.query_drop("ROLLBACK").await.map_err(query_error)?;
        return Err(SourceError::NoResultSet);
    }
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    out.columns(columns).await?;
    let params = if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values.into_iter().map(to_value).collect())
    };
    let mut rows = conn.exec_iter(&stmt, params).await.map_err(query_error)?;
    while let Some(row) = rows.next().await.map_err(query_error)? {
        let batch = out.batch();
        for (i, d) in decoders.iter().enumerate() {
            match row.as_ref(i) {
                None | Some(Value::NULL) => batch.push_null(),
                Some(v) => {
                    render_value(*d, v, batch.text()).map_err(|e| SourceError::unreadable(&names, i, e))?;
                    batch.end_cell();
                }
            }
        }
        out.row_done().await?;
    }
    drop(rows);
    conn.query_drop("ROLLBACK").await.map_err(query_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_as_documented() {
        let r = |d: Decoder, v: Value| {
            let mut s = String::new();
            render_value(d, &v, &mut s).map(|()| s)
        };
        assert_eq!(
            r(Decoder::Date, Value::Date(2024, 2, 29, 0, 0, 0, 0)).unwrap(),
            "2024-02-29"
        );
        assert!(r(Decoder::Date, Value::Date(2023, 2, 29, 0, 0, 0, 0)).is_err());
        assert!(r(Decoder::Date, Value::Date(0, 0, 0, 0, 0, 0, 0))
            .unwrap_err()
            .contains("NULLIF"));
        assert_eq!(
            r(Decoder::DateTime, Value::Date(2024, 12, 31, 23, 59, 58, 123_456)).unwrap(),
            "2024-12-31 23:59:58.123456"
        );
        assert_eq!(
            r(Decoder::Timestamp, Value::Date(2024, 12, 31, 23, 59, 58, 0)).unwrap(),
            "2024-12-31T23:59:58Z"
        );
        assert_eq!(r(Decoder::Time, Value::Time(false, 0, 7, 5, 0, 0)).unwrap(), "07:05:00");
        assert_eq!(
            r(Decoder::Time, Value::Time(true, 34, 22, 59, 59, 0)).unwrap(),
            "-838:59:59"
        );
        assert_eq!(r(Decoder::Bool, Value::Int(1)).unwrap(), "true");
        assert_eq!(r(Decoder::Int, Value::UInt(u64::MAX)).unwrap(), u64::MAX.to_string());
        assert_eq!(r(Decoder::Bytes, Value::Bytes(vec![0, 255])).unwrap(), "00ff");
        assert_eq!(r(Decoder::Text, Value::Bytes("José".into())).unwrap(), "José");
        assert_eq!(r(Decoder::Year, Value::Int(0)).unwrap(), "0000");
        assert_eq!(r(Decoder::Year, Value::UInt(2026)).unwrap(), "2026");
        assert_eq!(r(Decoder::Bit(1), Value::Bytes(vec![1])).unwrap(), "1");
        assert_eq!(
            r(Decoder::Bit(12), Value::Bytes(vec![0x0a, 0x01])).unwrap(),
            "101000000001"
        );
        assert!(r(Decoder::Bit(12), Value::Bytes(vec![1])).is_err());
        assert_eq!(r(Decoder::Float, Value::Float(0.1)).unwrap(), "0.1");
    }
}
