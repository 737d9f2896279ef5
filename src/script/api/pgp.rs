//! `encrypt(file, opts)` and `sign(file, opts)`: one file of the run as an
//! OpenPGP message, `NAME.pgp` (or `.gpg`, or armored `.asc`), encrypted to
//! vendors' keys from ferry's keyring and optionally signed with the
//! district's key. Like `gzip()`, the original stays a part of it, so
//! delivering the message counts as delivering the original.
//!
//! Keys are checked at every run: a revoked, expired or signing-only
//! recipient stops the run with a message naming it, and a recipient key
//! that expires within [`EXPIRY_WARNING_DAYS`] warns the script's `notify`
//! group while there is still time to get a new one.

use super::{option_names, read_options, Options, Primitive};
use serde::Deserialize;
use std::io::Read;
use std::sync::Arc;

use chrono::Utc;
use rhai::{Engine, Map, NativeCallContext, Position};

use super::format::File;
use super::zip::record;
use crate::format::PartialFile;
use crate::openpgp::{write_message, Keyring, Recipient, Signer, EXPIRY_WARNING_DAYS};
use crate::run::context::{Artifact, Mode, RunContext};
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// `encrypt()`'s options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EncryptOptions {
    to: Option<KeyNames>,
    sign: Option<String>,
    armor: Option<bool>,
    ext: Option<String>,
}

/// `sign()`'s options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignOptions {
    key: Option<String>,
    armor: Option<bool>,
    ext: Option<String>,
}

/// `to`: one key name or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum KeyNames {
    One(String),
    Many(Vec<String>),
}

impl Options for EncryptOptions {
    fn expected(field: &str) -> &'static str {
        match field {
            "to" => "a key name or a list of key names (`ferry keys pgp list`)",
            f => expected(f),
        }
    }
}

impl Options for SignOptions {
    fn expected(field: &str) -> &'static str {
        expected(field)
    }
}

/// What the options both primitives share hold.
fn expected(field: &str) -> &'static str {
    match field {
        "armor" => "true (ASCII armor, .asc) or false (binary)",
        _ => "text",
    }
}

/// A reader that stops at the run's deadline or cancellation.
struct Watched<'a, R> {
    inner: R,
    run: &'a RunContext,
}

impl<R: Read> Read for Watched<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(reason) = self.run.stop_reason() {
            return Err(std::io::Error::other(reason));
        }
        self.inner.read(buf)
    }
}

/// The file's extension: `ext`, else `asc` when armored and `pgp` when not.
fn extension(func: &str, ext: Option<&str>, armored: bool, pos: Position) -> Res<String> {
    let ext = ext.unwrap_or(if armored { "asc" } else { "pgp" });
    if ext.is_empty() || !ext.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(runtime_error(
            format!(
                "{func}(): option ext: expected letters and digits such as \"pgp\", \"gpg\" or \"asc\", got \"{ext}\""
            ),
            pos,
        ));
    }
    Ok(ext.to_string())
}

/// The `to` option's key names, at least one.
fn recipients_of(to: Option<KeyNames>, pos: Position) -> Res<Vec<String>> {
    let names = match to {
        None => {
            return Err(runtime_error(
                "encrypt(): option to is missing: name the vendor's key, e.g. #{ to: \"acme\" } (`ferry keys pgp list` shows the keys)",
                pos,
            ))
        }
        Some(KeyNames::One(name)) => vec![name],
        Some(KeyNames::Many(names)) => names,
    };
    if names.is_empty() {
        return Err(runtime_error(
            format!(
                "encrypt(): option to: expected {}, got []",
                EncryptOptions::expected("to")
            ),
            pos,
        ));
    }
    Ok(names)
}

