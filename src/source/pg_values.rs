//! PostgreSQL values in their binary wire form, rendered straight from the
//! bytes. The same bytes arrive in a result row (extended protocol, binary
//! format) and in `COPY ... (FORMAT binary)`, so both paths share this one
//! renderer and give the same text.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
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
    /// The single-byte `"char"`.
    Char,
    Money,
    /// `bit` and `varbit`.
    Bit,
    Interval,
    TimeTz,
    /// `inet` and `cidr`.
    Inet,
    /// `macaddr` and `macaddr8`.
    MacAddr,
    /// A one- or more-dimensional array of the element decoder's values.
    Array(&'static Decoder),
}

/// The decoder and kind of a column of type `ty`.
pub(crate) fn decoder(column: &str, ty: &PgTypeInfo) -> Result<(Decoder, Kind), SourceError> {
    use Decoder as D;
    let unsupported = || SourceError::Unsupported {
        column: column.to_string(),
        type_name: ty.name().to_string(),
    };
    Ok(match ty.name() {
        "BOOL" => (D::Bool, Kind::Boolean),
        "INT2" => (D::I16, Kind::Integer),
        "INT4" => (D::I32, Kind::Integer),
        "INT8" => (D::I64, Kind::Integer),
        "OID" => (D::Oid, Kind::Integer),
        "FLOAT4" => (D::F32, Kind::Float),
        "FLOAT8" => (D::F64, Kind::Float),
        "NUMERIC" => (D::Numeric, Kind::Decimal),
        "MONEY" => (D::Money, Kind::Decimal),
        "TEXT" | "VARCHAR" | "CHAR" | "NAME" | "UNKNOWN" => (D::Text, Kind::Text),
        "\"CHAR\"" => (D::Char, Kind::Text),
        "DATE" => (D::Date, Kind::Date),
        "TIME" => (D::Time, Kind::Time),
        "TIMETZ" => (D::TimeTz, Kind::Text),
        "TIMESTAMP" => (D::Timestamp, Kind::Timestamp),
        "TIMESTAMPTZ" => (D::TimestampTz, Kind::TimestampTz),
        "INTERVAL" => (D::Interval, Kind::Text),
        "BYTEA" => (D::Bytea, Kind::Binary),
        "JSON" => (D::Text, Kind::Json),
        "JSONB" => (D::Jsonb, Kind::Json),
        "UUID" => (D::Uuid, Kind::Text),
        "BIT" | "VARBIT" => (D::Bit, Kind::Text),
        "INET" | "CIDR" => (D::Inet, Kind::Text),
        "MACADDR" | "MACADDR8" => (D::MacAddr, Kind::Text),
        // Types sqlx does not know by name arrive with the catalog's.
        name if ["citext", "xml"].iter().any(|n| name.eq_ignore_ascii_case(n)) => (D::Text, Kind::Text),
        _ => match ty.kind() {
            PgTypeKind::Enum(_) => (D::Text, Kind::Text),
            PgTypeKind::Domain(base) => decoder(column, base)?,
            PgTypeKind::Array(element) => {
                let (element, _) = decoder(column, element).map_err(|_| unsupported())?;
                (D::Array(element_of(element).ok_or_else(unsupported)?), Kind::Text)
            }
            _ => return Err(unsupported()),
        },
    })
}

