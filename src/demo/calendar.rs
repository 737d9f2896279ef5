//! School-year calendars: which days the demo district is open, derived from the year alone.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The earliest active year the demo supports.
///
/// Three years of history are generated and students are born up to twenty
/// years before that, so the bounds keep every date a four-digit year.
pub(crate) const MIN_YEAR: i32 = 1925;

/// The latest active year the demo supports (see [`MIN_YEAR`]).
pub(crate) const MAX_YEAR: i32 = 9998;

/// How many school days of the active year have "happened" in the demo world.
///
/// Attendance, mid-year arrivals and withdrawals all fall inside this window so
/// the data never depends on today's date, only on the active year.
pub(crate) const ELAPSED_DAYS: usize = 100;

#[cfg(test)]
use crate::config::school_year_for;

/// The human label of a school year, e.g. `2026-27` for the year ending in 2027.
pub(crate) fn label(end_year: i32) -> String {
    format!("{}-{:02}", end_year - 1, end_year.rem_euclid(100))
}

/// One school year's dates, as the generator needs them.
#[derive(Clone, Debug)]
pub(crate) struct Calendar {
    /// The year's official first day (August 15), stored in `school_year`.
    pub start: NaiveDate,
    /// The year's official last day (June 5), stored in `school_year`.
    pub end: NaiveDate,
    /// Every weekday between `start` and `end` that is not a holiday.
    pub days: Vec<NaiveDate>,
    /// The last school day of semester 1 (before winter break).
    pub s1_end: NaiveDate,
    /// The first school day of semester 2 (after winter break).
    pub s2_start: NaiveDate,
}

impl Calendar {
    /// Builds the calendar of the school year ending in `end_year`.
    ///
    /// Returns `None` only when the year is outside what chrono can represent,
    /// which the caller has already ruled out with [`MIN_YEAR`]/[`MAX_YEAR`].
    pub(super) fn new(end_year: i32) -> Option<Self> {
        let first = end_year - 1;
        let start = NaiveDate::from_ymd_opt(first, 8, 15)?;
        let end = NaiveDate::from_ymd_opt(end_year, 6, 5)?;
        let break_start = NaiveDate::from_ymd_opt(first, 12, 22)?;
        let break_end = NaiveDate::from_ymd_opt(end_year, 1, 2)?;
        let spring_break = NaiveDate::from_weekday_of_month_opt(end_year, 3, Weekday::Mon, 3)?;
        let thanksgiving = NaiveDate::from_weekday_of_month_opt(first, 11, Weekday::Thu, 4)?;
        let holidays = [
            NaiveDate::from_weekday_of_month_opt(first, 9, Weekday::Mon, 1)?, // Labor Day
            thanksgiving,
            thanksgiving.succ_opt()?,
            NaiveDate::from_weekday_of_month_opt(end_year, 1, Weekday::Mon, 3)?, // MLK Day
            memorial_day(end_year)?,
        ];
        let mut days = Vec::with_capacity(190);
        let mut day = start;
        while day <= end {
            let weekday = day.weekday();
            let in_winter_break = day >= break_start && day <= break_end;
            let in_spring_break = day >= spring_break && day < spring_break + Days::new(5);
            if weekday != Weekday::Sat
                && weekday != Weekday::Sun
                && !in_winter_break
                && !in_spring_break
                && !holidays.contains(&day)
            {
                days.push(day);
            }
            day = day.succ_opt()?;
        }
        let s1_end = *days.iter().rev().find(|d| **d < break_start)?;
        let s2_start = *days.iter().find(|d| **d > break_end)?;
        Some(Calendar {
            start,
            end,
            days,
            s1_end,
            s2_start,
        })
    }

    /// The school days that have already happened in the demo world.
    pub(super) fn elapsed(&self) -> &[NaiveDate] {
        &self.days[..ELAPSED_DAYS.min(self.days.len())]
    }
}

/// The last Monday of May, the year's final holiday.
fn memorial_day(year: i32) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, 5, Weekday::Mon, 5)
        .or_else(|| NaiveDate::from_weekday_of_month_opt(year, 5, Weekday::Mon, 4))
}

/// The text SQLite stores for a date: `YYYY-MM-DD`, which sorts and compares correctly.
///
/// Formatted by hand: chrono's `format` re-parses its pattern on every call,
/// which dominates the build time of a large district in a debug build.
pub(crate) fn iso(date: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn july_first_starts_the_next_school_year() {
        assert_eq!(school_year_for(d(2026, 6, 30)), 2026);
        assert_eq!(school_year_for(d(2026, 7, 1)), 2027);
        assert_eq!(school_year_for(d(2027, 1, 15)), 2027);
        assert_eq!(school_year_for(d(2026, 12, 31)), 2027);
    }

    #[test]
    fn labels_name_both_calendar_years() {
        assert_eq!(label(2027), "2026-27");
        assert_eq!(label(2000), "1999-00");
        assert_eq!(label(2010), "2009-10");
    }

    #[test]
    fn school_days_are_weekdays_inside_the_year_without_holidays() {
        let cal = Calendar::new(2027).unwrap();
        assert_eq!(cal.start, d(2026, 8, 15));
        assert_eq!(cal.end, d(2027, 6, 5));
        assert!(cal.days.len() > 160 && cal.days.len() < 200, "{}", cal.days.len());
        for day in &cal.days {
            assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
            assert!(*day >= cal.start && *day <= cal.end);
        }
        assert!(!cal.days.contains(&d(2026, 9, 7)), "Labor Day 2026");
        assert!(!cal.days.contains(&d(2026, 11, 26)), "Thanksgiving 2026");
        assert!(!cal.days.contains(&d(2026, 12, 28)), "winter break");
        assert!(cal.days.windows(2).all(|w| w[0] < w[1]));
        assert!(cal.s1_end < cal.s2_start);
        assert_eq!(cal.elapsed().len(), ELAPSED_DAYS);
        assert!(*cal.elapsed().last().unwrap() > cal.s2_start);
    }

    #[test]
    fn extreme_supported_years_have_calendars() {
        assert!(Calendar::new(MIN_YEAR - 2).is_some());
        assert!(Calendar::new(MAX_YEAR).is_some());
        assert_eq!(iso(d(987, 3, 4)), "0987-03-04");
    }
}
