//! Tables of exact next-run and latest-run instants, and properties swept
//! across the DST change days of America/Chicago (2026-03-08, 2026-11-01) and
//! Europe/London (2026-03-29, 2026-10-25).
//!
//! Offsets: Chicago CST = UTC-6, CDT = UTC-5; London GMT = UTC, BST = UTC+1.

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use chrono_tz::America::Chicago as CHI;
use chrono_tz::Australia::{Lord_Howe, Sydney};
use chrono_tz::Europe::London as LON;
use chrono_tz::Pacific::Apia;
use chrono_tz::Tz;
use chrono_tz::UTC;

use super::Schedule;

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn rule(s: &str) -> Schedule {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn want(s: &str) -> Option<DateTime<Utc>> {
    (s != "-").then(|| utc(s))
}

/// (rule, zone, after, first run strictly after; "-" for none)
#[rustfmt::skip]
const NEXT: &[(&str, Tz, &str, &str)] = &[
    ("none", CHI, "2026-01-01T00:00:00Z", "-"),
    // Daily, ordinary days and exact boundaries.
    ("daily at 02:30", CHI, "2026-01-15T00:00:00Z", "2026-01-15T08:30:00Z"),
    ("daily at 02:30", CHI, "2026-01-15T08:29:59.999Z", "2026-01-15T08:30:00Z"),
    ("daily at 02:30", CHI, "2026-01-15T08:30:00Z", "2026-01-16T08:30:00Z"),
    ("daily at 00:00", UTC, "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"),
    // Chicago spring forward: 02:00 CST (08:00Z) becomes 03:00 CDT.
    ("daily at 02:30", CHI, "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("daily at 02:30", CHI, "2026-03-08T08:00:00Z", "2026-03-09T07:30:00Z"),
    ("daily at 02:00", CHI, "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("daily at 03:00", CHI, "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("daily at 01:59", CHI, "2026-03-07T12:00:00Z", "2026-03-08T07:59:00Z"),
    // Chicago fall back: 02:00 CDT (07:00Z) becomes 01:00 CST.
    ("daily at 01:30", CHI, "2026-10-31T12:00:00Z", "2026-11-01T06:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T06:30:00Z", "2026-11-02T07:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T06:45:00Z", "2026-11-02T07:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T07:10:00Z", "2026-11-02T07:30:00Z"),
    ("daily at 01:00", CHI, "2026-11-01T06:30:00Z", "2026-11-02T07:00:00Z"),
    ("daily at 02:00", CHI, "2026-11-01T06:00:00Z", "2026-11-01T08:00:00Z"),
    // London spring forward: 01:00 GMT (01:00Z) becomes 02:00 BST.
    ("daily at 01:30", LON, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
    ("daily at 01:30", LON, "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"),
    ("daily at 01:00", LON, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
    ("daily at 02:00", LON, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
    ("daily at 00:59", LON, "2026-03-28T12:00:00Z", "2026-03-29T00:59:00Z"),
    // London fall back: 02:00 BST (01:00Z) becomes 01:00 GMT.
    ("daily at 01:30", LON, "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"),
    ("daily at 01:30", LON, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"),
    ("daily at 01:30", LON, "2026-10-25T01:15:00Z", "2026-10-26T01:30:00Z"),
    ("daily at 02:00", LON, "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"),
    // Other shapes of change: southern hemisphere, a 30-minute shift, and
    // Samoa skipping 2011-12-30 entirely (its run comes at 00:00 on the 31st).
    ("daily at 02:30", Sydney, "2026-04-04T00:00:00Z", "2026-04-04T15:30:00Z"),
    ("daily at 02:30", Sydney, "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z"),
    ("daily at 02:30", Sydney, "2026-10-03T00:00:00Z", "2026-10-03T16:00:00Z"),
    ("daily at 02:15", Lord_Howe, "2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z"),
    ("daily at 01:45", Lord_Howe, "2026-04-04T00:00:00Z", "2026-04-04T14:45:00Z"),
    ("daily at 01:45", Lord_Howe, "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"),
    ("daily at 12:00", Apia, "2011-12-29T23:00:00Z", "2011-12-30T10:00:00Z"),
    ("daily at 12:00", Apia, "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"),
    ("cron \"*/30 * * * *\"", Lord_Howe, "2026-04-04T14:45:00Z", "2026-04-04T15:00:00Z"),
    ("cron \"*/30 * * * *\"", Lord_Howe, "2026-04-04T15:00:00Z", "2026-04-04T15:30:00Z"),
    // Weekly, several days, across a change and a year end.
    ("weekly on mon,thu at 06:00", CHI, "2026-03-05T11:00:00Z", "2026-03-05T12:00:00Z"),
    ("weekly on mon,thu at 06:00", CHI, "2026-03-05T12:00:00Z", "2026-03-09T11:00:00Z"),
    ("weekly on mon,thu at 06:00", CHI, "2026-03-09T11:00:00Z", "2026-03-12T11:00:00Z"),
    ("weekly on sun at 02:30", CHI, "2026-03-01T09:00:00Z", "2026-03-08T08:00:00Z"),
    ("weekly on sat,sun at 01:30", CHI, "2026-11-01T07:10:00Z", "2026-11-07T07:30:00Z"),
    ("weekly on sun at 01:30", LON, "2026-10-19T00:00:00Z", "2026-10-25T00:30:00Z"),
    ("weekly on fri at 23:00", LON, "2026-12-28T00:00:00Z", "2027-01-01T23:00:00Z"),
    // Monthly: month ends (Jan 31 -> Feb 28/29 -> Mar 31 -> Apr 30), leap years.
    ("monthly on 31 at 01:00", CHI, "2026-01-01T00:00:00Z", "2026-01-31T07:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-01-31T07:00:00Z", "2026-02-28T07:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-02-28T07:00:00Z", "2026-03-31T06:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-03-31T06:00:00Z", "2026-04-30T06:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2028-01-31T07:00:00Z", "2028-02-29T07:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2028-02-29T07:00:00Z", "2028-03-31T06:00:00Z"),
    ("monthly on 30 at 12:00", LON, "2028-02-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    ("monthly on 29 at 12:00", LON, "2027-02-01T00:00:00Z", "2027-02-28T12:00:00Z"),
    ("monthly on 29 at 12:00", LON, "2027-02-28T12:00:00Z", "2027-03-29T11:00:00Z"),
    ("monthly on 1 at 00:00", LON, "2026-12-15T00:00:00Z", "2027-01-01T00:00:00Z"),
    ("monthly on 8 at 02:30", CHI, "2026-02-08T09:00:00Z", "2026-03-08T08:00:00Z"),
    ("monthly on 1 at 01:30", CHI, "2026-10-02T00:00:00Z", "2026-11-01T06:30:00Z"),
    ("monthly on 25 at 01:30", LON, "2026-10-01T00:00:00Z", "2026-10-25T00:30:00Z"),
    ("monthly on 29 at 01:30", LON, "2026-03-01T00:00:00Z", "2026-03-29T01:00:00Z"),
    // Yearly, 02-29 in common and leap years, and change days.
    ("yearly on 02-29 at 12:00", CHI, "2026-01-01T00:00:00Z", "2026-02-28T18:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2026-02-28T18:00:00Z", "2027-02-28T18:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2027-03-01T00:00:00Z", "2028-02-29T18:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2028-02-29T18:00:00Z", "2029-02-28T18:00:00Z"),
    ("yearly on 02-28 at 12:00", CHI, "2028-02-28T18:00:00Z", "2029-02-28T18:00:00Z"),
    ("yearly on 08-15 at 00:00", CHI, "2026-08-15T05:00:00Z", "2027-08-15T05:00:00Z"),
    ("yearly on 03-08 at 02:30", CHI, "2026-01-01T00:00:00Z", "2026-03-08T08:00:00Z"),
    ("yearly on 03-08 at 02:30", CHI, "2026-03-08T08:00:00Z", "2027-03-08T08:30:00Z"),
    ("yearly on 11-01 at 01:30", CHI, "2026-06-01T00:00:00Z", "2026-11-01T06:30:00Z"),
    ("yearly on 03-29 at 01:30", LON, "2026-01-01T00:00:00Z", "2026-03-29T01:00:00Z"),
    ("yearly on 10-25 at 01:30", LON, "2026-01-01T00:00:00Z", "2026-10-25T00:30:00Z"),
    ("yearly on 12-31 at 23:59", LON, "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),
    // Fixed-time crons follow the same DST rules (croner alone gets 07:10Z wrong).
    ("cron \"30 2 * * *\"", CHI, "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"30 2 * * *\"", CHI, "2026-03-08T08:00:00Z", "2026-03-09T07:30:00Z"),
    ("cron \"0 30 2 * * *\"", CHI, "2026-03-07T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"0,30 2 * * *\"", CHI, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"0,30 2 * * *\"", CHI, "2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z"),
    ("cron \"30 1 * * *\"", CHI, "2026-10-31T12:00:00Z", "2026-11-01T06:30:00Z"),
    ("cron \"30 1 * * *\"", CHI, "2026-11-01T06:30:00Z", "2026-11-02T07:30:00Z"),
    ("cron \"30 1 * * *\"", CHI, "2026-11-01T07:10:00Z", "2026-11-02T07:30:00Z"),
    ("cron \"*/20 1 * * *\"", CHI, "2026-11-01T06:40:00Z", "2026-11-02T07:00:00Z"),
    ("cron \"15 1 * * *\"", LON, "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"),
    ("cron \"30 1 * * *\"", LON, "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"),
    ("cron \"0 9 * * 1-5\"", LON, "2026-03-27T09:00:00Z", "2026-03-30T08:00:00Z"),
    // Cron's own calendar: no month-end fallback.
    ("cron \"0 0 31 * *\"", CHI, "2026-01-31T06:00:00Z", "2026-03-31T05:00:00Z"),
    ("cron \"0 12 29 2 *\"", UTC, "2026-01-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    // Interval crons follow the real clock: both passes of a repeated hour,
    // nothing in a skipped one.
    ("cron \"*/20 * * * *\"", CHI, "2026-11-01T06:40:00Z", "2026-11-01T07:00:00Z"),
    ("cron \"*/20 * * * *\"", CHI, "2026-11-01T07:00:00Z", "2026-11-01T07:20:00Z"),
    ("cron \"*/20 * * * *\"", CHI, "2026-03-08T07:40:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"0 * * * *\"", CHI, "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"30 * * * *\"", CHI, "2026-03-08T07:30:00Z", "2026-03-08T08:30:00Z"),
    ("cron \"0 * * * *\"", LON, "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z"),
    ("cron \"0 * * * *\"", LON, "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z"),
    ("cron \"30 * * * *\"", LON, "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"),
    ("cron \"*/10 * * * * *\"", CHI, "2026-11-01T07:00:05.5Z", "2026-11-01T07:00:10Z"),
];

/// (rule, zone, at, latest run at or before; "-" for none in 400 days)
#[rustfmt::skip]
const LATEST: &[(&str, Tz, &str, &str)] = &[
    ("none", CHI, "2026-01-01T00:00:00Z", "-"),
    ("daily at 02:30", CHI, "2026-03-08T12:00:00Z", "2026-03-08T08:00:00Z"),
    ("daily at 02:30", CHI, "2026-03-08T08:00:00Z", "2026-03-08T08:00:00Z"),
    ("daily at 02:30", CHI, "2026-03-08T07:59:59Z", "2026-03-07T08:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T07:10:00Z", "2026-11-01T06:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T07:45:00Z", "2026-11-01T06:30:00Z"),
    ("daily at 01:30", CHI, "2026-11-01T06:29:59Z", "2026-10-31T06:30:00Z"),
    ("daily at 01:30", LON, "2026-10-25T01:45:00Z", "2026-10-25T00:30:00Z"),
    ("daily at 01:30", LON, "2026-03-29T00:59:59Z", "2026-03-28T01:30:00Z"),
    ("daily at 01:30", LON, "2026-03-29T01:00:00Z", "2026-03-29T01:00:00Z"),
    ("weekly on mon,thu at 06:00", CHI, "2026-03-08T12:00:00Z", "2026-03-05T12:00:00Z"),
    ("weekly on mon,thu at 06:00", CHI, "2026-03-09T11:00:00Z", "2026-03-09T11:00:00Z"),
    ("weekly on sun at 02:30", CHI, "2026-03-14T00:00:00Z", "2026-03-08T08:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-03-15T00:00:00Z", "2026-02-28T07:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-03-31T06:00:00Z", "2026-03-31T06:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-03-31T05:59:59Z", "2026-02-28T07:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2026-05-15T00:00:00Z", "2026-04-30T06:00:00Z"),
    ("monthly on 31 at 01:00", CHI, "2028-03-01T00:00:00Z", "2028-02-29T07:00:00Z"),
    ("monthly on 15 at 00:00", LON, "2027-01-10T00:00:00Z", "2026-12-15T00:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2027-06-01T00:00:00Z", "2027-02-28T18:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2028-12-31T00:00:00Z", "2028-02-29T18:00:00Z"),
    ("yearly on 02-29 at 12:00", CHI, "2028-02-29T17:59:59Z", "2027-02-28T18:00:00Z"),
    ("yearly on 03-29 at 01:30", LON, "2026-12-01T00:00:00Z", "2026-03-29T01:00:00Z"),
    ("yearly on 10-25 at 01:30", LON, "2027-01-01T00:00:00Z", "2026-10-25T00:30:00Z"),
    ("cron \"30 2 * * *\"", CHI, "2026-03-08T08:00:00Z", "2026-03-08T08:00:00Z"),
    ("cron \"30 2 * * *\"", CHI, "2026-03-08T07:59:00Z", "2026-03-07T08:30:00Z"),
    ("cron \"30 1 * * *\"", CHI, "2026-11-01T07:45:00Z", "2026-11-01T06:30:00Z"),
    ("cron \"30 1 * * *\"", LON, "2026-10-25T01:45:00Z", "2026-10-25T00:30:00Z"),
    ("cron \"0 0 1 1 *\"", CHI, "2026-12-31T00:00:00Z", "2026-01-01T06:00:00Z"),
    ("cron \"0 0 31 * *\"", CHI, "2026-03-15T00:00:00Z", "2026-01-31T06:00:00Z"),
    ("cron \"0 12 29 2 *\"", UTC, "2027-06-01T00:00:00Z", "-"),
    ("cron \"0 12 29 2 *\"", UTC, "2028-06-01T00:00:00Z", "2028-02-29T12:00:00Z"),
    ("cron \"*/20 * * * *\"", CHI, "2026-11-01T07:10:00Z", "2026-11-01T07:00:00Z"),
    ("cron \"*/20 * * * *\"", CHI, "2026-11-01T06:59:00Z", "2026-11-01T06:40:00Z"),
    ("cron \"30 * * * *\"", CHI, "2026-03-08T08:29:00Z", "2026-03-08T07:30:00Z"),
    ("cron \"0 * * * *\"", LON, "2026-03-29T00:59:00Z", "2026-03-29T00:00:00Z"),
    ("cron \"0 * * * *\"", LON, "2026-10-25T01:30:00Z", "2026-10-25T01:00:00Z"),
    ("cron \"*/10 * * * * *\"", CHI, "2026-11-01T07:00:05.5Z", "2026-11-01T07:00:00Z"),
];

#[test]
fn next_after_table() {
    let mut failures = Vec::new();
    for &(text, tz, after, expected) in NEXT {
        let got = rule(text).next_after(utc(after), tz);
        if got != want(expected) {
            failures.push(format!("{text} in {tz} after {after}: got {got:?}, want {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn latest_at_or_before_table() {
    let mut failures = Vec::new();
    for &(text, tz, at, expected) in LATEST {
        let got = rule(text).latest_at_or_before(utc(at), tz);
        if got != want(expected) {
            failures.push(format!("{text} in {tz} at {at}: got {got:?}, want {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs of `text` in `tz` strictly after `from` and up to `until`.
fn runs(text: &str, tz: Tz, from: &str, until: &str) -> Vec<DateTime<Utc>> {
    let (schedule, until) = (rule(text), utc(until));
    let mut out: Vec<DateTime<Utc>> = Vec::new();
    let mut at = utc(from);
    while let Some(next) = schedule.next_after(at, tz).filter(|n| *n <= until) {
        assert!(next > at, "{text} in {tz}: {next} is not after {at}");
        out.push(next);
        at = next;
    }
    out
}

#[test]
fn iterating_over_change_days_gives_the_exact_runs() {
    let cases: &[(&str, Tz, &str, &str, &[&str])] = &[
        (
            "daily at 02:30",
            CHI,
            "2026-03-06T12:00:00Z",
            "2026-03-09T12:00:00Z",
            &["2026-03-07T08:30:00Z", "2026-03-08T08:00:00Z", "2026-03-09T07:30:00Z"],
        ),
        (
            "daily at 01:30",
            CHI,
            "2026-10-30T12:00:00Z",
            "2026-11-02T12:00:00Z",
            &["2026-10-31T06:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T07:30:00Z"],
        ),
        (
            "daily at 01:30",
            LON,
            "2026-03-27T12:00:00Z",
            "2026-03-30T12:00:00Z",
            &["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"],
        ),
        (
            "cron \"30 1 * * *\"",
            LON,
            "2026-10-23T12:00:00Z",
            "2026-10-26T12:00:00Z",
            &["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"],
        ),
        (
            "cron \"0 * * * *\"",
            CHI,
            "2026-11-01T05:30:00Z",
            "2026-11-01T08:30:00Z",
            &["2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"],
        ),
    ];
    for (text, tz, from, until, expected) in cases {
        let expected: Vec<_> = expected.iter().map(|s| utc(s)).collect();
        assert_eq!(runs(text, *tz, from, until), expected, "{text} in {tz}");
    }
}

#[test]
fn fixed_time_rules_run_exactly_once_every_day_through_the_changes() {
    let times = [
        "00:00", "00:30", "00:59", "01:00", "01:30", "01:59", "02:00", "02:30", "02:59", "03:00", "23:30",
    ];
    for tz in [CHI, LON] {
        for time in times {
            let (h, m) = time.split_once(':').unwrap();
            for text in [format!("daily at {time}"), format!("cron \"{m} {h} * * *\"")] {
                // 2026-03-01 .. 2026-11-30 local, both change days inside.
                let all = runs(&text, tz, "2026-03-01T12:00:00Z", "2026-11-30T12:00:00Z");
                assert_eq!(all.len(), 274, "{text} in {tz}");
                for pair in all.windows(2) {
                    let (a, b) = (
                        pair[0].with_timezone(&tz).date_naive(),
                        pair[1].with_timezone(&tz).date_naive(),
                    );
                    assert_eq!(b, a.succ_opt().unwrap(), "{text} in {tz}: {} then {}", pair[0], pair[1]);
                }
            }
        }
    }
}

#[test]
fn interval_crons_keep_their_real_time_spacing() {
    // Midnight to midnight local: 25 hours on fall-back days, 23 on spring-forward.
    let days = [
        (CHI, "2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z", 75),
        (CHI, "2026-03-08T06:00:00Z", "2026-03-09T05:00:00Z", 69),
        (LON, "2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z", 75),
        (LON, "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z", 69),
    ];
    for (tz, from, until, count) in days {
        let all = runs("cron \"*/20 * * * *\"", tz, from, until);
        assert_eq!(all.len(), count, "{tz} from {from}");
        assert_eq!(all[0], utc(from) + TimeDelta::minutes(20));
        assert!(
            all.windows(2).all(|p| p[1] - p[0] == TimeDelta::minutes(20)),
            "{tz} {all:?}"
        );
    }
}

#[test]
fn next_and_latest_agree_everywhere_around_the_changes() {
    let rules = [
        "daily at 01:30",
        "daily at 02:30",
        "daily at 02:00",
        "weekly on sun,mon at 01:30",
        "monthly on 8 at 02:30",
        "monthly on 31 at 01:30",
        "yearly on 10-25 at 01:30",
        "cron \"30 1 * * *\"",
        "cron \"0,30 2 * * *\"",
        "cron \"*/20 * * * *\"",
        "cron \"30 * * * *\"",
    ];
    let windows = [
        (CHI, "2026-03-07T00:00:00Z"),
        (CHI, "2026-10-31T00:00:00Z"),
        (LON, "2026-03-28T00:00:00Z"),
        (LON, "2026-10-24T00:00:00Z"),
    ];
    for text in rules {
        let schedule = rule(text);
        for (tz, start) in windows {
            let start = utc(start);
            // Every 7 minutes (plus a stray second) for three days.
            for step in 0..(3 * 24 * 60 / 7) {
                let t = start + TimeDelta::seconds(step * 7 * 60 + step % 2);
                let next = schedule.next_after(t, tz).unwrap();
                let latest = schedule.latest_at_or_before(t, tz).unwrap();
                assert!(latest <= t && t < next, "{text} in {tz} at {t}: {latest} / {next}");
                // No run hides between the latest and the next one.
                assert_eq!(schedule.next_after(latest, tz), Some(next), "{text} in {tz} at {t}");
                assert_eq!(
                    schedule.latest_at_or_before(next, tz),
                    Some(next),
                    "{text} in {tz} at {t}"
                );
                let before_next = next - TimeDelta::nanoseconds(1);
                assert_eq!(
                    schedule.latest_at_or_before(before_next, tz),
                    Some(latest),
                    "{text} in {tz} at {t}"
                );
            }
        }
    }
}

#[test]
fn monthly_on_31_runs_every_month_for_years() {
    let all = runs(
        "monthly on 31 at 01:00",
        CHI,
        "2026-01-01T00:00:00Z",
        "2029-01-01T00:00:00Z",
    );
    assert_eq!(all.len(), 36);
    let days: Vec<u32> = all.iter().map(|t| t.with_timezone(&CHI).day()).collect();
    let expected_2028 = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    assert_eq!(&days[24..], &expected_2028);
    assert_eq!(days[1], 28);
    assert_eq!(days[13], 28);
}
