//! `zip([file, ...], opts)`: bundle files the run built into one zip (the
//! original tool's Data Extract Zip), returned as a `File` to deliver.
//!
//! The script side only: options, naming and the run's record. Writing the
//! zip (streaming, deterministic, Zip64) is [`crate::bundle`]'s job, which
//! `photos()` shares through [`write_bundle`].

use super::{option_names, read_options, Options, Primitive};
use std::sync::Arc;

use rhai::{Array, Engine, Map, NativeCallContext, Position, INT};
use serde::Deserialize;

use super::format::File;
use crate::bundle::{write_zip, Bundle, BundleError, Entry, DEFAULT_LEVEL, MAX_LEVEL};
use crate::format::{DateStamp, FileName};
use crate::run::context::{Artifact, RunContext};
use crate::script::engine::runtime_error;
use crate::script::ScriptsDir;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// `zip()`'s options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ZipOptions {
    name: Option<String>,
    ext: Option<String>,
    append_date: Option<String>,
    level: Option<INT>,
}

impl Options for ZipOptions {
    fn expected(field: &str) -> &'static str {
        expected(field)
    }
}

/// What the naming options and `level` hold, for every zip-producing
/// primitive's messages.
pub(crate) fn expected(field: &str) -> &'static str {
    match field {
        "level" => LEVELS,
        _ => "text",
    }
}

/// The deflate levels, in the reference's words.
const LEVELS: &str = "a whole number from 0 (store) to 9 (smallest)";
const _: () = assert!(MAX_LEVEL == 9, "LEVELS names the highest level");

/// The naming options and `level` every zip-producing primitive shares.
pub(crate) struct Naming<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) ext: Option<&'a str>,
    pub(crate) append_date: Option<&'a str>,
    pub(crate) level: Option<INT>,
}

/// The options every zip-producing primitive shares, parsed by [`common`].
pub(crate) struct Common {
    /// The rendered file name.
    pub file_name: String,
    /// Deflate level, 0 (store) to 9.
    pub level: u32,
}

/// Renders the file name like `csv()` does (`name` defaults to the script's
/// name, `ext` to `zip`, `append_date` stamps the run's start), checks the
/// deflate `level`, and checks the name is not already taken by another
/// file of this run.
pub(crate) fn common(func: &str, n: &Naming<'_>, run: &RunContext, pos: Position) -> Res<Common> {
    let stem = n
        .name
        .map(str::to_string)
        .unwrap_or_else(|| ScriptsDir::id_of(&run.script_path).unwrap_or_else(|| "extract".into()));
    let stamp = n
        .append_date
        .map(DateStamp::parse)
        .transpose()
        .map_err(|e| runtime_error(format!("{func}(): {e}"), pos))?;
    let name = FileName::new(&stem, n.ext.unwrap_or("zip"), stamp)
        .map_err(|e| runtime_error(format!("{func}(): {e}"), pos))?;
    let level = match n.level {
        None => DEFAULT_LEVEL,
        Some(l) if (0..=MAX_LEVEL as INT).contains(&l) => l as u32,
        Some(l) => {
            return Err(runtime_error(
                format!("{func}(): option level: expected {LEVELS}, got {l}"),
                pos,
            ))
        }
    };
    let file_name = name.render(run.started.naive_local());
    super::name_is_free(func, run, &file_name, pos)?;
    Ok(Common { file_name, level })
}

/// Writes the bundle in the run's folder, every entry stamped with the run's
/// start (local time of the script's zone), stopping with the run.
pub(crate) fn write_bundle(func: &str, run: &RunContext, c: &Common, entries: &[Entry], pos: Position) -> Res<Bundle> {
    let opts = crate::bundle::ZipOptions {
        level: c.level,
        modified: run.started.naive_local(),
    };
    write_zip(&run.work_dir, &c.file_name, entries, &opts, &|| run.stop_reason()).map_err(|e| match e {
        BundleError::Stopped(reason) => rhai::EvalAltResult::ErrorTerminated(reason.into(), pos).into(),
        e => runtime_error(format!("{func}(): {e}"), pos),
    })
}

/// Records the written zip in the run and wraps it for the script.
pub(crate) fn record(run: &RunContext, artifact: Artifact) -> File {
    run.lock().files.push(artifact.clone());
    File::new(artifact)
}

fn build(ctx: NativeCallContext, run: &RunContext, files: Array, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let o: ZipOptions = read_options("zip", opts, pos)?;
    let naming = Naming {
        name: o.name.as_deref(),
        ext: o.ext.as_deref(),
        append_date: o.append_date.as_deref(),
        level: o.level,
    };
    let c = common("zip", &naming, run, pos)?;
    let mut entries = Vec::with_capacity(files.len());
    let mut rows = 0u64;
    for (i, item) in files.into_iter().enumerate() {
        let type_name = item.type_name();
        let file = item.try_cast::<File>().ok_or_else(|| {
            runtime_error(
                format!(
                    "zip(): item {} of the list is {type_name}, not a file from csv(), html(), report() or zip()",
                    i + 1
                ),
                pos,
            )
        })?;
        let a = file.artifact();
        rows += a.rows;
        entries.push(Entry {
            name: a.name.clone(),
            path: a.path.clone(),
        });
    }
    let clock = std::time::Instant::now();
    let bundle = write_bundle("zip", run, &c, &entries, pos)?;
    let artifact = Artifact {
        parts: entries.into_iter().map(|e| e.name).collect(),
        ..Artifact::written(bundle.file, rows)
    };
    run.log(
        LogLevel::Info,
        format!(
            "wrote {} ({} files, {} rows, {} bytes from {}, in {:.2} s)",
            artifact.name,
            bundle.entries,
            artifact.rows,
            artifact.bytes,
            bundle.uncompressed,
            clock.elapsed().as_secs_f64()
        ),
    );
    Ok(record(run, artifact))
}

/// ### `zip(files, options)` → `File`
///
/// Bundles files this run built (`zip([roster, summary])`) into one zip,
/// streamed, entries in the order given, each stamped with the run's start.
/// Options `name`, `ext` (`"zip"`), `append_date` as for `csv`, and `level`
/// (deflate, `0` stores to `9`; default `6`). Delivering the zip counts as
/// delivering the files inside it. See [zips and photos](zips-and-photos.md).
pub(crate) const ZIP: Primitive = Primitive {
    names: &["zip"],
    options: Some((1, option_names::<ZipOptions>)),
    check: None,
    register,
};

/// Registers `zip(files)` and `zip(files, opts)`.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("zip", move |ctx: NativeCallContext, files: Array, opts: Map| {
        build(ctx, &r, files, &opts)
    });
    engine.register_fn("zip", move |ctx: NativeCallContext, files: Array| {
        build(ctx, &run, files, &Map::new())
    });
}
