//! The sandbox: time limits that really stop a script, resource limits, and
//! no way out of the allowed folders.

use std::time::Duration;

use ferry::state::Trigger;

use crate::harness::Project;

#[tokio::test(flavor = "multi_thread")]
async fn timeout_stops_an_endless_loop() {
    let p = Project::new();
    p.script("spin", "//! timeout = \"1s\"\nlet n = 0;\nloop { n += 1; }\n");
    let r = p.run("spin", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(
        e.contains("spin.rhai:3:") && e.contains("time limit of 1s passed"),
        "{e}"
    );
    let (row, _, _) = p.app().await.store.run(r.id).await.unwrap();
    assert_eq!(row.status, "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_stops_a_long_extract_and_leaves_no_file() {
    let p = Project::new();
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    p.script(
        "long",
        "//! timeout = \"1s\"\nlet rows = query(\"live\", \"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i, 'some text' FROM n\");\ndeliver(csv(rows, #{ name: \"big\" }), \"out\");\n",
    );
    let r = p.run("long", Trigger::Manual, &[]).await;
    let e = r.error.unwrap();
    assert!(e.contains("time limit of 1s passed"), "{e}");
    assert!(p.files("out").is_empty());
    assert!(p.all_files(".ferry/work").iter().all(|f| !f.ends_with(".partial")));
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_flag_stops_a_run() {
    let p = Project::new();
    p.script("spin", "loop { }\n");
    let app = p.app().await;
    let script = app.load(&p.path("scripts/spin.rhai")).unwrap();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let req = ferry::run::RunRequest {
        cancel: Some(cancel),
        ..ferry::run::RunRequest::by(ferry::state::StartedBy::cli())
    };
    let r = app.run(&script, Trigger::Manual, req).await.unwrap();
    assert!(r.error.unwrap().contains("cancelled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn runaway_recursion_and_huge_strings_are_stopped() {
    let p = Project::new();
    p.script("rec", "fn f(n) { f(n + 1) }\nf(0);\n");
    let e = p.run("rec", Trigger::Manual, &[]).await.error.unwrap();
    assert!(e.to_lowercase().contains("stack overflow") || e.contains("call"), "{e}");
    p.script("str", "let s = \"xxxxxxxx\";\nloop { s += s; }\n");
    let e = p.run("str", Trigger::Manual, &[]).await.error.unwrap();
    assert!(
        e.contains("str.rhai:2:") && e.to_lowercase().contains("too large"),
        "{e}"
    );
}

#[test]
fn imports_stay_inside_lib_and_stdlib_and_eval_is_off() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("scripts/lib")).unwrap();
    std::fs::write(p.path("scripts/lib/local.rhai"), "fn hi() { \"hi\" }\n").unwrap();
    std::fs::write(p.path("stdlib/shared.rhai"), "fn hey() { \"hey\" }\n").unwrap();
    std::fs::write(p.path("secret.rhai"), "fn s() { 1 }\n").unwrap();
    let settings = p.settings();
    let load = |name: &str, src: &str| {
        p.script(name, src);
        ferry::script::Script::load(&p.path(&format!("scripts/{name}.rhai")), &settings)
    };
    assert!(load(
        "ok",
        "import \"local\" as l;\nimport \"shared\" as s;\nl::hi() + s::hey();\n"
    )
    .is_ok());
    let e = load("esc", "import \"../secret\" as s;\n").unwrap_err().to_string();
    assert!(e.contains("no .., no absolute paths"), "{e}");
    let e = load("missing", "import \"nothere\" as s;\n").unwrap_err().to_string();
    assert!(e.contains("no module nothere.rhai"), "{e}");
    let e = load("ev", "eval(\"1\");\n").unwrap_err().to_string();
    assert!(e.contains("ev.rhai:1:"), "{e}");
}
