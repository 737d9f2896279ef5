//! Output file names: a stem, an optional date stamp and an extension,
//! checked so the name can be created on every kind of destination.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, Timelike};

use super::FormatError;

/// Characters Windows and SMB shares refuse in a file name.
const FORBIDDEN: &[char] = &['<', '>', ':', '"', '/', '\\', '|', '?', '*'];
/// Longest stem or extension, in characters.
const MAX_PART: usize = 200;
/// Longest whole name, in bytes, below the common 255-byte file system limit.
const MAX_NAME_BYTES: usize = 255;
/// Device names Windows reserves whatever the extension.
const RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT0",
    "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A date (and time) appended to the stem, so a vendor's folder keeps one
/// file per run, in the layouts vendors' specifications ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateStamp {
    /// `yyyymmdd`, e.g. `20240305`.
    Ymd,
    /// `yyyymmddhhmmssSS`, where `SS` is hundredths of a second.
    YmdHmsCs,
    /// Any chrono strftime pattern (it must contain `%`), e.g. `_%Y-%m-%d`.
    Pattern(String),
}

impl DateStamp {
    /// Parses the two named layouts (case-insensitively) or a strftime
    /// pattern, checking that the pattern yields characters a file name may
    /// hold.
    pub fn parse(s: &str) -> Result<DateStamp, FormatError> {
        let stamp = DateStamp::parse_text(s, "append_date")?;
        let out = stamp.render(sample());
        if let Some(c) = out.chars().find(|&c| c.is_control() || FORBIDDEN.contains(&c)) {
            return Err(FormatError::InvalidOption {
                option: "append_date",
                value: s.to_string(),
                expected: format!("it would put {c:?} in the file name; use characters such as '-' or '_'"),
            });
        }
        Ok(stamp)
    }

    /// Parses a stamp written inside a file rather than in its name (a
    /// header record's date), where `/` and `:` are fine; `option` names the
    /// option in errors.
    pub fn parse_text(s: &str, option: &'static str) -> Result<DateStamp, FormatError> {
        let invalid = |expected: String| FormatError::InvalidOption {
            option,
            value: s.to_string(),
            expected,
        };
        if s.eq_ignore_ascii_case("yyyymmdd") {
            return Ok(DateStamp::Ymd);
        }
        if s.eq_ignore_ascii_case("yyyymmddhhmmssss") {
            return Ok(DateStamp::YmdHmsCs);
        }
        if !s.contains('%') {
            return Err(invalid(
                "use \"yyyymmdd\", \"yyyymmddhhmmssSS\", or a strftime pattern containing '%' \
                 such as \"_%Y-%m-%d\""
                    .into(),
            ));
        }
        let mut out = String::new();
        if write!(out, "{}", sample().format(s)).is_err() {
            return Err(invalid(
                "the pattern has an unknown % code or one that needs a time zone (%z, %Z)".into(),
            ));
        }
        Ok(DateStamp::Pattern(s.to_string()))
    }

    /// The stamp for `at`.
    pub fn render(&self, at: NaiveDateTime) -> String {
        let mut out = String::new();
        self.write_to(at, &mut out);
        out
    }

    /// Appends the stamp for `at` to `out`.
    fn write_to(&self, at: NaiveDateTime, out: &mut String) {
        // Writing to a String cannot fail, and patterns were checked by
        // `parse`, so formatting errors cannot occur here.
        let _ = match self {
            DateStamp::Ymd => write!(out, "{}", at.format("%Y%m%d")),
            DateStamp::YmdHmsCs => {
                // A leap second's nanoseconds exceed one second: cap at 99.
                let cs = (at.nanosecond() / 10_000_000).min(99);
                write!(out, "{}{cs:02}", at.format("%Y%m%d%H%M%S"))
            }
            DateStamp::Pattern(p) => write!(out, "{}", at.format(p)),
        };
    }
}

impl FromStr for DateStamp {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateStamp::parse(s)
    }
}

