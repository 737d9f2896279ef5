//! The scripts folder: which files in it are scripts, the id a script goes
//! by, and the file an id names. One definition, so `ferry list`, the
//! console and the daemon always agree on what the scripts are.

use std::path::{Path, PathBuf};

use super::Settings;

/// The longest script id the console accepts, so a name fits in a URL
/// and a file name on every file system ferry delivers from.
const MAX_ID: usize = 80;

/// A name the console cannot use as a script id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a script name: use letters, digits, '_', '-' and '.', at most {MAX_ID} characters, with no path")]
pub struct BadScriptName(pub String);

/// The folder of `.rhai` scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptsDir {
    root: PathBuf,
}

impl ScriptsDir {
    /// The folder at `root`.
    pub fn new(root: impl Into<PathBuf>) -> ScriptsDir {
        ScriptsDir { root: root.into() }
    }

    /// The folder a configuration names (`scripts` in ferry.toml).
    pub fn of(settings: &Settings) -> ScriptsDir {
        ScriptsDir::new(&settings.scripts_dir)
    }

    /// Every script, sorted: regular `.rhai` files whose name does not
    /// start with a dot (an editor's swap or backup file is not a script).
    /// These are exactly the scripts the daemon schedules. A folder that
    /// cannot be read has none.
    pub fn list(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.root)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| is_script(p))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The id a script file goes by in history, the console and metrics:
    /// its file name without `.rhai`. `None` only for a path with no file
    /// name (such as `/`).
    pub fn id_of(path: &Path) -> Option<String> {
        path.file_stem().map(|s| s.to_string_lossy().into_owned())
    }

    /// The file of script `id` in this folder. The id is trusted: it comes
    /// from this folder's own listing or a loaded script's header; a name a
    /// person typed goes through [`ScriptsDir::checked_path_of`].
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.root.join(format!("{id}.rhai"))
    }

    /// The file of script `id`, refusing a name that is not a plain script
    /// name (a path, a leading dot or dash, `..`), so a request cannot
    /// reach outside the folder.
    pub fn checked_path_of(&self, id: &str) -> Result<PathBuf, BadScriptName> {
        check_name(id)?;
        Ok(self.path_of(id))
    }
}

/// Whether `id` may name a script: letters, digits, `_`, `-` and `.`, at
/// most [`MAX_ID`] characters, not starting with `.` or `-`, without `..`.
fn check_name(id: &str) -> Result<(), BadScriptName> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && !id.starts_with(['.', '-'])
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !id.contains("..");
    if ok {
        Ok(())
    } else {
        Err(BadScriptName(id.to_string()))
    }
}

fn is_script(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "rhai")
        && path.is_file()
        && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_scripts_the_daemon_schedules_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.rhai", "a.rhai", ".a.rhai", "notes.txt", "c.rhai.bak"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::create_dir(dir.path().join("folder.rhai")).unwrap();
        let scripts = ScriptsDir::new(dir.path());
        let names: Vec<String> = scripts.list().iter().filter_map(|p| ScriptsDir::id_of(p)).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(scripts.path_of("a"), dir.path().join("a.rhai"));
        assert!(ScriptsDir::new(dir.path().join("missing")).list().is_empty());
    }

    #[test]
    fn names_from_people_stay_inside_the_folder() {
        let scripts = ScriptsDir::new("/srv/ferry/scripts");
        assert_eq!(
            scripts.checked_path_of("roster.v2").unwrap(),
            Path::new("/srv/ferry/scripts/roster.v2.rhai")
        );
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            ".hidden",
            "-x",
            "a..b",
            "sp ace",
            &"x".repeat(MAX_ID + 1),
        ] {
            let e = scripts.checked_path_of(bad).unwrap_err().to_string();
            assert!(
                e.contains("is not a script name") && e.contains("at most 80"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            ScriptsDir::id_of(Path::new("/x/roster.rhai")).as_deref(),
            Some("roster")
        );
    }
}
