//! Character boundaries in encoded bytes: which bytes below 0x80 really are
//! ASCII characters, which are trail bytes of a double-byte character, and
//! where a value may be cut without splitting a character.
//!
//! Shift_JIS, Big5, EUC-KR and GBK reuse ASCII byte values (`|`, `~`, `\`,
//! letters) as the second byte of a character, so a check for delimiters or
//! quotes in encoded output must step over whole characters; and a fixed-width
//! field cut in the middle of any multi-byte character would make the rest of
//! the record unreadable.

use encoding_rs::Encoding;

/// How a charset's output groups bytes into characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One byte is one character (US-ASCII, ISO-8859 and Windows
    /// single-byte charsets).
    Bytewise,
    /// UTF-8: a lead byte's high bits say how many bytes follow.
    Utf8,
    /// EUC-JP: 0x8F starts three bytes, 0x8E and 0xA1..0xFE two. Its trail
    /// bytes are all 0x80 or above, so for ASCII checks it is bytewise.
    EucJp,
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
        } else if encoding == encoding_rs::EUC_JP {
            Framing::EucJp
        } else if encoding == encoding_rs::UTF_8 {
            Framing::Utf8
        } else {
            Framing::Bytewise
        }
    }

    /// The length of the character starting with `lead`, given the byte
    /// after it.
    fn char_len(self, lead: u8, next: Option<u8>) -> usize {
        let multi = match self {
            Framing::Bytewise => false,
            Framing::Utf8 => {
                return match lead {
                    0xF0..=0xFF => 4,
                    0xE0..=0xEF => 3,
                    0xC0..=0xDF => 2,
                    _ => 1,
                }
            }
            Framing::EucJp => {
                return match lead {
                    0x8F => 3,
                    0x8E | 0xA1..=0xFE => 2,
                    _ => 1,
                }
            }
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

/// The longest prefix of `bytes` (output of a charset framed as `framing`)
/// that is at most `max` bytes and ends on a character boundary.
pub(crate) fn cut(bytes: &[u8], max: usize, framing: Framing) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    if framing == Framing::Bytewise {
        return max;
    }
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let next = at + framing.char_len(b, bytes.get(at + 1).copied());
        if next > max {
            break;
        }
        at = next;
    }
    at
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
        assert_eq!(Framing::of(encoding_rs::EUC_JP), Framing::EucJp);
        assert_eq!(Framing::of(encoding_rs::UTF_8), Framing::Utf8);
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

    #[test]
    fn cuts_never_split_a_character() {
        let mut scratch = Vec::new();
        // é is two bytes in UTF-8, 北 three: "aé北" is a, é, 北 at 0, 1, 3.
        let utf8 = "aé北".as_bytes();
        let cuts: Vec<usize> = (0..=7).map(|m| cut(utf8, m, Framing::Utf8)).collect();
        assert_eq!(cuts, [0, 1, 1, 3, 3, 3, 6, 6]);
        let cs = Charset::parse("shift_jis").unwrap();
        let sjis = cs.encode("aポb", Unmappable::Fail, &mut scratch).unwrap().to_vec();
        assert_eq!(sjis, [b'a', 0x83, 0x7C, b'b']);
        let cuts: Vec<usize> = (0..=4).map(|m| cut(&sjis, m, Framing::ShiftJis)).collect();
        assert_eq!(cuts, [0, 1, 1, 3, 4]);
        // 0x8F starts a three-byte EUC-JP character.
        let euc = [b'a', 0x8F, 0xA2, 0xAF, b'b'];
        let cuts: Vec<usize> = (0..=5).map(|m| cut(&euc, m, Framing::EucJp)).collect();
        assert_eq!(cuts, [0, 1, 1, 1, 4, 5]);
        assert_eq!(cut(b"\xE9\xE9\xE9", 2, Framing::Bytewise), 2);
    }
}
