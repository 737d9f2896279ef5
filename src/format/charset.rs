//! Output character sets: turning each rendered UTF-8 value into the bytes of
//! the charset a vendor asked for, one field at a time.

use std::fmt;
use std::str::FromStr;

use deunicode::deunicode_char;
use encoding_rs::{EncoderResult, Encoding};

use super::framing::{self, AsciiBytes, Framing};
use super::FormatError;

/// The character set a file is written in.
///
/// Only ASCII-compatible charsets are accepted, because delimiters, quotes and
/// line breaks must stay single recognisable bytes. Parsing is by name, so a
/// script can say `charset: "windows-1252"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charset {
    repr: Repr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repr {
    Utf8,
    /// Seven-bit ASCII; encoding_rs would treat the label as windows-1252.
    Ascii,
    /// True ISO-8859-1 (U+0000..U+00FF as bytes). encoding_rs follows the
    /// WHATWG in reading the label as windows-1252, whose 0x80..0x9F are
    /// punctuation a strict Latin-1 reader sees as control characters.
    Latin1,
    /// Any other ASCII-compatible encoding encoding_rs knows.
    Legacy(&'static Encoding),
}

const ASCII_NAMES: &[&str] = &["us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us"];
const LATIN1_NAMES: &[&str] = &[
    "iso-8859-1",
    "iso8859-1",
    "iso88591",
    "iso_8859-1",
    "iso_8859-1:1987",
    "latin1",
    "l1",
    "cp819",
    "ibm819",
    "iso-ir-100",
    "csisolatin1",
];

impl Charset {
    /// UTF-8, the default: every character is representable.
    pub const UTF_8: Charset = Charset { repr: Repr::Utf8 };
    /// Seven-bit US-ASCII, still demanded by many older vendor importers.
    pub const US_ASCII: Charset = Charset { repr: Repr::Ascii };

    /// Looks a charset up by name, case-insensitively, so scripts can use the
    /// labels vendors write in their specifications.
    pub fn parse(name: &str) -> Result<Charset, FormatError> {
        let label = name.trim();
        let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(label));
        if is(ASCII_NAMES) {
            return Ok(Charset::US_ASCII);
        }
        if is(LATIN1_NAMES) {
            return Ok(Charset { repr: Repr::Latin1 });
        }
        let encoding =
            Encoding::for_label(label.as_bytes()).ok_or_else(|| FormatError::UnknownCharset(name.to_string()))?;
        if !encoding.is_ascii_compatible() {
            return Err(FormatError::NotAsciiCompatible(name.to_string()));
        }
        if encoding == encoding_rs::UTF_8 {
            return Ok(Charset::UTF_8);
        }
        Ok(Charset {
            repr: Repr::Legacy(encoding),
        })
    }

    /// The canonical name, as written in an HTML `<meta charset>` and in
    /// messages.
    pub fn name(&self) -> &'static str {
        match self.repr {
            Repr::Utf8 => "utf-8",
            Repr::Ascii => "us-ascii",
            Repr::Latin1 => "iso-8859-1",
            Repr::Legacy(e) => e.name(),
        }
    }

    /// Text for bytes written in this charset, to show a person what a
    /// file holds (every byte ferry wrote decodes).
    pub fn decode(&self, bytes: &[u8]) -> String {
        match self.repr {
            Repr::Utf8 | Repr::Ascii => String::from_utf8_lossy(bytes).into_owned(),
            Repr::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
            Repr::Legacy(e) => e.decode_without_bom_handling(bytes).0.into_owned(),
        }
    }

    /// True for UTF-8, the only charset a byte-order mark makes sense for.
    pub fn is_utf8(&self) -> bool {
        self.repr == Repr::Utf8
    }

    /// Converts one value, applying `unmappable` to characters the charset
    /// cannot hold.
    ///
    /// This is the hot path: the value's own bytes are returned, uncopied,
    /// when the charset is UTF-8 or the value is pure ASCII; otherwise the
    /// result is built in `scratch`, which the caller reuses across fields.
    pub fn encode<'a>(
        &self,
        field: &'a str,
        unmappable: Unmappable,
        scratch: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], Unencodable> {
        match unmappable {
            Unmappable::Transliterate => self.encode_with(field, scratch, |c, next, out| {
                out.extend_from_slice(transliterate(c, next).as_bytes());
                Ok(())
            }),
            Unmappable::Replace => self.encode_with(field, scratch, |_, _, out| {
                out.push(b'?');
                Ok(())
            }),
            Unmappable::Fail => {
                let charset = self.name();
                self.encode_with(field, scratch, |ch, _, _| Err(Unencodable { ch, charset }))
            }
        }
    }

    /// Converts markup text, writing characters the charset cannot hold as
    /// HTML numeric character references (`&#233;`): lossless, so HTML needs
    /// no unmappable policy.
    pub fn encode_with_char_refs<'a>(&self, text: &'a str, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        let encoded = self.encode_with(text, scratch, |c, _, out| {
            out.extend_from_slice(b"&#");
            out.extend_from_slice(itoa::Buffer::new().format(u32::from(c)).as_bytes());
            out.push(b';');
            Ok(())
        });
        match encoded {
            Ok(bytes) => bytes,
            Err(_) => unreachable!("character references never fail"),
        }
    }

    /// The positions and values of the bytes of `encoded` (output of this
    /// charset) that are ASCII characters in their own right, skipping trail
    /// bytes of double-byte characters, so delimiter checks see characters.
    pub(crate) fn ascii_bytes<'b>(&self, encoded: &'b [u8]) -> AsciiBytes<'b> {
        let framing = match self.repr {
            Repr::Legacy(e) => Framing::of(e),
            _ => Framing::Bytewise,
        };
        AsciiBytes::new(encoded, framing)
    }

    /// The length of the longest prefix of `encoded` (output of this
    /// charset) that fits in `max` bytes without splitting a character, for
    /// values cut to a fixed width.
    pub fn cut(&self, encoded: &[u8], max: usize) -> usize {
        let framing = match self.repr {
            Repr::Utf8 => Framing::Utf8,
            Repr::Ascii | Repr::Latin1 => Framing::Bytewise,
            Repr::Legacy(e) => Framing::of(e),
        };
        framing::cut(encoded, max, framing)
    }

    /// The shared conversion loop; `fallback` writes the stand-in for a
    /// character the charset lacks, given the character after it.
    fn encode_with<'a, F>(
        &self,
        text: &'a str,
        scratch: &'a mut Vec<u8>,
        mut fallback: F,
    ) -> Result<&'a [u8], Unencodable>
    where
        F: FnMut(char, Option<char>, &mut Vec<u8>) -> Result<(), Unencodable>,
    {
        let limit: u32 = match self.repr {
            Repr::Utf8 => return Ok(text.as_bytes()),
            _ if text.is_ascii() => return Ok(text.as_bytes()),
            Repr::Ascii => 0x7F,
            Repr::Latin1 => 0xFF,
            Repr::Legacy(encoding) => {
                scratch.clear();
                encode_legacy(encoding, text, scratch, fallback)?;
                return Ok(scratch);
            }
        };
        scratch.clear();
        scratch.reserve(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match u8::try_from(u32::from(c)) {
                Ok(b) if u32::from(b) <= limit => scratch.push(b),
                _ => fallback(c, chars.peek().copied(), scratch)?,
            }
        }
        Ok(scratch)
    }
}

