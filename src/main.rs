//! The `ferry` binary: parse the command line, call the library, map errors
//! to exit codes.

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = ferry::cli::Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()))
        .with_writer(std::io::stderr)
        .init();
    if let Err(f) = ferry::cli::dispatch(cli).await {
        eprintln!("error: {:#}", f.error);
        std::process::exit(f.code);
    }
}
