//! Character boundaries in encoded bytes: which bytes below 0x80 really are
//! ASCII characters, and which are trail bytes of a double-byte character.
//!
//! Shift_JIS, Big5, EUC-KR and GBK reuse ASCII byte values (`|`, `~`, `\`,
//! letters) as the second byte of a character, so a check for delimiters or
//! quotes in encoded output must step over whole characters.

use encoding_rs::Encoding;

/// How a charset's output groups bytes into characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Every byte below 0x80 is an ASCII character (UTF-8, ISO-8859 and
    /// Windows single-byte charsets, EUC-JP).
    Bytewise,
    /// Shift_JIS: leads 0x81..0x9F and 0xE0..0xFC take one trail byte.
    ShiftJis,
    /// Big5 and EUC-KR (UHC): leads 0x81..0xFE take one trail byte.
    DoubleByte,
    /// GBK and gb18030: a lead followed by a digit starts a four-byte
    /// sequence, otherwise a two-byte one.
    Gb,
}

impl Framing {
    /// The framing of an encoding_rs encoding's output.
    pub(crate) fn of(encoding: &'static Encoding) -> Framing {
        if encoding == encoding_rs::SHIFT_JIS {
            Framing::ShiftJis
        } else if encoding == encoding_rs::BIG5 || encoding == encoding_rs::EUC_KR {
            Framing::DoubleByte
        } else if encoding == encoding_rs::GBK || encoding == encoding_rs::GB18030 {
            Framing::Gb
        } else {
            Framing::Bytewise
        }
    }

    /// The length of the character starting with `lead`, given the byte
    /// after it.
    fn char_len(self, lead: u8, next: Option<u8>) -> usize {
        let multi = match self {
            Framing::Bytewise => false,
            Framing::ShiftJis => matches!(lead, 0x81..=0x9F | 0xE0..=0xFC),
            Framing::DoubleByte | Framing::Gb => matches!(lead, 0x81..=0xFE),
        };
        match (multi, self) {
            (false, _) => 1,
            (true, Framing::Gb) if matches!(next, Some(0x30..=0x39)) => 4,
            (true, _) => 2,
        }
    }
}

/// Iterator of `(offset, byte)` over the standalone ASCII characters of an
/// encoded value, skipping the bytes of multi-byte characters.
pub(crate) struct AsciiBytes<'b> {
    bytes: &'b [u8],
    at: usize,
    framing: Framing,
}

impl<'b> AsciiBytes<'b> {
    /// Walks `bytes`, the output of a charset framed as `framing`.
    pub(crate) fn new(bytes: &'b [u8], framing: Framing) -> Self {
        AsciiBytes { bytes, at: 0, framing }
    }
}

impl Iterator for AsciiBytes<'_> {
    type Item = (usize, u8);

    fn next(&mut self) -> Option<(usize, u8)> {
        while let Some(&b) = self.bytes.get(self.at) {
            let at = self.at;
            self.at += self.framing.char_len(b, self.bytes.get(at + 1).copied());
            if b < 0x80 {
                return Some((at, b));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Charset, Unmappable};

    #[test]
    fn trail_bytes_are_not_reported_as_ascii() {
        let sjis = Charset::parse("shift_jis").unwrap();
        let mut scratch = Vec::new();
        // ポ is 0x83 0x7C in Shift_JIS: its trail byte looks like '|'.
        let bytes = sjis.encode("ポ|", Unmappable::Fail, &mut scratch).unwrap();
        assert_eq!(bytes, [0x83, 0x7C, b'|']);
        let found: Vec<_> = sjis.ascii_bytes(bytes).collect();
        assert_eq!(found, [(2, b'|')]);
        // Bytewise charsets report every ASCII byte.
        let found: Vec<_> = Charset::UTF_8.ascii_bytes("é|\"".as_bytes()).collect();
        assert_eq!(found, [(2, b'|'), (3, b'"')]);
        // gb18030 four-byte sequences contain digits that are not characters.
        let gb = Charset::parse("gb18030").unwrap();
        let bytes = gb.encode("\u{80}1", Unmappable::Fail, &mut scratch).unwrap();
        assert_eq!(bytes.len(), 5, "{bytes:x?}");
        let found: Vec<_> = gb.ascii_bytes(bytes).collect();
        assert_eq!(found, [(4, b'1')]);
    }

    #[test]
    fn encodings_get_their_framing() {
        assert_eq!(Framing::of(encoding_rs::SHIFT_JIS), Framing::ShiftJis);
        assert_eq!(Framing::of(encoding_rs::BIG5), Framing::DoubleByte);
        assert_eq!(Framing::of(encoding_rs::EUC_KR), Framing::DoubleByte);
        assert_eq!(Framing::of(encoding_rs::GBK), Framing::Gb);
        assert_eq!(Framing::of(encoding_rs::WINDOWS_1252), Framing::Bytewise);
        assert_eq!(Framing::of(encoding_rs::EUC_JP), Framing::Bytewise);
    }

    #[test]
    fn big5_trail_bytes_are_skipped() {
        let big5 = Charset::parse("big5").unwrap();
        let mut scratch = Vec::new();
        // 功 is 0xA5 0x5C in Big5: its trail byte is a backslash.
        let bytes = big5.encode("功~", Unmappable::Fail, &mut scratch).unwrap();
        assert_eq!(bytes, [0xA5, 0x5C, b'~']);
        let found: Vec<_> = big5.ascii_bytes(bytes).collect();
        assert_eq!(found, [(2, b'~')]);
    }
}
