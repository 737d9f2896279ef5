//! What each extract did lately, as pictures: rows and duration of its last
//! runs on its page (with the header's row-count guards), and a sparkline
//! on the list. The numbers come from history; `chart` draws them.

use maud::{html, Markup};

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::chart::{self, Mark, Point, Series, Threshold};
use super::Viewer;
use crate::catalog::Extract;
use crate::guard::Guards;
use crate::state::{RunRow, RunStatus, StateError, Store};

/// Sparklines as last drawn, by script, with the latest run each shows:
/// the list is asked for many times a second and a script's sparkline only
/// changes when it has a new run or its latest run changes status (only the
/// latest can be running, and a guard's hold stays drawn as held).
#[derive(Default)]
pub(crate) struct Sparklines {
    drawn: Mutex<Drawn>,
}

/// Each script's sparkline with the latest run (id, status) it shows.
type Drawn = HashMap<String, (Option<(i64, RunStatus)>, Markup)>;

impl Sparklines {
    /// The sparkline of the list line `e`, drawn again only when needed.
    pub(crate) async fn of(&self, store: &Store, e: &Extract) -> Result<Markup, StateError> {
        let latest = e.last_run.as_ref().map(|r| (r.id, r.status));
        if let Some((shown, markup)) = self.lock().get(&e.id) {
            if *shown == latest {
                return Ok(markup.clone());
            }
        }
        let runs = store.recent_runs(&e.id, SPARK_RUNS).await?;
        let markup = sparkline(&e.id, &runs);
        self.lock().insert(e.id.clone(), (latest, markup.clone()));
        Ok(markup)
    }

