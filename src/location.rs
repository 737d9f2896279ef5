//! Turning byte offsets into the 1-based line numbers people read in errors.

/// The 1-based line holding byte `offset` of `text`.
pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_lines_from_one() {
        assert_eq!(super::line_of_offset("a\nb\nc", 0), 1);
        assert_eq!(super::line_of_offset("a\nb\nc", 2), 2);
        assert_eq!(super::line_of_offset("a\nb\nc", 99), 3);
    }
}