/// Runs an encoding_rs encoder over `text`, handing unmappable characters to
/// `fallback`. Fallback output is ASCII, which every accepted charset writes
/// as itself, so it is appended directly.
fn encode_legacy<F>(
    encoding: &'static Encoding,
    text: &str,
    out: &mut Vec<u8>,
    mut fallback: F,
) -> Result<(), Unencodable>
where
    F: FnMut(char, Option<char>, &mut Vec<u8>) -> Result<(), Unencodable>,
{
    let mut encoder = encoding.new_encoder();
    let mut rest = text;
    loop {
        let start = out.len();
        let room = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len().saturating_mul(4).saturating_add(16));
        out.resize(start + room, 0);
        let (result, read, written) = encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
        out.truncate(start + written);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return Ok(()),
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(c) => fallback(c, rest.chars().next(), out)?,
        }
    }
}

/// The ASCII stand-in for `c`, exactly as `deunicode` would write it in
/// context: a multi-letter transliteration's trailing space ("Bei ") is
/// dropped at the end of the value or before a space. Unknown characters
/// become `?`.
fn transliterate(c: char, next: Option<char>) -> &'static str {
    let t = deunicode_char(c).unwrap_or("?");
    let trim =
        t.len() > 1 && t.ends_with(' ') && next.is_none_or(|n| deunicode_char(n).is_some_and(|s| s.starts_with(' ')));
    if trim {
        &t[..t.len() - 1]
    } else {
        t
    }
}