    fn lock(&self) -> MutexGuard<'_, Drawn> {
        self.drawn.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs on an extract's page.
pub(super) const PAGE_RUNS: i64 = 60;
/// Runs in a list row's sparkline.
pub(super) const SPARK_RUNS: i64 = 20;

/// How a run is drawn; `None` for what never ran (a skipped or missed
/// occurrence, a test that delivered nothing, a run still going).
fn mark(r: &RunRow) -> Option<Mark> {
    if r.trigger == "test" {
        return None;
    }
    match r.status {
        RunStatus::Succeeded => Some(Mark::Done),
        // Every run a guard held, whatever a person did with it since.
        RunStatus::Held | RunStatus::Released | RunStatus::Discarded | RunStatus::Superseded => Some(Mark::Held),
        RunStatus::Failed | RunStatus::Interrupted => Some(Mark::Failed),
        RunStatus::Running | RunStatus::Skipped | RunStatus::Missed => None,
    }
}

/// The runs worth drawing, oldest first (history comes newest first).
pub(super) fn drawn(runs: &[RunRow]) -> Vec<(&RunRow, Mark)> {
    let mut v: Vec<_> = runs.iter().filter_map(|r| mark(r).map(|m| (r, m))).collect();
    v.reverse();
    v
}

fn seconds(r: &RunRow) -> f64 {
    r.ended_at
        .map(|e| (e - r.started_at).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or(0.0)
}

/// The header's row-count guards as lines: `min_rows` as a floor, and
/// `max_change` as the band the next run must land in around the last
/// delivered run.
fn thresholds(guards: &Guards, runs: &[(&RunRow, Mark)]) -> Vec<Threshold> {
    let mut out = Vec::new();
    if let Some(min) = guards.min_rows {
        out.push(Threshold::Floor {
            value: min as f64,
            label: format!("min_rows {} (per file)", chart::rows(min as f64)),
        });
    }
    let last_delivered = runs
        .iter()
        .rev()
        .find(|(r, _)| matches!(r.status, RunStatus::Succeeded | RunStatus::Released));
    if let (Some(pct), Some((r, _))) = (guards.max_change, last_delivered) {
        let base = r.rows.max(0) as f64;
        out.push(Threshold::Band {
            low: base * (1.0 - pct / 100.0).max(0.0),
            high: base * (1.0 + pct / 100.0),
            label: format!("max_change ±{pct} % of run {}", r.id),
        });
    }
    out
}

/// The rows and duration charts of an extract's last runs, their key, and
/// the same numbers as a table.
pub(super) fn extract_charts(v: &Viewer, name: &str, runs: &[RunRow], guards: &Guards) -> Markup {
    let drawn = drawn(runs);
    if drawn.is_empty() {
        return html! { p #no-chart { "No runs to draw yet: the charts show each run once it has run." } };
    }
    let held = drawn.iter().filter(|(_, m)| *m == Mark::Held).count();
    let failed = drawn.iter().filter(|(_, m)| *m == Mark::Failed).count();
    let summary = format!(
        "{} runs from {} to {}; {held} held by a guard, {failed} failed.",
        drawn.len(),
        v.when(drawn[0].0.started_at),
        v.when(drawn[drawn.len() - 1].0.started_at),
    );
    let points = |value: fn(&RunRow) -> f64, unit: fn(f64) -> String| -> Vec<Point> {
        drawn
            .iter()
            .map(|(r, m)| Point {
                value: value(r),
                mark: *m,
                note: format!(
                    "run {} at {}: {} ({})",
                    r.id,
                    v.when(r.started_at),
                    unit(value(r)),
                    r.status
                ),
                run: r.id,
            })
            .collect()
    };
    let guard_lines = thresholds(guards, &drawn);
    let guard_words: Vec<String> = guard_lines
        .iter()
        .map(|t| match t {
            Threshold::Floor { label, .. } | Threshold::Band { label, .. } => label.clone(),
        })
        .collect();
    let rows_chart = Series {
        id: "rows-chart",
        title: format!("Rows per run of {name}"),
        desc: format!(
            "{summary}{}",
            if guard_words.is_empty() {
                " No row-count guards in the header.".to_string()
            } else {
                format!(" Guards drawn: {}.", guard_words.join("; "))
            }
        ),
        unit: chart::rows,
        least_top: 5.0,
        points: points(|r| r.rows.max(0) as f64, chart::rows),
        thresholds: guard_lines,
    };
    let duration_chart = Series {
        id: "duration-chart",
        title: format!("Duration per run of {name}"),
        desc: summary.clone(),
        unit: chart::duration,
        least_top: 1.0,
        points: points(seconds, chart::duration),
        thresholds: Vec::new(),
    };
    html! {
        figure .chart-box {
            (chart::series(&rows_chart))
            figcaption { "Rows per run, oldest on the left; the run numbers are below." }
        }
        figure .chart-box {
            (chart::series(&duration_chart))
            figcaption { "Duration per run." }
        }
        (chart::legend())
        details #chart-numbers {
            summary { "The charts' numbers" }
            table #chart-table {
                tr { th { "Run" } th { "Started" } th { "Status" } th { "Rows" } th { "Duration" } }
                @for (r, _) in drawn.iter().rev() {
                    tr {
                        td { a href={"/runs/" (r.id)} { (r.id) } }
                        td { (v.when(r.started_at)) }
                        td { span class={"status " (r.status)} { (r.status) } }
                        td .num { (chart::rows(r.rows as f64)) }
                        td .num { (chart::duration(seconds(r))) }
                    }
                }
            }
        }
    }
}

/// A list row's sparkline of rows over the last runs, titled in words.
pub(super) fn sparkline(id: &str, runs: &[RunRow]) -> Markup {
    let drawn = drawn(runs);
    if drawn.is_empty() {
        return html! { span .hint { "no runs" } };
    }
    let held = drawn.iter().filter(|(_, m)| *m == Mark::Held).count();
    let failed = drawn.iter().filter(|(_, m)| *m == Mark::Failed).count();
    let last = drawn[drawn.len() - 1].0;
    let title = format!(
        "{id}: rows of the last {} runs, latest {}; {held} held, {failed} failed",
        drawn.len(),
        chart::rows(last.rows as f64)
    );
    let points: Vec<(f64, Mark)> = drawn.iter().map(|(r, m)| (r.rows.max(0) as f64, *m)).collect();
    chart::sparkline(&title, &points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn run(id: i64, trigger: &str, status: RunStatus, rows: i64) -> RunRow {
        let started_at = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap() + Duration::days(id);
        RunRow {
            id,
            script: "roster".into(),
            script_path: "scripts/roster.rhai".into(),
            script_hash: String::new(),
            trigger: trigger.into(),
            occurrence: None,
            started_at,
            ended_at: Some(started_at + Duration::seconds(id)),
            status,
            rows,
            bytes: 0,
            destination: None,
            error: None,
            resend_of: None,
            released_by: None,
            recovers: None,
            started_by: None,
            params: Vec::new(),
        }
    }

    #[test]
    fn what_ran_is_drawn_oldest_first_in_its_shape() {
        // History comes newest first.
        let history = vec![
            run(6, "scheduled", RunStatus::Skipped, 0),
            run(5, "manual", RunStatus::Superseded, 40),
            run(4, "test", RunStatus::Succeeded, 100),
            run(3, "scheduled", RunStatus::Interrupted, 0),
            run(2, "scheduled", RunStatus::Held, 50),
            run(1, "scheduled", RunStatus::Succeeded, 100),
        ];
        let drawn: Vec<(i64, Mark)> = drawn(&history).iter().map(|(r, m)| (r.id, *m)).collect();
        assert_eq!(
            drawn,
            [(1, Mark::Done), (2, Mark::Held), (3, Mark::Failed), (5, Mark::Held)],
            "tests and skipped occurrences are left out"
        );
    }

    #[test]
    fn the_guards_are_a_floor_and_a_band_around_the_last_delivered_run() {
        let history = vec![
            run(3, "scheduled", RunStatus::Held, 500),
            run(2, "scheduled", RunStatus::Released, 1000),
            run(1, "scheduled", RunStatus::Succeeded, 900),
        ];
        let guards = Guards {
            min_rows: Some(800),
            max_change: Some(10.0),
            ..Guards::default()
        };
        let lines = thresholds(&guards, &drawn(&history));
        assert_eq!(
            lines,
            [
                Threshold::Floor {
                    value: 800.0,
                    label: "min_rows 800 (per file)".into()
                },
                Threshold::Band {
                    low: 900.0,
                    high: 1100.0,
                    label: "max_change ±10 % of run 2".into()
                },
            ]
        );
        assert!(thresholds(&Guards::default(), &drawn(&history)).is_empty());
    }
}
