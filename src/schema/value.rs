//! Casting a cell's text to its field's type, as Table Schema defines the
//! types and their default formats.

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::model::{Kind, StringFormat, Typed};

/// The value as its type, or `None` when the text is not one.
pub(crate) fn cast(kind: &Kind, s: &str) -> Option<Typed> {
    match kind {
        Kind::String(f) => string(*f, s).then_some(Typed::Text),
        Kind::Integer => integer(s).then(|| s.parse::<f64>().ok()).flatten().map(Typed::Number),
        Kind::Number => {
            let ok = !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                && s.bytes().any(|b| b.is_ascii_digit());
            ok.then(|| s.parse::<f64>().ok()).flatten().map(Typed::Number)
        }
        Kind::Year => (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Typed::Number(s.parse::<f64>().unwrap_or_default())),
        Kind::Boolean { yes, no } => {
            if yes.iter().any(|v| v == s) {
                Some(Typed::Bool(true))
            } else if no.iter().any(|v| v == s) {
                Some(Typed::Bool(false))
            } else {
                None
            }
        }
        Kind::Date(None) => (s.len() == 10)
            .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .flatten()
            .map(Typed::Date),
        Kind::Date(Some(p)) => NaiveDate::parse_from_str(s, p).ok().map(Typed::Date),
        Kind::Datetime(None) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.naive_utc())
            .ok()
            .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
            .map(Typed::Datetime),
        Kind::Datetime(Some(p)) => NaiveDateTime::parse_from_str(s, p).ok().map(Typed::Datetime),
    }
}

fn integer(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn string(f: StringFormat, s: &str) -> bool {
    match f {
        StringFormat::Any => true,
        // The pattern frictionless itself uses: something@something.something.
        StringFormat::Email => match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain
                        .split_once('.')
                        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            }
            None => false,
        },
        StringFormat::Uri => match s.split_once(':') {
            Some((scheme, rest)) => {
                scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
                    && !rest.is_empty()
                    && !rest.contains(char::is_whitespace)
            }
            None => false,
        },
        StringFormat::Uuid => uuid::Uuid::try_parse(s).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_take_their_default_formats() {
        assert!(cast(&Kind::Integer, "-12").is_some());
        assert!(cast(&Kind::Integer, "1.5").is_none());
        assert!(cast(&Kind::Integer, "").is_none());
        assert_eq!(cast(&Kind::Number, "1.5e3"), Some(Typed::Number(1500.0)));
        assert!(cast(&Kind::Number, "nan").is_none());
        assert!(cast(&Kind::Year, "2027").is_some());
        assert!(cast(&Kind::Year, "27").is_none());
        assert!(cast(&Kind::Date(None), "2026-02-28").is_some());
        assert!(cast(&Kind::Date(None), "2026-02-30").is_none());
        assert!(cast(&Kind::Date(None), "02/28/2026").is_none());
        assert!(cast(&Kind::Date(Some("%m/%d/%Y".into())), "02/28/2026").is_some());
        assert!(cast(&Kind::Datetime(None), "2026-12-07T03:30:00.000Z").is_some());
        assert!(cast(&Kind::Datetime(None), "2026-12-07").is_none());
        let b = Kind::Boolean {
            yes: vec!["true".into()],
            no: vec!["false".into()],
        };
        assert_eq!(cast(&b, "false"), Some(Typed::Bool(false)));
        assert!(cast(&b, "TRUE").is_none());
        assert!(cast(&Kind::String(StringFormat::Email), "a.b@c.org").is_some());
        assert!(cast(&Kind::String(StringFormat::Email), "a.b@corg").is_none());
    }
}
