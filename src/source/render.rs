//! The one rendering of database values as text, shared by every database so
//! the same query gives the same bytes from SQLite, PostgreSQL and MariaDB.
//!
//! | value | text |
//! |---|---|
//! | NULL | no value (an empty field) |
//! | integer | decimal digits |
//! | exact decimal | all digits of its scale (`12.50`) |
//! | float | shortest text that reads back as the same number |
//! | boolean | `true` / `false` |
//! | date | `YYYY-MM-DD` |
//! | time | `HH:MM:SS`, `.ffffff` when there are fractions |
//! | timestamp | `YYYY-MM-DD HH:MM:SS[.ffffff]` |
//! | timestamp with zone | in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` |
//! | binary | lowercase hexadecimal |

use std::fmt::Write;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

fn pad(out: &mut String, n: u32, width: usize) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(n);
    for _ in s.len()..width {
        out.push('0');
    }
    out.push_str(s);
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

/// Appends a float in its shortest exact form.
pub fn float(out: &mut String, v: f64) {
    let _ = write!(out, "{v}");
}

/// Appends `true` or `false`.
pub fn boolean(out: &mut String, v: bool) {
    out.push_str(if v { "true" } else { "false" });
}

/// Appends `YYYY-MM-DD`.
pub fn date(out: &mut String, d: NaiveDate) {
    let y = d.year();
    if (0..=9999).contains(&y) {
        pad(out, y as u32, 4);
    } else {
        let _ = write!(out, "{y}");
    }
    out.push('-');
    pad(out, d.month(), 2);
    out.push('-');
    pad(out, d.day(), 2);
}

/// Appends `HH:MM:SS`, with `.ffffff` when the microseconds are not zero.
pub fn time(out: &mut String, t: NaiveTime) {
    pad(out, t.hour(), 2);
    out.push(':');
    pad(out, t.minute(), 2);
    out.push(':');
    pad(out, t.second(), 2);
    let micros = t.nanosecond() / 1000;
    if micros != 0 {
        out.push('.');
        pad(out, micros, 6);
    }
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
        assert_eq!(r(|o| binary(o, &[0, 0xab, 0xff])), "00abff");
        assert_eq!(r(|o| int(o, -42i64)), "-42");
        assert_eq!(r(|o| boolean(o, true)), "true");
        assert_eq!(r(|o| text(o, "Zoë, \"x\"".as_bytes()).unwrap()), "Zoë, \"x\"");
        assert!(text(&mut String::new(), b"\xff").is_err());
    }
}
