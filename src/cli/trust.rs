//! `ferry trust DESTINATION`: records an SFTP server's host key in
//! known_hosts, after the administrator has compared its fingerprint with
//! the vendor's (or given it with --fingerprint), so every later connection
//! can refuse an impostor.

use super::{Failure, EXIT_BAD_INPUT, EXIT_RUN_FAILED};
use crate::config::Settings;
use crate::deliver::DeliveryEnv;

/// Options of `ferry trust`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// An SFTP destination from ferry.toml.
    pub destination: String,
    /// The fingerprint the vendor gave (SHA256:...): refuse any other key.
    #[arg(long, value_name = "SHA256:...")]
    pub fingerprint: Option<String>,
}

/// Connects, shows the host key and records it.
pub(super) async fn run(args: Args, settings: &Settings) -> Result<(), Failure> {
    let fail = |code: i32, message: String| Failure {
        code,
        error: anyhow::anyhow!(message),
    };
    let d = settings.destinations.get(&args.destination).ok_or_else(|| {
        fail(
            EXIT_BAD_INPUT,
            format!("no destination named '{}' in {}", args.destination, settings.origin),
        )
    })?;
    if !d.mode.is_sftp() {
        return Err(fail(
            EXIT_BAD_INPUT,
            format!(
                "'{}' is a {} destination; `ferry trust` is for SFTP host keys (FTPS uses ca_file or pinned_certificate)",
                args.destination, d.mode
            ),
        ));
    }
    let env = DeliveryEnv::from_settings(settings);
    let t = crate::deliver::sftp::trust(d, &env, args.fingerprint.as_deref())
        .await
        .map_err(|e| fail(EXIT_RUN_FAILED, e.message))?;
    println!("{} presents the host key {} {}", t.at, t.algorithm, t.fingerprint);
    if t.added {
        println!("trusted: added to {}", env.known_hosts.display());
        if args.fingerprint.is_none() {
            println!("(compare the fingerprint above with the one the vendor gives you; if they differ, remove the line and call the vendor)");
        }
    } else {
        println!("already trusted in {}", env.known_hosts.display());
    }
    Ok(())
}
