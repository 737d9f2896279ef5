//! `ferry check`: load and validate scripts without running them.

use crate::app::App;
use crate::script::ScriptsDir;

/// Options of `ferry check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scripts (paths or names in the scripts folder); all when none given.
    pub scripts: Vec<String>,
}

/// Prints one line per script; fails when any script is invalid.
pub(super) fn run(args: Args, app: &App) -> Result<(), super::Failure> {
    let paths = if args.scripts.is_empty() {
        ScriptsDir::of(&app.settings).list()
    } else {
        args.scripts.iter().map(|s| app.script_path(s)).collect()
    };
    if paths.is_empty() {
        return Err(anyhow::anyhow!("no scripts in {}", app.settings.scripts_dir.display()).into());
    }
    let mut bad = 0;
    for path in &paths {
        match app.load(path) {
            Ok(s) => println!(
                "ok     {}  ({}; schedule: {})",
                path.display(),
                s.spec.name,
                s.spec.schedule
            ),
            Err(e) => {
                bad += 1;
                println!("error  {e}");
            }
        }
    }
    if bad > 0 {
        return Err(anyhow::anyhow!("{bad} of {} scripts have errors", paths.len()).into());
    }
    Ok(())
}
