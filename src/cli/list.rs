//! `ferry list`: the original extract editor's table, fitted to the terminal.

use serde::Serialize;

use super::output::{json, minute_in, View};
use super::Failure;
use crate::app::App;
use crate::catalog::Extract;

/// Options of `ferry list`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Table width, or JSON.
    #[command(flatten)]
    pub view: View,
}

/// One script as `--json` prints it: every column of the table, in full
/// (the zone its schedule runs in is `schedule_zone`), plus its file.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    extract: &'a Extract,
    /// The script file.
    path: String,
}

/// The zone a script's schedule runs in.
fn zone(app: &App, e: &Extract) -> chrono_tz::Tz {
    e.schedule_zone.parse().unwrap_or(app.settings.timezone)
}

/// Prints name, delivery (mode and server), frequency, extract mode, stopped, last run, next run.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    let view = args.view;
    let extracts = crate::catalog::list(app).await?;
    if view.json {
        let listed: Vec<Listed> = extracts
            .iter()
            .map(|e| Listed {
                extract: e,
                path: e.path.display().to_string(),
            })
            .collect();
        return json(&listed);
    }
    let mut t = view.table(&[
        "script",
        "name",
        "delivery",
        "frequency",
        "extract mode",
        "stopped",
        "last run",
        "next run",
    ]);
    let base = app.settings.root.clone();
    let mut errors = Vec::new();
    for e in &extracts {
        let tz = zone(app, e);
        let last = e
            .last_run
            .as_ref()
            .map(|r| format!("{} {} (run {})", minute_in(r.started_at, tz), r.status, r.id))
            .unwrap_or_else(|| "never".into());
        let stopped = if e.error.is_some() {
            String::new()
        } else {
            view.cell(&e.stopped_text(), 30)
        };
        // "sftp vendor.example.org, local out": each destination's mode and server.
        let delivery: Vec<String> = e
            .delivery_mode
            .split(", ")
            .zip(e.server.split(", "))
            .filter(|(m, _)| !m.is_empty())
            .map(|(mode, server)| format!("{mode} {}", view.path(server, &base, 24)))
            .collect();
        t.add_row(vec![
            e.id.clone(),
            view.cell(&e.name, 24),
            delivery.join(", "),
            view.cell(&e.frequency, 24),
            e.extract_mode.clone(),
            stopped,
            last,
            e.next_run.map(|n| minute_in(n, tz)).unwrap_or_default(),
        ]);
        errors.extend(e.error.clone());
    }
    let longest = extracts.iter().map(|e| e.id.chars().count()).max().unwrap_or(6);
    view.fit(&mut t, &[(0, longest.min(18)), (1, 6), (3, 7), (6, 10), (7, 10)]);
    println!("{t}");
    for e in &errors {
        println!("error  {e}");
    }
    Ok(())
}
