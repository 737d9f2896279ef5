//! Values that need quotes in a file written without them: finding the
//! characters that would break the record, naming them, or flattening them.

use std::str::FromStr;

use super::{Charset, FormatError};

/// What to do, when quoting is off, with a value that contains the
/// delimiter, a double quote or a line break, since written as-is it would
/// shift every later column or split the record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unquoted {
    /// Quote just that value (RFC 4180 minimal quoting), so the file stays
    /// readable by any CSV parser.
    #[default]
    Quote,
    /// Turn delimiters and line breaks into spaces and `"` into `'`, for
    /// importers that cannot read quotes at all.
    Replace,
    /// Stop the run with an error naming the row and column.
    Fail,
}

impl FromStr for Unquoted {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quote" => Ok(Unquoted::Quote),
            "replace" => Ok(Unquoted::Replace),
            "fail" => Ok(Unquoted::Fail),
            _ => Err(FormatError::InvalidOption {
                option: "unquoted",
                value: s.to_string(),
                expected: "use \"quote\", \"replace\" or \"fail\"".into(),
            }),
        }
    }
}

/// The first character of an encoded value that would end the field or
/// the record if written unquoted: the delimiter, `"`, CR or LF.
pub(crate) fn breaking_char(charset: Charset, bytes: &[u8], delimiter: u8) -> Option<u8> {
    charset
        .ascii_bytes(bytes)
        .map(|(_, b)| b)
        .find(|&b| b == delimiter || matches!(b, b'"' | b'\r' | b'\n'))
}

/// Names a character that would break an unquoted file, in words.
pub(crate) fn describe(b: u8, delimiter: u8) -> String {
    match b {
        b'\r' | b'\n' => "a line break".into(),
        b'"' => "a double quote (\")".into(),
        b'\t' => "the delimiter (tab)".into(),
        _ => format!("the delimiter '{}'", char::from(delimiter)),
    }
}

/// Copies `bytes` into `out` with delimiters and line breaks turned into
/// spaces (a CRLF pair into one) and double quotes into apostrophes, so the
/// value stays in one field of one line.
pub(crate) fn flatten(charset: Charset, bytes: &[u8], delimiter: u8, out: &mut Vec<u8>) {
    // An apostrophe delimiter cannot also stand in for the double quote.
    let for_quote = if delimiter == b'\'' { b' ' } else { b'\'' };
    out.clear();
    let mut copied = 0;
    for (at, b) in charset.ascii_bytes(bytes) {
        if at < copied {
            continue;
        }
        let with = match b {
            _ if b == delimiter => b' ',
            b'"' => for_quote,
            b'\r' | b'\n' => b' ',
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..at]);
        out.push(with);
        let crlf = b == b'\r' && bytes.get(at + 1) == Some(&b'\n');
        copied = at + 1 + usize::from(crlf);
    }
    out.extend_from_slice(&bytes[copied..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(charset: Charset, value: &[u8], delimiter: u8) -> Vec<u8> {
        let mut out = b"left over".to_vec();
        flatten(charset, value, delimiter, &mut out);
        out
    }

    #[test]
    fn policies_parse() {
        assert_eq!("Quote".parse::<Unquoted>().unwrap(), Unquoted::Quote);
        assert_eq!("replace".parse::<Unquoted>().unwrap(), Unquoted::Replace);
        assert_eq!("fail".parse::<Unquoted>().unwrap(), Unquoted::Fail);
        assert_eq!(Unquoted::default(), Unquoted::Quote);
        let msg = "escape".parse::<Unquoted>().unwrap_err().to_string();
        assert!(msg.contains("\"escape\"") && msg.contains("\"quote\""), "{msg}");
    }

    #[test]
    fn breaking_characters_are_found_and_named() {
        let utf8 = Charset::UTF_8;
        assert_eq!(breaking_char(utf8, b"plain, text", b'|'), None);
        assert_eq!(breaking_char(utf8, b"a|b", b'|'), Some(b'|'));
        assert_eq!(breaking_char(utf8, b"a\rb", b'|'), Some(b'\r'));
        assert_eq!(breaking_char(utf8, b"say \"x\"", b','), Some(b'"'));
        assert_eq!(describe(b'|', b'|'), "the delimiter '|'");
        assert_eq!(describe(b'\t', b'\t'), "the delimiter (tab)");
        assert_eq!(describe(b'\n', b','), "a line break");
        assert_eq!(describe(b'"', b','), "a double quote (\")");
    }

    #[test]
    fn flatten_keeps_one_field_on_one_line() {
        let utf8 = Charset::UTF_8;
        assert_eq!(flat(utf8, b"a,b\r\nc\nd\re\"f\"", b','), b"a b c d e'f'");
        assert_eq!(flat(utf8, b"\r\n\r\n", b','), b"  ");
        assert_eq!(flat(utf8, b"clean|", b','), b"clean|");
        // With an apostrophe delimiter the double quote cannot become one.
        assert_eq!(flat(utf8, b"it's \"x\"", b'\''), b"it s  x ");
    }

    #[test]
    fn flatten_leaves_double_byte_characters_whole() {
        let sjis = Charset::parse("shift_jis").unwrap();
        // ポ (0x83 0x7C) has a trail byte equal to '|'.
        assert_eq!(flat(sjis, b"\x83\x7C|\x83\x7C", b'|'), b"\x83\x7C \x83\x7C");
        assert_eq!(breaking_char(sjis, b"\x83\x7C", b'|'), None);
    }
}
