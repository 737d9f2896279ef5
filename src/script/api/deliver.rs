//! `deliver(file, "destination")` or `deliver(file, #{mode: "sftp", ...})`:
//! send a built file to a configured (or inline) destination; in a test
//! extract, only say where it would go.

use std::sync::Arc;

use rhai::{Engine, Map, NativeCallContext, Position};
use serde::Deserialize;

use super::format::File;
use crate::config::{DestinationSettings, RawDestination};
use crate::run::context::{Artifact, Delivery, Mode, RunContext};
use crate::script::engine::runtime_error;
use crate::state::DeliveryState;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// Registers `deliver`.
pub fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn(
        "deliver",
        move |ctx: NativeCallContext, file: File, dest: &str| -> Res<()> {
            let pos = ctx.call_position();
            let settings = r.settings.destinations.get(dest).ok_or_else(|| {
                let known: Vec<_> = r.settings.destinations.keys().cloned().collect();
                runtime_error(
                    format!(
                        "unknown destination '{dest}' (configured: {}); add [destinations.{dest}] to ferry.toml",
                        known.join(", ")
                    ),
                    pos,
                )
            })?;
            deliver(&r, &file, settings, pos)
        },
    );
    engine.register_fn(
        "deliver",
        move |ctx: NativeCallContext, file: File, map: Map| -> Res<()> {
            let pos = ctx.call_position();
            let settings = inline(&map, &run.settings.root).map_err(|e| runtime_error(e, pos))?;
            deliver(&run, &file, &settings, pos)
        },
    );
}

/// An inline destination map, checked exactly like a `[destinations.X]`
/// entry (so a literal password is refused here too).
fn inline(map: &Map, root: &std::path::Path) -> Result<DestinationSettings, String> {
    let table = super::options_table(map).map_err(|e| format!("deliver(): {e}"))?;
    let raw = RawDestination::deserialize(toml::Value::Table(table))
        .map_err(|e| format!("deliver(): inline destination: {e}"))?;
    raw.validate("inline", root).map_err(|e| format!("deliver(): {e}"))
}

fn deliver(run: &RunContext, file: &File, settings: &DestinationSettings, pos: Position) -> Res<()> {
    let dest = settings.name.as_str();
    let artifact = file.artifact();
    if run.including.load(std::sync::atomic::Ordering::Relaxed) {
        run.log(
            "info",
            format!(
                "{} is kept for the including script's bundle, not delivered to '{dest}'",
                artifact.name
            ),
        );
        return Ok(());
    }
    if !passes_guards(run, artifact, dest, pos)? {
        return Ok(());
    }
    if run.mode == Mode::Test {
        run.log(
            "info",
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
    let log = |line: String| run.log("warn", line);
    let sent = run.runtime.block_on(crate::run::send::send(
        &run.store,
        &run.instance,
        run.run_id,
        artifact,
        settings,
        &env,
        &log,
        &run.cancel,
    ));
    let delivered = match sent {
        Ok(d) => d,
        Err(e) => {
            run.lock().deliveries.push(e.delivery);
            let kept = if artifact.transient {
                "the file is removed when the run ends".to_string()
            } else {
                format!(
                    "the file is kept at {}; `ferry resend RUN` delivers it again once the cause is fixed",
                    artifact.path.display()
                )
            };
            return Err(runtime_error(format!("{}; {kept}", e.error), pos));
        }
    };
    run.log(
        "info",
        format!(
            "delivered {} to '{dest}' as {}{}{}",
            artifact.name,
            delivered.remote_path,
            delivered
                .auth_method
                .as_deref()
                .map(|m| format!(" (logged in by {m})"))
                .unwrap_or_default(),
            match delivered.attempts {
                1 => String::new(),
                n => format!(" on attempt {n}"),
            }
        ),
    );
    run.lock().deliveries.push(delivered);
    Ok(())
}

/// Checks the header's and the file's guards. A breach in a real run holds
/// the delivery (recorded, so `ferry release` knows where it was going) and
/// returns false; a test extract only says it would have held.
fn passes_guards(run: &RunContext, artifact: &Artifact, dest: &str, pos: Position) -> Res<bool> {
    let guards = run.guards.merged(&artifact.guards);
    if guards.is_empty() {
        return Ok(true);
    }
    let baseline = match guards.max_change {
        None => None,
        Some(_) => run
            .runtime
            .block_on(run.store.last_delivered_rows(&run.script_id, artifact.stable_key()))
            .map_err(|e| runtime_error(format!("guards: cannot read the last delivered run: {e}"), pos))?,
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
    for note in verdict.notes {
        run.log("info", note);
    }
    if verdict.breaches.is_empty() {
        run.log("info", format!("{} passed its guards", artifact.name));
        return Ok(true);
    }
    let why = format!("{} to '{dest}': {}", artifact.name, verdict.breaches.join("; "));
    if run.mode == Mode::Test {
        run.log("warn", format!("test extract: a real run would hold {why}"));
        return Ok(true);
    }
    run.log("warn", format!("held, not sent: {why}"));
    let mut record = run.lock();
    record.holds.push(why);
    record
        .deliveries
        .push(Delivery::not_sent(&artifact.name, dest, 0, DeliveryState::Held));
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Dynamic;

    #[test]
    fn inline_maps_are_checked_like_configuration() {
        let mut m = Map::new();
        m.insert("mode".into(), Dynamic::from("sftp"));
        m.insert("server".into(), Dynamic::from("sftp.vendor.com"));
        m.insert("path".into(), Dynamic::from("/in"));
        m.insert("username".into(), Dynamic::from("d42"));
        m.insert("port".into(), Dynamic::from(2222_i64));
        m.insert("password".into(), Dynamic::from("hunter2"));
        let err = inline(&m, std::path::Path::new("/")).unwrap_err();
        assert!(err.contains("not literals") && !err.contains("hunter2"), "{err}");
        m.insert("password".into(), Dynamic::from("env:VENDOR_PW"));
        let d = inline(&m, std::path::Path::new("/")).unwrap();
        assert_eq!(d.describe(), "sftp://d42@sftp.vendor.com:2222/in");
        m.insert("colour".into(), Dynamic::from("red"));
        assert!(inline(&m, std::path::Path::new("/")).unwrap_err().contains("colour"));
    }
}
