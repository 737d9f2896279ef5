//! Waiting on a run's cancel flag. The flag is a plain atomic because the
//! script engine checks it synchronously between operations; async work (a
//! query waiting for its first row, an upload) polls it instead, as a stop
//! signal's grace period only needs it noticed within a fraction of a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Resolves once `flag` is set.
pub(crate) async fn raised(flag: &AtomicBool) {
    while !flag.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
