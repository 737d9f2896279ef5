//! `gzip(file, opts)`: one file of the run compressed as a single gzip
//! member, `NAME.gz`, for receivers that take large drops compressed. The
//! original stays a part of it, so delivering the `.gz` counts as
//! delivering the original.

use super::Primitive;
use std::io::{Read, Write};
use std::sync::Arc;

use flate2::{Compression, GzBuilder};
use rhai::{Engine, Map, NativeCallContext, Position, INT};

use super::format::File;
use super::zip::{check_names, record};
use crate::format::PartialFile;
use crate::run::context::{Artifact, RunContext};
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// Options `gzip()` accepts, for load-time checks.
pub const OPTIONS: &[&str] = &["level"];

/// gzip's own default, as `gzip` and `gzip -6` use.
const DEFAULT_LEVEL: u32 = 6;

/// Bytes read between checks of the run's deadline and cancellation.
const CHUNK: usize = 1 << 20;

fn level(opts: &Map, pos: Position) -> Res<u32> {
    match opts.get("level") {
        None => Ok(DEFAULT_LEVEL),
        Some(v) => match v.as_int() {
            Ok(l) if (1..=9 as INT).contains(&l) => Ok(l as u32),
            _ => Err(runtime_error(
                format!("gzip(): option level: expected a whole number from 1 (fastest) to 9 (smallest), got {v}"),
                pos,
            )),
        },
    }
}

fn build(ctx: NativeCallContext, run: &RunContext, file: File, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    check_names("gzip", opts, OPTIONS, pos)?;
    let level = level(opts, pos)?;
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
    options: Some((1, OPTIONS)),
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
