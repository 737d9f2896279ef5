//! The primitives scripts call, one file per family, each with `register()`.

pub mod deliver;
pub mod filter;
pub mod format;
pub mod notify;
pub mod photos;
pub mod query;
pub mod report;
pub mod time;
pub mod zip;

use std::sync::Arc;

use rhai::Engine;

use crate::run::context::RunContext;

/// Registers every primitive, bound to one run.
pub fn register_all(engine: &mut Engine, run: Arc<RunContext>) {
    query::register(engine, run.clone());
    format::register(engine, run.clone());
    deliver::register(engine, run.clone());
    filter::register(engine, run.clone());
    notify::register(engine, run.clone());
    zip::register(engine, run.clone());
    photos::register(engine, run.clone());
    report::register(engine, run.clone());
    time::register(engine, run);
}
