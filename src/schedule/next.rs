//! Next-run and latest-run computation (the rules are in the module docs of
//! [`crate::schedule`]).
//!
//! Each rule is first a set of wall-clock date-times ("02:30 every day");
//! [`Local`] enumerates them forwards and backwards, with no time zone. The
//! zone is applied afterwards: fixed-time rules map every wall-clock time to
//! exactly one instant ([`zone::resolve`]); interval crons are walked along the
//! real timeline one offset segment at a time.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc, Weekday};
use chrono_tz::Tz;

use super::{zone, Schedule};

/// How far back [`Schedule::latest_at_or_before`] looks; why: a year of
/// downtime plus slack, enough for a yearly rule, and a bound on the search.
const LOOKBACK: TimeDelta = TimeDelta::days(400);

/// Bound on the defensive loops below; why: a bug or an exotic zone must give
/// up rather than spin in the scheduler.
const MAX_STEPS: usize = 64;

impl Schedule {
    /// The first occurrence strictly after `after`, as a UTC instant, for a
    /// rule read in time zone `tz`; why: the scheduler stores next runs as UTC
    /// instants. None for [`Schedule::None`] (and for a cron that can no
    /// longer match before year 5000).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let rule = Local::of(self)?;
        if rule.is_interval() {
            return interval_next_after(&rule, after, tz);
        }
        // Every wall-clock time at or before this reading has already run.
        let mut local = rule.next_after(zone::clock_high(after, tz))?;
        for _ in 0..MAX_STEPS {
            let run = zone::resolve(local, tz);
            if run > after {
                return Some(run);
            }
            local = rule.next_after(local)?;
        }
        None
    }

    /// The latest occurrence at or before `at` (for missed-run catch-up); why:
    /// after downtime the scheduler runs the one occurrence it missed most
    /// recently. None if there is none in the previous 400 days, or for
    /// [`Schedule::None`].
    pub fn latest_at_or_before(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let rule = Local::of(self)?;
        let run = if rule.is_interval() {
            interval_at_or_before(&rule, at, tz)?
        } else {
            let high = zone::clock_high(at, tz);
            zone::resolve(rule.at_or_before(high, high - LOOKBACK)?, tz)
        };
        (run >= at - LOOKBACK && run <= at).then_some(run)
    }
}

/// Interval cron, forwards: the first instant after `after` whose clock
/// reading matches, walking one offset segment at a time, so both passes of a
/// repeated hour match and the skipped hour matches nothing.
fn interval_next_after(rule: &Local, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let (mut from, mut inclusive) = (after, false);
    for _ in 0..MAX_STEPS {
        let offset = zone::offset_at(tz, from.timestamp());
        let local = zone::clock(from, tz);
        let next = if inclusive {
            rule.next_after(local - TimeDelta::nanoseconds(1))
        } else {
            rule.next_after(local)
        }?;
        let candidate = zone::with_offset(next, offset);
        match zone::next_transition(tz, from, candidate, offset) {
            None => return Some(candidate),
            // The offset changes first: continue from the transition, which
            // itself runs if the clock's new reading matches.
            Some(change) => (from, inclusive) = (change, true),
        }
    }
    None
}

/// Interval cron, backwards: the mirror of [`interval_next_after`].
fn interval_at_or_before(rule: &Local, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
    let mut to = at;
    for _ in 0..MAX_STEPS {
        let offset = zone::offset_at(tz, to.timestamp());
        let local = zone::clock(to, tz);
        let candidate = zone::with_offset(rule.at_or_before(local, local - LOOKBACK)?, offset);
        match zone::previous_transition(tz, candidate, to, offset) {
            None => return Some(candidate),
            // Nothing matched since the offset changed: look before the change.
            Some(change) => to = change - TimeDelta::seconds(1),
        }
    }
    None
}

/// A rule as wall-clock date-times, with no time zone; why: matching and
/// time-zone mapping are separate problems, and croner is only trusted with
/// the first.
enum Local<'a> {
    Daily(NaiveTime),
    Weekly(&'a [Weekday], NaiveTime),
    Monthly(u32, NaiveTime),
    Yearly(u32, u32, NaiveTime),
    Cron(croner::Cron),
}

impl<'a> Local<'a> {
    /// The wall-clock form of `schedule`; None for [`Schedule::None`] or a
    /// weekly rule with no days.
    fn of(schedule: &'a Schedule) -> Option<Self> {
        Some(match schedule {
            Schedule::None => return None,
            Schedule::Daily(t) => Local::Daily(*t),
            Schedule::Weekly(days, _) if days.is_empty() => return None,
            Schedule::Weekly(days, t) => Local::Weekly(days, *t),
            Schedule::Monthly(d, t) => Local::Monthly(*d, *t),
            Schedule::Yearly(m, d, t) => Local::Yearly(*m, *d, *t),
            Schedule::Cron(expr) => Local::Cron(super::parse_cron(expr).ok()?),
        })
    }

