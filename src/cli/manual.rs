//! `ferry completions` and `ferry man`: generated from the clap definitions,
//! so packaging can build them at package time and they never drift from
//! the real command line.

use std::path::PathBuf;

use clap::CommandFactory;

use super::{Cli, Failure};

/// Options of `ferry completions`.
#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell whose completion script is printed.
    pub shell: Shell,
}

/// The shells ferry writes completions for.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Shell {
    /// bash (install as /usr/share/bash-completion/completions/ferry).
    Bash,
    /// zsh (install as _ferry in a folder of $fpath).
    Zsh,
    /// fish (install as ~/.config/fish/completions/ferry.fish).
    Fish,
}

/// Options of `ferry man`.
#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The folder the pages are written to (created when missing).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
}

/// Prints the completion script for `args.shell`.
pub(super) fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "ferry", &mut std::io::stdout());
    Ok(())
}

/// Writes ferry.1 and ferry-SUBCOMMAND.1 (nested ones as ferry-keys-pgp.1)
/// into `args.out`, and prints each file written.
pub(super) fn man(args: &ManArgs) -> Result<(), Failure> {
    std::fs::create_dir_all(&args.out)
        .map_err(|e| anyhow::anyhow!("cannot create the folder {}: {e}", args.out.display()))?;
    let mut command = Cli::command();
    // Building names each subcommand for its page: `ferry-keys-pgp`.
    command.build();
    write_pages(&command, &args.out)?;
    Ok(())
}

fn write_pages(command: &clap::Command, out: &std::path::Path) -> Result<(), Failure> {
    let name = command.get_display_name().unwrap_or(command.get_name());
    let path = out.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|e| anyhow::anyhow!("cannot render the manual page {name}: {e}"))?;
    std::fs::write(&path, page).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!("{}", path.display());
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, out)?;
    }
    Ok(())
}
