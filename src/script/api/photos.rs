//! `photos(opts)`: the student photo zip (the original tool's Student Photo
//! Extract): `[personID].jpg` for every student enrolled in the active
//! school year who has a picture in the photo folder.
//!
//! As in the original, the zip holds pictures of children and is not kept:
//! it is marked transient, so the run removes it from local disk once it is
//! delivered, and also when the run fails.

use super::{option_names, read_options, Options, Primitive};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Engine, Map, NativeCallContext, Position};

use super::format::File;
use super::zip::{common, expected, record, write_bundle, Naming};
use crate::bundle::Entry;
use crate::run::context::{Artifact, RunContext};
use crate::script::engine::runtime_error;
use crate::source::{Param, Query, RowStream, StreamError};
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

/// `photos()`'s options: `zip()`'s and where the pictures are.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhotosOptions {
    dir: Option<String>,
    db: Option<String>,
    name: Option<String>,
    ext: Option<String>,
    append_date: Option<String>,
    level: Option<rhai::INT>,
}

impl Options for PhotosOptions {
    fn expected(field: &str) -> &'static str {
        expected(field)
    }
}

/// The students a photo zip may include: one row per person enrolled in the
/// active year, whatever the school or how often.
const ACTIVE_STUDENTS: &str = "SELECT DISTINCT person_id FROM enrollment WHERE end_year = :year";

/// Person ids listed in the missing-photos warning, at most.
const LIST_MISSING: usize = 20;

/// Person ids of the active year's students, sorted (numerically when they
/// are numbers), read with the run's deadline.
fn active_students(run: &RunContext, db: &str, year: i32, pos: Position) -> Res<Vec<String>> {
    let fail = |e: String| {
        runtime_error(
            format!("photos(): cannot list the students enrolled in {year} from database '{db}': {e}"),
            pos,
        )
    };
    let stopped = || {
        let reason = run
            .stop_reason()
            .unwrap_or_else(|| "the run's time limit passed".into());
        Box::new(rhai::EvalAltResult::ErrorTerminated(reason.into(), pos))
    };
    let source = run
        .runtime
        .block_on(run.databases.get(db))
        .map_err(|e| runtime_error(format!("photos(): {e}"), pos))?;
    let query = Query {
        sql: ACTIVE_STUDENTS.into(),
        params: [("year".to_string(), Param::Int(year.into()))].into_iter().collect(),
    };
    let mut stream = RowStream::spawn(move |mut tx| {
        Box::pin(async move {
            source.stream(&query, &mut tx).await?;
            tx.finish().await
        })
    })
    .cancelled_by(run.cancel.clone());
    let map_err = |e: StreamError| match e {
        StreamError::Deadline | StreamError::Cancelled => stopped(),
        e => fail(e.to_string()),
    };
    run.runtime
        .block_on(stream.start(Some(run.deadline)))
        .map_err(map_err)?;
    let mut ids = Vec::new();
    while let Some(batch) = run
        .runtime
        .block_on(stream.next_batch(Some(run.deadline)))
        .map_err(map_err)?
    {
        ids.extend(batch.rows().filter_map(|r| r.get(0).map(str::to_string)));
        stream.recycle(batch);
    }
    ids.sort_by(|a, b| id_key(a).cmp(&id_key(b)));
    ids.dedup();
    Ok(ids)
}

/// Sorts numeric ids as numbers (`9` before `10`), then any others as text.
fn id_key(id: &str) -> (u8, u128, &str) {
    match id.parse::<u128>() {
        Ok(n) => (0, n, ""),
        Err(_) => (1, 0, id),
    }
}

/// The folder photos are read from: `dir` relative to the configuration's
/// folder; without it, the demo district's photos when `db` is the demo,
/// else `photos/` beside the configuration.
fn photo_folder(run: &RunContext, db: &str, dir: Option<&str>) -> PathBuf {
    if let Some(d) = dir {
        return run.settings.root.join(d);
    }
    match run.settings.databases.get(db) {
        Some(s) if s.demo.is_some() => match s.url.strip_prefix("sqlite:") {
            Some(file) => crate::demo::photos_dir(Path::new(file)),
            None => run.settings.root.join("photos"),
        },
        _ => run.settings.root.join("photos"),
    }
}

/// Photos in `folder` by person id: files named `<id>.jpg`, `.jpeg`, any case.
/// Where one id has several, `.jpg` wins, then the first name in order; the
/// second list holds the ids that had more than one.
fn scan(folder: &Path) -> std::io::Result<(HashMap<String, PathBuf>, Vec<String>)> {
    let mut found: Vec<(String, u8, String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(folder)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((stem, ext)) = name.rsplit_once('.') else {
            continue;
        };
        let rank = match ext.to_ascii_lowercase().as_str() {
            "jpg" if ext == "jpg" => 0,
            "jpg" => 1,
            "jpeg" => 2,
            _ => continue,
        };
        if !stem.is_empty() && e.path().is_file() {
            found.push((stem.to_string(), rank, name.clone(), e.path()));
        }
    }
    found.sort();
    let mut photos = HashMap::with_capacity(found.len());
    let mut doubles = Vec::new();
    for (stem, _, _, path) in found {
        match photos.entry(stem) {
            std::collections::hash_map::Entry::Occupied(e) => {
                if doubles.last() != Some(e.key()) {
                    doubles.push(e.key().clone());
                }
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(path);
            }
        }
    }
    Ok((photos, doubles))
}

