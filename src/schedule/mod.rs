//! Schedule rules from a script header: parsing, validation, and next-run
//! computation.
//!
//! The rule language mirrors the original tool's frequencies (none, daily,
//! weekly, monthly, yearly) and adds cron expressions, which are parsed by the
//! `croner` crate rather than by hand.
//!
//! # When a rule runs
//!
//! [`Schedule::next_after`] and [`Schedule::latest_at_or_before`] turn a rule
//! and the script's time zone into UTC instants. They are pure functions of
//! their arguments.
//!
//! - **Wall-clock times.** The times in daily, weekly, monthly and yearly rules
//!   and the fields of cron expressions are local wall-clock times in the
//!   script's `timezone`. "daily at 02:30" in America/Chicago is 08:30 UTC in
//!   winter and 07:30 UTC in summer.
//! - **Spring forward.** A wall-clock time that does not exist that day (it
//!   falls in the hour the clocks skip) runs once, at the first instant after
//!   the gap: 02:30 America/Chicago on 2026-03-08 runs at 03:00 CDT. Several
//!   skipped times collapse into that one run.
//! - **Fall back.** A wall-clock time that occurs twice runs once, at its first
//!   (daylight-time) occurrence: 01:30 America/Chicago on 2026-11-01 runs at
//!   01:30 CDT and not again at 01:30 CST. A daily rule therefore runs exactly
//!   once on every calendar day, change days included.
//! - **Short months.** "monthly on D" runs on the month's last day when the
//!   month has fewer than D days (31 → 30 April, 28 or 29 February), because
//!   people who ask for "monthly" expect a run every month. "yearly on 02-29"
//!   runs on 02-28 in common years for the same reason.
//! - **Weekly** rules list one or more weekdays (`weekly on mon,thu at 06:00`).
//! - **Cron** expressions (5 fields, or 6 with seconds first) are matched by
//!   croner against the wall clock. A cron whose hour field names particular
//!   hours (`30 1 * * *`, `0 */6 * * *`) is a fixed-time rule and follows the
//!   two DST rules above. A cron whose hour field matches every hour (`*/15 *
//!   * * *`, `0 * * * *`) is an interval rule and follows the real clock: it
//!   runs at matching readings in both passes of a repeated hour and at none in
//!   a skipped hour, so it keeps its real-time spacing across a change (the
//!   convention of Vixie cron for wildcard jobs). Cron's own calendar applies:
//!   `0 0 31 * *` skips short months and `0 0 29 2 *` runs in leap years only;
//!   use the monthly and yearly forms for the month-end fallback. An expression
//!   that can never match (`0 0 30 2 *`) is refused when the header is read.
//! - **Catch-up.** [`Schedule::latest_at_or_before`] looks back at most 400
//!   days, enough for a yearly rule after a long outage.
//!
//! croner is given only zone-less (UTC) times: its own zone handling returns,
//! for a start inside the second pass of a repeated hour, an occurrence
//! *before* the start, and it skips the repeated hour of interval crons. The
//! zone is applied by this module instead (see `zone.rs`).

mod next;
mod zone;

pub(crate) use zone::labelled;

#[cfg(test)]
mod next_tests;

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

/// The one way a cron expression is read, shared by validation and next-run
/// computation so both agree on the dialect (seconds field optional).
fn parse_cron(expr: &str) -> Result<croner::Cron, croner::errors::CronError> {
    croner::Cron::new(expr).with_seconds_optional().parse()
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
                let cron = parse_cron(expr).map_err(|e| err(format_args!("bad cron expression '{expr}': {e}")))?;
                // croner searches to year 5000 before giving up, so this only
                // costs time for the expressions it refuses.
                let epoch = chrono::DateTime::UNIX_EPOCH;
                if cron.find_next_occurrence(&epoch, true).is_err() {
                    return Err(err(format_args!("cron expression '{expr}' never matches a date")));
                }
                Ok(Schedule::Cron(expr.to_string()))
            }
            ["daily", "at", t] => Ok(Schedule::Daily(parse_time(t)?)),
            ["weekly", "on", days, "at", t] => {
                let mut list = days
                    .split(',')
                    .map(|d| parse_weekday(d.trim()))
                    .collect::<Result<Vec<_>, _>>()?;
                list.sort_by_key(chrono::Weekday::num_days_from_monday);
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
            ("cron \"0 0 30 2 *\"", "never matches"),
            ("every day", "'every day' is not a schedule"),
        ];
        for (text, want) in cases {
            let e = text.parse::<Schedule>().unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(e.contains("daily at HH:MM"), "{e}");
        }
    }
}
