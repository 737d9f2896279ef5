//! Exact sums of decimal text, for the control totals of trailer records.
//!
//! A control total is compared digit for digit by the agency that receives
//! it, so it is added in base ten from the rendered text (`0.10` three times
//! is `0.30`), never through binary floating point. 38 significant digits
//! (an `i128`) hold any total a district file has; a larger one is an error,
//! not a rounded figure.

use std::fmt;

/// Why a value could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SumError {
    /// The text is not `[+-]digits[.digits]`.
    NotANumber,
    /// The total needs more than 38 digits.
    TooLarge,
}

/// A running total: `units / 10^scale`, the scale being the most fraction
/// digits of any value added, so `1.5 + 2.25` is written `3.75` and
/// `0.10 + 0.20` keeps its two digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct DecimalSum {
    units: i128,
    scale: u32,
}

/// Most fraction digits kept.
const MAX_SCALE: u32 = 38;

impl DecimalSum {
    /// Adds one value as a database renders it: an optional sign, digits,
    /// optionally a point and more digits; surrounding spaces (a padded
    /// CHAR column) are ignored.
    pub(super) fn add(&mut self, text: &str) -> Result<(), SumError> {
        let (units, scale) = parse(text.trim_matches(' '))?;
        let scale_to = self.scale.max(scale);
        let mine = rescale(self.units, scale_to - self.scale)?;
        let theirs = rescale(units, scale_to - scale)?;
        self.units = mine.checked_add(theirs).ok_or(SumError::TooLarge)?;
        self.scale = scale_to;
        Ok(())
    }
}

fn rescale(units: i128, by: u32) -> Result<i128, SumError> {
    10i128
        .checked_pow(by)
        .and_then(|f| units.checked_mul(f))
        .ok_or(SumError::TooLarge)
}

fn parse(text: &str) -> Result<(i128, u32), SumError> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return Err(SumError::NotANumber);
    }
    let scale = u32::try_from(fraction.len()).map_err(|_| SumError::TooLarge)?;
    if scale > MAX_SCALE {
        return Err(SumError::TooLarge);
    }
    let mut units: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        units = units
            .checked_mul(10)
            .and_then(|u| u.checked_add(i128::from(b - b'0')))
            .ok_or(SumError::TooLarge)?;
    }
    Ok((if negative { -units } else { units }, scale))
}

impl fmt::Display for DecimalSum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        if self.units < 0 {
            f.write_str("-")?;
        }
        f.write_str(whole)?;
        if scale > 0 {
            write!(f, ".{fraction}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(values: &[&str]) -> Result<String, SumError> {
        let mut s = DecimalSum::default();
        for v in values {
            s.add(v)?;
        }
        Ok(s.to_string())
    }

    #[test]
    fn sums_are_exact_in_base_ten() {
        assert_eq!(sum(&["0.10", "0.10", "0.10"]).unwrap(), "0.30");
        assert_eq!(sum(&["0.1", "0.2"]).unwrap(), "0.3");
        assert_eq!(sum(&["1.5", "2.25", "3"]).unwrap(), "6.75");
        assert_eq!(sum(&["-12.50", "2.5"]).unwrap(), "-10.00");
        assert_eq!(sum(&["-0.05", "0.01"]).unwrap(), "-0.04");
        assert_eq!(sum(&["+7", " 3 ", ".5", "5."]).unwrap(), "15.5");
        assert_eq!(sum(&[]).unwrap(), "0");
        assert_eq!(
            sum(&["9223372036854775807", "9223372036854775807"]).unwrap(),
            "18446744073709551614"
        );
    }

    #[test]
    fn what_is_not_a_plain_decimal_is_refused() {
        for bad in [
            "", "-", ".", "1e5", "NaN", "Infinity", "1,000", "12.5.1", "0x10", "--1", "1 2",
        ] {
            assert_eq!(sum(&[bad]), Err(SumError::NotANumber), "{bad:?}");
        }
        let huge = "9".repeat(38);
        assert_eq!(sum(&[&huge, &huge]).unwrap_err(), SumError::TooLarge);
        assert_eq!(
            sum(&["1", &format!("0.{}", "9".repeat(38))]).unwrap_err(),
            SumError::TooLarge
        );
    }
}