/// Loads the recipients, warning about any that expire soon.
fn load_recipients(run: &RunContext, keyring: &Keyring, names: &[String], pos: Position) -> Res<Vec<Recipient>> {
    let now = Utc::now();
    let mut loaded = Vec::with_capacity(names.len());
    for name in names {
        let r = keyring
            .recipient(name, now)
            .map_err(|e| runtime_error(format!("encrypt(): {e}"), pos))?;
        if let Some(at) = r
            .expires
            .filter(|at| *at - now <= chrono::Duration::days(EXPIRY_WARNING_DAYS))
        {
            let days = (at - now).num_days();
            let message = format!(
                "PGP key '{}' ({}) expires on {} (in {days} day{}): files encrypted to it will be refused from then on; \
                 ask the vendor for a new key and import it with `ferry keys pgp import`",
                r.name,
                r.who,
                at.format("%Y-%m-%d"),
                if days == 1 { "" } else { "s" }
            );
            warn_group(run, message);
        }
        loaded.push(r);
    }
    Ok(loaded)
}

/// Logs a warning and, in a real run, queues it for the script's group.
fn warn_group(run: &RunContext, message: String) {
    let fresh = !run.lock().log.iter().any(|l| l.message == message);
    if !fresh {
        return;
    }
    run.log(LogLevel::Warn, message.clone());
    if run.mode == Mode::Run {
        run.lock().warnings.push(message);
    }
}

fn load_signer(func: &str, keyring: &Keyring, name: &str, pos: Position) -> Res<Signer> {
    keyring
        .signer(name, Utc::now())
        .map_err(|e| runtime_error(format!("{func}(): {e}"), pos))
}

/// What to make of a file.
struct Message<'a> {
    recipients: &'a [Recipient],
    signer: Option<&'a Signer>,
    armored: bool,
    ext: &'a str,
}

/// Writes the message and records it as the run's file.
fn build(func: &str, run: &RunContext, file: File, m: &Message<'_>, pos: Position) -> Res<File> {
    let Message {
        recipients,
        signer,
        armored,
        ext,
    } = *m;
    let source = file.artifact();
    let name = format!("{}.{ext}", source.name);
    super::name_is_free(func, run, &name, pos)?;
    let io_err = |e: std::io::Error| runtime_error(format!("{func}(): cannot write {name}: {e}"), pos);
    let input = std::fs::File::open(&source.path)
        .map_err(|e| runtime_error(format!("{func}(): cannot read {}: {e}", source.name), pos))?;
    let mut partial = PartialFile::create(&run.work_dir, &name).map_err(io_err)?;
    let input = Watched {
        inner: std::io::BufReader::with_capacity(1 << 20, input),
        run,
    };
    let written = write_message(
        input,
        &source.name,
        &mut partial,
        recipients,
        signer,
        armored,
        Utc::now(),
    );
    if let Err(e) = written {
        if let Some(reason) = run.stop_reason() {
            return Err(rhai::EvalAltResult::ErrorTerminated(reason.into(), pos).into());
        }
        return Err(runtime_error(format!("{func}(): {name}: {e}"), pos));
    }
    let written = partial.commit().map_err(io_err)?;
    let artifact = Artifact {
        parts: vec![source.name.clone()],
        ..Artifact::written(written, source.rows)
    };
    let to = recipients.iter().map(|r| r.who.as_str()).collect::<Vec<_>>().join("; ");
    let by = signer.map(|s| format!("signed by '{}' ({})", s.name, s.fingerprint));
    let what = match (to.is_empty(), by) {
        (false, Some(by)) => format!("encrypted to {to}, {by}"),
        (false, None) => format!("encrypted to {to}"),
        (true, Some(by)) => by,
        (true, None) => String::new(),
    };
    run.log(
        LogLevel::Info,
        format!(
            "wrote {} ({} bytes, {what}) from {}",
            artifact.name, artifact.bytes, source.name
        ),
    );
    Ok(record(run, artifact))
}

fn encrypt(ctx: NativeCallContext, run: &RunContext, file: File, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let o: EncryptOptions = read_options("encrypt", opts, pos)?;
    let names = recipients_of(o.to, pos)?;
    let armored = o.armor.unwrap_or(false);
    let ext = extension("encrypt", o.ext.as_deref(), armored, pos)?;
    let sign = o.sign;
    let keyring = Keyring::open(&run.settings.pgp_keys_dir, &run.settings.root);
    let recipients = load_recipients(run, &keyring, &names, pos)?;
    let signer = sign.map(|s| load_signer("encrypt", &keyring, &s, pos)).transpose()?;
    let m = Message {
        recipients: &recipients,
        signer: signer.as_ref(),
        armored,
        ext: &ext,
    };
    build("encrypt", run, file, &m, pos)
}

