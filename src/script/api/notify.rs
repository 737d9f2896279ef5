//! `notify(group, message)`: tell a user group something from a script
//! ("Sent 1,204 students to Acme"). The request is recorded with the run and
//! sent by the runner after the run is recorded, to the in-app list and the
//! group's email and webhook; in a test extract it is only logged.

use std::sync::Arc;

use rhai::{Engine, NativeCallContext};

use crate::run::context::{Mode, RunContext};
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

/// At most this many `notify()` calls per run are sent; a loop calling it
/// per row must not mail the group ten thousand times.
pub const MAX_NOTICES: usize = 20;

/// Registers `notify`.
pub fn register(engine: &mut Engine, run: Arc<RunContext>) {
    engine.register_fn(
        "notify",
        move |ctx: NativeCallContext, group: &str, message: &str| -> Result<(), Box<rhai::EvalAltResult>> {
            let group = group.trim();
            if group.is_empty() {
                return Err(runtime_error(
                    "notify(group, message): the group name is empty; name a group from `ferry groups list`",
                    ctx.call_position(),
                ));
            }
            if message.trim().is_empty() {
                return Err(runtime_error(
                    format!("notify(\"{group}\", message): the message is empty"),
                    ctx.call_position(),
                ));
            }
            if run.mode == Mode::Test {
                run.log(LogLevel::Info, format!("test extract: would notify {group}: {message}"));
                return Ok(());
            }
            let queued = {
                let mut record = run.lock();
                let room = record.notices.len() < MAX_NOTICES;
                if room {
                    record.notices.push((group.to_string(), message.to_string()));
                }
                room
            };
            if queued {
                run.log(LogLevel::Info, format!("notify {group}: {message}"));
            } else {
                run.log(
                    LogLevel::Warn,
                    format!("notify {group}: not sent, a run sends at most {MAX_NOTICES} notifications: {message}"),
                );
            }
            Ok(())
        },
    );
}
