//! `ferry keys pgp`: the OpenPGP keyring. Vendors' public keys come in with
//! `import` (shown with fingerprint and expiry so the administrator can
//! confirm them with the vendor); the district's signing key is made with
//! `generate` and sent out with `show`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use chrono::Utc;

use super::output::{Cell, Listing};
use super::{Failure, EXIT_BAD_INPUT};
use crate::config::Settings;
use crate::openpgp::{describe, parse_public, KeyInfo, Keyring, PgpError};

/// The `ferry keys pgp` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum PgpCommand {
    /// Add a vendor's public key (armored or binary), after showing its fingerprint and expiry.
    Import {
        /// The key file the vendor sent (`gpg --export --armor` output).
        file: PathBuf,
        /// The key's name in scripts (`encrypt(f, #{ to: "NAME" })`); default: the file's name without extension.
        #[arg(long)]
        name: Option<String>,
        /// The fingerprint the vendor confirmed (by phone or on their site); the import is refused if the file's differs.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Import without asking (for scripts; confirm the fingerprint some other way).
        #[arg(long)]
        yes: bool,
    },
    /// The keys: name, user ID, fingerprint, expiry, whether files can be encrypted to them.
    List(super::output::View),
    /// A key's details (on stderr) and its armored public key (on stdout), e.g. to send the district's key to a vendor.
    Show {
        /// The key.
        name: String,
    },
    /// Delete a key from the keyring.
    Remove {
        /// The key.
        name: String,
    },
    /// Make the district's signing key (Ed25519, with a Curve25519 encryption subkey).
    Generate {
        /// The key's name (used as `sign: "NAME"`).
        name: String,
        /// Who the key belongs to, e.g. "Springfield SD Data Office <data@springfield.k12.example>".
        #[arg(long)]
        user_id: String,
        /// The secret reference of the passphrase that locks the key: env:VARIABLE or file:PATH.
        /// ferry keeps the reference, never the passphrase, and reads it again to sign.
        #[arg(long, value_name = "REF")]
        passphrase: String,
    },
}

fn failed(code: i32, message: String) -> Failure {
    Failure {
        code,
        error: anyhow::anyhow!(message),
    }
}

fn details(k: &KeyInfo) -> String {
    let s = &k.summary;
    let mut text = String::new();
    for uid in &s.user_ids {
        text.push_str(&format!("  user ID      {uid}\n"));
    }
    text.push_str(&format!("  fingerprint  {}\n", spaced(&s.fingerprint)));
    text.push_str(&format!(
        "  algorithm    {}, made {}\n",
        s.algorithm,
        s.created.format("%Y-%m-%d")
    ));
    text.push_str(&format!(
        "  expires      {}\n",
        s.expires
            .map_or("never".to_string(), |e| e.format("%Y-%m-%d %H:%M UTC").to_string())
    ));
    text.push_str(&format!("  encryption   {}\n", k.status()));
    if k.secret {
        text.push_str("  secret key   held by ferry (can sign)\n");
    }
    text
}

/// The fingerprint in groups of four, as GnuPG shows it to read aloud.
fn spaced(fpr: &str) -> String {
    fpr.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn confirm(question: &str) -> bool {
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "YES")
}

/// Runs a `ferry keys pgp` subcommand.
pub(super) fn run(command: PgpCommand, settings: &Settings) -> Result<(), Failure> {
    let keyring = Keyring::open(&settings.pgp_keys_dir, &settings.root);
    let now = Utc::now();
    match command {
        PgpCommand::Import {
            file,
            name,
            fingerprint,
            yes,
        } => {
            let shown = file.display().to_string();
            let bytes = std::fs::read(&file).map_err(|e| PgpError::Io {
                what: format!("cannot read {shown}"),
                source: e,
            })?;
            let name = match name {
                Some(n) => n,
                None => file
                    .file_name()
                    .map(|f| f.to_string_lossy())
                    .and_then(|f| f.split('.').next().map(str::to_string))
                    .unwrap_or_default(),
            };
            Keyring::check_name(&name)?;
            let cert = parse_public(&shown, &bytes)?;
            let summary = crate::openpgp::cert::summary(&cert);
            println!("{shown}: {}", describe(&summary));
            let info = KeyInfo {
                name: name.clone(),
                summary: summary.clone(),
                secret: false,
                encrypt: crate::openpgp::cert::encryption_key(&cert, now).map(|(_, until)| until),
            };
            print!("{}", details(&info));
            if let Some(expected) = fingerprint {
                let clean: String = expected.chars().filter(|c| !c.is_whitespace()).collect();
                if !clean.eq_ignore_ascii_case(&summary.fingerprint) {
                    return Err(PgpError::Fingerprint {
                        file: shown,
                        actual: summary.fingerprint,
                        expected,
                    }
                    .into());
                }
                println!("the fingerprint matches the one the vendor confirmed");
            } else if !yes && std::io::stdin().is_terminal() {
                Keyring::check_recipient(&name, &cert, now)?;
                if !confirm(&format!(
                    "Is {} the fingerprint the vendor gave you (by phone or on their site, not in the email that carried the key)?",
                    spaced(&summary.fingerprint)
                )) {
                    return Err(failed(EXIT_BAD_INPUT, "nothing imported".into()));
                }
            }
            let stored = keyring.import(&name, &cert, now)?;
            println!(
                "imported '{name}' ({}) into {}; encrypt to it with encrypt(file, #{{ to: \"{name}\" }})",
                stored.status(),
                keyring.dir().display()
            );
        }
        PgpCommand::List(view) => {
            let keys = keyring.list(now)?;
            let mut listing = Listing::new(
                view,
                &[
                    ("key", "name"),
                    ("user ID", "user_ids"),
                    ("fingerprint", "fingerprint"),
                    ("expires", "expires"),
                    ("encryption", "encryption"),
                    ("secret", "secret"),
                ],
            );
            for k in keys {
                listing.row(vec![
                    Cell::of(k.name.clone()),
                    Cell::shown(
                        k.summary.user_ids.first().cloned().unwrap_or_default(),
                        &k.summary.user_ids,
                    ),
                    Cell::of(k.summary.fingerprint.clone()),
                    Cell::shown(
                        k.summary
                            .expires
                            .map_or("never".to_string(), |e| e.format("%Y-%m-%d").to_string()),
                        k.summary.expires.map(|e| e.to_rfc3339()),
                    ),
                    Cell::of(k.status()),
                    Cell::of(k.secret),
                ]);
            }
            listing.print(&format!(
                "no PGP keys in {}; `ferry keys pgp import FILE` adds a vendor's, `ferry keys pgp generate NAME` makes the district's",
                keyring.dir().display()
            ))?;
        }
        PgpCommand::Show { name } => {
            let info = keyring.info(&name, now)?;
            eprint!("{name}:\n{}", details(&info));
            print!("{}", keyring.public_armored(&name)?);
        }
        PgpCommand::Remove { name } => {
            keyring.remove(&name)?;
            println!("removed PGP key '{name}' from {}", keyring.dir().display());
        }
        PgpCommand::Generate {
            name,
            user_id,
            passphrase,
        } => {
            let info = keyring.generate(&name, &user_id, &passphrase, now)?;
            println!("made PGP key '{name}' in {}:", keyring.dir().display());
            print!("{}", details(&info));
            println!(
                "sign with encrypt(file, #{{ to: \"VENDOR\", sign: \"{name}\" }}) or sign(file, #{{ key: \"{name}\" }}); \
                 `ferry keys pgp show {name}` prints the public key to send to the vendor"
            );
        }
    }
    Ok(())
}
