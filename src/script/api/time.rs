//! Dates and logging: `active_year()`, `today()`, `now()`, `log(msg)`,
//! `warn(msg)`.

use std::sync::Arc;

use rhai::{Engine, INT};

use crate::run::context::RunContext;
use crate::state::LogLevel;

/// Registers the time and log functions.
pub fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("active_year", move || INT::from(r.settings.active_year()));
    let r = run.clone();
    engine.register_fn("today", move || r.started.format("%Y-%m-%d").to_string());
    let r = run.clone();
    engine.register_fn("now", move || r.started.format("%Y-%m-%d %H:%M:%S").to_string());
    let r = run.clone();
    engine.register_fn("log", move |msg: &str| r.log(LogLevel::Info, msg));
    let r = run;
    engine.register_fn("warn", move |msg: &str| r.log(LogLevel::Warn, msg));
}
