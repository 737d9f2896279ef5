//! `deliver(file, "destination")`: send a built file to a configured
//! destination (in a test extract, only say where it would go).

use std::sync::Arc;

use rhai::{Engine, NativeCallContext};

use super::format::File;
use crate::run::context::{Delivery, Mode, RunContext};
use crate::script::engine::runtime_error;

/// Registers `deliver`.
pub fn register(engine: &mut Engine, run: Arc<RunContext>) {
    engine.register_fn(
        "deliver",
        move |ctx: NativeCallContext, file: File, dest: &str| -> Result<(), Box<rhai::EvalAltResult>> {
            let pos = ctx.call_position();
            let settings = run.settings.destinations.get(dest).ok_or_else(|| {
                let known: Vec<_> = run.settings.destinations.keys().cloned().collect();
                runtime_error(
                    format!(
                        "unknown destination '{dest}' (configured: {}); add [destinations.{dest}] to ferry.toml",
                        known.join(", ")
                    ),
                    pos,
                )
            })?;
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
            if run.mode == Mode::Test {
                run.log(
                    "info",
                    format!("test extract: {} not delivered to '{dest}'", artifact.name),
                );
                run.lock().deliveries.push(Delivery {
                    file: artifact.name.clone(),
                    destination: dest.to_string(),
                    remote_path: String::new(),
                });
                return Ok(());
            }
            let destination = crate::deliver::build(dest, settings);
            let delivered = run
                .runtime
                .block_on(destination.put(&artifact.path, &artifact.name))
                .map_err(|e| {
                    let kept = if artifact.transient {
                        "the file is removed when the run ends".to_string()
                    } else {
                        format!("the file is kept at {}", artifact.path.display())
                    };
                    runtime_error(format!("{e}; {kept}"), pos)
                })?;
            run.log(
                "info",
                format!("delivered {} to '{dest}' as {}", artifact.name, delivered.remote_path),
            );
            run.lock().deliveries.push(Delivery {
                file: artifact.name.clone(),
                destination: dest.to_string(),
                remote_path: delivered.remote_path,
            });
            Ok(())
        },
    );
}