impl Default for Charset {
    fn default() -> Self {
        Charset::UTF_8
    }
}

impl FromStr for Charset {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Charset::parse(s)
    }
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to do with a character the output charset cannot hold.
///
/// Vendors' importers usually prefer a close ASCII spelling of a name to a
/// failed run, hence transliteration by default; `Fail` exists for feeds
/// where a silently altered value is worse than no file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unmappable {
    /// Write the closest ASCII spelling: é→e, ß→ss, “→", 北→Bei.
    #[default]
    Transliterate,
    /// Write `?` for each such character.
    Replace,
    /// Stop the run with an error naming the row, column and character.
    Fail,
}

impl FromStr for Unmappable {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = s.trim();
        if v.eq_ignore_ascii_case("transliterate") {
            Ok(Unmappable::Transliterate)
        } else if v.eq_ignore_ascii_case("replace") {
            Ok(Unmappable::Replace)
        } else if v.eq_ignore_ascii_case("fail") {
            Ok(Unmappable::Fail)
        } else {
            Err(FormatError::InvalidOption {
                option: "unmappable",
                value: s.to_string(),
                expected: "use \"transliterate\", \"replace\" or \"fail\"".into(),
            })
        }
    }
}

/// A character the output charset cannot hold, under [`Unmappable::Fail`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the character '{}' (U+{:04X}) cannot be written in {charset}", ch.escape_debug(), u32::from(*ch))]
pub struct Unencodable {
    /// The character.
    pub ch: char,
    pub charset: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(charset: &str, s: &str, policy: Unmappable) -> Result<Vec<u8>, Unencodable> {
        let mut scratch = Vec::new();
        let cs = Charset::parse(charset).unwrap();
        cs.encode(s, policy, &mut scratch).map(<[u8]>::to_vec)
    }

    #[test]
    fn names_parse_to_the_expected_charsets() {
        assert_eq!(Charset::parse("UTF-8").unwrap(), Charset::UTF_8);
        assert_eq!(Charset::parse("utf8").unwrap(), Charset::UTF_8);
        assert_eq!(Charset::parse(" US-ASCII ").unwrap(), Charset::US_ASCII);
        assert_eq!(Charset::parse("ascii").unwrap(), Charset::US_ASCII);
        assert_eq!(Charset::parse("latin1").unwrap().name(), "iso-8859-1");
        assert_eq!(Charset::parse("cp1252").unwrap().name(), "windows-1252");
        assert_eq!(Charset::parse("shift_jis").unwrap().name(), "Shift_JIS");
        assert_eq!("windows-1252".parse::<Charset>().unwrap().to_string(), "windows-1252");
    }

    #[test]
    fn utf16_and_unknown_names_are_refused_with_a_reason() {
        for name in ["utf-16", "UTF-16BE", "utf-16le"] {
            let e = Charset::parse(name).unwrap_err();
            assert!(matches!(e, FormatError::NotAsciiCompatible(_)), "{name}: {e:?}");
            assert!(e.to_string().contains("delimiters"), "{e}");
        }
        let e = Charset::parse("klingon").unwrap_err();
        assert!(matches!(e, FormatError::UnknownCharset(_)));
        assert!(e.to_string().contains("\"klingon\""), "{e}");
    }

    #[test]
    fn ascii_values_and_utf8_are_returned_uncopied() {
        let mut scratch = Vec::new();
        let plain = "Smith, John";
        let out = Charset::US_ASCII.encode(plain, Unmappable::Fail, &mut scratch).unwrap();
        assert_eq!(out.as_ptr(), plain.as_ptr());
        let accented = "Zoë";
        let out = Charset::UTF_8.encode(accented, Unmappable::Fail, &mut scratch).unwrap();
        assert_eq!(out.as_ptr(), accented.as_ptr());
        assert!(scratch.capacity() == 0, "scratch was touched");
    }

