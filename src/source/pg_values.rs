//! PostgreSQL values in their binary wire form, rendered straight from the
//! bytes. The same bytes arrive in a result row (extended protocol, binary
//! format) and in `COPY ... (FORMAT binary)`, so both paths share this one
//! renderer and give the same text.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use sqlx::postgres::{PgTypeInfo, PgTypeKind};
use sqlx::TypeInfo;

use super::{render, Kind, SourceError};

/// How a column's values are read, chosen once per query from its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decoder {
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
    Jsonb,
    Uuid,
}

/// The decoder and kind of a column of type `ty`.
pub(crate) fn decoder(column: &str, ty: &PgTypeInfo) -> Result<(Decoder, Kind), SourceError> {
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
        "TEXT" | "VARCHAR" | "BPCHAR" | "CHAR" | "NAME" | "CITEXT" | "UNKNOWN" => (D::Text, Kind::Text),
        "DATE" => (D::Date, Kind::Date),
        "TIME" => (D::Time, Kind::Time),
        "TIMESTAMP" => (D::Timestamp, Kind::Timestamp),
        "TIMESTAMPTZ" => (D::TimestampTz, Kind::TimestampTz),
        "BYTEA" => (D::Bytea, Kind::Binary),
        "JSON" => (D::Text, Kind::Json),
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

/// Why a value could not be read.
pub(crate) type Bad = Box<dyn std::error::Error + Send + Sync>;

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], Bad> {
    b.try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", b.len()).into())
}

/// 2000-01-01, PostgreSQL's epoch, as days from 0001-01-01 (day 1).
const EPOCH_DAYS_FROM_CE: i32 = 730_120;
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn date_of(days: i32) -> Result<NaiveDate, Bad> {
    days.checked_add(EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| "date out of range (infinity?)".into())
}

fn timestamp_of(micros: i64) -> Result<NaiveDateTime, Bad> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let date = i32::try_from(days)
        .map_err(|_| Bad::from("timestamp out of range (infinity?)"))
        .and_then(date_of)?;
    let secs = (in_day / 1_000_000) as u32;
    let nanos = (in_day % 1_000_000) as u32 * 1000;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos).ok_or("bad time of day")?;
    Ok(NaiveDateTime::new(date, time))
}

/// 2000-01-01 as days after 1970-01-01.
const EPOCH_DAYS_FROM_UNIX: i64 = 10_957;

/// The civil date `days` after 2000-01-01 when its year is 1..=9999 (Howard
/// Hinnant's `civil_from_days`); other years go through chrono.
#[inline]
fn civil(days: i64) -> Option<(i32, u32, u32)> {
    let z = days + EPOCH_DAYS_FROM_UNIX + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (1..=9999).contains(&y).then_some((y as i32, m, d))
}

fn render_date(out: &mut String, days: i32) -> Result<(), Bad> {
    match civil(i64::from(days)) {
        Some((y, m, d)) => render::ymd(out, y, m, d),
        None => render::date(out, date_of(days)?),
    }
    Ok(())
}

/// A timestamp; `zoned` writes the UTC form (`T`, `Z`).
fn render_timestamp(out: &mut String, micros: i64, zoned: bool) -> Result<(), Bad> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let Some((y, mo, d)) = civil(days) else {
        let ts = timestamp_of(micros)?;
        match zoned {
            true => render::timestamp_tz(out, ts.and_utc()),
            false => render::timestamp(out, ts),
        }
        return Ok(());
    };
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let secs = (in_day / 1_000_000) as u32;
    render::ymd(out, y, mo, d);
    out.push(if zoned { 'T' } else { ' ' });
    render::hms(out, secs / 3600, secs / 60 % 60, secs % 60, (in_day % 1_000_000) as u32);
    if zoned {
        out.push('Z');
    }
    Ok(())
}

