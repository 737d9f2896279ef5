//! The primitives scripts call, one file per family, each with `register()`.

pub mod deliver;
mod fields;
pub mod filter;
pub mod format;
pub mod gzip;
pub mod notify;
pub mod pgp;
pub mod photos;
pub mod query;
pub mod report;
pub mod time;
pub mod zip;

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map};

use crate::run::context::RunContext;

/// Registers every primitive, bound to one run.
pub fn register_all(engine: &mut Engine, run: Arc<RunContext>) {
    query::register(engine, run.clone());
    format::register(engine, run.clone());
    deliver::register(engine, run.clone());
    filter::register(engine, run.clone());
    notify::register(engine, run.clone());
    zip::register(engine, run.clone());
    gzip::register(engine, run.clone());
    pgp::register(engine, run.clone());
    photos::register(engine, run.clone());
    report::register(engine, run.clone());
    time::register(engine, run);
}

/// Refuses a second file of the same name in one run: the later would
/// overwrite the earlier in the run's folder.
pub(crate) fn name_is_free(
    func: &str,
    run: &RunContext,
    name: &str,
    pos: rhai::Position,
) -> Result<(), Box<rhai::EvalAltResult>> {
    if run.lock().files.iter().any(|f| f.name == name) {
        return Err(crate::script::engine::runtime_error(
            format!("{func}(): this run already wrote a file named {name}; give each file its own name"),
            pos,
        ));
    }
    Ok(())
}

/// A script's options map as a TOML table, so options that mirror a
/// configuration table (an inline destination, `file.guard`) are checked by
/// the same serde types as the configuration itself. The error names the key.
pub(crate) fn options_table(map: &Map) -> Result<toml::Table, String> {
    fn value(v: &Dynamic) -> Option<toml::Value> {
        if v.is_string() {
            Some(toml::Value::String(v.to_string()))
        } else if let Ok(i) = v.as_int() {
            Some(toml::Value::Integer(i))
        } else if let Ok(f) = v.as_float() {
            Some(toml::Value::Float(f))
        } else if let Ok(b) = v.as_bool() {
            Some(toml::Value::Boolean(b))
        } else if let Some(items) = v.read_lock::<rhai::Array>() {
            items.iter().map(value).collect::<Option<_>>().map(toml::Value::Array)
        } else {
            None
        }
    }
    map.iter()
        .map(|(k, v)| {
            value(v).map(|t| (k.to_string(), t)).ok_or_else(|| {
                format!(
                    "option '{k}' is {}, expected text, a number, true/false or a list of them",
                    v.type_name()
                )
            })
        })
        .collect()
}
