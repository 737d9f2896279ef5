//! Dates and logging: `active_year()`, `today()`, `now()`, `log(msg)`,
//! `warn(msg)`.

use super::Primitive;
use std::sync::Arc;

use rhai::{Engine, INT};

use crate::run::context::RunContext;
use crate::state::LogLevel;

/// ### Time and logging
///
/// | function | returns |
/// |---|---|
/// | `active_year()` | The active school year, named by the year it ends in (2027 for 2026-27): `active_year` of ferry.toml, else the year today falls in (July 1 starts the next). |
/// | `today()` | The run's start date, `YYYY-MM-DD`, in the script's time zone. |
/// | `now()` | The run's start, `YYYY-MM-DD HH:MM:SS`, in the script's time zone. |
/// | `log(text)`, `print(text)` | Adds a line to the run's log. |
/// | `warn(text)` | Adds a warning to the run's log (shown by `test-extract`). |
/// | `throw text` | Fails the run with that message and the line. |
pub(crate) const TIME: Primitive = Primitive {
    names: &["active_year", "today", "now", "log", "warn"],
    options: None,
    check: None,
    register,
};

fn register(engine: &mut Engine, run: Arc<RunContext>) {
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
