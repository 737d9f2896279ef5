//! The `ferry` binary: parse the command line, call the library, map errors
//! to exit codes.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = ferry::cli::Cli::parse();
    // `serve` is a service: its log is its voice, so it says what it does.
    let serving = matches!(cli.command, ferry::cli::Command::Serve(_));
    // Libraries (database drivers' notices, protocol crates) speak only
    // through ferry's own messages unless asked with -vv: their warnings are
    // written for their developers, not for the person running an extract.
    let level = match cli.verbose {
        0 if serving => "error,ferry=info",
        0 => "error,ferry=warn",
        1 => "error,ferry=info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into());
    // Colour only for a person at a terminal; files and collectors get plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    if let Err(f) = ferry::cli::dispatch(cli).await {
        eprintln!("error: {:#}", f.error);
        std::process::exit(f.code);
    }
    // Everything is recorded by now. Returning would drop the runtime, which
    // waits for blocking threads: one still inside a database call that was
    // asked to stop must not hold the exit past a stop signal's grace.
    std::process::exit(0);
}
