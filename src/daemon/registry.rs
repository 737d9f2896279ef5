//! The scripts the daemon knows: the last good version of each, the error of
//! a newer version that failed to load, and the next time each is due.
//!
//! A rescan reads the folder and compares content hashes, so it is cheap
//! enough to run on every file-system event and covers every way a file can
//! change (edit, save-by-rename, symlink swap, delete).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::run::next_due;
use crate::script::{Script, ScriptsDir};

/// One script file.
pub(crate) struct Entry {
    /// The version that runs: the last one that loaded.
    pub script: Option<Arc<Script>>,
    /// Hash of the file's content plus the modules and configuration it
    /// was loaded with.
    pub loaded_hash: String,
    /// The error of the current file content, when it does not load.
    pub error: Option<String>,
    /// When it is next due (UTC); `None` when not scheduled.
    pub next: Option<DateTime<Utc>>,
}

/// What a rescan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new script loaded.
    Added(String),
    /// A changed script loaded; the next run uses it.
    Updated(String),
    /// A script failed to load; `kept` says whether an older version stays scheduled.
    Failed {
        id: String,
        error: String,
        /// An earlier good version keeps running.
        kept: bool,
    },
    /// A script file disappeared.
    Removed(String),
}

/// Every script in the folder.
#[derive(Default)]
pub(crate) struct Registry {
    /// By script id (file name without `.rhai`).
    pub entries: BTreeMap<String, Entry>,
}

fn hash_files(hasher: &mut Sha256, dir: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        if f.is_dir() {
            hash_files(hasher, &f);
        } else if f.extension().is_some_and(|x| x == "rhai") {
            hasher.update(f.display().to_string().as_bytes());
            hasher.update(std::fs::read(&f).unwrap_or_default());
        }
    }
}

/// A hash of what every script's load depends on besides its own text:
/// imported modules and the configuration.
fn environment_hash(settings: &Settings, config_text: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(config_text.as_bytes());
    hash_files(&mut h, &settings.stdlib_dir);
    hash_files(&mut h, &settings.scripts_dir.join("lib"));
    h
}

impl Registry {
    /// Reloads what changed since the last rescan; `config_text` is the
    /// configuration file's content (part of every script's identity, as a
    /// destination may have been added or removed).
    pub(crate) fn rescan(&mut self, settings: &Settings, config_text: &str, now: DateTime<Utc>) -> Vec<Change> {
        let env = environment_hash(settings, config_text);
        let mut seen = Vec::new();
        let mut changes = Vec::new();
        for path in ScriptsDir::of(settings).list() {
            let Some(id) = ScriptsDir::id_of(&path) else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            seen.push(id.clone());
            let mut h = env.clone();
            h.update(text.as_bytes());
            let hash = hex::encode(h.finalize());
            let existing = self.entries.get(&id);
            if existing.is_some_and(|e| e.loaded_hash == hash) {
                continue;
            }
            match Script::from_source(&path, &text, settings) {
                Ok(script) => {
                    let next = next_due(&script, now);
                    let change = if existing.is_some() {
                        Change::Updated(id.clone())
                    } else {
                        Change::Added(id.clone())
                    };
                    self.entries.insert(
                        id,
                        Entry {
                            script: Some(Arc::new(script)),
                            loaded_hash: hash,
                            error: None,
                            next,
                        },
                    );
                    changes.push(change);
                }
                Err(e) => {
                    let error = e.to_string();
                    let entry = self.entries.entry(id.clone()).or_insert(Entry {
                        script: None,
                        loaded_hash: String::new(),
                        error: None,
                        next: None,
                    });
                    entry.loaded_hash = hash;
                    entry.error = Some(error.clone());
                    changes.push(Change::Failed {
                        id,
                        error,
                        kept: entry.script.is_some(),
                    });
                }
            }
        }
        let gone: Vec<String> = self.entries.keys().filter(|k| !seen.contains(k)).cloned().collect();
        for id in gone {
            self.entries.remove(&id);
            changes.push(Change::Removed(id));
        }
        changes
    }

    /// The earliest time any script is due.
    pub(crate) fn earliest(&self) -> Option<DateTime<Utc>> {
        self.entries.values().filter_map(|e| e.next).min()
    }

    /// Each script whose time has come by `now`, with the occurrence it was
    /// due for, moved on to its next time after `now`. A stretch the loop
    /// did not wake for (a suspended machine, a long rescan) gives one run
    /// for its first occurrence, not one for every occurrence in it.
    pub(crate) fn take_due(&mut self, now: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
        let mut due = Vec::new();
        for (id, e) in &mut self.entries {
            if let (Some(at), Some(script)) = (e.next, &e.script) {
                if at <= now {
                    due.push((id.clone(), at));
                    e.next = next_due(script, now);
                }
            }
        }
        due
    }
}
