//! The signed-in person's own page: who they are, their rights, and the
//! time zone they read the console's times in.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::html;
use serde::Deserialize;

use super::layout::layout;
use super::{csrf_field, OrPage, PageResult, Viewer};
use crate::state::Right;
use crate::web::{Problem, Shared};

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/account", get(account))
        .route("/account/timezone", post(set_timezone))
}

async fn account(State(c): State<Shared>, v: Viewer) -> PageResult {
    let district = c.app().settings.timezone;
    let chosen = c.app().store.user_timezone(&v.caller.user).await.or_page(&v)?;
    let now = chrono::Utc::now();
    let factor = super::factor::section(&c, &v).await.or_page(&v)?;
    let body = html! {
        h1 { "Your account" }
        table .facts {
            tr { th { "User" } td { (v.caller.user) } }
            tr { th { "Rights" } td #rights { (Right::words(&v.caller.rights).join(", ")) } }
            tr { th { "Times shown in" } td #zone { (v.zone.name()) " — now " (v.when(now)) } }
        }
        h2 { "Time zone" }
        form method="post" action="/account/timezone" {
            (csrf_field(&v))
            label for="timezone" { "IANA zone name, or empty for the district's (" (district.name()) ", now " (crate::schedule::labelled(now, district, true)) ")" }
            input #timezone type="text" name="timezone" value=(chosen.unwrap_or_default()) placeholder=(district.name());
            button #save-timezone type="submit" { "Save" }
        }
        p .hint { "For example America/New_York, America/Chicago, America/Denver, America/Los_Angeles or UTC. A schedule is always read in its script's zone; the extract pages show that zone too when it differs from yours." }
        (factor)
    };
    Ok(layout("Your account", Some(&v), body).into_response())
}

/// The time zone chosen for this account's pages.
#[derive(Deserialize)]
struct ZoneForm {
    csrf: String,
    timezone: String,
}

async fn set_timezone(State(c): State<Shared>, v: Viewer, Form(f): Form<ZoneForm>) -> PageResult {
    v.caller.check_csrf(Some(&f.csrf)).or_page(&v)?;
    let name = f.timezone.trim();
    let zone = if name.is_empty() {
        None
    } else {
        let zone: chrono_tz::Tz = name
            .parse()
            .map_err(|_| {
                Problem::bad(format!(
                    "'{name}' is not an IANA time zone name (e.g. America/Chicago); leave it empty for the district's"
                ))
            })
            .or_page(&v)?;
        Some(zone.name())
    };
    c.app()
        .store
        .set_user_timezone(&v.caller.user, zone)
        .await
        .or_page(&v)?;
    tracing::info!(user = ?v.caller.user, timezone = ?zone, "Time zone chosen in the console.");
    Ok(Redirect::to("/account").into_response())
}
