//! File-system events for the scripts folder, `stdlib/` and the
//! configuration file, turned into a plain "something changed" signal.
//!
//! Folders are watched, not files, so editors' save-by-rename and symlink
//! swaps are seen. A watcher that reports an error is dropped; the caller
//! recreates it and rescans everything. Poll mode is for network file
//! systems, where change events do not arrive.

use std::path::PathBuf;
use std::time::Duration;

use notify::{PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// What the watcher tells the daemon.
#[derive(Debug)]
pub enum Signal {
    /// Something in a watched folder changed.
    Changed,
    /// The watcher failed; recreate it and rescan.
    Failed(String),
}

/// A running watcher; dropping it stops watching.
pub struct FolderWatch {
    _inner: Box<dyn Watcher + Send>,
}

/// Watches `folders` (each recursively or not) and sends a signal per event.
pub fn watch(
    folders: &[(PathBuf, bool)],
    poll: Option<Duration>,
    tx: mpsc::UnboundedSender<Signal>,
) -> notify::Result<FolderWatch> {
    let handler = move |event: notify::Result<notify::Event>| {
        let _ = match event {
            Ok(e) if e.kind.is_access() => Ok(()),
            Ok(_) => tx.send(Signal::Changed),
            Err(e) => tx.send(Signal::Failed(e.to_string())),
        };
    };
    let mut inner: Box<dyn Watcher + Send> = match poll {
        Some(every) => Box::new(PollWatcher::new(
            handler,
            notify::Config::default()
                .with_poll_interval(every)
                .with_compare_contents(true),
        )?),
        None => Box::new(RecommendedWatcher::new(handler, notify::Config::default())?),
    };
    for (f, recursive) in folders {
        std::fs::create_dir_all(f)?;
        let mode = if *recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        inner.watch(f, mode)?;
    }
    Ok(FolderWatch { _inner: inner })
}