impl fmt::Display for DateStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateStamp::Ymd => f.write_str("yyyymmdd"),
            DateStamp::YmdHmsCs => f.write_str("yyyymmddhhmmssSS"),
            DateStamp::Pattern(p) => f.write_str(p),
        }
    }
}

/// A date that every % code formats, to try a pattern on.
fn sample() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 12, 31)
        .and_then(|d| d.and_hms_milli_opt(23, 59, 58, 990))
        .expect("a valid sample date")
}

/// The name an extract's file is delivered under: `stem`, then the date
/// stamp directly (write `roster_` to get a separator), then `.ext`.
///
/// Validated on construction so a name that a Windows share or an SFTP
/// server would refuse is reported when the script runs, not at delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName {
    stem: String,
    ext: String,
    stamp: Option<DateStamp>,
}

impl FileName {
    /// Checks and builds a file name. `ext` is free text (`csv`, `txt`,
    /// `tab`, ...); one leading dot is accepted and dropped.
    pub fn new(stem: &str, ext: &str, stamp: Option<DateStamp>) -> Result<FileName, FormatError> {
        let ext = ext.strip_prefix('.').unwrap_or(ext);
        check_part("name", stem)?;
        check_part("extension", ext)?;
        let bad = |reason: &str| FormatError::BadFileName {
            name: format!("{stem}.{ext}"),
            reason: reason.to_string(),
        };
        if stem.starts_with('.') {
            return Err(bad("a name starting with '.' is hidden on many servers"));
        }
        if ext.ends_with(['.', ' ']) {
            return Err(bad("Windows drops a trailing dot or space from an extension"));
        }
        let name = FileName {
            stem: stem.to_string(),
            ext: ext.to_string(),
            stamp,
        };
        let sample = name.render(NaiveDateTime::default());
        let base = sample.split('.').next().unwrap_or_default().trim_end();
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(base)) {
            return Err(bad("Windows reserves this name for a device"));
        }
        if sample.contains("..") {
            return Err(bad("the whole name would contain \"..\""));
        }
        if sample.len() > MAX_NAME_BYTES {
            return Err(bad("the whole name is longer than 255 bytes"));
        }
        Ok(name)
    }

    /// The part before the date stamp.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// The extension, without its dot.
    pub fn ext(&self) -> &str {
        &self.ext
    }

    /// The date stamp, if one is appended.
    pub fn stamp(&self) -> Option<&DateStamp> {
        self.stamp.as_ref()
    }

    /// The file name for a run at `at` (local time of the script's zone).
    pub fn render(&self, at: NaiveDateTime) -> String {
        let mut out = String::with_capacity(self.stem.len() + self.ext.len() + 24);
        out.push_str(&self.stem);
        if let Some(stamp) = &self.stamp {
            stamp.write_to(at, &mut out);
        }
        out.push('.');
        out.push_str(&self.ext);
        out
    }
}

