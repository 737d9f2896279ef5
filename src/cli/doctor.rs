//! `ferry doctor`: the installation's checks, one line each, with a fix
//! under every problem.

use std::path::Path;

use super::{Failure, EXIT_RUN_FAILED};

/// Options of `ferry doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The report as JSON (every check: subject, ok, detail, fix).
    #[arg(long)]
    pub json: bool,
}

/// Prints the report; exits 1 when any check found a problem.
pub(super) async fn run(args: Args, config: Option<&Path>) -> Result<(), Failure> {
    let report = crate::doctor::examine(config).await;
    let problems = report.problems().count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let width = report.checks.iter().map(|c| c.subject.len()).max().unwrap_or(0);
        for c in &report.checks {
            let status = if c.ok { "ok" } else { "PROBLEM" };
            println!("{status:<8} {:<width$}  {}", c.subject, c.detail);
            if let Some(fix) = &c.fix {
                println!("{:<8} {:<width$}  fix: {fix}", "", "");
            }
        }
        match problems {
            0 => println!("All {} checks OK.", report.checks.len()),
            n => println!("{n} problem(s) in {} checks.", report.checks.len()),
        }
    }
    if problems > 0 {
        return Err(Failure {
            code: EXIT_RUN_FAILED,
            error: anyhow::anyhow!("ferry doctor found {problems} problem(s); each has its fix above"),
        });
    }
    Ok(())
}
