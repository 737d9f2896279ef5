//! `deliver(file, "destination")` or `deliver(file, #{mode: "sftp", ...})`:
//! the script binding; what a delivery does (guards, holds, test mode, the
//! ledger) is the run layer's ([`crate::run::deliver`]).

use super::Primitive;
use std::sync::Arc;

use rhai::{Engine, Map, NativeCallContext, Position};
use serde::Deserialize;

use super::format::File;
use crate::config::{DestinationSettings, RawDestination};
use crate::run::context::RunContext;
use crate::script::engine::runtime_error;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// ### `deliver(file, destination)`
///
/// Sends a file to a destination named in ferry.toml (`"vendor"`), or to an
/// inline one given as a map with the keys of a `[destinations.NAME]` table:
///
/// ```rhai
/// deliver(f, "vendor");
/// deliver(f, #{ mode: "sftp", server: "sftp.vendor.com", path: "/in",
///               username: "d42", password: "env:VENDOR_PW" });
/// ```
///
/// A literal name that is not configured is reported when the script is loaded;
/// an inline map is checked when the call runs, exactly like the configuration
/// (a literal password is refused). In `ferry test-extract`, nothing is sent:
/// the log says where the file would have gone. Before sending, the header's
/// `[guards]` and the file's own (`file.guard`) are checked; a breach holds the
/// file instead (the run ends `held`, see [safety](safety.md)). Network failures
/// are retried with backoff; a failed delivery stops the run and keeps the file
/// for `ferry resend` (see [delivery](delivery.md), which also describes atomic
/// arrival and each protocol).
pub(crate) const DELIVER: Primitive = Primitive {
    names: &["deliver"],
    options: None,
    check: Some(|call| match call.literal(1).map(str::to_string) {
        Some(dest) => call.destination(&dest),
        None => Ok(()),
    }),
    register,
};

/// Registers `deliver` to a named and to an inline destination.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
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
    crate::run::deliver::deliver(run, file.artifact(), settings).map_err(|e| runtime_error(e, pos))
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
