//! `ferry list`: the original extract editor's table.

use super::output::{table, when};
use super::Failure;
use crate::run::App;

/// Prints name, delivery mode, server, frequency, extract mode, stopped, last run, next run.
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
        "next run",
    ]);
    let mut errors = Vec::new();
    for e in crate::catalog::list(app).await? {
        let last = e
            .last_run
            .as_ref()
            .map(|r| format!("{} {} (run {})", when(r.started_at), r.status, r.id))
            .unwrap_or_else(|| "never".into());
        let stopped = if e.error.is_some() {
            String::new()
        } else {
            e.stopped_text()
        };
        t.add_row(vec![
            e.id,
            e.name,
            e.delivery_mode,
            e.server,
            e.frequency,
            e.extract_mode,
            stopped,
            last,
            e.next_run.map(when).unwrap_or_default(),
        ]);
        errors.extend(e.error);
    }
    println!("{t}");
    for e in &errors {
        println!("error  {e}");
    }
    Ok(())
}
