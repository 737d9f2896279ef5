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
        let out = p.ferry(&["notifications", "--wide", "--user", "ann"]);
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
    assert_eq!(first[0].started_by, Some(ferry::state::StartedBy::Schedule));
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

#[test]
fn every_load_failure_is_told_once_to_the_scripts_group_or_the_admin_group() {
    let p = Project::new();
    let config = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    std::fs::write(p.path("ferry.toml"), format!("admin_group = \"admins\"\n{config}")).unwrap();
    for (user, group) in [("ann", "tech"), ("bob", "admins")] {
        p.ferry(&["users", "add", user, "--email", &format!("{user}@example.org")])
            .ok();
        p.ferry(&["groups", "add", group]).ok();
        p.ferry(&["groups", "add-member", group, user]).ok();
    }
    p.script("ok", "//! schedule = 'cron \"0 2 * * *\"'\nlet x = 1;\n");
    let serve = Serve::start(&p, &["--poll", "1"]);
    eventually(Duration::from_secs(90), "serving", || serve.log().contains("Serving."));
    // Notifications are read through a configuration of their own, as the
    // project's is broken on purpose below.
    std::fs::create_dir_all(p.path("reader")).unwrap();
    std::fs::write(p.path("reader/ferry.toml"), "state = \"../.ferry/state.db\"\n").unwrap();
    let reader = p.path("reader/ferry.toml").display().to_string();
    let told = |user: &str, what: &str| {
        let out = p.ferry(&["--config", &reader, "notifications", "--wide", "--user", user]);
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout.lines().filter(|l| l.contains(what)).count()
    };
    // A new script whose header does not load (its schedule is wrong): its
    // own group is told, with the line.
    save(
        &p,
        "fresh",
        "//! schedule = \"every blue moon\"\n//! notify = \"tech\"\nlet x = 1;\n",
    );
    // One whose header names no group: the admin group is told.
    save(&p, "orphan", "//! schedule = 'cron \"0 2 * * *\n\nlet x = 1;\n");
    eventually(Duration::from_secs(180), "both told", || {
        told("ann", "fresh.rhai:1") == 1 && told("bob", "orphan.rhai:1") == 1
    });
    // Rescans (a configuration change re-checks every script) do not tell again.
    std::fs::write(
        p.path("ferry.toml"),
        format!("admin_group = \"admins\"\n{config}\n# edited\n"),
    )
    .unwrap();
    eventually(Duration::from_secs(90), "the reload", || {
        serve.log().contains("Configuration reloaded.")
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(told("ann", "fresh.rhai"), 1);
    assert_eq!(told("bob", "orphan.rhai"), 1);
    // A different error in the same script is told.
    save(
        &p,
        "fresh",
        "//! notify = \"tech\"\n//! timeout = \"soon\"\nlet x = 1;\n",
    );
    eventually(Duration::from_secs(90), "the new error told", || {
        told("ann", "fresh.rhai:2") == 1
    });

    // A ferry.toml that does not reload: located, told to the admins, and
    // no script is reloaded for it.
    let reloads = serve.log().matches("Script reloaded").count();
    std::fs::write(
        p.path("ferry.toml"),
        format!(
            "admin_group = \"admins\"\n{}",
            config.replace("America/Chicago", "Mars/Olympus")
        ),
    )
    .unwrap();
    eventually(Duration::from_secs(90), "the configuration error", || {
        serve.log().contains("ferry.toml:2: timezone 'Mars/Olympus'")
    });
    eventually(Duration::from_secs(90), "the admins told", || {
        told("bob", "ferry.toml:2") == 1
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        serve.log().matches("Script reloaded").count(),
        reloads,
        "{}",
        serve.log()
    );
    assert_eq!(told("bob", "ferry.toml:2"), 1, "told once");
}

/// The `recovery` example of docs/scripting.md, as written there.
fn documented_recovery_example() -> String {
    let doc = std::fs::read_to_string(crate::harness::repo().join("docs/scripting.md")).unwrap();
    let section = &doc[doc.find("### Interrupted runs: `recovery`").unwrap()..];
    let start = section.find("```rhai\n").unwrap() + "```rhai\n".len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

#[test]
fn the_documented_recovery_example_runs_on_the_demo_district() {
    let p = Project::from_repo();
    std::fs::write(p.path("scripts/nightly.rhai"), documented_recovery_example()).unwrap();
    let out = p.ferry(&["run", "nightly"]);
    assert!(out.ok().contains("nightly: succeeded"), "{out:?}");
    assert!(p.files("out").iter().any(|f| f.starts_with("nightly_")));
}

#[test]
fn recovery_none_records_an_interrupted_occurrence_missed_and_does_not_rerun_it() {
    let p = Project::new();
    // The documented example's header, on a schedule a test can wait for
    // and with work that is still going when the kill comes.
    let example = documented_recovery_example();
    assert!(example.contains("//! recovery = \"none\"\n"));
    let header: String = example
        .lines()
        .filter(|l| l.starts_with("//! ") && !l.starts_with("//! schedule") && !l.starts_with("//! notify"))
        .map(|l| format!("{l}\n"))
        .collect();
    let body = slow(30).replace("//! catch_up = \"none\"\n", "");
    p.script("slow", &format!("{header}{body}"));
    let serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "a run in progress", || {
        runs(&p, "slow").iter().any(|r| r.status == "running")
    });
    serve.signal("KILL");
    drop(serve);
    let killed = runs(&p, "slow").into_iter().find(|r| r.status == "running").unwrap();
    std::fs::write(
        p.path("scripts/slow.rhai"),
        format!("//! schedule = \"none\"\n{header}let x = 1;\n"),
    )
    .unwrap();
    let mut again = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "the miss recorded with its reason", || {
        again.log().contains("Not run again") && again.log().contains("recovery = \"none\"")
    });
    again.signal("TERM");
    assert_eq!(again.wait(Duration::from_secs(20)), Some(0));
    let all = runs(&p, "slow");
    assert!(all.iter().all(|r| r.trigger != "recovery"), "{all:?}");
    assert_eq!(all.iter().find(|r| r.id == killed.id).unwrap().status, "interrupted");
    let settings = p.settings();
    let at = killed.occurrence.unwrap();
    let outcome = crate::harness::on_own_runtime(move || async move {
        let store = ferry::state::Store::open(&settings.state).await.unwrap();
        store
            .occurrences("slow", 100)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.0 == at)
            .unwrap()
            .1
    });
    assert_eq!(outcome, "missed");
}

#[test]
fn hand_edited_state_rows_are_reported_at_start_and_never_stop_the_daemon() {
    let p = Project::new();
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "a",
        "deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{ name: \"a\" }), \"out\");\n",
    );
    p.ferry(&["run", "a"]).ok();
    // What a hand edit or a newer version could leave: an unknown run
    // status, an unknown delivery state, and file rows of a run that is gone.
    let edit = std::process::Command::new("sqlite3")
        .arg(p.path(".ferry/state.db"))
        .arg(
            "UPDATE runs SET status = 'exploded' WHERE id = 1; \
             UPDATE run_files SET state = 'teleported' WHERE run_id = 1; \
             INSERT INTO run_files (run_id, name, rows, bytes, sha256, destination, state) \
             VALUES (999, 'ghost.csv', 1, 1, 'x', 'out', 'delivered');",
        )
        .output()
        .expect("the sqlite3 program is installed");
    assert!(edit.status.success(), "{edit:?}");
    let mut serve = Serve::start(&p, &[]);
    eventually(Duration::from_secs(30), "serving", || serve.log().contains("Serving."));
    let log = serve.log();
    for (row, what) in [
        ("row=run 1", "unknown status 'exploded': marked failed"),
        (
            "row=delivery of a.csv in run 1",
            "unknown delivery state 'teleported': marked unknown",
        ),
        ("row=files of run 999", "they belong to no run in history"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(row) && l.contains(what)),
            "{row}: {what}\n{log}"
        );
    }
    let history = p.ferry(&["history", "a"]);
    assert!(history.ok().contains("failed"), "{history:?}");
    serve.signal("TERM");
    assert_eq!(serve.wait(Duration::from_secs(20)), Some(0), "{}", serve.log());
}
