//! `ferry serve` as a real process: hot reload, broken edits, deletion,
//! stopped scripts, SIGKILL recovery, SIGTERM grace and catch-up.

use std::time::Duration;

use crate::harness::daemon::{eventually, runs, Serve};
use crate::harness::Project;

/// Writes a script the way editors save: a temporary file renamed over it.
fn save(p: &Project, name: &str, source: &str) {
    let tmp = p.path(&format!("scripts/.{name}.rhai.swp"));
    std::fs::write(&tmp, source).unwrap();
    std::fs::rename(&tmp, p.path(&format!("scripts/{name}.rhai"))).unwrap();
}

fn every_second(value: &str) -> String {
    format!("//! schedule = 'cron \"* * * * * *\"'\n//! notify = \"tech\"\nlet f = csv(query(\"live\", \"SELECT '{value}' AS v\"), #{{ name: \"a\" }});\ndeliver(f, \"out\");\n")
}

#[test]
fn edits_reload_broken_edits_keep_the_old_version_and_deletes_unschedule() {
    let p = Project::new();
    p.script("a", &every_second("v1"));
    p.ferry(&["users", "add", "ann", "--email", "ann@example.org"]).ok();
    p.ferry(&["groups", "add", "tech"]).ok();
    p.ferry(&["groups", "add-member", "tech", "ann"]).ok();
    p.script("s", "//! schedule = 'cron \"* * * * * *\"'\n//! stopped = true\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"s\" }), \"out\");\n");
    let serve = Serve::start(&p, &[]);
    let out = p.path("out/a.csv");
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    eventually(Duration::from_secs(30), "the first scheduled run", || {
        read().contains("v1")
    });

    save(&p, "a", &every_second("v2"));
    eventually(Duration::from_secs(20), "a run of the saved version", || {
        read().contains("v2")
    });
    let hashes: std::collections::BTreeSet<String> = runs(&p, "a").into_iter().map(|r| r.script_hash).collect();
    assert_eq!(hashes.len(), 2, "two versions ran");

    // A broken edit: the previous version keeps running, the error is located.
    save(
        &p,
        "a",
        "//! schedule = 'cron \"* * * * * *\"'\n//! notify = \"tech\"\nlet f = csv(query(\"live\", \"SELECT 'v3' AS v\"), #{ name: \"a\" };\n",
    );
    eventually(Duration::from_secs(20), "the load error in the log", || {
        serve.log().contains("a.rhai:3")
    });
    eventually(Duration::from_secs(20), "a notification with the location", || {
        let out = p.ferry(&["notifications", "--user", "ann"]);
        out.code == 0 && out.stdout.contains("a.rhai:3") && out.stdout.contains("previous version stays scheduled")
    });
    let before = runs(&p, "a").len();
    eventually(Duration::from_secs(20), "runs of the previous version", || {
        runs(&p, "a").len() >= before + 2
    });
    assert!(read().contains("v2"));
    // Under load an every-second run may still be going or be skipped;
    // none may fail, and the newest finished ones ran the previous version.
    let all = runs(&p, "a");
    assert!(
        all.iter()
            .all(|r| ["succeeded", "running", "skipped"].contains(&r.status.as_str())),
        "the old version keeps running: {all:?}"
    );

    // Deleted: no more runs.
    std::fs::remove_file(p.path("scripts/a.rhai")).unwrap();
    eventually(Duration::from_secs(20), "the removal in the log", || {
        serve.log().contains("Script removed")
    });
    std::thread::sleep(Duration::from_millis(1500));
    let after = runs(&p, "a").len();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(runs(&p, "a").len(), after, "a deleted script is not scheduled");

    assert!(runs(&p, "s").is_empty(), "stopped = true never runs");
    assert!(!p.path("out/s.csv").exists());
}

fn slow(seconds_of_work: u64) -> String {
    // Rhai counts to this in roughly the given time on a debug build; the
    // tests only need "still running for a while", not a precise duration.
    format!(
        "//! schedule = 'cron \"*/2 * * * * *\"'\n//! catch_up = \"none\"\nlet n = 0;\nwhile n < {} {{ n += 1; }}\ndeliver(csv(query(\"live\", \"SELECT 1 AS done\"), #{{ name: \"slow\" }}), \"out\");\n",
        seconds_of_work * 2_000_000
    )
}

#[test]
fn sigkill_during_a_run_is_marked_interrupted_after_restart_and_nothing_repeats() {
    let p = Project::new();
    p.script("slow", &slow(30));
    let serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "a run in progress", || {
        runs(&p, "slow").iter().any(|r| r.status == "running")
    });
    serve.signal("KILL");
    drop(serve);
    let killed = runs(&p, "slow")
        .into_iter()
        .find(|r| r.status == "running")
        .expect("left running by the kill");

    std::fs::write(p.path("scripts/slow.rhai"), "//! schedule = \"none\"\nlet x = 1;\n").unwrap();
    let mut again = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "the killed run marked interrupted", || {
        runs(&p, "slow")
            .iter()
            .any(|r| r.id == killed.id && r.status == "interrupted")
    });
    again.signal("TERM");
    assert_eq!(again.wait(Duration::from_secs(20)), Some(0));
    let all = runs(&p, "slow");
    // The interrupted occurrence runs again once, as a recovery run naming
    // the killed run; no other run repeats an occurrence.
    let recovery: Vec<_> = all.iter().filter(|r| r.trigger == "recovery").collect();
    assert!(recovery.len() <= 1, "{all:?}");
    assert!(
        recovery
            .iter()
            .all(|r| r.recovers == Some(killed.id) && r.occurrence == killed.occurrence),
        "{all:?}"
    );
    let mut occurrences: Vec<_> = all
        .iter()
        .filter(|r| r.trigger != "recovery")
        .filter_map(|r| r.occurrence)
        .collect();
    let n = occurrences.len();
    occurrences.sort();
    occurrences.dedup();
    assert_eq!(occurrences.len(), n, "no occurrence recorded twice: {all:?}");
    let row = all.iter().find(|r| r.id == killed.id).unwrap();
    assert!(row.error.as_deref().unwrap_or("").contains("crash or kill"), "{row:?}");
}

