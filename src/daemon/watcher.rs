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
pub(super) enum Signal {
    /// Something in a watched folder changed.
    Changed,
    /// The watcher failed; recreate it and rescan.
    Failed(String),
}

/// A running watcher; dropping it stops watching.
pub(super) struct FolderWatch {
    _inner: Box<dyn Watcher + Send>,
}

/// Watches the script folders recursively and the configuration file's
/// folder (for that one file: logs and databases often live beside it), and
/// sends a signal per relevant event.
pub(super) fn watch(
    folders: &[PathBuf],
    config: Option<PathBuf>,
    poll: Option<Duration>,
    tx: mpsc::UnboundedSender<Signal>,
) -> notify::Result<FolderWatch> {
    let roots = folders.to_vec();
    let file = config.clone();
    let relevant = move |e: &notify::Event| {
        e.paths
            .iter()
            .any(|p| roots.iter().any(|r| p.starts_with(r)) || Some(p) == file.as_ref())
    };
    let handler = move |event: notify::Result<notify::Event>| {
        let _ = match event {
            Ok(e) if e.kind.is_access() || !relevant(&e) => Ok(()),
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
    for f in folders {
        std::fs::create_dir_all(f)?;
        inner.watch(f, RecursiveMode::Recursive)?;
    }
    if let Some(dir) = config.as_deref().and_then(|c| c.parent()) {
        inner.watch(dir, RecursiveMode::NonRecursive)?;
    }
    Ok(FolderWatch { _inner: inner })
}
