//! `ferry keys`: the SFTP login keys ferry makes and keeps, so the vendor
//! gets a public key to install and the district never hands out a
//! password it would have to rotate.

use super::output::{Cell, Listing};
use super::{Failure, EXIT_BAD_INPUT, EXIT_RUN_FAILED};
use crate::config::Settings;
use crate::deliver::{test_connection, DeliveryEnv};
use crate::keys::{KeyKind, KeyStore};

/// Options of `ferry keys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do with keys.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `ferry keys` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new key pair (ed25519 unless --rsa); prints the public key to send to the vendor.
    Generate {
        /// The key's name (letters, digits, '.', '_', '-'), used as `key = "NAME"` in ferry.toml.
        name: String,
        /// An RSA key instead, for servers that accept nothing newer.
        #[arg(long)]
        rsa: bool,
        /// RSA modulus size in bits.
        #[arg(long, default_value_t = 3072, requires = "rsa")]
        bits: usize,
        /// Encrypt the private key with the passphrase in this environment
        /// variable (then set key_passphrase = "env:VAR" for the destination).
        #[arg(long, value_name = "VAR")]
        passphrase_env: Option<String>,
    },
    /// The keys: name, type, fingerprint, whether a passphrase protects it.
    List(super::output::View),
    /// The public key in OpenSSH format, to send to the vendor.
    Show {
        /// The key.
        name: String,
    },
    /// The OpenPGP keyring: vendors' public keys to encrypt to, the district's signing key.
    Pgp {
        /// What to do with PGP keys.
        #[command(subcommand)]
        command: super::keys_pgp::PgpCommand,
    },
    /// Log in to a destination with this key only (no password) and write and remove a 1-byte test file.
    Test {
        /// The key.
        name: String,
        /// A destination from ferry.toml.
        destination: String,
    },
}

fn failed(code: i32, message: String) -> Failure {
    Failure {
        code,
        error: anyhow::anyhow!(message),
    }
}

/// Runs a `ferry keys` subcommand.
pub(super) async fn run(args: Args, settings: &Settings) -> Result<(), Failure> {
    let store = KeyStore::open(&settings.keys_dir);
    match args.command {
        KeysCommand::Generate {
            name,
            rsa,
            bits,
            passphrase_env,
        } => {
            let passphrase = match &passphrase_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    failed(
                        EXIT_BAD_INPUT,
                        format!("--passphrase-env {var}: the variable {var} is not set"),
                    )
                })?),
                None => None,
            };
            let kind = if rsa { KeyKind::Rsa { bits } } else { KeyKind::Ed25519 };
            let info = store.generate(&name, kind, passphrase.as_deref())?;
            println!(
                "made key '{name}' ({} {}{}) in {}",
                info.algorithm,
                info.fingerprint,
                if info.encrypted { ", passphrase-protected" } else { "" },
                store.dir().display()
            );
            println!("send this public key to the vendor (it is safe to email):\n");
            println!("{}\n", store.public(&name)?);
            println!(
                "then set key = \"{name}\"{} for the destination and run `ferry keys test {name} DESTINATION`",
                passphrase_env
                    .map(|v| format!(" and key_passphrase = \"env:{v}\""))
                    .unwrap_or_default()
            );
        }
        KeysCommand::List(view) => {
            let keys = store.list()?;
            let mut listing = Listing::new(
                view,
                &[
                    ("key", "name"),
                    ("type", "algorithm"),
                    ("fingerprint", "fingerprint"),
                    ("passphrase", "passphrase"),
                ],
            );
            for k in keys {
                listing.row(vec![
                    Cell::of(k.name),
                    Cell::of(k.algorithm),
                    Cell::of(k.fingerprint),
                    Cell::of(k.encrypted),
                ]);
            }
            listing.print(&format!(
                "no keys in {}; `ferry keys generate NAME` makes one",
                store.dir().display()
            ))?;
        }
        KeysCommand::Show { name } => println!("{}", store.public(&name)?),
        KeysCommand::Pgp { command } => super::keys_pgp::run(command, settings)?,
        KeysCommand::Test { name, destination } => {
            let base = settings.destinations.get(&destination).ok_or_else(|| {
                failed(
                    EXIT_BAD_INPUT,
                    format!("no destination named '{destination}' in {}", settings.origin),
                )
            })?;
            if !base.mode.is_sftp() {
                return Err(failed(
                    EXIT_BAD_INPUT,
                    format!("'{destination}' is a {} destination; keys are for SFTP", base.mode),
                ));
            }
            // Fail early on a missing key rather than after connecting.
            store.public(&name)?;
            let mut s = base.clone();
            s.key = Some(name.clone());
            s.password = None;
            match test_connection(&s, &DeliveryEnv::from_settings(settings)).await {
                Ok(probe) => {
                    println!(
                        "key '{name}' works: logged in to {} as {} ({}), wrote and removed {}",
                        crate::deliver::sftp::address(&s),
                        s.username.as_deref().unwrap_or(""),
                        probe.info.auth_method.as_deref().unwrap_or("?"),
                        probe.test_file
                    );
                    if let Some(id) = &probe.info.identity {
                        println!("server host key {id}");
                    }
                }
                Err(e) => {
                    return Err(failed(
                        EXIT_RUN_FAILED,
                        format!("key '{name}' did not work: {}", e.message),
                    ))
                }
            }
        }
    }
    Ok(())
}
