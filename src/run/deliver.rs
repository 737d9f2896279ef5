//! What a script's `deliver` does once its arguments are parsed: a file
//! built for an including script's bundle is kept, the guards are checked
//! (a breach holds the delivery), a test extract only says where the file
//! would go, and anything else is sent through the ledger, followed by the
//! destination's sidecars.

use super::context::{Artifact, Delivery, Mode, RunContext};
use crate::config::DestinationSettings;
use crate::state::{DeliveryState, LogLevel};

/// Delivers `artifact` to `settings` for the run, or records why not; the
/// error says what failed and where the file is kept.
pub(crate) fn deliver(run: &RunContext, artifact: &Artifact, settings: &DestinationSettings) -> Result<(), String> {
    let dest = settings.name.as_str();
    if run.including.load(std::sync::atomic::Ordering::Relaxed) {
        run.log(
            LogLevel::Info,
            format!(
                "{} is kept for the including script's bundle, not delivered to '{dest}'",
                artifact.name
            ),
        );
        return Ok(());
    }
    if !passes_guards(run, artifact, dest)? {
        return Ok(());
    }
    if run.mode == Mode::Test {
        run.log(
            LogLevel::Info,
            format!(
                "test extract: {} not delivered to '{dest}' ({})",
                artifact.name,
                settings.describe()
            ),
        );
        run.lock()
            .deliveries
            .push(Delivery::not_sent(&artifact.name, dest, 0, DeliveryState::Planned));
        return Ok(());
    }
    let env = crate::deliver::DeliveryEnv::from_settings(&run.settings);
    let log = |line: String| run.log(LogLevel::Warn, line);
    let courier = super::send::Courier {
        store: &run.store,
        instance: &run.instance,
        run: run.run_id,
        env: &env,
        log: &log,
        cancel: &run.cancel,
        verified: None,
    };
    let sent = run.runtime.block_on(courier.send_with_sidecars(artifact, settings));
    for d in &sent.deliveries {
        run.log(
            LogLevel::Info,
            format!(
                "delivered {} to '{dest}' as {}{}{}",
                d.file,
                d.remote_path,
                d.auth_method
                    .as_deref()
                    .map(|m| format!(" (logged in by {m})"))
                    .unwrap_or_default(),
                match d.attempts {
                    1 => String::new(),
                    n => format!(" on attempt {n}"),
                }
            ),
        );
    }
    let mut record = run.lock();
    record.files.extend(sent.sidecars);
    record.deliveries.extend(sent.deliveries);
    let Some(e) = sent.failed else {
        return Ok(());
    };
    let kept = if e.delivery.file != artifact.name {
        format!(
            "the sidecar is kept at {}; `ferry resend RUN` sends the file and its sidecars again once the cause is fixed",
            artifact.path.with_file_name(&e.delivery.file).display()
        )
    } else if artifact.transient {
        "the file is removed when the run ends".to_string()
    } else {
        format!(
            "the file is kept at {}; `ferry resend RUN` delivers it again once the cause is fixed",
            artifact.path.display()
        )
    };
    record.deliveries.push(e.delivery);
    Err(format!("{}; {kept}", e.error))
}

/// Checks the header's and the file's guards. A breach in a real run holds
/// the delivery (recorded, so `ferry release` knows where it was going) and
/// returns false; a test extract only says it would have held.
fn passes_guards(run: &RunContext, artifact: &Artifact, dest: &str) -> Result<bool, String> {
    let guards = run.guards.merged(&artifact.guards);
    if guards.is_empty() {
        return Ok(true);
    }
    let baseline = match guards.max_change {
        None => None,
        Some(_) => run
            .runtime
            .block_on(run.store.last_delivered_rows(&run.script_id, artifact.stable_key()))
            .map_err(|e| format!("guards: cannot read the last delivered run: {e}"))?,
    };
    let verdict = crate::guard::check(
        &guards,
        &crate::guard::Subject {
            name: &artifact.name,
            path: &artifact.path,
            rows: artifact.rows,
            columns: &artifact.columns,
            layout: artifact.layout,
        },
        baseline,
    );
    let mut verdict = verdict;
    for note in std::mem::take(&mut verdict.notes) {
        run.log(LogLevel::Info, note);
    }
    if let Some(name) = &guards.schema {
        let schema = crate::schema::load(&run.settings.stdlib_dir, name).map_err(|e| e.to_string())?;
        verdict.breaches.extend(crate::schema::check(
            &schema,
            &artifact.name,
            artifact.stable_key(),
            &artifact.path,
            guards.schema_examples.unwrap_or(5),
        ));
    }
    if verdict.breaches.is_empty() {
        run.log(LogLevel::Info, format!("{} passed its guards", artifact.name));
        return Ok(true);
    }
    let why = format!("{} to '{dest}': {}", artifact.name, verdict.breaches.join("; "));
    if run.mode == Mode::Test {
        run.log(LogLevel::Warn, format!("test extract: a real run would hold {why}"));
        return Ok(true);
    }
    run.log(LogLevel::Warn, format!("held, not sent: {why}"));
    let mut record = run.lock();
    record.holds.push(why);
    record
        .deliveries
        .push(Delivery::not_sent(&artifact.name, dest, 0, DeliveryState::Held));
    Ok(false)
}
