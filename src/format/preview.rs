//! The first lines of a written file as a person can check them: the bytes
//! the vendor receives (after charset conversion, transliteration, quoting
//! and line ends), decoded from the file's charset, with the characters a
//! terminal would hide made visible.

use std::io::Read;
use std::path::Path;

use super::Charset;

/// How much of a file is read for its first lines.
const READ_AT_MOST: u64 = 256 * 1024;

/// The first `max` lines of the file at `path`, written in `charset`. A
/// carriage return shows as `␍` (so a CRLF line ends in `␍`), a tab as `␉`,
/// other control characters as their Unicode control pictures, and a
/// UTF-8 byte-order mark as `[BOM]`.
pub fn first_lines(path: &Path, charset: Charset, max: usize) -> std::io::Result<Vec<String>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(READ_AT_MOST).read_to_end(&mut bytes)?;
    let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) if charset.is_utf8() => ("[BOM]", rest),
        _ => ("", &bytes[..]),
    };
    let mut lines: Vec<String> = body
        .split_inclusive(|&b| b == b'\n')
        .take(max)
        .map(|line| visible(&charset.decode(line.strip_suffix(b"\n").unwrap_or(line))))
        .collect();
    if let Some(first) = lines.first_mut() {
        first.insert_str(0, bom);
    }
    Ok(lines)
}

fn visible(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(c),
            '\u{7f}' => '␡',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_tabs_and_the_bom_are_shown_and_latin1_is_decoded() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f.txt");
        std::fs::write(&f, b"\xEF\xBB\xBFid\tname\r\n1\t\"a\nb\"\r\n").unwrap();
        assert_eq!(
            first_lines(&f, Charset::UTF_8, 10).unwrap(),
            ["[BOM]id␉name␍", "1␉\"a", "b\"␍"]
        );
        assert_eq!(first_lines(&f, Charset::UTF_8, 1).unwrap(), ["[BOM]id␉name␍"]);
        std::fs::write(&f, b"C\xe9sar\n").unwrap();
        let latin1 = Charset::parse("latin1").unwrap();
        assert_eq!(first_lines(&f, latin1, 10).unwrap(), ["César"]);
    }
}
