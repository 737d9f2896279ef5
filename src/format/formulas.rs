//! Values a spreadsheet would run as formulas (CSV injection): a cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return. Vendor files
//! read by programs keep them; files people open in a spreadsheet escape
//! them the way OWASP advises, with a leading single quote.

use std::str::FromStr;

use super::FormatError;

/// What a delimited writer does with a value that starts like a formula.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Formulas {
    /// Write it as it is: the file is read by a program, and an altered
    /// value would be a wrong value.
    #[default]
    Keep,
    /// Prefix it with `'`, which a spreadsheet shows as text.
    Escape,
    /// Stop the run with an error naming the row and column.
    Fail,
}

impl FromStr for Formulas {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "keep" => Ok(Formulas::Keep),
            "escape" => Ok(Formulas::Escape),
            "fail" => Ok(Formulas::Fail),
            _ => Err(FormatError::InvalidOption {
                option: "formulas",
                value: s.to_string(),
                expected: "use \"keep\", \"escape\" or \"fail\"".into(),
            }),
        }
    }
}

/// True when a spreadsheet would take `value` for a formula. A plain number
/// (`-3.00`, `+1e5`) is a number there, not a formula, and is left alone.
pub(super) fn is_formula(value: &str) -> bool {
    match value.as_bytes().first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        // A number goes on with a digit or a point; "-inf", "+nan" and "--1"
        // are text a spreadsheet would still evaluate.
        Some(b'+' | b'-') => {
            !value[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') || value[1..].parse::<f64>().is_err()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starts_are_found_and_numbers_are_not() {
        for v in [
            "=cmd|' /C calc'!A0",
            "@SUM(A1)",
            "+A1",
            "-2+3",
            "\tx",
            "\rx",
            "-",
            "+",
            "-inf",
            "+nan",
        ] {
            assert!(is_formula(v), "{v:?}");
        }
        for v in ["-3.00", "+1e5", "12", "", "a=b", "O'Brien", "--1"] {
            assert_eq!(is_formula(v), v == "--1", "{v:?}");
        }
        assert_eq!("ESCAPE".parse::<Formulas>().unwrap(), Formulas::Escape);
        assert!("quote".parse::<Formulas>().is_err());
    }
}
