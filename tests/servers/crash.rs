//! Crash consistency, shown by crashing: real `ferry serve` processes are
//! SIGKILLed at aimed instants (just after occurrence boundaries, and while
//! a delivery's temporary is in the destination folder), started again, and
//! finally stopped with SIGTERM. The state store, read with the `sqlite3` or
//! `psql` client, is then compared with what the destination folder holds.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::harness::daemon::{eventually, Serve};
use crate::harness::Project;

/// Seconds between occurrences (`cron "*/3 * * * * *"`).
const EVERY: i64 = 3;

/// Where the state store is, read with its own command-line client.
pub enum Db {
    Sqlite(PathBuf),
    /// A PostgreSQL database on 127.0.0.1:5432.
    Postgres(String),
}

impl Db {
    /// The rows of `sql`, each split into its columns.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        let sep = "\u{1f}";
        let out = match self {
            Db::Sqlite(path) => Command::new("sqlite3")
                .args(["-batch", "-cmd", ".timeout 10000", "-separator", sep])
                .arg(path)
                .arg(sql)
                .output()
                .expect("the sqlite3 program is installed"),
            Db::Postgres(db) => Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1"])
                .args(["-qAt", "-F", sep, "-c", sql])
                .output()
                .expect("the psql program is installed"),
        };
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split(sep).map(str::to_string).collect())
            .collect()
    }

    fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].parse().unwrap()
    }
}

/// How a crash run is driven.
pub struct Plan {
    /// Scripts, each delivering one dated file of `rows` rows every 3 s.
    pub scripts: usize,
    pub rows: usize,
    /// `ferry serve` processes sharing the store.
    pub instances: usize,
    /// SIGKILLs aimed just after an occurrence boundary.
    pub at_boundaries: usize,
    /// SIGKILLs while a ferry temporary is in the destination folder.
    pub during_uploads: usize,
}

/// What a crash run did, for the closing report.
#[derive(Debug, Default)]
pub struct Counts {
    pub kills: usize,
    /// Upload kills after which the temporary was still there (the process
    /// died with the file half written).
    pub mid_upload: usize,
    pub runs: i64,
    pub occurrences: i64,
    pub recovered_deliveries: i64,
    pub abandoned_deliveries: i64,
    pub recovery_runs: i64,
    pub delivered_files: usize,
    /// Files two runs of one script started in the same hundredth of a
    /// second both delivered under one name (see [`check`]).
    pub same_instant_names: usize,
}

/// Writes the scripts: `sNN` delivers `sNN_<start to the hundredth>.csv`
/// of `rows` rows (about 95 bytes each) to destination `out`.
pub fn scripts(p: &Project, plan: &Plan) {
    for i in 0..plan.scripts {
        p.script(
            &format!("s{i:02}"),
            &format!(
                "//! schedule = 'cron \"*/{EVERY} * * * * *\"'\n\
                 let rows = query(\"live\", \"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) \
                 SELECT 's{i:02}' AS s, i, printf('%080d', i * {}) AS pad FROM n\");\n\
                 deliver(csv(rows, #{{ name: \"s{i:02}_\", append_date: \"yyyymmddhhmmssSS\" }}), \"out\");\n",
                plan.rows,
                i + 1
            ),
        );
    }
}

fn is_temp(name: &str) -> bool {
    name.contains(".ferry-") && name.ends_with(".partial")
}

fn listing(folder: &Path) -> Vec<String> {
    match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .filter_map(std::result::Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// True when process `pid` has `path` open (its upload is writing it).
fn holds_open(pid: u32, path: &Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(std::result::Result::ok)
                .any(|f| std::fs::read_link(f.path()).is_ok_and(|l| l == path))
        })
        .unwrap_or(false)
}

fn start(p: &Project) -> Serve {
    let serve = Serve::start(p, &["--grace", "60"]);
    eventually(Duration::from_secs(60), "ferry serve to be serving", || {
        serve.log().contains("Serving.")
    });
    serve
}

fn kill(serve: &mut Serve) {
    serve.signal("KILL");
    assert!(
        serve.wait(Duration::from_secs(20)).is_some(),
        "a SIGKILLed ferry did not exit"
    );
}

