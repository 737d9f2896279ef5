//! The options of a delimited file, and parsing them from the words a script
//! (or a vendor's specification) uses.

use std::str::FromStr;

use super::unquoted::Unquoted;
use super::{Charset, FormatError, Formulas, Unmappable};

/// The record terminator.
///
/// CRLF is the RFC 4180 default and what most Windows-based importers
/// expect; LF is there for the vendors on Unix who ask for it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineEnding {
    /// `\r\n`.
    #[default]
    Crlf,
    /// `\n`.
    Lf,
}

/// Everything a delimited file's layout depends on.
///
/// The defaults are the common vendor expectation: comma, header row,
/// CRLF, UTF-8 without BOM, quotes only where needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    /// The field separator, a single ASCII byte (see [`parse_delimiter`]).
    pub delimiter: u8,
    /// Quote every field, header and empty ones included, for importers that
    /// require it.
    pub quote_all: bool,
    /// Write the column names as the first record.
    pub header: bool,
    /// The record terminator.
    pub line_ending: LineEnding,
    /// Start with a UTF-8 byte-order mark, which Excel needs to detect
    /// UTF-8; only allowed with UTF-8.
    pub bom: bool,
    /// The output character set.
    pub charset: Charset,
    /// What to do with characters `charset` cannot hold.
    pub unmappable: Unmappable,
    /// What to do with values that need quotes when `quote_all` is off.
    pub unquoted: Unquoted,
    /// What to do with values a spreadsheet would run as formulas.
    pub formulas: Formulas,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote_all: false,
            header: true,
            line_ending: LineEnding::Crlf,
            bom: false,
            charset: Charset::UTF_8,
            unmappable: Unmappable::Transliterate,
            unquoted: Unquoted::Quote,
            formulas: Formulas::Keep,
        }
    }
}

impl CsvOptions {
    /// Checks the combination, so an impossible file is refused before any
    /// byte is written.
    pub fn validate(&self) -> Result<(), FormatError> {
        let d = self.delimiter;
        if d != b'\t' && !(0x20..0x7F).contains(&d) || d == b'"' {
            return Err(FormatError::InvalidOption {
                option: "delimiter",
                value: char::from(d).escape_debug().to_string(),
                expected: "the delimiter must be a tab or a printable ASCII character other \
                           than the double quote"
                    .into(),
            });
        }
        if self.bom && !self.charset.is_utf8() {
            return Err(FormatError::BomNeedsUtf8(self.charset.name()));
        }
        Ok(())
    }
}

/// Parses a delimiter as a script names it: `tab`, `comma`, `pipe`,
/// `tilde`, `semicolon`, or any single printable ASCII character except the
/// double quote, which is reserved for quoting.
pub fn parse_delimiter(s: &str) -> Result<u8, FormatError> {
    let named = [
        ("tab", b'\t'),
        ("\\t", b'\t'),
        ("\t", b'\t'),
        ("comma", b','),
        ("pipe", b'|'),
        ("tilde", b'~'),
        ("semicolon", b';'),
    ];
    if let Some(&(_, b)) = named.iter().find(|(n, _)| n.eq_ignore_ascii_case(s)) {
        return Ok(b);
    }
    match s.as_bytes() {
        [b] if (0x20..0x7F).contains(b) && *b != b'"' => Ok(*b),
        _ => Err(FormatError::InvalidOption {
            option: "delimiter",
            value: s.escape_debug().to_string(),
            expected: "use \"tab\", \"comma\", \"pipe\", \"tilde\", \"semicolon\", or one \
                       printable ASCII character other than the double quote"
                .into(),
        }),
    }
}

impl FromStr for LineEnding {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Literal line breaks are matched before trimming would eat them.
        let word = match s {
            "\r\n" | "\n" => s,
            _ => s.trim(),
        };
        match word.to_ascii_lowercase().as_str() {
            "crlf" | "\r\n" | "\\r\\n" | "windows" => Ok(LineEnding::Crlf),
            "lf" | "\n" | "\\n" | "unix" => Ok(LineEnding::Lf),
            _ => Err(FormatError::InvalidOption {
                option: "line_ending",
                value: s.escape_debug().to_string(),
                expected: "use \"crlf\" or \"lf\"".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_parse_by_name_or_character() {
        let cases = [
            ("tab", b'\t'),
            ("TAB", b'\t'),
            ("\t", b'\t'),
            ("\\t", b'\t'),
            ("comma", b','),
            (",", b','),
            ("pipe", b'|'),
            ("|", b'|'),
            ("~", b'~'),
            ("tilde", b'~'),
            ("semicolon", b';'),
            (";", b';'),
            ("^", b'^'),
        ];
        for (s, want) in cases {
            assert_eq!(parse_delimiter(s).unwrap(), want, "{s:?}");
        }
    }

    #[test]
    fn unusable_delimiters_are_refused_clearly() {
        for bad in ["\"", "\r", "\n", "", "ab", "é", "\u{1}", "colon"] {
            let e = parse_delimiter(bad).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("delimiter \""), "{bad:?}: {msg}");
            assert!(msg.contains("printable ASCII"), "{msg}");
        }
    }

    #[test]
    fn defaults_are_the_common_vendor_layout() {
        let o = CsvOptions::default();
        assert_eq!(o.delimiter, b',');
        assert!(o.header && !o.quote_all && !o.bom);
        assert_eq!(o.line_ending, LineEnding::Crlf);
        assert_eq!(o.charset, Charset::UTF_8);
        assert_eq!(o.unquoted, Unquoted::Quote);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn validate_refuses_a_bom_outside_utf8_and_bad_delimiters() {
        let o = CsvOptions {
            bom: true,
            charset: Charset::US_ASCII,
            ..CsvOptions::default()
        };
        let msg = o.validate().unwrap_err().to_string();
        assert!(msg.contains("us-ascii") && msg.contains("byte-order mark"), "{msg}");
        for d in [b'"', b'\n', b'\r', 0xE9, 0] {
            let o = CsvOptions {
                delimiter: d,
                ..CsvOptions::default()
            };
            assert!(o.validate().is_err(), "{d:#x}");
        }
    }

    #[test]
    fn line_endings_parse() {
        assert_eq!("CRLF".parse::<LineEnding>().unwrap(), LineEnding::Crlf);
        assert_eq!("lf".parse::<LineEnding>().unwrap(), LineEnding::Lf);
        assert_eq!("\n".parse::<LineEnding>().unwrap(), LineEnding::Lf);
        assert!("cr".parse::<LineEnding>().is_err());
    }
}
