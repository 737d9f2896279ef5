//! `ferry demo`: (re)create the demo district database.

use std::path::PathBuf;

use crate::config::Settings;
use crate::demo::{create, DemoOptions};

/// Options of `ferry demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Students to generate; schools are laid out at about one per 400 students.
    #[arg(long, default_value_t = 2000)]
    pub students: u32,
    /// Random seed: the same seed gives the same district.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Database file (default: the `live` database's file from the configuration).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Creates the database, replacing an existing one.
pub(super) async fn run(args: Args, settings: &Settings) -> Result<(), super::Failure> {
    let path = match args.out {
        Some(p) => p,
        None => settings
            .databases
            .get("live")
            .and_then(|d| d.url.strip_prefix("sqlite:"))
            .map(PathBuf::from)
            .ok_or_else(|| anyhow::anyhow!("the `live` database is not a sqlite: file; give --out PATH"))?,
    };
    let opts = DemoOptions {
        students: args.students,
        seed: args.seed,
        active_year: settings.active_year(),
    };
    let summary = create(&path, &opts).await?;
    println!("Created {} with {summary:?}", path.display());
    Ok(())
}