#[test]
fn sigterm_lets_the_running_extract_finish() {
    let p = Project::new();
    p.script("slow", &slow(3));
    let mut serve = Serve::start(&p, &["--grace", "120"]);
    eventually(Duration::from_secs(30), "a run in progress", || {
        runs(&p, "slow").iter().any(|r| r.status == "running")
    });
    serve.signal("TERM");
    assert_eq!(serve.wait(Duration::from_secs(120)), Some(0), "{}", serve.log());
    let all = runs(&p, "slow");
    let ran: Vec<_> = all.iter().filter(|r| r.status != "skipped").collect();
    assert_eq!(ran.len(), 1, "{all:?}");
    assert_eq!(ran[0].status, "succeeded", "{all:?}");
    assert!(p.path("out/slow.csv").exists());
    assert!(serve.log().contains("Stopped."));
}

#[test]
fn missed_occurrences_catch_up_once_or_are_recorded() {
    let p = Project::new();
    p.script("late", "//! schedule = 'cron \"*/2 * * * * *\"'\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"late\" }), \"out\");\n");
    p.script("skip", "//! schedule = 'cron \"*/2 * * * * *\"'\n//! catch_up = \"none\"\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"skip\" }), \"out\");\n");
    let mut serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "first runs", || {
        !runs(&p, "late").is_empty() && !runs(&p, "skip").is_empty()
    });
    serve.signal("TERM");
    assert_eq!(serve.wait(Duration::from_secs(30)), Some(0));
    std::thread::sleep(Duration::from_secs(5));
    let _again = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "a catch-up run", || {
        runs(&p, "late")
            .iter()
            .any(|r| r.trigger == "catch-up" && r.status == "succeeded")
    });
    eventually(Duration::from_secs(30), "a recorded miss", || {
        runs(&p, "skip").iter().any(|r| r.status == "missed")
    });
    assert_eq!(
        runs(&p, "late").iter().filter(|r| r.trigger == "catch-up").count(),
        1,
        "only the latest missed occurrence runs"
    );
}

#[test]
fn a_symlink_swap_like_a_kubernetes_config_map_is_picked_up() {
    let p = Project::new();
    let scripts = p.path("scripts");
    let version = |n: u32, value: &str| {
        let dir = scripts.join(format!("..v{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("k.rhai"), every_second(value)).unwrap();
        dir
    };
    version(1, "one");
    std::os::unix::fs::symlink("..v1", scripts.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/k.rhai", scripts.join("k.rhai")).unwrap();
    let _serve = Serve::start(&p, &[]);
    let out = p.path("out/a.csv");
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    eventually(Duration::from_secs(30), "the first version", || read().contains("one"));
    // Kubernetes writes a new folder, points a new link at it and renames the link over ..data.
    version(2, "two");
    std::os::unix::fs::symlink("..v2", scripts.join("..data_tmp")).unwrap();
    std::fs::rename(scripts.join("..data_tmp"), scripts.join("..data")).unwrap();
    eventually(Duration::from_secs(20), "the swapped version", || {
        read().contains("two")
    });
}

#[test]
fn once_runs_what_is_due_and_exits_and_health_reports_live_instances() {
    let p = Project::new();
    p.script("due", "//! schedule = 'cron \"* * * * *\"'\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"due\" }), \"out\");\n");
    p.script(
        "later",
        "//! schedule = \"none\"\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"later\" }), \"out\");\n",
    );
    let mut once = Serve::start(&p, &["--once"]);
    assert_eq!(once.wait(Duration::from_secs(60)), Some(0), "{}", once.log());
    assert!(p.path("out/due.csv").exists(), "{}", once.log());
    assert!(!p.path("out/later.csv").exists());
    let first = runs(&p, "due");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].trigger, "scheduled");
    // The same occurrence is not run again by a second --once in the same minute.
    let mut again = Serve::start(&p, &["--once"]);
    assert_eq!(again.wait(Duration::from_secs(60)), Some(0));
    let second = runs(&p, "due");
    assert!(
        second.len() == 1 || second[0].occurrence != first[0].occurrence,
        "{second:?}"
    );

    let down = p.ferry(&["health"]);
    assert_eq!(down.code, 1, "no serve running: {down:?}");
    let _serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "a healthy instance", || {
        p.ferry(&["health"]).code == 0
    });
    assert!(p.ferry(&["health"]).stdout.contains("serving"));
}

#[test]
fn poll_mode_and_a_configuration_change_reload_the_scripts() {
    let p = Project::new();
    // The destination does not exist yet: the script does not load.
    p.script("v", "//! schedule = 'cron \"* * * * * *\"'\ndeliver(csv(query(\"live\", \"SELECT 1 AS x\"), #{ name: \"v\" }), \"vendor\");\n");
    let serve = Serve::start(&p, &["--poll", "1"]);
    eventually(Duration::from_secs(30), "the load error", || {
        serve.log().contains("unknown destination 'vendor'")
    });
    let config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    std::fs::write(
        p.path("ferry.toml"),
        format!("{config}[destinations.vendor]\nmode = \"local\"\npath = \"vendor\"\n"),
    )
    .unwrap();
    eventually(Duration::from_secs(30), "a delivery to the new destination", || {
        p.path("vendor/v.csv").exists()
    });
    assert!(serve.log().contains("Configuration reloaded."));
}