/// The rules a stem and an extension share.
fn check_part(what: &str, value: &str) -> Result<(), FormatError> {
    let bad = |reason: String| FormatError::BadFileName {
        name: value.escape_debug().to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(bad(format!("the {what} is empty")));
    }
    if value.chars().count() > MAX_PART {
        return Err(bad(format!("the {what} is longer than {MAX_PART} characters")));
    }
    if value.contains("..") {
        return Err(bad(format!("the {what} contains \"..\"")));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(bad(format!("the {what} contains the control character {c:?}")));
    }
    if let Some(c) = value.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(bad(format!(
            "the {what} contains '{c}'; file names may not contain < > : \" / \\ | ? *"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 3, 5)
            .unwrap()
            .and_hms_nano_opt(7, 8, 9, 123_456_789)
            .unwrap()
    }

    fn name(stem: &str, ext: &str, stamp: Option<&str>) -> Result<FileName, FormatError> {
        let stamp = stamp.map(|s| DateStamp::parse(s).unwrap());
        FileName::new(stem, ext, stamp)
    }

    #[test]
    fn stamps_parse_case_insensitively() {
        assert_eq!(DateStamp::parse("yyyymmdd").unwrap(), DateStamp::Ymd);
        assert_eq!(DateStamp::parse("YYYYMMDD").unwrap(), DateStamp::Ymd);
        assert_eq!(DateStamp::parse("yyyymmddhhmmssSS").unwrap(), DateStamp::YmdHmsCs);
        assert_eq!(DateStamp::parse("YYYYMMDDHHMMSSSS").unwrap(), DateStamp::YmdHmsCs);
        assert_eq!(
            "_%Y-%m".parse::<DateStamp>().unwrap(),
            DateStamp::Pattern("_%Y-%m".into())
        );
    }

    #[test]
    fn bad_stamps_are_refused_with_the_accepted_values() {
        let msg = DateStamp::parse("yyyy-mm-dd").unwrap_err().to_string();
        assert!(
            msg.contains("\"yyyymmdd\"") && msg.contains("\"yyyymmddhhmmssSS\""),
            "{msg}"
        );
        for bad in ["%Y/%m", "%c", "%z", "%Q", "%Y%n"] {
            let e = DateStamp::parse(bad);
            assert!(e.is_err(), "{bad} was accepted");
        }
        let msg = DateStamp::parse("%H:%M").unwrap_err().to_string();
        assert!(msg.contains("':'"), "{msg}");
        // Inside a file, separators a file name cannot hold are fine.
        let inside = DateStamp::parse_text("%m/%d/%Y %H:%M", "date").unwrap();
        assert_eq!(inside.render(sample()), "12/31/2024 23:59");
        let msg = DateStamp::parse_text("mm/dd", "date").unwrap_err().to_string();
        assert!(msg.starts_with("date \"mm/dd\" is not valid"), "{msg}");
    }

    #[test]
    fn names_render_with_each_stamp() {
        assert_eq!(name("roster", "csv", None).unwrap().render(at()), "roster.csv");
        assert_eq!(
            name("roster_", "txt", Some("yyyymmdd")).unwrap().render(at()),
            "roster_20240305.txt"
        );
        assert_eq!(
            name("roster", "tab", Some("yyyymmddhhmmssSS")).unwrap().render(at()),
            "roster2024030507080912.tab"
        );
        assert_eq!(
            name("roster", ".html", Some("-%Y-%m-%d_%H%M")).unwrap().render(at()),
            "roster-2024-03-05_0708.html"
        );
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_999_000_000)
            .unwrap();
        let n = name("x", "csv", Some("yyyymmddhhmmssSS")).unwrap();
        assert_eq!(n.render(leap), "x2016123123596099.csv");
    }

    #[test]
    fn extension_keeps_free_text_and_drops_one_dot() {
        let n = name("a", ".dat", None).unwrap();
        assert_eq!((n.stem(), n.ext()), ("a", "dat"));
        assert_eq!(name("a", "tar.gz", None).unwrap().render(at()), "a.tar.gz");
        assert!(name("a", "..csv", None).is_err());
    }

    #[test]
    fn unsafe_names_are_refused() {
        let long = "x".repeat(201);
        let bad_stems = [
            "", "a/b", "a\\b", "..", "a..b", "../etc", "a:b", "a*b", "a?b", "a<b", "a>b", "a|b", "a\"b", "a\u{7}b",
            "a\nb", "con", "NUL", "Com1", ".hidden", "end.", &long,
        ];
        for stem in bad_stems {
            let e = name(stem, "csv", None);
            assert!(
                matches!(e, Err(FormatError::BadFileName { .. })),
                "stem {stem:?} was accepted"
            );
        }
        for ext in ["", ".", "c/v", "csv.", "csv ", "c:v"] {
            assert!(name("ok", ext, None).is_err(), "ext {ext:?} was accepted");
        }
        // A reserved device name is fine once a stamp follows it.
        assert!(name("con", "csv", Some("yyyymmdd")).is_ok());
        let msg = name("a/b", "csv", None).unwrap_err().to_string();
        assert!(
            msg.starts_with("file name \"a/b\" is not allowed: the name contains '/'"),
            "{msg}"
        );
    }
}
