//! Schedule rules from a script header: parsing and validation.
//!
//! The rule language mirrors the original tool's frequencies (none, daily,
//! weekly, monthly, yearly) and adds cron expressions, which are parsed by the
//! `croner` crate rather than by hand.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveTime, Weekday};

/// When a script runs on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Only by hand.
    None,
    /// Every day at a local time.
    Daily(NaiveTime),
    /// On the given weekdays (in week order) at a local time.
    Weekly(Vec<Weekday>, NaiveTime),
    /// On a day of the month (1–31) at a local time.
    Monthly(u32, NaiveTime),
    /// On a month and day at a local time.
    Yearly(u32, u32, NaiveTime),
    /// A cron expression (5 fields, or 6 with seconds first).
    Cron(String),
}

/// Why a schedule text was refused, written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

const FORMS: &str = "expected one of: none | daily at HH:MM | weekly on mon,thu at HH:MM | \
monthly on D at HH:MM | yearly on MM-DD at HH:MM | cron \"MIN HOUR DOM MON DOW\"";

fn err(msg: impl fmt::Display) -> ScheduleError {
    ScheduleError(format!("{msg}; {FORMS}"))
}

fn parse_time(s: &str) -> Result<NaiveTime, ScheduleError> {
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| err(format_args!("'{s}' is not a time of day (24-hour HH:MM)")))
}

fn parse_weekday(s: &str) -> Result<Weekday, ScheduleError> {
    Weekday::from_str(s).map_err(|_| err(format_args!("'{s}' is not a weekday (mon, tue, ...)")))
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        match words.as_slice() {
            [] | ["none"] => Ok(Schedule::None),
            ["cron", ..] => {
                let expr = text[4..].trim().trim_matches('"').trim();
                croner::Cron::new(expr)
                    .with_seconds_optional()
                    .parse()
                    .map_err(|e| err(format_args!("bad cron expression '{expr}': {e}")))?;
                Ok(Schedule::Cron(expr.to_string()))
            }
            ["daily", "at", t] => Ok(Schedule::Daily(parse_time(t)?)),
            ["weekly", "on", days, "at", t] => {
                let mut list = days
                    .split(',')
                    .map(|d| parse_weekday(d.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                list.sort_by_key(|d| d.num_days_from_monday());
                list.dedup();
                Ok(Schedule::Weekly(list, parse_time(t)?))
            }
            ["monthly", "on", d, "at", t] => match d.parse::<u32>() {
                Ok(day @ 1..=31) => Ok(Schedule::Monthly(day, parse_time(t)?)),
                _ => Err(err(format_args!("'{d}' is not a day of the month (1-31)"))),
            },
            ["yearly", "on", md, "at", t] => {
                let bad = || err(format_args!("'{md}' is not a month and day (MM-DD)"));
                let (m, d) = md.split_once('-').ok_or_else(bad)?;
                let (m, d) = (
                    m.parse::<u32>().map_err(|_| bad())?,
                    d.parse::<u32>().map_err(|_| bad())?,
                );
                // 2024 is a leap year, so 02-29 is accepted.
                chrono::NaiveDate::from_ymd_opt(2024, m, d).ok_or_else(bad)?;
                Ok(Schedule::Yearly(m, d, parse_time(t)?))
            }
            _ => Err(err(format_args!("'{text}' is not a schedule"))),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |t: &NaiveTime| t.format("%H:%M").to_string();
        match self {
            Schedule::None => write!(f, "none"),
            Schedule::Daily(at) => write!(f, "daily at {}", t(at)),
            Schedule::Weekly(days, at) => {
                let days: Vec<String> = days.iter().map(|d| d.to_string().to_lowercase()).collect();
                write!(f, "weekly on {} at {}", days.join(","), t(at))
            }
            Schedule::Monthly(d, at) => write!(f, "monthly on {d} at {}", t(at)),
            Schedule::Yearly(m, d, at) => write!(f, "yearly on {m:02}-{d:02} at {}", t(at)),
            Schedule::Cron(expr) => write!(f, "cron \"{expr}\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        for text in [
            "none",
            "daily at 02:30",
            "weekly on mon,thu at 06:00",
            "monthly on 1 at 01:00",
            "yearly on 08-15 at 00:00",
            "cron \"0 30 2 * * *\"",
        ] {
            let s: Schedule = text.parse().unwrap();
            assert_eq!(s.to_string(), text);
        }
        assert_eq!("".parse::<Schedule>().unwrap(), Schedule::None);
        assert_eq!(
            "weekly on thu,mon,mon at 6:00".parse::<Schedule>().unwrap(),
            Schedule::Weekly(
                vec![Weekday::Mon, Weekday::Thu],
                NaiveTime::from_hms_opt(6, 0, 0).unwrap()
            )
        );
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("daily at 25:00", "'25:00' is not a time of day"),
            ("weekly on mon,fun at 06:00", "'fun' is not a weekday"),
            ("monthly on 32 at 01:00", "'32' is not a day of the month"),
            ("yearly on 02-30 at 00:00", "'02-30' is not a month and day"),
            ("cron \"61 * * * *\"", "bad cron expression"),
            ("every day", "'every day' is not a schedule"),
        ];
        for (text, want) in cases {
            let e = text.parse::<Schedule>().unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains("daily at HH:MM"), "{e}");
        }
    }
}
