//! PostgreSQL: `BEGIN READ ONLY`, binary-protocol values decoded per column
//! type chosen once per query.

use std::str::FromStr;

use futures::future::BoxFuture;
use futures::TryStreamExt;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgTypeInfo, PgTypeKind, PgValueRef};
use sqlx::{Column as _, Connection, Decode, Executor, Postgres, Row as _, Statement, TypeInfo, ValueRef};

use super::{render, BatchSender, Column, Dialect, Kind, Param, Query, Source, SourceError};

/// A PostgreSQL database.
pub struct PgSource {
    pool: PgPool,
}

impl PgSource {
    /// Connects a small pool; `password` overrides the URL's.
    pub async fn connect(url: &str, password: Option<String>) -> Result<Self, sqlx::Error> {
        let mut opts = PgConnectOptions::from_str(url)?.application_name("ferry");
        if let Some(p) = password {
            opts = opts.password(&p);
        }
        let pool = PgPoolOptions::new().max_connections(4).connect_with(opts).await?;
        Ok(PgSource { pool })
    }
}

#[derive(Clone, Copy)]
enum Decoder {
    Bool,
    I16,
    I32,
    I64,
    Oid,
    F32,
    F64,
    Numeric,
    Text,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Bytea,
    Json,
    Jsonb,
    Uuid,
}

fn decoder(column: &str, ty: &sqlx::postgres::PgTypeInfo) -> Result<(Decoder, Kind), SourceError> {
    use Decoder as D;
    Ok(match ty.name() {
        "BOOL" => (D::Bool, Kind::Boolean),
        "INT2" => (D::I16, Kind::Integer),
        "INT4" => (D::I32, Kind::Integer),
        "INT8" => (D::I64, Kind::Integer),
        "OID" => (D::Oid, Kind::Integer),
        "FLOAT4" => (D::F32, Kind::Float),
        "FLOAT8" => (D::F64, Kind::Float),
        "NUMERIC" => (D::Numeric, Kind::Decimal),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "UNKNOWN" => (D::Text, Kind::Text),
        "DATE" => (D::Date, Kind::Date),
        "TIME" => (D::Time, Kind::Time),
        "TIMESTAMP" => (D::Timestamp, Kind::Timestamp),
        "TIMESTAMPTZ" => (D::TimestampTz, Kind::TimestampTz),
        "BYTEA" => (D::Bytea, Kind::Binary),
        "JSON" => (D::Json, Kind::Json),
        "JSONB" => (D::Jsonb, Kind::Json),
        "UUID" => (D::Uuid, Kind::Text),
        other => match ty.kind() {
            PgTypeKind::Enum(_) => (D::Text, Kind::Text),
            _ => {
                return Err(SourceError::Unsupported {
                    column: column.to_string(),
                    type_name: other.to_string(),
                })
            }
        },
    })
}

type Decoded = Result<(), sqlx::error::BoxDynError>;

