//! `ferry init`: a starter configuration in the working folder.

use std::path::Path;

use crate::config::{CONFIG_FILE, DEFAULT_CONFIG};

/// Options of `ferry init`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Overwrite an existing ferry.toml.
    #[arg(long)]
    pub force: bool,
}

/// Writes ferry.toml and creates scripts/ and stdlib/.
pub(super) fn run(args: Args) -> Result<(), super::Failure> {
    let path = Path::new(CONFIG_FILE);
    if path.exists() && !args.force {
        return Err(anyhow::anyhow!("{CONFIG_FILE} already exists; use --force to overwrite it").into());
    }
    std::fs::write(path, DEFAULT_CONFIG)?;
    for dir in ["scripts", "stdlib"] {
        std::fs::create_dir_all(dir)?;
    }
    println!("Wrote {CONFIG_FILE}; put extract scripts in scripts/ and try `ferry list`.");
    Ok(())
}