fn unix_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Sleeps until `offset_ms` after the next occurrence boundary at least
/// 300 ms away.
fn sleep_to_boundary(offset_ms: i64) {
    let now = unix_ms(Utc::now());
    let period = EVERY * 1000;
    let mut next = (now / period + 1) * period;
    if next - now < 300 {
        next += period;
    }
    std::thread::sleep(Duration::from_millis((next + offset_ms - now) as u64));
}

/// Drives the plan against `folder` (where destination `out` puts files,
/// as the server's disk holds them), then checks the store against it.
pub fn crash_and_check(p: &Project, db: &Db, folder: &Path, plan: &Plan) -> Counts {
    scripts(p, plan);
    let mut counts = Counts::default();
    let mut serves: Vec<Serve> = (0..plan.instances).map(|_| start(p)).collect();
    let first_up = Utc::now();
    let mut rng_state: u64 = 0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64;
    let mut rand_below = |n: u64| {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state % n
    };
    let total = plan.at_boundaries + plan.during_uploads;
    // What happened when, for a failure's message.
    let mut events = vec![format!("{} serving", first_up.format("%H:%M:%S%.3f"))];
    let (mut boundary_kills, mut upload_kills) = (0, 0);
    for k in 0..total {
        let aim_upload = upload_kills < plan.during_uploads && (k % 2 == 1 || boundary_kills >= plan.at_boundaries);
        let victim = if aim_upload {
            // Every other upload kill waits for a temporary in the folder;
            // the rest wait for a file to appear under its final name (the
            // instant between the commit and its record). The process
            // writing it is killed (the ledger names its instance, the
            // instance its pid).
            let at_commit = upload_kills % 2 == 1;
            let before: BTreeSet<String> = listing(folder).into_iter().collect();
            let started = Instant::now();
            let name = loop {
                let now = listing(folder);
                let hit = if !at_commit {
                    now.into_iter().find(|n| is_temp(n))
                } else {
                    now.into_iter().find(|n| !is_temp(n) && !before.contains(n))
                };
                if let Some(n) = hit {
                    break n;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "no delivery reached the destination folder within 60 s; logs:\n{}",
                    serves
                        .iter()
                        .map(super::harness::daemon::Serve::log)
                        .collect::<Vec<_>>()
                        .join("\n")
                );
                std::thread::sleep(Duration::from_micros(200));
            };
            let holder = (!at_commit)
                .then(|| serves.iter().position(|s| holds_open(s.pid(), &folder.join(&name))))
                .flatten();
            let victim = if plan.instances == 1 {
                0
            } else if let Some(h) = holder {
                h
            } else {
                let column = if at_commit { "target_path" } else { "temp_path" };
                let pid = db.rows(&format!(
                    "SELECT i.pid FROM run_files f JOIN instances i ON i.id = f.instance \
                     WHERE f.{column} LIKE '%{name}'"
                ));
                pid.first()
                    .and_then(|r| r[0].parse::<u32>().ok())
                    .and_then(|pid| serves.iter().position(|s| s.pid() == pid))
                    .unwrap_or(k % plan.instances)
            };
            kill(&mut serves[victim]);
            if !at_commit && folder.join(&name).exists() {
                counts.mid_upload += 1;
            }
            upload_kills += 1;
            victim
        } else {
            let victim = k % plan.instances;
            sleep_to_boundary(rand_below(50) as i64);
            kill(&mut serves[victim]);
            boundary_kills += 1;
            victim
        };
        counts.kills += 1;
        events.push(format!(
            "{} killed instance {victim}",
            Utc::now().format("%H:%M:%S%.3f")
        ));
        serves[victim] = start(p);
        events.push(format!(
            "{} instance {victim} serving",
            Utc::now().format("%H:%M:%S%.3f")
        ));
    }
    // The clean start (the last restart above) settles what the kills left:
    // wait until no occurrence waits for its recovery run, then one more
    // round, then stop every instance with SIGTERM.
    eventually(
        Duration::from_secs(120),
        "interrupted occurrences to be settled",
        || db.count("SELECT count(*) FROM occurrences WHERE outcome IN ('interrupted', 'running', 'claimed')") == 0,
    );
    sleep_to_boundary(1500);
    let stopping = Utc::now();
    for s in &serves {
        s.signal("TERM");
    }
    for s in &mut serves {
        assert_eq!(s.wait(Duration::from_secs(90)), Some(0), "{}", s.log());
    }
    // Occurrences that fell due just before the stop and were still waiting
    // for a free run slot are not claimed by the stopping instance: the next
    // start catches them up. `--once` is that next start.
    let mut once = Serve::start(p, &["--once"]);
    assert_eq!(once.wait(Duration::from_secs(120)), Some(0), "{}", once.log());
    events.push(format!("{} SIGTERM", stopping.format("%H:%M:%S%.3f")));
    check(db, folder, plan, first_up, stopping, &mut counts, &events);
    counts
}

