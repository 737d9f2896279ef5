//! The daemon's scheduling on a paused clock: the loop's two steps (sleep
//! until the registry's earliest time, then take what is due) over hours of
//! simulated time, in milliseconds of real time. Tokio's paused runtime
//! jumps to the next timer whenever every task waits, so a sleep of an hour
//! returns at once with the clock an hour on.
//!
//! These drive the loop's steps rather than all of `serve`: the state
//! store's SQLite queries run on a worker thread, and a paused runtime that
//! finds every task waiting on it advances to the next timer, the pool's
//! acquire timeout among them (tried: `PoolTimedOut` on the first query).
//! The real process, its signals and its store stay with tests/serve.rs.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::clock::Clock;
use super::registry::{Change, Registry};
use crate::config::Settings;

/// A scripts folder whose scripts run in America/Chicago.
struct Folder {
    dir: tempfile::TempDir,
    settings: Settings,
}

impl Folder {
    fn new() -> Folder {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
        let settings = Settings::parse("timezone = \"America/Chicago\"\n", "ferry.toml", dir.path()).unwrap();
        Folder { dir, settings }
    }

    /// Writes scripts/ID.rhai with the schedule given.
    fn script(&self, id: &str, schedule: &str) {
        let text = format!("//! schedule = '{schedule}'\nlet a = 1;\n");
        std::fs::write(self.dir.path().join(format!("scripts/{id}.rhai")), text).unwrap();
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// A run the loop started: script, the occurrence it stands for, and the
/// clock's reading when the loop took it.
type Fired = (String, DateTime<Utc>, DateTime<Utc>);

/// The daemon loop's scheduling steps, as `serve` takes them, until nothing
/// is due by `end`.
async fn drive(registry: &mut Registry, clock: &Clock, end: DateTime<Utc>) -> Vec<Fired> {
    let mut fired = Vec::new();
    while registry.earliest().is_some_and(|t| t <= end) {
        tokio::time::sleep(clock.until(registry.earliest())).await;
        let now = clock.now();
        fired.extend(registry.take_due(now).into_iter().map(|(id, at)| (id, at, now)));
    }
    fired
}

/// Loads the folder as the daemon does at start, at the clock's time.
fn load(folder: &Folder, clock: &Clock) -> Registry {
    let mut registry = Registry::default();
    let changes = registry.rescan(&folder.settings, "", clock.now());
    assert!(changes.iter().all(|c| matches!(c, Change::Added(_))), "{changes:?}");
    registry
}

fn occurrences(fired: &[Fired]) -> Vec<DateTime<Utc>> {
    fired.iter().map(|(_, at, _)| *at).collect()
}

/// Every run was taken when its occurrence came, not a moment later.
fn on_time(fired: &[Fired]) {
    for (id, at, now) in fired {
        assert_eq!(now, at, "{id} due at {at} was taken at {now}");
    }
}

#[tokio::test(start_paused = true)]
async fn every_15_minutes_runs_8_times_in_2_hours_at_the_quarter_hours() {
    let real = std::time::Instant::now();
    let folder = Folder::new();
    folder.script("quarter", "cron \"*/15 * * * *\"");
    let start = utc(2027, 1, 11, 14, 7);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    let fired = drive(&mut registry, &clock, start + Duration::hours(2)).await;
    let want: Vec<DateTime<Utc>> = (0..8)
        .map(|i| utc(2027, 1, 11, 14, 15) + Duration::minutes(15 * i))
        .collect();
    assert_eq!(occurrences(&fired), want);
    on_time(&fired);
    assert!(fired.iter().all(|(id, _, _)| id == "quarter"));
    assert_eq!(registry.earliest(), Some(utc(2027, 1, 11, 16, 15)));
    eprintln!("2 simulated hours in {:?}", real.elapsed());
}

/// A daily time in the hour the clocks skip runs at the end of the gap; on
/// the fall-back day a time shown twice runs once; one run a calendar day.
#[tokio::test(start_paused = true)]
async fn a_daily_schedule_runs_once_a_day_across_both_dst_changes() {
    let folder = Folder::new();
    folder.script("spring", "daily at 02:30");
    // 2027-03-14: Chicago's clocks go from 02:00 CST to 03:00 CDT.
    let start = utc(2027, 3, 12, 12, 0);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    let fired = drive(&mut registry, &clock, start + Duration::days(4)).await;
    assert_eq!(
        occurrences(&fired),
        [
            utc(2027, 3, 13, 8, 30), // 02:30 CST
            utc(2027, 3, 14, 8, 0),  // 02:30 does not exist: 03:00 CDT
            utc(2027, 3, 15, 7, 30), // 02:30 CDT
            utc(2027, 3, 16, 7, 30),
        ]
    );
    on_time(&fired);

    let folder = Folder::new();
    folder.script("fall", "daily at 01:30");
    // 2027-11-07: Chicago's clocks go from 02:00 CDT back to 01:00 CST.
    let start = utc(2027, 11, 5, 12, 0);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    let fired = drive(&mut registry, &clock, start + Duration::days(4)).await;
    assert_eq!(
        occurrences(&fired),
        [
            utc(2027, 11, 6, 6, 30), // 01:30 CDT
            utc(2027, 11, 7, 6, 30), // 01:30 CDT, the first of two
            utc(2027, 11, 8, 7, 30), // 01:30 CST
            utc(2027, 11, 9, 7, 30),
        ]
    );
    on_time(&fired);
}

/// An every-half-hour cron keeps real-time spacing through the repeated
/// hour: from 00:00 CDT to 03:00 CST on the fall-back day the wall clock
/// moves three hours but four pass, and each of their half-hours runs.
#[tokio::test(start_paused = true)]
async fn an_interval_cron_keeps_its_spacing_through_the_repeated_hour() {
    let folder = Folder::new();
    folder.script("half", "cron \"*/30 * * * *\"");
    let start = utc(2027, 11, 7, 5, 0);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    let fired = drive(&mut registry, &clock, utc(2027, 11, 7, 9, 0)).await;
    let want: Vec<DateTime<Utc>> = (1..=8).map(|i| start + Duration::minutes(30 * i)).collect();
    assert_eq!(occurrences(&fired), want);
    on_time(&fired);
}

/// When the loop does not wake for a stretch (a suspended machine), the
/// first occurrence it slept through runs, once, and the schedule goes on
/// from the clock's time: no burst of the passed occurrences.
#[tokio::test(start_paused = true)]
async fn occurrences_slept_through_give_one_run_then_the_schedule_goes_on() {
    let folder = Folder::new();
    folder.script("quarter", "cron \"*/15 * * * *\"");
    let start = utc(2027, 1, 11, 14, 0);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    tokio::time::advance(std::time::Duration::from_secs(50 * 60)).await;
    assert_eq!(clock.now(), utc(2027, 1, 11, 14, 50));
    assert_eq!(clock.until(registry.earliest()), std::time::Duration::ZERO, "overdue");
    let late = registry.take_due(clock.now());
    assert_eq!(late, [("quarter".to_string(), utc(2027, 1, 11, 14, 15))]);
    let fired = drive(&mut registry, &clock, utc(2027, 1, 11, 15, 30)).await;
    assert_eq!(
        occurrences(&fired),
        [
            utc(2027, 1, 11, 15, 0),
            utc(2027, 1, 11, 15, 15),
            utc(2027, 1, 11, 15, 30)
        ]
    );
    on_time(&fired);
}

/// A script saved while the daemon runs is first due at its next
/// occurrence after the rescan, not at one that passed before it existed.
#[tokio::test(start_paused = true)]
async fn a_script_added_later_starts_from_the_rescan_time() {
    let folder = Folder::new();
    folder.script("early", "cron \"0 * * * *\"");
    let start = utc(2027, 1, 11, 14, 30);
    let clock = Clock::starting_at(start);
    let mut registry = load(&folder, &clock);
    let mut fired = drive(&mut registry, &clock, utc(2027, 1, 11, 15, 40)).await;
    assert_eq!(occurrences(&fired), [utc(2027, 1, 11, 15, 0)]);
    tokio::time::sleep(clock.until(Some(utc(2027, 1, 11, 15, 40)))).await;
    folder.script("late", "cron \"*/20 * * * *\"");
    let changes = registry.rescan(&folder.settings, "", clock.now());
    assert_eq!(changes, [Change::Added("late".into())]);
    fired.extend(drive(&mut registry, &clock, utc(2027, 1, 11, 16, 40)).await);
    let got: Vec<(&str, DateTime<Utc>)> = fired.iter().map(|(id, at, _)| (id.as_str(), *at)).collect();
    assert_eq!(
        got,
        [
            ("early", utc(2027, 1, 11, 15, 0)),
            ("early", utc(2027, 1, 11, 16, 0)),
            ("late", utc(2027, 1, 11, 16, 0)),
            ("late", utc(2027, 1, 11, 16, 20)),
            ("late", utc(2027, 1, 11, 16, 40)),
        ]
    );
    on_time(&fired);
}
