//! The one rendering of database values as text, shared by every database so
//! the same query gives the same bytes from SQLite, PostgreSQL and MariaDB.
//!
//! | value | text |
//! |---|---|
//! | NULL | no value (an empty field) |
//! | integer | decimal digits |
//! | exact decimal | all digits of its scale (`12.50`) |
//! | float | shortest text that reads back as the same number; `NaN`, `Infinity`, `-Infinity` |
//! | boolean | `true` / `false` |
//! | date | `YYYY-MM-DD` |
//! | time | `HH:MM:SS`, `.ffffff` when there are fractions |
//! | timestamp | `YYYY-MM-DD HH:MM:SS[.ffffff]` |
//! | timestamp with zone | in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` |
//! | binary | lowercase hexadecimal |
//!
//! The complete table, type by type, is in docs/scripting.md ("How values
//! are written"); tests/servers/values.rs checks it on every database.

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// Writes `n` as exactly `N` decimal digits (the caller ensures it fits).
#[inline]
fn digits<const N: usize>(to: &mut [u8], n: u32) {
    let mut n = n;
    for slot in to[..N].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Appends an integer.
pub fn int(out: &mut String, v: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends text that arrived as bytes, checking that it is UTF-8. Most
/// values are short ASCII, checked inline without a call.
#[inline]
pub fn text(out: &mut String, bytes: &[u8]) -> Result<(), std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        out.push_str(unsafe { std::str::from_utf8_unchecked(bytes) });
    } else {
        out.push_str(std::str::from_utf8(bytes)?);
    }
    Ok(())
}

/// Appends a float in its shortest exact form; the values that are not
/// numbers as PostgreSQL spells them (`NaN`, `Infinity`, `-Infinity`).
pub fn float(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        special(out, v);
    }
}

/// Appends a single-precision float in the shortest form that reads back
/// as the same `f32` (`0.1`, where widening to `f64` first would give
/// `0.10000000149011612`).
pub fn float32(out: &mut String, v: f32) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        special(out, f64::from(v));
    }
}

fn special(out: &mut String, v: f64) {
    out.push_str(if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    });
}

/// Appends `true` or `false`.
pub fn boolean(out: &mut String, v: bool) {
    out.push_str(if v { "true" } else { "false" });
}

/// Appends `YYYY-MM-DD`.
pub fn date(out: &mut String, d: NaiveDate) {
    ymd(out, d.year(), d.month(), d.day());
}

/// Appends `YYYY-MM-DD` from its parts; a year outside 0..=9999 is written
/// with as many digits as it has (and its sign).
#[inline]
pub fn ymd(out: &mut String, y: i32, m: u32, d: u32) {
    let mut buf = [0u8; 10];
    let from = if (0..=9999).contains(&y) {
        digits::<4>(&mut buf[0..], y as u32);
        0
    } else {
        let _ = write!(out, "{y}");
        4
    };
    buf[4] = b'-';
    digits::<2>(&mut buf[5..], m);
    buf[7] = b'-';
    digits::<2>(&mut buf[8..], d);
    out.push_str(ascii(&buf[from..]));
}

/// Appends a year of 0..=9999 as four digits.
pub fn year(out: &mut String, y: u32) {
    let mut buf = [0u8; 4];
    digits::<4>(&mut buf, y);
    out.push_str(ascii(&buf));
}

/// Appends `HH:MM:SS`, with `.ffffff` when the microseconds are not zero.
pub fn time(out: &mut String, t: NaiveTime) {
    hms(out, t.hour(), t.minute(), t.second(), t.nanosecond() / 1000);
}

/// Appends `HH:MM:SS[.ffffff]` from its parts.
#[inline]
pub fn hms(out: &mut String, h: u32, m: u32, s: u32, micros: u32) {
    let mut buf = [0u8; 15];
    digits::<2>(&mut buf[0..], h);
    buf[2] = b':';
    digits::<2>(&mut buf[3..], m);
    buf[5] = b':';
    digits::<2>(&mut buf[6..], s);
    let len = if micros != 0 {
        buf[8] = b'.';
        digits::<6>(&mut buf[9..], micros);
        15
    } else {
        8
    };
    out.push_str(ascii(&buf[..len]));
}

/// Appends `YYYY-MM-DD HH:MM:SS[.ffffff]`.
pub fn timestamp(out: &mut String, ts: NaiveDateTime) {
    date(out, ts.date());
    out.push(' ');
    time(out, ts.time());
}

/// Appends a zoned instant in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
pub fn timestamp_tz(out: &mut String, ts: DateTime<Utc>) {
    let ts = ts.naive_utc();
    date(out, ts.date());
    out.push('T');
    time(out, ts.time());
    out.push('Z');
}

/// The digits and punctuation written above, as text.
#[inline]
fn ascii(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // SAFETY: only ASCII digits and punctuation are ever written to `b`.
    unsafe { std::str::from_utf8_unchecked(b) }
}

/// Appends bytes as lowercase hexadecimal.
pub fn binary(out: &mut String, v: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(v.len() * 2);
    for &b in v {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn documented_forms() {
        let d = NaiveDate::from_ymd_opt(2026, 8, 5).unwrap();
        let t = NaiveTime::from_hms_micro_opt(7, 3, 9, 120).unwrap();
        assert_eq!(r(|o| date(o, d)), "2026-08-05");
        assert_eq!(r(|o| time(o, t)), "07:03:09.000120");
        assert_eq!(r(|o| time(o, NaiveTime::from_hms_opt(7, 3, 9).unwrap())), "07:03:09");
        assert_eq!(r(|o| timestamp(o, d.and_time(t))), "2026-08-05 07:03:09.000120");
        assert_eq!(
            r(|o| timestamp_tz(o, d.and_hms_opt(23, 0, 0).unwrap().and_utc())),
            "2026-08-05T23:00:00Z"
        );
        assert_eq!(r(|o| float(o, 0.1)), "0.1");
        assert_eq!(r(|o| float(o, 12.0)), "12");
        assert_eq!(r(|o| float(o, f64::NAN)), "NaN");
        assert_eq!(r(|o| float(o, f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(r(|o| float32(o, 0.1)), "0.1");
        assert_eq!(r(|o| float32(o, f32::INFINITY)), "Infinity");
        assert_eq!(r(|o| year(o, 7)), "0007");
        assert_eq!(r(|o| binary(o, &[0, 0xab, 0xff])), "00abff");
        assert_eq!(r(|o| int(o, -42i64)), "-42");
        assert_eq!(r(|o| boolean(o, true)), "true");
        let far = NaiveDate::from_ymd_opt(12345, 1, 2).unwrap();
        assert_eq!(r(|o| date(o, far)), "12345-01-02");
        let bc = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        assert_eq!(r(|o| date(o, bc)), "-44-03-15");
        assert_eq!(r(|o| date(o, NaiveDate::from_ymd_opt(7, 3, 1).unwrap())), "0007-03-01");
        assert_eq!(r(|o| text(o, "Zoë, \"x\"".as_bytes()).unwrap()), "Zoë, \"x\"");
        assert!(text(&mut String::new(), b"\xff").is_err());
    }
}