fn sign(ctx: NativeCallContext, run: &RunContext, file: File, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let o: SignOptions = read_options("sign", opts, pos)?;
    let key = o.key.ok_or_else(|| {
        runtime_error(
            "sign(): option key is missing: name the district's key made with `ferry keys pgp generate`",
            pos,
        )
    })?;
    let armored = o.armor.unwrap_or(false);
    let ext = extension("sign", o.ext.as_deref(), armored, pos)?;
    let keyring = Keyring::open(&run.settings.pgp_keys_dir, &run.settings.root);
    let signer = load_signer("sign", &keyring, &key, pos)?;
    let m = Message {
        recipients: &[],
        signer: Some(&signer),
        armored,
        ext: &ext,
    };
    build("sign", run, file, &m, pos)
}

/// ### `encrypt(file, options)` → `File`
///
/// Encrypts one file of the run to vendors' OpenPGP keys from ferry's keyring
/// (`ferry keys pgp import`, see [delivery](delivery.md#openpgp-encrypting-files-for-a-vendor)),
/// optionally signed with the district's key, as one OpenPGP message named after
/// the file: `roster.csv` → `roster.csv.pgp`, or `.asc` when armored. GnuPG,
/// and any OpenPGP program, decrypts it to the file's exact bytes with the
/// vendor's secret key. Delivering the message counts as delivering the file
/// inside it; the message keeps the file's row count.
///
/// | option | default | meaning |
/// |---|---|---|
/// | `to` | (required) | A key name, or a list of them: every key can decrypt. |
/// | `sign` | none | The district's key (made with `ferry keys pgp generate`) to sign with; its passphrase comes from the secret reference given when it was made. |
/// | `armor` | `false` | ASCII armor (`-----BEGIN PGP MESSAGE-----`) instead of binary. |
/// | `ext` | `"pgp"`, or `"asc"` when armored | The extension added to the file's name (`"gpg"` for receivers that expect it). |
///
/// Keys are checked at every run, not only at import: a revoked key, an expired
/// one, a signing-only key or one whose encryption key ferry cannot use
/// (ElGamal) stops the run with a message naming it. A recipient key that
/// expires within 30 days warns the script's `notify` group at each run, with
/// the date, while there is time to import the vendor's new key.
pub(crate) const ENCRYPT: Primitive = Primitive {
    names: &["encrypt"],
    options: Some((1, option_names::<EncryptOptions>)),
    check: None,
    register: |engine, run| {
        engine.register_fn("encrypt", move |ctx: NativeCallContext, file: File, opts: Map| {
            encrypt(ctx, &run, file, &opts)
        });
    },
};

/// ### `sign(file, options)` → `File`
///
/// Signs one file with the district's key, without encrypting it, as `gpg
/// --sign` does: `roster.csv.pgp` (or `.asc` armored) holds the file and its
/// signature, which `gpg --verify` checks and `gpg --decrypt` unpacks. Options
/// `key` (required: the key's name), `armor` and `ext` as for `encrypt`.
///
/// ```rhai
/// let rows = query("live", "SELECT id, name FROM student ORDER BY id");
/// let f = csv(rows, #{ name: "roster" });
/// deliver(f, "raw");
/// deliver(encrypt(f, #{ to: "acme", sign: "district", armor: true }), "out");
/// deliver(sign(f, #{ key: "district" }), "out");
/// ```
///
/// The server suite (`tests/servers/pgp.rs`) runs this example with a vendor
/// key made by `gpg`: `gpg --decrypt` gives back the CSV byte for byte with a
/// good signature, and `gpg --verify` accepts `roster.csv.pgp` against the
/// district's key exported with `ferry keys pgp show`.
pub(crate) const SIGN: Primitive = Primitive {
    names: &["sign"],
    options: Some((1, option_names::<SignOptions>)),
    check: None,
    register: register_sign,
};

fn register_sign(engine: &mut Engine, run: Arc<RunContext>) {
    engine.register_fn("sign", move |ctx: NativeCallContext, file: File, opts: Map| {
        sign(ctx, &run, file, &opts)
    });
}
