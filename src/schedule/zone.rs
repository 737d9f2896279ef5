//! Wall clock ↔ instant: the time-zone arithmetic behind next-run computation.
//!
//! chrono-tz answers "what offset applies at this instant" and "which instants
//! show this wall-clock time", but not "when is the next transition". The
//! helpers here find transitions by binary search over whole seconds (zone
//! transitions always fall on whole seconds), assuming two transitions are never
//! less than a day apart, which holds for every zone in the tz database since
//! railway time.

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// One day: the window within which at most one transition is assumed.
const DAY: i64 = 86_400;

/// The UTC offset, in seconds east, in force at Unix second `secs`; why: all
/// transition searches compare offsets at whole seconds.
pub(super) fn offset_at(tz: Tz, secs: i64) -> i64 {
    let instant = DateTime::from_timestamp(secs, 0).unwrap_or_default();
    i64::from(
        tz.offset_from_utc_datetime(&instant.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// The wall-clock reading at `u` in `tz`; why: rules are matched against what
/// the clock on the wall shows.
pub(super) fn clock(u: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    u.with_timezone(&tz).naive_local()
}

/// The UTC instant of wall-clock time `local` read with a fixed offset; why:
/// within one offset segment, local and UTC differ by a constant.
pub(super) fn with_offset(local: NaiveDateTime, offset: i64) -> DateTime<Utc> {
    (local - TimeDelta::seconds(offset)).and_utc()
}

/// The single instant a fixed-time rule runs for the wall-clock time `local`;
/// why: it encodes the DST policy. A time shown once is that instant; a time
/// shown twice (fall-back) is its first, daylight-time showing; a time never
/// shown (spring-forward gap) is the first instant after the gap.
pub(super) fn resolve(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => gap_end(local, tz),
    }
}

/// The first instant after the gap that swallowed `local`: the smallest whole
/// second whose clock reading is later than `local`.
fn gap_end(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    // Offsets lie within -12h..+14h, so the clock reads before `local` at `lo`
    // and after it at `hi`; with one transition in between, "reads later" is
    // monotone and a binary search finds the transition.
    let naive = local.and_utc().timestamp();
    let (mut lo, mut hi) = (naive - 15 * 3600, naive + 13 * 3600);
    let later = |s: i64| with_offset_naive(s, offset_at(tz, s)) > local;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if later(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0).unwrap_or_default()
}

/// The latest wall-clock reading shown at any instant up to `u`; why: after a
/// fall-back the clock reads less than it did an hour ago, and a fixed-time
/// rule must not run again for times it already ran in the first pass. For
/// fixed-time rules, the wall-clock times whose run lies at or before `u` are
/// exactly those at or before this reading.
pub(super) fn clock_high(u: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    let now = clock(u, tz);
    let secs = u.timestamp();
    let off_now = offset_at(tz, secs);
    if offset_at(tz, secs - DAY) <= off_now {
        return now;
    }
    // The clock went back within the last day: read it just before the jump.
    let jump = first_change(tz, secs - DAY, secs, offset_at(tz, secs - DAY));
    let before = with_offset_naive(jump, offset_at(tz, jump - 1)) - TimeDelta::nanoseconds(1);
    now.max(before)
}

/// The wall-clock reading at whole second `secs` under offset `offset`.
fn with_offset_naive(secs: i64, offset: i64) -> NaiveDateTime {
    DateTime::from_timestamp(secs + offset, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// The smallest second in `(lo, hi]` whose offset differs from `offset`, given
/// that `lo` has `offset`, `hi` does not and one transition lies between.
fn first_change(tz: Tz, mut lo: i64, mut hi: i64, offset: i64) -> i64 {
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if offset_at(tz, mid) == offset {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// The first transition in `(from, to]`, as a UTC instant, when the offset in
/// force at `from` is `offset`; why: interval crons are walked one offset
/// segment at a time. Scans day by day, so long stretches cost one lookup a day.
pub(super) fn next_transition(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, offset: i64) -> Option<DateTime<Utc>> {
    let (mut lo, end) = (from.timestamp(), to.timestamp());
    while lo < end {
        let hi = (lo + DAY).min(end);
        if offset_at(tz, hi) != offset {
            return DateTime::from_timestamp(first_change(tz, lo, hi, offset), 0);
        }
        lo = hi;
    }
    None
}

/// The last transition in `(from, to]` (the start of the offset segment `to`
/// lies in, when that start is after `from`); why: the backward walk of
/// interval crons, mirroring [`next_transition`].
pub(super) fn previous_transition(
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    offset: i64,
) -> Option<DateTime<Utc>> {
    let (start, mut hi) = (from.timestamp(), to.timestamp());
    while hi > start {
        let lo = (hi - DAY).max(start);
        if offset_at(tz, lo) != offset {
            // Largest second with another offset, then the one after it.
            let (mut a, mut b) = (lo, hi);
            while b - a > 1 {
                let mid = a + (b - a) / 2;
                if offset_at(tz, mid) == offset {
                    b = mid;
                } else {
                    a = mid;
                }
            }
            return DateTime::from_timestamp(b, 0);
        }
        hi = lo;
    }
    None
}

/// `t` as a person reads it in `tz`, labelled with the zone so nobody has
/// to guess whether 08:30 was UTC: `2026-12-07 02:30:00 CST`, to the
/// minute without `seconds`. A zone with no abbreviation shows its offset
/// (`+0530`). The CLI and the console both show times this way.
pub(crate) fn labelled(t: DateTime<Utc>, tz: Tz, seconds: bool) -> String {
    let local = t.with_timezone(&tz);
    let abbreviation = local.format("%Z").to_string();
    let label = if abbreviation.starts_with(['+', '-']) {
        local.format("%z").to_string()
    } else {
        abbreviation
    };
    let clock = if seconds { "%Y-%m-%d %H:%M:%S" } else { "%Y-%m-%d %H:%M" };
    format!("{} {label}", local.format(clock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Chicago;
    use chrono_tz::Europe::London;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn local(s: &str) -> NaiveDateTime {
        s.parse().unwrap()
    }

    #[test]
    fn resolve_applies_the_dst_policy() {
        let cases = [
            (Chicago, "2026-03-08T02:30:00", "2026-03-08T08:00:00Z"),
            (Chicago, "2026-03-08T02:00:00", "2026-03-08T08:00:00Z"),
            (Chicago, "2026-03-08T03:00:00", "2026-03-08T08:00:00Z"),
            (Chicago, "2026-03-08T01:59:00", "2026-03-08T07:59:00Z"),
            (Chicago, "2026-11-01T01:30:00", "2026-11-01T06:30:00Z"),
            (Chicago, "2026-11-01T02:00:00", "2026-11-01T08:00:00Z"),
            (London, "2026-03-29T01:00:00", "2026-03-29T01:00:00Z"),
            (London, "2026-03-29T01:59:59", "2026-03-29T01:00:00Z"),
            (London, "2026-10-25T01:00:00", "2026-10-25T00:00:00Z"),
            (London, "2026-10-25T02:00:00", "2026-10-25T02:00:00Z"),
        ];
        for (tz, l, want) in cases {
            assert_eq!(resolve(local(l), tz), utc(want), "{tz} {l}");
        }
    }

    #[test]
    fn clock_high_remembers_the_first_pass() {
        // 01:10 CST, after the clock fell back from 01:59:59 CDT.
        let high = clock_high(utc("2026-11-01T07:10:00Z"), Chicago);
        assert_eq!(high, local("2026-11-01T01:59:59.999999999"));
        // Two hours after the change the clock is ahead again.
        assert_eq!(
            clock_high(utc("2026-11-01T09:00:00Z"), Chicago),
            local("2026-11-01T03:00:00")
        );
        assert_eq!(
            clock_high(utc("2026-10-25T01:30:00Z"), London),
            local("2026-10-25T01:59:59.999999999")
        );
        assert_eq!(
            clock_high(utc("2026-03-29T01:00:00Z"), London),
            local("2026-03-29T02:00:00")
        );
    }

    #[test]
    fn transitions_are_found_exactly() {
        let (from, to) = (utc("2026-01-01T00:00:00Z"), utc("2026-12-31T00:00:00Z"));
        let spring = next_transition(Chicago, from, to, -6 * 3600);
        assert_eq!(spring, Some(utc("2026-03-08T08:00:00Z")));
        let fall = next_transition(Chicago, spring.unwrap(), to, -5 * 3600);
        assert_eq!(fall, Some(utc("2026-11-01T07:00:00Z")));
        assert_eq!(next_transition(Chicago, fall.unwrap(), to, -6 * 3600), None);
        assert_eq!(
            previous_transition(London, from, to, 0),
            Some(utc("2026-10-25T01:00:00Z"))
        );
        let summer = utc("2026-07-01T00:00:00Z");
        assert_eq!(
            previous_transition(London, from, summer, 3600),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(previous_transition(London, from, utc("2026-02-01T00:00:00Z"), 0), None);
    }
}