fn list(ids: &[String]) -> String {
    let shown = ids.iter().take(LIST_MISSING).cloned().collect::<Vec<_>>().join(", ");
    if ids.len() > LIST_MISSING {
        format!("{shown}, ... (first {LIST_MISSING} listed)")
    } else {
        shown
    }
}

fn build(ctx: NativeCallContext, run: &RunContext, opts: &Map) -> Res<File> {
    let pos = ctx.call_position();
    let o: PhotosOptions = read_options("photos", opts, pos)?;
    let naming = Naming {
        name: o.name.as_deref(),
        ext: o.ext.as_deref(),
        append_date: o.append_date.as_deref(),
        level: o.level,
    };
    let c = common("photos", &naming, run, pos)?;
    let asked = o.db.unwrap_or_else(|| "live".into());
    let db = run.database_name(&asked).to_string();
    let year = run.settings.active_year();
    // The query first: it creates the demo district (and its photos) if needed.
    let ids = active_students(run, &db, year, pos)?;
    if ids.is_empty() {
        return Err(runtime_error(
            format!("photos(): no student is enrolled in the active school year {year} in database '{db}'"),
            pos,
        ));
    }
    let folder = photo_folder(run, &db, o.dir.as_deref());
    let (photos, doubles) = scan(&folder).map_err(|e| {
        let hint = match run.settings.databases.get(&db) {
            Some(s) if s.demo.is_some() => " (`ferry demo` rebuilds the demo district with its photos)",
            _ => "",
        };
        runtime_error(
            format!("photos(): cannot read the photo folder {}: {e}{hint}", folder.display()),
            pos,
        )
    })?;
    let (mut entries, mut missing) = (Vec::with_capacity(ids.len()), Vec::new());
    for id in ids {
        match photos.get(&id) {
            Some(path) => entries.push(Entry {
                name: format!("{id}.jpg"),
                path: path.clone(),
            }),
            None => missing.push(id),
        }
    }
    if !doubles.is_empty() {
        run.log(
            LogLevel::Warn,
            format!(
                "photos(): {} students have more than one photo in {} (.jpg is used first): {}",
                doubles.len(),
                folder.display(),
                list(&doubles)
            ),
        );
    }
    if !missing.is_empty() {
        run.log(
            LogLevel::Warn,
            format!(
                "photos(): {} of {} students enrolled in {year} have no photo in {}: {}",
                missing.len(),
                missing.len() + entries.len(),
                folder.display(),
                list(&missing)
            ),
        );
    }
    if entries.is_empty() {
        return Err(runtime_error(
            format!(
                "photos(): none of the {} students enrolled in {year} has a photo in {} (expected files named <person_id>.jpg)",
                missing.len(),
                folder.display()
            ),
            pos,
        ));
    }
    let bundle = write_bundle("photos", run, &c, &entries, pos)?;
    let artifact = Artifact {
        transient: true,
        ..Artifact::written(bundle.file, bundle.entries as u64)
    };
    run.log(
        LogLevel::Info,
        format!(
            "wrote {} ({} photos, {} bytes); it is removed from this server when the run ends",
            artifact.name, artifact.rows, artifact.bytes
        ),
    );
    Ok(record(run, artifact))
}

/// ### `photos(options)` → `File`
///
/// Zips the student pictures, `[personID].jpg`, of every student enrolled in the
/// active school year; missing pictures are listed in the run log, and the zip is
/// removed from local disk when the run ends (delivered or failed). Options
/// `dir`, `db`, and those of `zip`. See [zips and photos](zips-and-photos.md).
pub(crate) const PHOTOS: Primitive = Primitive {
    names: &["photos"],
    options: Some((0, option_names::<PhotosOptions>)),
    check: Some(|call| {
        call.uses.methods.insert("Photos");
        // The database is the options' literal `db`, `live` when absent.
        let db = match call.args.first() {
            Some(rhai::Expr::Map(m, _)) => match m.0.iter().find(|(i, _)| i.name == "db") {
                Some((_, v)) => crate::script::check::literal(v),
                None => Some("live"),
            },
            _ => Some("live"),
        };
        match db.map(str::to_string) {
            Some(db) => call.database(&db).map_err(|e| format!("photos(): {e}")),
            None => Ok(()),
        }
    }),
    register,
};

/// Registers `photos()` and `photos(opts)`.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("photos", move |ctx: NativeCallContext, opts: Map| build(ctx, &r, &opts));
    engine.register_fn("photos", move |ctx: NativeCallContext| build(ctx, &run, &Map::new()));
}
