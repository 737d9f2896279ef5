//! The daemon's "now": the system clock when serving, and in the
//! scheduling tests a fixed UTC start plus tokio's elapsed time, which a
//! paused runtime advances straight to the next timer. The daemon already
//! sleeps on tokio's timers; reading the time of day through this seam as
//! well is what lets a test run hours of schedule in milliseconds with the
//! occurrence times still exact.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where the daemon reads the time of day.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    /// `None` reads the system clock; `Some((start, origin))` reads `start`
    /// plus the tokio time elapsed since `origin`.
    fixed: Option<(DateTime<Utc>, tokio::time::Instant)>,
}

/// How long the loop sleeps when no script is scheduled: it wakes anyway,
/// as it does for the folder and the sweeps.
const IDLE: Duration = Duration::from_secs(3600);

impl Clock {
    /// The system clock.
    pub(crate) fn system() -> Self {
        Clock { fixed: None }
    }

    /// A clock that reads `start` now and moves with tokio's time (paused
    /// in tests, so it moves only when every task waits on a timer).
    #[cfg(test)]
    pub(crate) fn starting_at(start: DateTime<Utc>) -> Self {
        Clock {
            fixed: Some((start, tokio::time::Instant::now())),
        }
    }

    /// The time of day.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        match self.fixed {
            None => Utc::now(),
            Some((start, origin)) => {
                start + chrono::Duration::from_std(origin.elapsed()).unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// How long to sleep until `at` (nothing when it has passed; [`IDLE`]
    /// when nothing is due).
    pub(crate) fn until(&self, at: Option<DateTime<Utc>>) -> Duration {
        at.map_or(IDLE, |t| (t - self.now()).to_std().unwrap_or_default())
    }
}