/// The decoder as an array's element, or `None` for an element type with
/// no PostgreSQL text form here: money (written by the server's locale)
/// and arrays, which PostgreSQL never nests.
fn element_of(d: Decoder) -> Option<&'static Decoder> {
    use Decoder as D;
    Some(match d {
        D::Bool => &D::Bool,
        D::I16 => &D::I16,
        D::I32 => &D::I32,
        D::I64 => &D::I64,
        D::Oid => &D::Oid,
        D::F32 => &D::F32,
        D::F64 => &D::F64,
        D::Numeric => &D::Numeric,
        D::Text => &D::Text,
        D::Date => &D::Date,
        D::Time => &D::Time,
        D::Timestamp => &D::Timestamp,
        D::TimestampTz => &D::TimestampTz,
        D::Bytea => &D::Bytea,
        D::Jsonb => &D::Jsonb,
        D::Uuid => &D::Uuid,
        D::Char => &D::Char,
        D::Bit => &D::Bit,
        D::Interval => &D::Interval,
        D::TimeTz => &D::TimeTz,
        D::Inet => &D::Inet,
        D::MacAddr => &D::MacAddr,
        D::Money | D::Array(_) => return None,
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
        .ok_or_else(|| {
            "the value is infinity (or beyond the dates a file can hold); turn it into NULL in SQL, \
             e.g. NULLIF(col, 'infinity')"
                .into()
        })
}

fn timestamp_of(micros: i64) -> Result<NaiveDateTime, Bad> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let date = i32::try_from(days)
        .map_err(|_| Bad::from("the timestamp is beyond the dates a file can hold"))
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
        if zoned {
            render::timestamp_tz(out, ts.and_utc());
        } else {
            render::timestamp(out, ts);
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
        D::F32 => render::float32(out, f32::from_be_bytes(fixed(b)?)),
        D::F64 => render::float(out, f64::from_be_bytes(fixed(b)?)),
        D::Numeric => numeric(out, b)?,
        D::Date => render_date(out, i32::from_be_bytes(fixed(b)?))?,
        // 24:00:00 is a valid PostgreSQL time (the end of a day): written as such.
        D::Time => clock(out, i64::from_be_bytes(fixed(b)?), false)?,
        D::Timestamp => render_timestamp(out, i64::from_be_bytes(fixed(b)?), false)?,
        D::TimestampTz => render_timestamp(out, i64::from_be_bytes(fixed(b)?), true)?,
        D::Bytea => render::binary(out, b),
        // Binary JSONB is a version byte (1) and the document's text.
        D::Jsonb => render::text(out, b.get(1..).unwrap_or_default())?,
        D::Uuid => {
            let u = uuid::Uuid::from_bytes(fixed(b)?);
            out.push_str(u.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
        }
        D::Char => char_value(out, b),
        D::Money => money(out, i64::from_be_bytes(fixed(b)?)),
        D::Bit => bits(out, b)?,
        D::Interval => interval(out, b)?,
        D::TimeTz => time_tz(out, b, false)?,
        D::Inet => inet(out, b)?,
        D::MacAddr => mac(out, b)?,
        D::Array(element) => array(out, b, element)?,
    }
    Ok(())
}

fn be_i32(b: &[u8], at: usize) -> Result<i32, Bad> {
    b.get(at..at + 4)
        .map(|w| i32::from_be_bytes([w[0], w[1], w[2], w[3]]))
        .ok_or_else(|| "short value".into())
}

fn be_i64(b: &[u8], at: usize) -> Result<i64, Bad> {
    b.get(at..at + 8)
        .and_then(|w| w.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or_else(|| "short value".into())
}

/// `"char"` as `charout` writes it: a byte past ASCII as `\ooo`, NUL as nothing.
fn char_value(out: &mut String, b: &[u8]) {
    match b.first() {
        None | Some(0) => {}
        Some(&c) if c.is_ascii() => out.push(char::from(c)),
        Some(&c) => {
            out.push('\\');
            for shift in [6, 3, 0] {
                out.push(char::from(b'0' + (c >> shift & 7)));
            }
        }
    }
}

/// Money is a count of the currency's smallest unit; two fraction digits
/// are assumed (the server's `lc_monetary` is not consulted), and neither
/// symbol nor grouping is written, so the amount reads as a plain number.
fn money(out: &mut String, cents: i64) {
    if cents < 0 {
        out.push('-');
    }
    let abs = cents.unsigned_abs();
    render::int(out, abs / 100);
    out.push('.');
    let frac = (abs % 100) as u8;
    out.push(char::from(b'0' + frac / 10));
    out.push(char::from(b'0' + frac % 10));
}

/// `bit` and `varbit`: a bit count, then the bits from the most significant.
fn bits(out: &mut String, b: &[u8]) -> Result<(), Bad> {
    let n = usize::try_from(be_i32(b, 0)?).map_err(|_| "negative bit count")?;
    let data = &b[4..];
    if data.len() < n.div_ceil(8) {
        return Err("short bit string".into());
    }
    out.reserve(n);
    for i in 0..n {
        out.push(if data[i / 8] >> (7 - i % 8) & 1 == 1 { '1' } else { '0' });
    }
    Ok(())
}

/// Appends `.ffffff` without its trailing zeros, as PostgreSQL writes
/// fractions of a second in intervals and in its own text forms.
fn trimmed_fraction(out: &mut String, micros: u32) {
    if micros == 0 {
        return;
    }
    let mut digits = [0u8; 6];
    let mut n = micros;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let len = 6 - digits.iter().rev().take_while(|&&d| d == b'0').count();
    out.push('.');
    out.extend(digits[..len].iter().map(|&d| char::from(d)));
}

/// An interval in ISO 8601 as `intervalstyle = iso_8601` prints it: each
/// non-zero part with its sign (`P-1Y-2M`, `P1DT-1S`), `PT0S` for zero.
/// The parts are not normalised into each other (a month is not 30 days).
fn interval(out: &mut String, b: &[u8]) -> Result<(), Bad> {
    let (time, days, months) = (be_i64(b, 0)?, be_i32(b, 8)?, be_i32(b, 12)?);
    // PostgreSQL 17's infinite intervals.
    if (time, days, months) == (i64::MAX, i32::MAX, i32::MAX) {
        out.push_str("infinity");
        return Ok(());
    }
    if (time, days, months) == (i64::MIN, i32::MIN, i32::MIN) {
        out.push_str("-infinity");
        return Ok(());
    }
    const HOUR: i64 = 3_600_000_000;
    let (hours, minutes) = (time / HOUR, time % HOUR / 60_000_000);
    let (secs, micros) = (time % 60_000_000 / 1_000_000, time % 1_000_000);
    if months == 0 && days == 0 && time == 0 {
        out.push_str("PT0S");
        return Ok(());
    }
    let part = |out: &mut String, n: i64, unit: char| {
        if n != 0 {
            render::int(out, n);
            out.push(unit);
        }
    };
    out.push('P');
    part(out, i64::from(months / 12), 'Y');
    part(out, i64::from(months % 12), 'M');
    part(out, i64::from(days), 'D');
    if time != 0 {
        out.push('T');
    }
    part(out, hours, 'H');
    part(out, minutes, 'M');
    if secs != 0 || micros != 0 {
        if secs < 0 || micros < 0 {
            out.push('-');
        }
        render::int(out, secs.unsigned_abs());
        trimmed_fraction(out, micros.unsigned_abs() as u32);
        out.push('S');
    }
    Ok(())
}

/// Appends `HH:MM:SS` of a time of day in microseconds (24:00:00 included),
/// with `.ffffff` (`trim`: without trailing zeros) when there are fractions.
fn clock(out: &mut String, micros: i64, trim: bool) -> Result<(), Bad> {
    if !(0..=MICROS_PER_DAY).contains(&micros) {
        return Err("time of day out of range".into());
    }
    let secs = (micros / 1_000_000) as u32;
    let frac = (micros % 1_000_000) as u32;
    render::hms(out, secs / 3600, secs / 60 % 60, secs % 60, if trim { 0 } else { frac });
    if trim {
        trimmed_fraction(out, frac);
    }
    Ok(())
}

/// `timetz`: the time, then its offset from UTC. ferry writes the offset as
/// `+hh:mm` always; PostgreSQL's own form (`pg_form`, inside arrays) drops
/// zero minutes (`+02`) and trims fractions.
fn time_tz(out: &mut String, b: &[u8], pg_form: bool) -> Result<(), Bad> {
    clock(out, be_i64(b, 0)?, pg_form)?;
    // The zone is stored in seconds west of UTC.
    let east = -i64::from(be_i32(b, 8)?);
    out.push(if east < 0 { '-' } else { '+' });
    let abs = east.unsigned_abs() as u32;
    let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
    let two = |out: &mut String, n: u32| {
        out.push(char::from(b'0' + (n / 10 % 10) as u8));
        out.push(char::from(b'0' + (n % 10) as u8));
    };
    two(out, h);
    if !pg_form || m != 0 || s != 0 {
        out.push(':');
        two(out, m);
    }
    if s != 0 {
        out.push(':');
        two(out, s);
    }
    Ok(())
}

/// `inet` and `cidr`: family, prefix bits, whether it is a `cidr`, the
/// address's length and bytes. The prefix is written when it is not the
/// whole address, and always for `cidr`, as PostgreSQL does.
fn inet(out: &mut String, b: &[u8]) -> Result<(), Bad> {
    use std::fmt::Write;
    let [family, prefix, is_cidr, len] = fixed::<4>(b.get(..4).unwrap_or_default())?;
    let addr = &b[4..];
    if addr.len() != usize::from(len) {
        return Err("bad inet value".into());
    }
    let full = match family {
        2 => {
            let _ = write!(out, "{}", std::net::Ipv4Addr::from(fixed::<4>(addr)?));
            32
        }
        3 => {
            let _ = write!(out, "{}", std::net::Ipv6Addr::from(fixed::<16>(addr)?));
            128
        }
        _ => return Err(format!("unknown address family {family}").into()),
    };
    if is_cidr != 0 || prefix != full {
        out.push('/');
        render::int(out, prefix);
    }
    Ok(())
}

/// `macaddr` and `macaddr8`: lowercase hexadecimal pairs joined by `:`.
fn mac(out: &mut String, b: &[u8]) -> Result<(), Bad> {
    if b.len() != 6 && b.len() != 8 {
        return Err("bad MAC address".into());
    }
    for (i, byte) in b.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        render::binary(out, std::slice::from_ref(byte));
    }
    Ok(())
}

/// The most dimensions PostgreSQL gives an array.
const MAX_DIMS: usize = 6;

/// An array in PostgreSQL's own text form, as `array_out` (and so psql and
/// `\copy`) writes it: `{1,2,NULL}`, `{{1,2},{3,4}}`, elements quoted when
/// they are empty, `NULL` or hold a space, quote, backslash, brace or comma,
/// and lower bounds other than 1 written first (`[0:1]={5,6}`). Elements
/// are in their PostgreSQL text form too (`t`, `1e-07`, `\x00ff`), so
/// `col::text` on the server gives the same.
fn array(out: &mut String, b: &[u8], element: &'static Decoder) -> Result<(), Bad> {
    let ndim = usize::try_from(be_i32(b, 0)?).map_err(|_| "bad array")?;
    if ndim == 0 {
        out.push_str("{}");
        return Ok(());
    }
    if ndim > MAX_DIMS {
        return Err("an array of more than 6 dimensions".into());
    }
    let mut dims = [(0i32, 0i32); MAX_DIMS];
    for (k, dim) in dims[..ndim].iter_mut().enumerate() {
        *dim = (be_i32(b, 12 + 8 * k)?, be_i32(b, 16 + 8 * k)?);
    }
    let dims = &dims[..ndim];
    if dims.iter().any(|&(_, lower)| lower != 1) {
        for &(len, lower) in dims {
            out.push('[');
            render::int(out, lower);
            out.push(':');
            render::int(out, i64::from(lower) + i64::from(len) - 1);
            out.push(']');
        }
        out.push('=');
    }
    let mut at = 12 + 8 * ndim;
    array_level(out, b, &mut at, dims, element)
}

fn array_level(
    out: &mut String,
    b: &[u8],
    at: &mut usize,
    dims: &[(i32, i32)],
    element: &'static Decoder,
) -> Result<(), Bad> {
    out.push('{');
    for i in 0..dims[0].0 {
        if i > 0 {
            out.push(',');
        }
        if dims.len() > 1 {
            array_level(out, b, at, &dims[1..], element)?;
            continue;
        }
        let len = be_i32(b, *at)?;
        *at += 4;
        let Ok(len) = usize::try_from(len) else {
            out.push_str("NULL");
            continue;
        };
        let value = b.get(*at..*at + len).ok_or("short array")?;
        *at += len;
        let start = out.len();
        element_text(*element, value, out)?;
        let text = &out[start..];
        let quote = text.is_empty()
            || text.eq_ignore_ascii_case("NULL")
            || text.bytes().any(|c| {
                matches!(
                    c,
                    b'"' | b'\\' | b'{' | b'}' | b',' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
                )
            });
        if quote {
            let raw = out.split_off(start);
            out.push('"');
            for c in raw.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    out.push('}');
    Ok(())
}

/// An array element in PostgreSQL's text form, where that differs from
/// ferry's own (with `DateStyle` ISO and the zone UTC for `timestamptz`).
fn element_text(d: Decoder, b: &[u8], out: &mut String) -> Result<(), Bad> {
    use Decoder as D;
    match d {
        D::Bool => out.push(if fixed::<1>(b)?[0] != 0 { 't' } else { 'f' }),
        D::F32 => pg_float(out, Float::Single(f32::from_be_bytes(fixed(b)?))),
        D::F64 => pg_float(out, Float::Double(f64::from_be_bytes(fixed(b)?))),
        D::Date => {
            let days = i32::from_be_bytes(fixed(b)?);
            match days {
                i32::MAX => out.push_str("infinity"),
                i32::MIN => out.push_str("-infinity"),
                _ => {
                    let bc = pg_date(out, i64::from(days))?;
                    if bc {
                        out.push_str(" BC");
                    }
                }
            }
        }
        D::Time => clock(out, i64::from_be_bytes(fixed(b)?), true)?,
        D::Timestamp | D::TimestampTz => {
            let micros = i64::from_be_bytes(fixed(b)?);
            match micros {
                i64::MAX => out.push_str("infinity"),
                i64::MIN => out.push_str("-infinity"),
                _ => {
                    let bc = pg_date(out, micros.div_euclid(MICROS_PER_DAY))?;
                    out.push(' ');
                    clock(out, micros.rem_euclid(MICROS_PER_DAY), true)?;
                    if d == D::TimestampTz {
                        out.push_str("+00");
                    }
                    if bc {
                        out.push_str(" BC");
                    }
                }
            }
        }
        D::TimeTz => time_tz(out, b, true)?,
        D::Bytea => {
            out.push_str("\\x");
            render::binary(out, b);
        }
        other => render_value(other, b, out)?,
    }
    Ok(())
}

/// A date `days` after 2000-01-01 as PostgreSQL's ISO form writes it: the
/// year of its era in at least four digits; true when that era is BC.
fn pg_date(out: &mut String, days: i64) -> Result<bool, Bad> {
    let (y, m, d) = if let Some(ymd) = civil(days) {
        ymd
    } else {
        use chrono::Datelike;
        let date = date_of(i32::try_from(days).map_err(|_| "date out of range")?)?;
        (date.year(), date.month(), date.day())
    };
    let bc = y <= 0;
    render::ymd(out, if bc { 1 - y } else { y }, m, d);
    Ok(bc)
}

#[derive(Clone, Copy)]
enum Float {
    Single(f32),
    Double(f64),
}

/// A float as PostgreSQL's `float4out`/`float8out` write it: the shortest
/// digits that read back, in fixed notation for a decimal exponent from -4
/// to below 6 (`real`) or 15 (`double precision`), else as `1e-07`, `1.5e+300`.
fn pg_float(out: &mut String, v: Float) {
    use std::fmt::Write;
    let (value, limit) = match v {
        Float::Single(f) => (f64::from(f), 6),
        Float::Double(f) => (f, 15),
    };
    if !value.is_finite() {
        render::float(out, value);
        return;
    }
    let mut buf = StackText::default();
    let _ = match v {
        Float::Single(f) => write!(buf, "{f:e}"),
        Float::Double(f) => write!(buf, "{f:e}"),
    };
    let text = buf.as_str();
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    if negative {
        out.push('-');
    }
    let (first, rest) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (-4..limit).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let digits_len = first.len() + rest.len();
            out.push_str(first);
            if rest.len() < int_len {
                out.push_str(rest);
                out.extend(std::iter::repeat_n('0', int_len - digits_len));
            } else {
                out.push_str(&rest[..int_len - 1]);
                if rest.len() > int_len - 1 {
                    out.push('.');
                    out.push_str(&rest[int_len - 1..]);
                }
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(first);
            out.push_str(rest);
        }
    } else {
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        if exp.abs() < 10 {
            out.push('0');
        }
        render::int(out, exp.unsigned_abs());
    }
}

/// A few bytes of formatted text kept on the stack.
#[derive(Default)]
struct StackText {
    buf: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
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

    fn interval_of(micros: i64, days: i32, months: i32) -> String {
        let mut b = micros.to_be_bytes().to_vec();
        b.extend_from_slice(&days.to_be_bytes());
        b.extend_from_slice(&months.to_be_bytes());
        r(Decoder::Interval, &b)
    }

    #[test]
    fn intervals_as_iso_8601_durations() {
        assert_eq!(interval_of(0, 0, 0), "PT0S");
        assert_eq!(interval_of(14_706_000_000, 3, 14), "P1Y2M3DT4H5M6S");
        assert_eq!(interval_of(-1, 0, 0), "PT-0.000001S");
        assert_eq!(interval_of(-5_400_000_000, 0, 0), "PT-1H-30M");
        assert_eq!(interval_of(1_500_000, -1, -14), "P-1Y-2M-1DT1.5S");
        assert_eq!(interval_of(i64::MAX, i32::MAX, i32::MAX), "infinity");
    }

    #[test]
    fn floats_in_arrays_as_postgresql_writes_them() {
        let f = |v: Float| {
            let mut s = String::new();
            pg_float(&mut s, v);
            s
        };
        assert_eq!(f(Float::Double(1e-7)), "1e-07");
        assert_eq!(f(Float::Double(0.0001)), "0.0001");
        assert_eq!(f(Float::Double(1e15)), "1e+15");
        assert_eq!(f(Float::Double(123456789012345.0)), "123456789012345");
        assert_eq!(f(Float::Double(-1.5e300)), "-1.5e+300");
        assert_eq!(f(Float::Double(2.5e-310)), "2.5e-310");
        assert_eq!(f(Float::Double(-0.0)), "-0");
        assert_eq!(f(Float::Double(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(f(Float::Single(0.1)), "0.1");
        assert_eq!(f(Float::Single(1234567.0)), "1.234567e+06");
        assert_eq!(f(Float::Single(120.5)), "120.5");
    }

    #[test]
    fn small_types_from_their_binary_form() {
        assert_eq!(r(Decoder::Money, &(-1250i64).to_be_bytes()), "-12.50");
        assert_eq!(r(Decoder::Money, &i64::MIN.to_be_bytes()), "-92233720368547758.08");
        assert_eq!(r(Decoder::Bit, &[0, 0, 0, 4, 0b0101_0000]), "0101");
        assert_eq!(r(Decoder::Bit, &[0, 0, 0, 0]), "");
        assert!(render_value(Decoder::Bit, &[0, 0, 0, 9, 0xff], &mut String::new()).is_err());
        assert_eq!(r(Decoder::Char, &[0xe9]), "\\351");
        assert_eq!(r(Decoder::Inet, &[2, 24, 0, 4, 10, 0, 0, 1]), "10.0.0.1/24");
        assert_eq!(r(Decoder::Inet, &[2, 32, 1, 4, 10, 0, 0, 1]), "10.0.0.1/32");
        let mut tz = 27_000_000_000i64.to_be_bytes().to_vec();
        tz.extend_from_slice(&(-19_800i32).to_be_bytes());
        assert_eq!(r(Decoder::TimeTz, &tz), "07:30:00+05:30");
    }

    #[test]
    fn arrays_in_postgresql_text_form() {
        // ndim, has nulls, element oid, then (length, lower bound) per dimension.
        let mut b: Vec<u8> = [2i32, 1, 25, 2, 1, 1, 0].iter().flat_map(|w| w.to_be_bytes()).collect();
        for v in [Some(&b"a b"[..]), None] {
            match v {
                Some(t) => {
                    b.extend_from_slice(&(t.len() as i32).to_be_bytes());
                    b.extend_from_slice(t);
                }
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        assert_eq!(r(Decoder::Array(&Decoder::Text), &b), "[1:2][0:0]={{\"a b\"},{NULL}}");
        assert!(render_value(Decoder::Array(&Decoder::Text), &b[..b.len() - 2], &mut String::new()).is_err());
        let empty: Vec<u8> = [0i32, 0, 23].iter().flat_map(|w| w.to_be_bytes()).collect();
        assert_eq!(r(Decoder::Array(&Decoder::I32), &empty), "{}");
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
