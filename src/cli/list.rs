//! `ferry list`: the original extract editor's table.

use super::output::{table, when};
use super::Failure;
use crate::run::App;

/// Prints name, delivery mode, server, frequency, extract mode, stopped, last run.
pub async fn run(app: &App) -> Result<(), Failure> {
    let mut t = table(&[
        "script",
        "name",
        "delivery mode",
        "server",
        "frequency",
        "extract mode",
        "stopped",
        "last run",
    ]);
    let mut errors = Vec::new();
    for path in app.all_scripts() {
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let last = app
            .store
            .last_run(&id)
            .await?
            .map(|r| format!("{} {} (run {})", when(r.started_at), r.status, r.id))
            .unwrap_or_else(|| "never".into());
        let suspended = app.store.suspended(&id).await?;
        match app.load(&path) {
            Ok(s) => {
                let dests: Vec<_> = s
                    .uses
                    .destinations
                    .iter()
                    .filter_map(|d| app.settings.destinations.get(d))
                    .collect();
                let modes: Vec<String> = dests.iter().map(|d| d.mode.to_string()).collect();
                let servers: Vec<String> = dests
                    .iter()
                    .map(|d| {
                        if d.server.is_empty() {
                            d.path.clone()
                        } else {
                            d.server.clone()
                        }
                    })
                    .collect();
                let methods: Vec<&str> = s.uses.methods.iter().copied().collect();
                t.add_row(vec![
                    id,
                    s.spec.name.clone(),
                    modes.join(", "),
                    servers.join(", "),
                    s.spec.schedule.to_string(),
                    methods.join(", "),
                    match suspended {
                        _ if s.spec.stopped => "yes".into(),
                        Some(_) => "suspended (ferry resume)".into(),
                        None => "no".into(),
                    },
                    last,
                ]);
            }
            Err(e) => {
                t.add_row(vec![
                    id,
                    "(invalid)".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    last,
                ]);
                errors.push(e.to_string());
            }
        }
    }
    println!("{t}");
    for e in &errors {
        println!("error  {e}");
    }
    Ok(())
}