    #[test]
    fn us_ascii_transliterates_like_deunicode() {
        for s in ["Zoë Straße", "“quoted” ‚low‚", "北京 café", "Ærø ñ", "北 京", "北京"] {
            let got = enc("us-ascii", s, Unmappable::Transliterate).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), deunicode::deunicode(s), "{s}");
        }
        let got = enc("us-ascii", "“a”", Unmappable::Transliterate).unwrap();
        assert_eq!(got, b"\"a\"");
        // Unlike deunicode, ASCII control characters after a non-ASCII one
        // are kept: they are data, and the CSV layer quotes them.
        let got = enc("us-ascii", "é\tñ\r\n", Unmappable::Transliterate).unwrap();
        assert_eq!(got, b"e\tn\r\n");
    }

    #[test]
    fn replace_writes_one_question_mark_per_character() {
        assert_eq!(enc("us-ascii", "Zoë ß", Unmappable::Replace).unwrap(), b"Zo? ?");
        assert_eq!(enc("windows-1252", "é北", Unmappable::Replace).unwrap(), b"\xE9?");
    }

    #[test]
    fn fail_names_the_character_and_its_code_point() {
        let e = enc("us-ascii", "Renée", Unmappable::Fail).unwrap_err();
        assert_eq!(e.ch, 'é');
        assert_eq!(
            e.to_string(),
            "the character 'é' (U+00E9) cannot be written in us-ascii"
        );
        let e = enc("windows-1252", "a北", Unmappable::Fail).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the character '北' (U+5317) cannot be written in windows-1252"
        );
    }

    #[test]
    fn legacy_charsets_encode_and_transliterate_the_rest() {
        assert_eq!(enc("windows-1252", "é", Unmappable::Fail).unwrap(), [0xE9]);
        assert_eq!(
            enc("windows-1252", "“é”", Unmappable::Fail).unwrap(),
            [0x93, 0xE9, 0x94]
        );
        assert_eq!(
            enc("windows-1252", "北京é", Unmappable::Transliterate).unwrap(),
            b"Bei Jing \xE9"
        );
        assert_eq!(
            enc("shift_jis", "日本", Unmappable::Fail).unwrap(),
            [0x93, 0xFA, 0x96, 0x7B]
        );
    }

    #[test]
    fn latin1_is_strict_rather_than_windows_1252() {
        assert_eq!(
            enc("iso-8859-1", "é\u{A0}ÿ", Unmappable::Fail).unwrap(),
            [0xE9, 0xA0, 0xFF]
        );
        // Curly quotes live at 0x93/0x94 only in windows-1252.
        assert_eq!(
            enc("iso-8859-1", "“é”", Unmappable::Transliterate).unwrap(),
            b"\"\xE9\""
        );
        assert!(enc("latin1", "€", Unmappable::Fail).is_err());
    }

    #[test]
    fn char_refs_make_any_text_lossless() {
        let mut scratch = Vec::new();
        let out = Charset::US_ASCII.encode_with_char_refs("é€<", &mut scratch);
        assert_eq!(out, b"&#233;&#8364;<");
        let cs = Charset::parse("windows-1252").unwrap();
        assert_eq!(cs.encode_with_char_refs("é€北", &mut scratch), b"\xE9\x80&#21271;");
    }

    #[test]
    fn unmappable_policy_parses_case_insensitively() {
        assert_eq!(
            "Transliterate".parse::<Unmappable>().unwrap(),
            Unmappable::Transliterate
        );
        assert_eq!("replace".parse::<Unmappable>().unwrap(), Unmappable::Replace);
        assert_eq!("FAIL".parse::<Unmappable>().unwrap(), Unmappable::Fail);
        let e = "drop".parse::<Unmappable>().unwrap_err().to_string();
        assert!(e.contains("\"drop\"") && e.contains("transliterate"), "{e}");
        assert_eq!(Unmappable::default(), Unmappable::Transliterate);
    }
}
