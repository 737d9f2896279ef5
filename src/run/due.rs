//! When a scheduled script runs next. It lives in the run layer so the
//! daemon (which fires it) and the catalog (which shows it) ask the same
//! function without one importing the other.

use chrono::{DateTime, Utc};

use crate::script::Script;

/// When a script is next due after `now`, or `None` when it is stopped or
/// has no schedule. The zone is the one resolved when the script loaded.
pub fn next_due(script: &Script, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if script.spec.stopped {
        return None;
    }
    script.spec.schedule.next_after(now, script.zone)
}