/// Renders one non-NULL value from its binary form.
#[inline]
pub(crate) fn render_value(d: Decoder, b: &[u8], out: &mut String) -> Result<(), Bad> {
    use Decoder as D;
    match d {
        D::Text => render::text(out, b)?,
        D::I64 => render::int(out, i64::from_be_bytes(fixed(b)?)),
        D::I32 => render::int(out, i32::from_be_bytes(fixed(b)?)),
        D::I16 => render::int(out, i16::from_be_bytes(fixed(b)?)),
        D::Oid => render::int(out, u32::from_be_bytes(fixed(b)?)),
        D::Bool => render::boolean(out, fixed::<1>(b)?[0] != 0),
        D::F32 => render::float(out, f64::from(f32::from_be_bytes(fixed(b)?))),
        D::F64 => render::float(out, f64::from_be_bytes(fixed(b)?)),
        D::Numeric => numeric(out, b)?,
        D::Date => render_date(out, i32::from_be_bytes(fixed(b)?))?,
        D::Time => {
            let micros = i64::from_be_bytes(fixed(b)?);
            render::time(out, NaiveTime::MIN + TimeDelta::microseconds(micros));
        }
        D::Timestamp => render_timestamp(out, i64::from_be_bytes(fixed(b)?), false)?,
        D::TimestampTz => render_timestamp(out, i64::from_be_bytes(fixed(b)?), true)?,
        D::Bytea => render::binary(out, b),
        // Binary JSONB is a version byte (1) and the document's text.
        D::Jsonb => render::text(out, b.get(1..).unwrap_or_default())?,
        D::Uuid => {
            let u = uuid::Uuid::from_bytes(fixed(b)?);
            out.push_str(u.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        }
    }
    Ok(())
}

/// Renders PostgreSQL's binary NUMERIC exactly, with every digit of its
/// scale (`0.00`, not `0`) and no precision limit: a sign, a weight and
/// base-10000 digit groups.
pub(crate) fn numeric(out: &mut String, b: &[u8]) -> Result<(), Bad> {
    let word = |i: usize| -> Result<u16, Bad> {
        b.get(i..i + 2)
            .map(|w| u16::from_be_bytes([w[0], w[1]]))
            .ok_or_else(|| "short NUMERIC value".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let (sign, dscale) = (word(4)?, word(6)? as usize);
    let special = match sign {
        0xC000 => "NaN",
        0xD000 => "Infinity",
        0xF000 => "-Infinity",
        _ => "",
    };
    if !special.is_empty() {
        out.push_str(special);
        return Ok(());
    }
    if sign == 0x4000 && ndigits > 0 {
        out.push('-');
    }
    let group = |g: i64| -> Result<u16, Bad> {
        if g >= 0 && (g as usize) < ndigits {
            word(8 + 2 * g as usize)
        } else {
            Ok(0)
        }
    };
    let four = |g: i64| -> Result<[u8; 4], Bad> {
        let n = group(g)?;
        Ok([
            b'0' + (n / 1000 % 10) as u8,
            b'0' + (n / 100 % 10) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ])
    };
    let push = |out: &mut String, digits: &[u8]| {
        // Digits only: always ASCII.
        out.extend(digits.iter().map(|&d| char::from(d)));
    };
    if weight < 0 {
        out.push('0');
    } else {
        render::int(out, group(0)?);
        for g in 1..=weight {
            push(out, &four(g)?);
        }
    }
    if dscale > 0 {
        out.push('.');
        let mut left = dscale;
        let mut g = weight + 1;
        while left > 0 {
            push(out, &four(g)?[..left.min(4)]);
            left = left.saturating_sub(4);
            g += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    fn n(words: &[u16]) -> String {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        let mut s = String::new();
        numeric(&mut s, &bytes).unwrap();
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

    fn r(d: Decoder, b: &[u8]) -> String {
        let mut s = String::new();
        render_value(d, b, &mut s).unwrap();
        s
    }

    #[test]
    fn dates_and_timestamps_from_the_epoch() {
        assert_eq!(r(Decoder::Date, &0i32.to_be_bytes()), "2000-01-01");
        assert_eq!(r(Decoder::Date, &(-1i32).to_be_bytes()), "1999-12-31");
        let micros: i64 = 86_400_000_000 * 366 + 3_723_000_456;
        assert_eq!(
            r(Decoder::Timestamp, &micros.to_be_bytes()),
            "2001-01-01 01:02:03.000456"
        );
        assert_eq!(
            r(Decoder::TimestampTz, &(-1i64).to_be_bytes()),
            "1999-12-31T23:59:59.999999Z"
        );
        assert!(render_value(Decoder::Date, &i32::MAX.to_be_bytes(), &mut String::new()).is_err());
        assert!(render_value(Decoder::Timestamp, &i64::MIN.to_be_bytes(), &mut String::new()).is_err());
        assert_eq!(r(Decoder::Time, &3_723_000_000i64.to_be_bytes()), "01:02:03");
    }

    #[test]
    fn the_civil_calendar_agrees_with_chrono_wherever_it_is_used() {
        let mut days = -730_119i32; // 0001-01-01
        while days < 2_932_896 {
            let mut fast = String::new();
            render_date(&mut fast, days).unwrap();
            let mut slow = String::new();
            render::date(&mut slow, date_of(days).unwrap());
            assert_eq!(fast, slow, "{days}");
            days += 97;
        }
        for y in [-5000, 0, 10000, 200000] {
            let d = NaiveDate::from_ymd_opt(y, 2, 28).unwrap();
            let days = d.num_days_from_ce() - EPOCH_DAYS_FROM_CE;
            let mut s = String::new();
            render_date(&mut s, days).unwrap();
            assert_eq!(
                s,
                format!("{}-02-28", if y == 0 { "0000".to_string() } else { y.to_string() })
            );
            let micros = i64::from(days) * MICROS_PER_DAY + 1;
            let ts = r(Decoder::TimestampTz, &micros.to_be_bytes());
            assert!(ts.ends_with("-02-28T00:00:00.000001Z"), "{ts}");
        }
    }
}
