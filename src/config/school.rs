//! The school year and the demo district's options, as ferry.toml sets
//! them (`active_year`, `[demo]`). The demo builder reads these; they live
//! with the settings so that loading the configuration does not need it.

use chrono::{Datelike, NaiveDate};

/// The school year (named by the calendar year it ends in) that a date falls in: July 1 starts the next year.
///
/// Districts name years by the spring they end in, and summer belongs to the
/// year that is about to start, so August 2026 and May 2027 are both 2027.
pub fn school_year_for(date: NaiveDate) -> i32 {
    if date.month() >= 7 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// Sizing and seed of a demo district.
///
/// The seed and active year, not the clock, decide every value, so two
/// machines given the same options build identical databases.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Students enrolled in the active year (a few withdraw during it).
    ///
    /// The `student` table also holds about a fifth as many past students
    /// (the last two graduating classes and families who moved away), so the
    /// two earlier years are as full as the active one.
    pub students: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// The school year marked active, named by the calendar year it ends in.
    pub active_year: i32,
}

impl Default for DemoOptions {
    /// 2,000 students (five schools) in the current school year: big enough
    /// to look like a district, small enough to build in a blink.
    fn default() -> Self {
        DemoOptions {
            students: 2000,
            seed: 2026,
            active_year: school_year_for(chrono::Local::now().date_naive()),
        }
    }
}
