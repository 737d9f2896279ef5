//! Kept files do not pile up: run folders older than `keep_days` are
//! removed, then the oldest until the total is under `keep_max_size`. Held
//! runs stay until someone releases or discards them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::app::App;

/// A kept run folder.
struct Kept {
    id: i64,
    path: PathBuf,
    modified: SystemTime,
    bytes: u64,
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(std::result::Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The folders to remove: past `max_age`, then oldest first while the rest
/// is over `max_bytes`. `keep` (held runs, the current run) is never chosen.
fn choose(
    mut kept: Vec<Kept>,
    keep: &HashSet<i64>,
    now: SystemTime,
    max_age: Duration,
    max_bytes: u64,
) -> Vec<PathBuf> {
    kept.retain(|k| !keep.contains(&k.id));
    kept.sort_by_key(|k| k.id);
    let mut total: u64 = kept.iter().map(|k| k.bytes).sum();
    let mut out = Vec::new();
    for k in kept {
        let old = now.duration_since(k.modified).unwrap_or_default() > max_age;
        if old || total > max_bytes {
            total -= k.bytes;
            out.push(k.path);
        }
    }
    out
}

impl App {
    /// Removes run `id`'s kept transient files (a photo zip a guard held),
    /// once it is released or superseded: they must not linger.
    pub(crate) async fn remove_transient(&self, id: i64) {
        let Ok((_, files, _)) = self.store.run(id).await else {
            return;
        };
        for f in files.iter().filter(|f| f.transient) {
            if let Some(path) = &f.local_path {
                if std::fs::remove_file(path).is_ok() {
                    tracing::info!(run = id, file = %f.name, "removed the released or superseded transient file");
                }
            }
        }
    }

    /// Applies the retention to the work folder; returns the folders removed.
    /// `current` is the run that just ended (never removed here).
    pub async fn clean_kept(&self, current: Option<i64>) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.settings.work_dir) else {
            return Vec::new();
        };
        let kept: Vec<Kept> = entries
            .filter_map(std::result::Result::ok)
            .filter_map(|e| {
                let id = e.file_name().to_str()?.strip_prefix("run-")?.parse().ok()?;
                let modified = e.metadata().ok()?.modified().ok()?;
                Some(Kept {
                    id,
                    bytes: folder_bytes(&e.path()),
                    path: e.path(),
                    modified,
                })
            })
            .collect();
        let mut keep: HashSet<i64> = match self.store.held_runs().await {
            Ok(runs) => runs.iter().map(|r| r.id).collect(),
            // Without knowing which runs are held, remove nothing.
            Err(e) => {
                tracing::warn!("kept files not cleaned up: {e}");
                return Vec::new();
            }
        };
        keep.extend(current);
        let max_age = Duration::from_secs(u64::from(self.settings.keep_days) * 86_400);
        let chosen = choose(kept, &keep, SystemTime::now(), max_age, self.settings.keep_max_bytes);
        for path in &chosen {
            match std::fs::remove_dir_all(path) {
                Ok(()) => tracing::info!("removed kept files {} (retention)", path.display()),
                Err(e) => tracing::warn!("cannot remove kept files {}: {e}", path.display()),
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(id: i64, age_days: u64, bytes: u64, now: SystemTime) -> Kept {
        Kept {
            id,
            path: PathBuf::from(format!("run-{id}")),
            modified: now - Duration::from_secs(age_days * 86_400),
            bytes,
        }
    }

    #[test]
    fn old_folders_go_then_the_oldest_until_under_the_size() {
        let now = SystemTime::now();
        let day = Duration::from_secs(86_400);
        let all = || {
            vec![
                kept(1, 40, 10, now),
                kept(2, 5, 50, now),
                kept(3, 3, 50, now),
                kept(4, 1, 50, now),
            ]
        };
        let names = |v: Vec<PathBuf>| v.into_iter().map(|p| p.display().to_string()).collect::<Vec<_>>();
        assert_eq!(names(choose(all(), &HashSet::new(), now, 30 * day, 1000)), ["run-1"]);
        assert_eq!(
            names(choose(all(), &HashSet::new(), now, 30 * day, 100)),
            ["run-1", "run-2"]
        );
        // Held runs stay whatever their age or size.
        let held: HashSet<i64> = [1, 2].into();
        assert_eq!(names(choose(all(), &held, now, 30 * day, 60)), ["run-3"]);
    }
}