    /// Whether this is an interval cron: one whose hour field matches every
    /// hour; why: such rules follow the real clock through DST changes.
    fn is_interval(&self) -> bool {
        match self {
            Local::Cron(cron) => (0..24).all(|h| cron.pattern.hour_match(h).unwrap_or(false)),
            _ => false,
        }
    }

    /// The first matching wall-clock time strictly after `x`.
    fn next_after(&self, x: NaiveDateTime) -> Option<NaiveDateTime> {
        let (date, at) = (x.date(), |d: NaiveDate, t: NaiveTime| d.and_time(t));
        match self {
            Local::Daily(t) => (0..2).map(|i| at(date + TimeDelta::days(i), *t)).find(|c| *c > x),
            Local::Weekly(days, t) => (0..=7)
                .map(|i| date + TimeDelta::days(i))
                .filter(|d| days.contains(&d.weekday()))
                .map(|d| at(d, *t))
                .find(|c| *c > x),
            Local::Monthly(day, t) => {
                let first = date.with_day(1)?;
                [first, first.checked_add_months(chrono::Months::new(1))?]
                    .into_iter()
                    .map(|m| at(day_in_month(m.year(), m.month(), *day), *t))
                    .find(|c| *c > x)
            }
            Local::Yearly(m, d, t) => (0..2)
                .map(|i| at(day_in_month(date.year() + i, *m, *d), *t))
                .find(|c| *c > x),
            Local::Cron(cron) => cron_at_or_after(cron, x.with_nanosecond(0)? + TimeDelta::seconds(1)),
        }
    }

    /// The last matching wall-clock time at or before `x`, and not before
    /// `floor` (which only bounds the cron search; the other rules always
    /// match within a year).
    fn at_or_before(&self, x: NaiveDateTime, floor: NaiveDateTime) -> Option<NaiveDateTime> {
        let (date, at) = (x.date(), |d: NaiveDate, t: NaiveTime| d.and_time(t));
        match self {
            Local::Daily(t) => (0..2).map(|i| at(date - TimeDelta::days(i), *t)).find(|c| *c <= x),
            Local::Weekly(days, t) => (0..=7)
                .map(|i| date - TimeDelta::days(i))
                .filter(|d| days.contains(&d.weekday()))
                .map(|d| at(d, *t))
                .find(|c| *c <= x),
            Local::Monthly(day, t) => {
                let first = date.with_day(1)?;
                [first, first.checked_sub_months(chrono::Months::new(1))?]
                    .into_iter()
                    .map(|m| at(day_in_month(m.year(), m.month(), *day), *t))
                    .find(|c| *c <= x)
            }
            Local::Yearly(m, d, t) => (0..2)
                .map(|i| at(day_in_month(date.year() - i, *m, *d), *t))
                .find(|c| *c <= x),
            Local::Cron(cron) => cron_at_or_before(cron, x.with_nanosecond(0)?, floor),
        }
    }
}

/// Day `day` of the month, or the month's last day when it is shorter; why:
/// "monthly on 31" should run every month, not skip the short ones, and
/// "yearly on 02-29" should run every year (on 02-28 in a common year).
fn day_in_month(year: i32, month: u32, day: u32) -> NaiveDate {
    (1..=day)
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
        .unwrap_or_default()
}

/// croner's first match at or after `x`, on the naive (zone-less) clock; why:
/// croner's own zone handling can return an instant before its start in a
/// repeated hour, so it is only given UTC, which has no transitions.
fn cron_at_or_after(cron: &croner::Cron, x: NaiveDateTime) -> Option<NaiveDateTime> {
    cron.find_next_occurrence(&x.and_utc(), true)
        .ok()
        .map(|t| t.naive_utc())
}

/// croner's last match at or before `x` (whole seconds) and not before
/// `floor`; croner only searches forwards, so this bisects on "the first match
/// at or after `mid` is still at or before `x`" (about 25 croner calls).
fn cron_at_or_before(cron: &croner::Cron, x: NaiveDateTime, floor: NaiveDateTime) -> Option<NaiveDateTime> {
    let mut found = cron_at_or_after(cron, floor.with_nanosecond(0)?).filter(|m| *m <= x)?;
    let mut hi = x;
    // Invariant: `found` matches, and the answer lies in [found, hi].
    while found < hi {
        let mid = found + TimeDelta::seconds(((hi - found).num_seconds() + 1) / 2);
        match cron_at_or_after(cron, mid) {
            Some(m) if m <= hi => found = m,
            _ => hi = mid - TimeDelta::seconds(1),
        }
    }
    Some(found)
}
