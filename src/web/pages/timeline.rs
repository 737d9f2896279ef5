//! The "Next 24 hours" page: every run the schedules will start in the
//! coming day, one row per script, with the times in the reader's zone (and
//! the same list as a table).

use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Duration, Timelike, Utc};
use maud::html;

use super::chart::{self, Lane};
use super::layout::layout;
use super::{OrPage, PageResult, Viewer};
use crate::web::Shared;

/// The window the page looks ahead.
const WINDOW_HOURS: i64 = 24;
/// Runs drawn per script at most: a schedule every 5 minutes makes 288.
const MAX_RUNS: usize = 288;
/// Times written out per script in the table.
const LISTED: usize = 12;

/// The page's route.
pub(super) fn routes() -> Router<Shared> {
    Router::new().route("/timeline", get(timeline))
}

/// One scheduled script's runs in the window.
struct Planned {
    id: String,
    name: String,
    frequency: String,
    runs: Vec<DateTime<Utc>>,
}

/// The whole hours in the window in the reader's zone, every three hours:
/// where the time axis is labelled.
fn hour_ticks(v: &Viewer, from: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let local = from.with_timezone(&v.zone);
    let past_hour = i64::from(local.minute()) * 60 + i64::from(local.second());
    let first = from - Duration::seconds(past_hour) + Duration::hours(1);
    (0..WINDOW_HOURS / 3)
        .map(|i| first + Duration::hours(3 * i))
        .filter(|t| *t < from + Duration::hours(WINDOW_HOURS))
        .collect()
}

async fn timeline(State(c): State<Shared>, v: Viewer) -> PageResult {
    v.caller.need("read").or_page(&v)?;
    let app = c.app();
    let now = Utc::now();
    let until = now + Duration::hours(WINDOW_HOURS);
    let mut planned = Vec::new();
    for e in crate::catalog::list_cached(&app, &c.catalog).await.or_page(&v)? {
        // No next run: stopped, suspended, unscheduled or not loading.
        let Some(first) = e.next_run else { continue };
        let Ok(script) = app.load(&e.path) else { continue };
        let zone = script.spec.timezone.unwrap_or(app.settings.timezone);
        let mut runs = Vec::new();
        let mut at = Some(first);
        while let Some(t) = at.filter(|t| *t < until && runs.len() < MAX_RUNS) {
            runs.push(t);
            at = script.spec.schedule.next_after(t, zone);
        }
        if !runs.is_empty() {
            planned.push(Planned {
                id: e.id,
                name: e.name,
                frequency: e.frequency,
                runs,
            });
        }
    }
    planned.sort_by_key(|p| p.runs[0]);
    let span = (until - now).num_seconds() as f64;
    let at = |t: DateTime<Utc>| (t - now).num_seconds() as f64 / span;
    let hours: Vec<(f64, String)> = hour_ticks(&v, now)
        .into_iter()
        .map(|t| (at(t), t.with_timezone(&v.zone).format("%a %H:%M").to_string()))
        .collect();
    let lanes: Vec<Lane> = planned
        .iter()
        .map(|p| Lane {
            label: p.name.clone(),
            href: format!("/extracts/{}", p.id),
            runs: p.runs.iter().map(|t| (at(*t), v.when(*t))).collect(),
        })
        .collect();
    let total: usize = planned.iter().map(|p| p.runs.len()).sum();
    let zone = v.zone.name();
    let desc = format!(
        "{total} scheduled runs of {} scripts between {} and {}, times in {zone}.",
        planned.len(),
        v.when(now),
        v.when(until)
    );
    let body = html! {
        h1 { "Next 24 hours" }
        p #window { "From " (v.when(now)) " to " (v.when(until)) ". Times are in " (zone)
            "; your account page changes the zone. Stopped and suspended scripts are left out." }
        @if planned.is_empty() {
            p #no-runs { "No scheduled runs in the next 24 hours." }
        } @else {
            figure .chart-box {
                (chart::timeline("timeline-chart", "Scheduled runs in the next 24 hours", &desc, &hours, &lanes))
                figcaption { (desc) }
            }
            table #timeline-table {
                tr { th { "Extract" } th { "Schedule" } th { "Runs" } th { "When" } }
                @for p in &planned {
                    tr {
                        td { a href={"/extracts/" (p.id)} { (p.name) } }
                        td { (p.frequency) }
                        td .num { (p.runs.len()) @if p.runs.len() >= MAX_RUNS { "+" } }
                        td {
                            (p.runs.iter().take(LISTED).map(|t| v.when(*t)).collect::<Vec<_>>().join(", "))
                            @if p.runs.len() > LISTED { ", and " (p.runs.len() - LISTED) " more" }
                        }
                    }
                }
            }
        }
    };
    Ok(layout("Next 24 hours", Some(&v), body).into_response())
}
