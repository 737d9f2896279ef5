//! `GET /metrics` of a real `ferry serve` process while scheduled runs
//! succeed, fail and are held: the counters move between scrapes, the
//! gauges say what is true, and every scrape parses with the Prometheus
//! Python client's parsers (tests/read_metrics.py), which must be installed.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::harness::daemon::{eventually, Serve};
use crate::harness::{repo, Project};

#[derive(Debug, Deserialize)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Deserialize)]
struct Family {
    #[serde(rename = "type")]
    kind: String,
    samples: Vec<Sample>,
}

#[derive(Debug, Deserialize)]
struct Parsed {
    /// As the OpenMetrics parser reads the scrape.
    families: BTreeMap<String, Family>,
    /// Every sample as the classic Prometheus text parser reads it.
    classic: Vec<Sample>,
    rule_metrics: Vec<String>,
}

/// One scrape as read by Python's prometheus_client.
struct Scrape {
    parsed: Parsed,
}

impl Scrape {
    /// The value of the sample `name` whose labels include `labels`; 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(name, labels).iter().map(|s| s.value).sum()
    }

    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.parsed
            .families
            .values()
            .flat_map(|f| &f.samples)
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    fn kind(&self, family: &str) -> &str {
        self.parsed.families.get(family).map_or("absent", |f| f.kind.as_str())
    }

    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.parsed.families.keys().map(String::as_str).collect();
        names.extend(
            self.parsed
                .families
                .values()
                .flat_map(|f| f.samples.iter().map(|s| s.name.as_str())),
        );
        names
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GETs /metrics and parses it with Python; `None` while nothing listens yet.
fn scrape(p: &Project, port: u16) -> Option<Scrape> {
    let response = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics")).ok()?;
    assert!(response.status().is_success(), "{:?}", response.status());
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().unwrap();
    let file = p.path("scrape.txt");
    std::fs::write(&file, &text).unwrap();
    let rules = repo().join("docs/alerts/ferry.rules.yml");
    let parsed: Parsed = crate::harness::python_json(
        &[
            repo().join("tests/read_metrics.py").as_os_str(),
            file.as_os_str(),
            rules.as_os_str(),
        ],
        &format!("prometheus_client could not parse /metrics (pip install prometheus-client==0.21.1):\n{text}"),
    );
    Some(Scrape { parsed })
}

const EVERY_2S: &str = "//! schedule = 'cron \"*/2 * * * * *\"'\n//! catch_up = \"none\"\n";

