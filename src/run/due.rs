//! When a scheduled script runs next. It lives in the run layer, which
//! knows both the script and the settings it inherits its time zone from,
//! so the daemon (which fires it) and the catalog (which shows it) ask the
//! same function without one importing the other.

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::script::Script;

/// When a script is next due after `now`, or `None` when it is stopped or
/// has no schedule.
pub fn next_due(script: &Script, settings: &Settings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if script.spec.stopped {
        return None;
    }
    let tz = script.spec.timezone.unwrap_or(settings.timezone);
    script.spec.schedule.next_after(now, tz)
}