/// The assertions: occurrences, runs and deliveries against the folder.
fn check(
    db: &Db,
    folder: &Path,
    plan: &Plan,
    first_up: DateTime<Utc>,
    stopping: DateTime<Utc>,
    counts: &mut Counts,
    events: &[String],
) {
    // Every occurrence while any instance was up (and every one between,
    // recorded by the next start's catch-up) has exactly one row with an
    // outcome and a run or a reason.
    let occurrences =
        db.rows("SELECT script, scheduled_at, outcome, COALESCE(run_id, -1), COALESCE(reason, '') FROM occurrences");
    counts.occurrences = occurrences.len() as i64;
    let mut seen: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for o in &occurrences {
        let at = DateTime::parse_from_rfc3339(&o[1]).unwrap().with_timezone(&Utc);
        assert!(
            ["ran", "skipped", "missed"].contains(&o[2].as_str()),
            "occurrence {} {} ended as {}",
            o[0],
            o[1],
            o[2]
        );
        assert!(
            o[3] != "-1" || !o[4].is_empty(),
            "occurrence {} {} has neither a run nor a reason",
            o[0],
            o[1]
        );
        assert!(
            seen.entry(o[0].clone()).or_default().insert(unix_ms(at)),
            "occurrence {o:?} twice"
        );
    }
    let period = EVERY * 1000;
    let (from, to) = (unix_ms(first_up) / period + 1, (unix_ms(stopping) - 1000) / period);
    for i in 0..plan.scripts {
        let script = format!("s{i:02}");
        let have = seen.get(&script).cloned().unwrap_or_default();
        let lost: Vec<i64> = (from..=to).map(|b| b * period).filter(|b| !have.contains(b)).collect();
        assert!(
            lost.is_empty(),
            "{script}: occurrences lost (no row): {:?}\noccurrences:\n{}\nschedules: {:?}\n{}",
            lost.iter()
                .map(|ms| DateTime::from_timestamp_millis(*ms).unwrap().to_rfc3339())
                .collect::<Vec<_>>(),
            db.rows(&format!(
                "SELECT o.scheduled_at, o.outcome, o.claimed_at, COALESCE(o.reason, ''), COALESCE(r.trigger, ''), \
                 COALESCE(r.started_at, '') FROM occurrences o LEFT JOIN runs r ON r.id = o.run_id \
                 WHERE o.script = '{script}' ORDER BY o.scheduled_at"
            ))
            .iter()
            .map(|r| r.join(" | "))
            .collect::<Vec<_>>()
            .join("\n"),
            db.rows("SELECT script, since FROM schedules ORDER BY script"),
            events.join("\n")
        );
    }

    // Runs: none left running; per occurrence at most one scheduled (or
    // catch-up) run, at most one recovery run naming an interrupted one,
    // at most one that succeeded.
    let runs =
        db.rows("SELECT id, script, trigger, COALESCE(occurrence, ''), status, COALESCE(recovers, -1) FROM runs");
    counts.runs = runs.len() as i64;
    let status: BTreeMap<&str, &str> = runs.iter().map(|r| (r[0].as_str(), r[4].as_str())).collect();
    let mut per: BTreeMap<(&str, &str), Vec<&Vec<String>>> = BTreeMap::new();
    for r in &runs {
        assert_ne!(r[4], "running", "run {} left running: {r:?}", r[0]);
        if !r[3].is_empty() {
            per.entry((r[1].as_str(), r[3].as_str())).or_default().push(r);
        }
    }
    for ((script, at), rs) in &per {
        let (recovery, other): (Vec<&Vec<String>>, Vec<&Vec<String>>) = rs.iter().partition(|r| r[2] == "recovery");
        assert!(other.len() <= 1, "{script} {at} ran more than once: {rs:?}");
        assert!(recovery.len() <= 1, "{script} {at} recovered more than once: {rs:?}");
        for r in &recovery {
            if r[5] != "-1" {
                assert_eq!(
                    status.get(r[5].as_str()),
                    Some(&"interrupted"),
                    "{r:?} recovers a run that was not interrupted"
                );
            }
        }
        let ok = rs.iter().filter(|r| r[4] == "succeeded").count();
        assert!(ok <= 1, "{script} {at} succeeded twice: {rs:?}");
    }
    counts.recovery_runs = runs.iter().filter(|r| r[2] == "recovery").count() as i64;

    // Deliveries: settled, and exactly what the folder holds.
    let files = db.rows(
        "SELECT f.run_id, f.name, f.bytes, f.sha256, f.state, COALESCE(f.target_path, ''), r.script, COALESCE(r.occurrence, '') \
         FROM run_files f JOIN runs r ON r.id = f.run_id WHERE f.destination = 'out'",
    );
    let mut delivered: BTreeMap<String, &Vec<String>> = BTreeMap::new();
    let mut per_occurrence: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for f in &files {
        assert!(
            ["delivered", "recovered", "failed", "abandoned"].contains(&f[4].as_str()),
            "delivery left {}: {f:?}",
            f[4]
        );
        if f[4] == "delivered" || f[4] == "recovered" {
            let name = Path::new(&f[5]).file_name().unwrap().to_string_lossy().into_owned();
            if let Some(first) = delivered.insert(name.clone(), f) {
                // Two instances can start two occurrences of one script (a
                // late catch-up and the current one) in the same hundredth
                // of a second: the names, stamped to the hundredth, are the
                // same and the second file replaces the first, with the same
                // bytes. Known and counted; anything else is a defect.
                let same_instant = first[0] != f[0] && first[6] == f[6] && first[7] != f[7] && first[3] == f[3];
                assert!(same_instant, "{name} recorded delivered twice: {first:?} and {f:?}");
                counts.same_instant_names += 1;
            }
            *per_occurrence.entry((f[6].as_str(), f[7].as_str())).or_default() += 1;
        }
    }
    for ((script, at), n) in &per_occurrence {
        assert_eq!(*n, 1, "{script} {at} reached the vendor {n} times");
    }
    counts.recovered_deliveries = files.iter().filter(|f| f[4] == "recovered").count() as i64;
    counts.abandoned_deliveries = files.iter().filter(|f| f[4] == "abandoned").count() as i64;
    let on_disk = listing(folder);
    let temps: Vec<&String> = on_disk.iter().filter(|n| is_temp(n)).collect();
    assert!(temps.is_empty(), "ferry temporaries left in the destination: {temps:?}");
    for name in &on_disk {
        let f = delivered
            .get(name)
            .unwrap_or_else(|| panic!("{name} is in the destination but no run records delivering it"));
        let bytes = std::fs::read(folder.join(name)).unwrap();
        assert_eq!(bytes.len().to_string(), f[2], "{name}: size differs from the record");
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f[3],
            "{name}: SHA-256 differs from the record"
        );
    }
    for name in delivered.keys() {
        assert!(
            on_disk.contains(name),
            "{name} is recorded delivered but is not in the destination"
        );
    }
    counts.delivered_files = on_disk.len();
}

#[test]
fn sigkill_at_boundaries_and_during_uploads_loses_and_repeats_nothing_on_sqlite() {
    let p = Project::new();
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    let db = Db::Sqlite(p.path(".ferry/state.db"));
    let plan = Plan {
        scripts: 10,
        rows: 50_000,
        instances: 1,
        at_boundaries: 20,
        during_uploads: 20,
    };
    let counts = crash_and_check(&p, &db, &p.path("out"), &plan);
    eprintln!("crash test, SQLite store, local folder: {counts:?}");
    assert_eq!(counts.kills, 40);
}

#[test]
fn three_instances_on_postgres_killed_in_turn_lose_and_repeat_nothing() {
    let name = format!("ferry_crash_{}", std::process::id());
    let p = crate::pg_state_project(&name);
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    let db = Db::Postgres(name.clone());
    let plan = Plan {
        scripts: 10,
        rows: 50_000,
        instances: 3,
        at_boundaries: 20,
        during_uploads: 20,
    };
    let counts = crash_and_check(&p, &db, &p.path("out"), &plan);
    eprintln!("crash test, three instances on PostgreSQL: {counts:?}");
    assert_eq!(counts.kills, 40);
    crate::psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