#[test]
fn counters_move_as_runs_succeed_fail_and_are_held_and_the_output_parses() {
    let p = Project::new();
    let port = free_port();
    // `nowhere` is a folder under a plain file: every delivery there fails.
    std::fs::write(p.path("blocker"), "a file, not a folder").unwrap();
    let base = std::fs::read_to_string(p.path("ferry.toml")).unwrap();
    p.config(&format!(
        "{base}[destinations.nowhere]\nmode = \"local\"\npath = \"blocker/inside\"\n\
         [metrics]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    p.sqlite("CREATE TABLE one (x INTEGER); INSERT INTO one VALUES (1);");
    let deliver = |name: &str, to: &str| {
        format!("deliver(csv(query(\"live\", \"SELECT x FROM one\"), #{{ name: \"{name}\" }}), \"{to}\");\n")
    };
    p.script("good", &format!("{EVERY_2S}{}", deliver("good", "out")));
    p.script("bad", &format!("{EVERY_2S}{}", deliver("bad", "nowhere")));
    p.script(
        "guarded",
        &format!(
            "{EVERY_2S}//! [guards]\n//! min_rows = 5\n{}",
            deliver("guarded", "out")
        ),
    );
    p.script(
        "broken",
        &format!("{EVERY_2S}let f = csv(query(\"live\", \"SELECT 1\");\n"),
    );
    let serve = Serve::start(&p, &[]);

    let mut first = None;
    eventually(Duration::from_secs(60), "a run of each kind in /metrics", || {
        first = scrape(&p, port);
        first.as_ref().is_some_and(|s| {
            s.value("ferry_runs_total", &[("script", "good"), ("status", "succeeded")]) >= 1.0
                && s.value("ferry_runs_total", &[("script", "bad"), ("status", "failed")]) >= 1.0
                && s.value("ferry_runs_total", &[("script", "guarded"), ("status", "held")]) >= 1.0
        })
    });
    let first = first.unwrap();
    let count =
        |s: &Scrape, script: &str, status: &str| s.value("ferry_runs_total", &[("script", script), ("status", status)]);
    let failures = |s: &Scrape| s.value("ferry_delivery_failures_total", &[("destination", "nowhere")]);
    let attempts = |s: &Scrape| {
        s.value(
            "ferry_delivery_attempts_total",
            &[("destination", "out"), ("mode", "local")],
        )
    };
    assert!(
        failures(&first) >= 1.0,
        "{:?}",
        first.samples("ferry_delivery_failures_total", &[])
    );
    assert!(attempts(&first) >= 1.0);

    let mut later = None;
    eventually(Duration::from_secs(60), "every counter to move", || {
        later = scrape(&p, port);
        later.as_ref().is_some_and(|s| {
            count(s, "good", "succeeded") > count(&first, "good", "succeeded")
                && count(s, "bad", "failed") > count(&first, "bad", "failed")
                && count(s, "guarded", "held") > count(&first, "guarded", "held")
                && failures(s) > failures(&first)
                && attempts(s) > attempts(&first)
                && s.value(
                    "ferry_state_store_query_duration_seconds_count",
                    &[("operation", "heartbeat")],
                ) >= 1.0
        })
    });
    let s = later.unwrap();
    let runs = count(&s, "good", "succeeded");
    // Only the broken script does not load, and it is named.
    assert_eq!(s.value("ferry_scripts_not_loading", &[]), 1.0);
    assert_eq!(s.value("ferry_script_load_error", &[("script", "broken")]), 1.0);
    assert_eq!(s.samples("ferry_script_load_error", &[]).len(), 1);
    // A guard holds the newest run of `guarded` (newer ones supersede older ones).
    assert!(s.value("ferry_held_runs", &[]) >= 1.0);
    // The failure is classed: a folder under a plain file is not a network problem.
    let classes: Vec<&str> = s
        .samples("ferry_delivery_failures_total", &[("destination", "nowhere")])
        .iter()
        .map(|x| x.labels["class"].as_str())
        .collect();
    assert!(!classes.is_empty() && !classes.contains(&"network"), "{classes:?}");
    // Durations, rows and bytes follow the runs.
    assert!(s.value("ferry_run_duration_seconds_count", &[("script", "good")]) >= runs);
    assert!(s.value("ferry_run_rows_total", &[("script", "good")]) >= runs);
    assert!(
        s.value("ferry_run_bytes_total", &[("script", "good")]) >= runs * 4.0,
        "x\\n1\\n per run"
    );
    // Last success is recent; a script that never succeeded has none.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let last = s.value("ferry_last_success_timestamp_seconds", &[("script", "good")]);
    assert!(now - last < 30.0 && last <= now + 1.0, "last success {last}, now {now}");
    assert!(s
        .samples("ferry_last_success_timestamp_seconds", &[("script", "bad")])
        .is_empty());
    // Typed as Prometheus expects, and the classic parser reads the same samples.
    for (family, kind) in [
        ("ferry_runs", "counter"),
        ("ferry_run_duration_seconds", "histogram"),
        ("ferry_delivery_failures", "counter"),
        ("ferry_held_runs", "gauge"),
        ("ferry_last_success_timestamp_seconds", "gauge"),
        ("ferry_state_store_query_duration_seconds", "histogram"),
    ] {
        assert_eq!(s.kind(family), kind, "{family}");
    }
    let classic = |name: &str, script: &str| -> Vec<f64> {
        s.parsed
            .classic
            .iter()
            .filter(|x| x.name == name && x.labels.get("script").map(String::as_str) == Some(script))
            .map(|x| x.value)
            .collect()
    };
    assert_eq!(
        s.parsed.classic.len(),
        s.parsed.families.values().map(|f| f.samples.len()).sum::<usize>()
    );
    assert_eq!(
        classic("ferry_runs_total", "good").iter().sum::<f64>(),
        s.value("ferry_runs_total", &[("script", "good")])
    );
    assert_eq!(
        classic("ferry_run_duration_seconds_count", "good"),
        vec![s.value("ferry_run_duration_seconds_count", &[("script", "good")])]
    );
    // Every metric the example alert rules use exists.
    let names = s.names();
    for m in &s.parsed.rule_metrics {
        assert!(
            names.contains(&m.as_str()),
            "docs/alerts/ferry.rules.yml uses {m}, which /metrics lacks"
        );
    }
    assert!(s.parsed.rule_metrics.len() >= 5, "{:?}", s.parsed.rule_metrics);
    drop(serve);
}
