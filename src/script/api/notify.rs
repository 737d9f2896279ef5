//! `notify(group, message)`: tell a user group something from a script
//! ("Sent 1,204 students to Acme"). The request is recorded with the run and
//! sent by the runner after the run is recorded, to the in-app list and the
//! group's email and webhook; in a test extract it is only logged.

use super::Primitive;
use std::sync::Arc;

use rhai::{Engine, NativeCallContext};

use crate::run::context::{Mode, RunContext};
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

/// At most this many `notify()` calls per run are sent; a loop calling it
/// per row must not mail the group ten thousand times.
pub(crate) const MAX_NOTICES: usize = 20;

/// ### `notify(group, message)`
///
/// Tells a user group something: one entry in the in-app list
/// (`ferry notifications`) for each member of the group, plus an email to the
/// group (through `[smtp]` of ferry.toml) and a POST to its webhook when it has
/// them (see [operations](operations.md#notifications)). The notification carries
/// the script and the run id, at level `info`.
///
/// ```rhai
/// let f = csv(query("live", "SELECT * FROM roster"), #{ name: "roster" });
/// deliver(f, "acme-sftp");
/// notify("tech-admins", `Sent ${f.rows} students to Acme`);
/// ```
///
/// Notifications are sent when the run has been recorded, so a slow mail server
/// never holds up the extract, and a channel that fails is logged, never failing
/// the run. A group with no members (or a group name that does not exist) still
/// keeps the notification once, with no user, and logs a warning. In
/// `ferry test-extract`, nothing is sent or stored: the run's log says
/// `test extract: would notify GROUP: MESSAGE`. An empty group name or message
/// fails the run at that line. A run sends at most 20 notifications; further
/// calls only add a warning to the run's log, so a `notify` inside a loop over
/// rows cannot flood the group.
///
/// The header's `notify = "group"` is separate: that group gets an `error`
/// notification when a run fails, naming the script, the run id and the error.
pub(crate) const NOTIFY: Primitive = Primitive {
    names: &["notify"],
    options: None,
    check: None,
    register,
};

fn register(engine: &mut Engine, run: Arc<RunContext>) {
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
