//! `gzip(file, opts)`: one file of the run compressed as a single gzip
//! member, `NAME.gz`, for receivers that take large drops compressed. The
//! original stays a part of it, so delivering the `.gz` counts as
//! delivering the original.

use super::{option_names, read_options, Options, Primitive};
use std::io::{Read, Write};
use std::sync::Arc;

use flate2::{Compression, GzBuilder};
use rhai::{Engine, Map, NativeCallContext, Position, INT};
use serde::Deserialize;

use super::format::File;
use super::zip::record;
use crate::format::PartialFile;
use crate::run::context::{Artifact, RunContext};
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// `gzip()`'s options.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GzipOptions {
    level: Option<INT>,
}

impl Options for GzipOptions {
    fn expected(_field: &str) -> &'static str {
        LEVELS
    }
}

/// gzip's levels, in the reference's words.
const LEVELS: &str = "a whole number from 1 (fastest) to 9 (smallest)";

/// gzip's own default, as `gzip` and `gzip -6` use.
const DEFAULT_LEVEL: u32 = 6;

/// Bytes read between checks of the run's deadline and cancellation.
const CHUNK: usize = 1 << 20;

fn level(o: &GzipOptions, pos: Position) -> Res<u32> {
    match o.level {
        None => Ok(DEFAULT_LEVEL),
        Some(l) if (1..=9).contains(&l) => Ok(l as u32),
        Some(l) => Err(runtime_error(
            format!("gzip(): option level: expected {LEVELS}, got {l}"),
            pos,
        )),
    }
}

fn build(ctx: NativeCallContext, run: &RunContext, file: File, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let level = level(&read_options("gzip", opts, pos)?, pos)?;
    let source = file.artifact();
    let name = format!("{}.gz", source.name);
    super::name_is_free("gzip", run, &name, pos)?;
    let io_err = |e: std::io::Error| runtime_error(format!("gzip(): cannot write {name}: {e}"), pos);
    let mut input = std::fs::File::open(&source.path)
        .map_err(|e| runtime_error(format!("gzip(): cannot read {}: {e}", source.name), pos))?;
    let partial = PartialFile::create(&run.work_dir, &name).map_err(io_err)?;
    // The header names the original and carries the run's start, so the
    // same rows compress to the same bytes.
    let mut gz = GzBuilder::new()
        .filename(source.name.as_bytes())
        .mtime(run.started.timestamp().clamp(0, u32::MAX as i64) as u32)
        .write(partial, Compression::new(level));
    let mut buf = vec![0u8; CHUNK];
    loop {
        if let Some(reason) = run.stop_reason() {
            return Err(rhai::EvalAltResult::ErrorTerminated(reason.into(), pos).into());
        }
        let n = input.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        gz.write_all(&buf[..n]).map_err(io_err)?;
    }
    let written = gz.finish().map_err(io_err)?.commit().map_err(io_err)?;
    let artifact = Artifact {
        parts: vec![source.name.clone()],
        ..Artifact::written(written, source.rows)
    };
    run.log(
        LogLevel::Info,
        format!(
            "wrote {} ({} bytes from {} bytes of {})",
            artifact.name, artifact.bytes, source.bytes, source.name
        ),
    );
    Ok(record(run, artifact))
}

/// ### `gzip(file, options)` → `File`
///
/// Compresses one file of the run as a single gzip member named after it
/// (`roster.csv` → `roster.csv.gz`), streamed, for receivers that take large
/// drops compressed. The member's header carries the original name and the
/// run's start, so the same rows give the same bytes. Option `level`: `1`
/// (fastest) to `9` (smallest), default `6` as `gzip` uses. Delivering the
/// `.gz` counts as delivering the file inside it.
///
/// ```rhai
/// let rows = query("live", "SELECT id, name, note FROM people ORDER BY id");
/// let f = csv(rows, #{ name: "roster" });
/// deliver(f, "raw");
/// let g = gzip(f, #{ level: 9 });
/// deliver(g, "out");
/// ```
///
/// `tests/zips.rs` runs this example and reads the file back with `gzip -t` and
/// Python's `gzip` module.
pub(crate) const GZIP: Primitive = Primitive {
    names: &["gzip"],
    options: Some((1, option_names::<GzipOptions>)),
    check: None,
    register,
};

/// Registers `gzip(file)` and `gzip(file, opts)`.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("gzip", move |ctx: NativeCallContext, file: File, opts: Map| {
        build(ctx, &r, file, &opts)
    });
    engine.register_fn("gzip", move |ctx: NativeCallContext, file: File| {
        build(ctx, &run, file, &Map::new())
    });
}
