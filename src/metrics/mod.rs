//! Prometheus metrics: what happened since `ferry serve` started (runs,
//! durations, rows, bytes, delivery attempts and their failures), counted as
//! it happens, and what is true now (held runs, the last successful run of
//! each script, scripts that do not load), read from the state store and the
//! scripts folder at each scrape so it survives restarts.
//!
//! The counters are process-wide: runs and deliveries report here from
//! wherever they happen, so this module depends on nothing else in ferry
//! (a leaf every layer may call); only `ferry serve` offers them, and its
//! daemon reads what is true now at each scrape (`daemon::metrics`).

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScriptLabels {
    script: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    script: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    destination: String,
    mode: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    destination: String,
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Runs take seconds to hours: 0.5 s doubling to about 4.5 hours.
fn run_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 16))
}

/// State store queries take a millisecond to seconds: 1 ms doubling to about 16 s.
fn store_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    duration: HistogramFamily<ScriptLabels>,
    rows: Family<ScriptLabels, Counter>,
    bytes: Family<ScriptLabels, Counter>,
    attempts: Family<AttemptLabels, Counter>,
    failures: Family<FailureLabels, Counter>,
    held: Gauge,
    last_success: Family<ScriptLabels, Gauge>,
    not_loading: Gauge,
    load_errors: Family<ScriptLabels, Gauge>,
    store: HistogramFamily<OperationLabels>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("ferry");
    let m = Metrics {
        registry: Registry::default(),
        runs: Family::default(),
        duration: Family::new_with_constructor(run_buckets),
        rows: Family::default(),
        bytes: Family::default(),
        attempts: Family::default(),
        failures: Family::default(),
        held: Gauge::default(),
        last_success: Family::default(),
        not_loading: Gauge::default(),
        load_errors: Family::default(),
        store: Family::new_with_constructor(store_buckets),
    };
    registry.register("runs", "Runs that ended, by script and status", m.runs.clone());
    registry.register_with_unit(
        "run_duration",
        "How long runs took, start to recorded end",
        Unit::Seconds,
        m.duration.clone(),
    );
    registry.register("run_rows", "Data rows written by runs, per script", m.rows.clone());
    registry.register_with_unit("run", "Bytes written by runs, per script", Unit::Bytes, m.bytes.clone());
    registry.register(
        "delivery_attempts",
        "Tries at delivering a file, by destination and mode",
        m.attempts.clone(),
    );
    registry.register(
        "delivery_failures",
        "Failed tries at delivering a file, by destination and failure class",
        m.failures.clone(),
    );
    registry.register(
        "held_runs",
        "Runs whose files a guard holds now, awaiting release or discard",
        m.held.clone(),
    );
    registry.register(
        "last_success_timestamp_seconds",
        "When each script's latest successful run ended (Unix time)",
        m.last_success.clone(),
    );
    registry.register(
        "scripts_not_loading",
        "Scripts in the scripts folder that do not load",
        m.not_loading.clone(),
    );
    registry.register(
        "script_load_error",
        "1 for each script that does not load (see `ferry check`)",
        m.load_errors.clone(),
    );
    registry.register_with_unit(
        "state_store_query_duration",
        "How long state store queries took, by operation",
        Unit::Seconds,
        m.store.clone(),
    );
    Metrics { registry, ..m }
});

/// A run ended: counted under its script and status, with its duration,
/// rows and bytes.
pub(crate) fn run_finished(script: &str, status: &str, took: Duration, rows: u64, bytes: u64) {
    let m = &*METRICS;
    let script_label = ScriptLabels {
        script: script.to_string(),
    };
    m.runs
        .get_or_create(&RunLabels {
            script: script.to_string(),
            status: status.to_string(),
        })
        .inc();
    m.duration.get_or_create(&script_label).observe(took.as_secs_f64());
    m.rows.get_or_create(&script_label).inc_by(rows);
    m.bytes.get_or_create(&script_label).inc_by(bytes);
}

/// A try at a delivery ended; `failure` is its class when it failed.
pub(crate) fn delivery_attempt(destination: &str, mode: &str, failure: Option<&str>) {
    let m = &*METRICS;
    m.attempts
        .get_or_create(&AttemptLabels {
            destination: destination.to_string(),
            mode: mode.to_string(),
        })
        .inc();
    if let Some(class) = failure {
        m.failures
            .get_or_create(&FailureLabels {
                destination: destination.to_string(),
                class: class.to_string(),
            })
            .inc();
    }
}

/// A state store operation took `took`.
pub(crate) fn store_query(operation: &str, took: Duration) {
    METRICS
        .store
        .get_or_create(&OperationLabels {
            operation: operation.to_string(),
        })
        .observe(took.as_secs_f64());
}

/// Times one state store query for [`store_query`].
pub(crate) async fn timed<T>(operation: &str, query: impl std::future::Future<Output = T>) -> T {
    let began = Instant::now();
    let out = query.await;
    store_query(operation, began.elapsed());
    out
}

/// What is true now, read by the daemon at each scrape (it owns the store
/// and the scripts folder; this module only counts and encodes).
pub(crate) struct Now {
    /// Runs whose files a guard holds; `None` when the store could not be
    /// read (the last value stays).
    pub held: Option<i64>,
    /// Every script in the scripts folder.
    pub scripts: Vec<ScriptNow>,
}

/// One script at scrape time.
pub(crate) struct ScriptNow {
    pub id: String,
    /// False when it does not load.
    pub loads: bool,
    /// When its latest successful run ended (Unix time), when known.
    pub last_success: Option<i64>,
}

/// Sets the gauges to `now` and returns every metric in the OpenMetrics
/// text format.
pub(crate) fn encode(now: Now) -> String {
    let m = &*METRICS;
    if let Some(held) = now.held {
        m.held.set(held);
    }
    let mut not_loading = 0;
    m.load_errors.clear();
    m.last_success.clear();
    for s in now.scripts {
        let labels = ScriptLabels { script: s.id };
        if !s.loads {
            not_loading += 1;
            m.load_errors.get_or_create(&labels).set(1);
        }
        if let Some(at) = s.last_success {
            m.last_success.get_or_create(&labels).set(at);
        }
    }
    m.not_loading.set(not_loading);
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &m.registry) {
        tracing::warn!(error = %e, "Metrics could not be encoded.");
    }
    out
}