fn render_value(d: Decoder, raw: PgValueRef<'_>, out: &mut String) -> Decoded {
    use Decoder as D;
    match d {
        D::Bool => render::boolean(out, <bool as Decode<Postgres>>::decode(raw)?),
        D::I16 => render::int(out, <i16 as Decode<Postgres>>::decode(raw)?),
        D::I32 => render::int(out, <i32 as Decode<Postgres>>::decode(raw)?),
        D::I64 => render::int(out, <i64 as Decode<Postgres>>::decode(raw)?),
        D::Oid => render::int(out, <sqlx::postgres::types::Oid as Decode<Postgres>>::decode(raw)?.0),
        D::F32 => render::float(out, f64::from(<f32 as Decode<Postgres>>::decode(raw)?)),
        D::F64 => render::float(out, <f64 as Decode<Postgres>>::decode(raw)?),
        D::Numeric => match raw.format() {
            sqlx::postgres::PgValueFormat::Binary => numeric(out, raw.as_bytes()?)?,
            sqlx::postgres::PgValueFormat::Text => out.push_str(raw.as_str()?),
        },
        D::Text => out.push_str(<&str as Decode<Postgres>>::decode(raw)?),
        D::Date => render::date(out, <chrono::NaiveDate as Decode<Postgres>>::decode(raw)?),
        D::Time => render::time(out, <chrono::NaiveTime as Decode<Postgres>>::decode(raw)?),
        D::Timestamp => render::timestamp(out, <chrono::NaiveDateTime as Decode<Postgres>>::decode(raw)?),
        D::TimestampTz => render::timestamp_tz(out, <chrono::DateTime<chrono::Utc> as Decode<Postgres>>::decode(raw)?),
        D::Bytea => render::binary(out, <&[u8] as Decode<Postgres>>::decode(raw)?),
        D::Json => out.push_str(raw.as_str()?),
        D::Jsonb => {
            let bytes = raw.as_bytes()?;
            let text = match raw.format() {
                sqlx::postgres::PgValueFormat::Binary => bytes.get(1..).unwrap_or_default(),
                sqlx::postgres::PgValueFormat::Text => bytes,
            };
            out.push_str(std::str::from_utf8(text)?);
        }
        D::Uuid => {
            let u = <uuid::Uuid as Decode<Postgres>>::decode(raw)?;
            out.push_str(u.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        }
    }
    Ok(())
}

/// Renders PostgreSQL's binary NUMERIC exactly, with every digit of its
/// scale (`0.00`, not `0`) and no precision limit: a sign, a weight and
/// base-10000 digit groups.
fn numeric(out: &mut String, b: &[u8]) -> Decoded {
    let word = |i: usize| -> Result<u16, sqlx::error::BoxDynError> {
        b.get(i..i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "short NUMERIC value".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let (sign, dscale) = (word(4)?, word(6)? as usize);
    match sign {
        0xC000 | 0xD000 | 0xF000 => {
            out.push_str(match sign {
                0xC000 => "NaN",
                0xD000 => "Infinity",
                _ => "-Infinity",
            });
            return Ok(());
        }
        0x4000 if ndigits > 0 => out.push('-'),
        _ => {}
    }
    let group = |g: i64| -> Result<u16, sqlx::error::BoxDynError> {
        if g >= 0 && (g as usize) < ndigits {
            word(8 + 2 * g as usize)
        } else {
            Ok(0)
        }
    };
    if weight < 0 {
        out.push('0');
    } else {
        render::int(out, group(0)?);
        for g in 1..=weight {
            let mut buf = itoa::Buffer::new();
            let s = buf.format(group(g)?);
            out.push_str(&"0000"[s.len()..]);
            out.push_str(s);
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut left = dscale;
        let mut g = weight + 1;
        while left > 0 {
            let mut buf = itoa::Buffer::new();
            let s = buf.format(group(g)?);
            let four = format!("{}{s}", &"0000"[s.len()..]);
            out.push_str(&four[..left.min(4)]);
            left = left.saturating_sub(4);
            g += 1;
        }
    }
    Ok(())
}

impl Source for PgSource {
    fn stream<'a>(&'a self, query: &'a Query, out: &'a mut BatchSender) -> BoxFuture<'a, Result<(), SourceError>> {
        Box::pin(async move {
            let (sql, values) = query.positional(Dialect::Postgres)?;
            let mut conn = self.pool.acquire().await.map_err(SourceError::query)?;
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
            let mut decoders = Vec::with_capacity(stmt.columns().len());
            let mut columns = Vec::with_capacity(stmt.columns().len());
            for c in stmt.columns() {
                let (d, kind) = decoder(c.name(), c.type_info())?;
                decoders.push(d);
                columns.push(Column::new(c.name(), kind));
            }
            out.columns(columns).await?;
            stream_rows!(bind_params!(stmt, values).fetch(&mut *tx), decoders, out, render_value);
            tx.rollback().await.map_err(SourceError::query)
        })
    }
}

#[cfg(test)]
mod tests {
    fn n(words: &[u16]) -> String {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        let mut s = String::new();
        super::numeric(&mut s, &bytes).unwrap();
        s
    }

    #[test]
    fn numeric_keeps_its_scale_and_every_digit() {
        // ndigits, weight, sign, dscale, digits...
        assert_eq!(n(&[0, 0, 0, 2]), "0.00");
        assert_eq!(n(&[2, 0, 0, 2, 12, 5000]), "12.50");
        assert_eq!(n(&[1, 0, 0x4000, 2, 3]), "-3.00");
        assert_eq!(n(&[3, 1, 0, 2, 99, 9999, 9900]), "999999.99");
        assert_eq!(n(&[1, 0xFFFE, 0, 7, 10]), "0.0000001");
        assert_eq!(n(&[3, 2, 0, 0, 1, 0, 0]), "100000000");
        assert_eq!(n(&[2, 7, 0, 0, 1234, 5678]), "12345678000000000000000000000000");
        assert_eq!(n(&[0, 0, 0xC000, 0]), "NaN");
    }
}
