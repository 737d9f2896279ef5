//! The embedded demo district: a generated SQLite database that ferry uses when there is no configuration.
//!
//! A new user should be able to run the example scripts before connecting a
//! real student-information system, and vendors should be able to test their
//! templates against data that is as awkward as the real thing: accented,
//! apostrophised and comma-laden names, quoted nicknames, addresses with line
//! breaks, mid-year arrivals and withdrawals. The data is deterministic (the
//! same options give the same rows, byte for byte), so examples, docs and
//! tests can quote it.
//!
//! The schema (SQLite; dates are `DATE` columns holding `YYYY-MM-DD` text,
//! booleans are `BOOLEAN` columns holding 0/1) is what example scripts query:
//!
//! | table | columns |
//! |---|---|
//! | `school` | `school_id`, `state_school_id`, `name`, `low_grade`, `high_grade`, `address`, `city`, `state`, `zip`, `phone` |
//! | `school_year` | `end_year` (named by the spring it ends in), `label` (`2026-27`), `start_date`, `end_date`, `active` |
//! | `student` | `person_id` (from 100001), `state_id`, `first_name`, `middle_name`, `last_name`, `birth_date`, `gender`, `ssn` (fake, 9xx), `email`, `phone`, `address`, `city`, `state`, `zip` |
//! | `enrollment` | `enrollment_id`, `person_id`, `school_id`, `end_year`, `grade` (`KG`, `01`..`12`), `start_date`, `end_date` (NULL while open), `service_type` (`P`) |
//! | `staff` | `staff_id`, `first_name`, `last_name`, `email`, `school_id` |
//! | `course` | `course_id`, `school_id`, `end_year`, `number`, `name`, `department` |
//! | `section` | `section_id`, `course_id`, `staff_id`, `period` (`1`..`6`), `room`, `term` (`Year`, `S1`, `S2`) |
//! | `roster` | `section_id`, `person_id`, `start_date`, `end_date` |
//! | `attendance` | `attendance_id`, `person_id`, `school_id`, `date`, `code` (`A`, `T`, `E`), `excused`, `minutes` |
//!
//! Three school years are generated (the active one and the two before it);
//! courses, sections, rosters and attendance cover the active year only, and
//! attendance its first 100 school days, the demo world's "today".
//!
//! Beside the database, a `photos/` folder holds a small generated JPEG per
//! student (most of them: some have none), for the photo extract.

mod calendar;
mod catalog;
mod district;
mod generate;
mod names;
mod photos;
mod schema;
mod timetable;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};

#[cfg(test)]
use crate::config::school_year_for;
use calendar::{Calendar, MAX_YEAR, MIN_YEAR};
pub(crate) use photos::photos_dir;

pub(crate) use crate::config::DemoOptions;

/// How many rows each table received, so callers can report what was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DemoSummary {
    /// The school year marked active, which example scripts filter on.
    pub active_year: i32,
    /// Schools: about one per 400 students, at least one per grade band.
    pub schools: u64,
    /// Always three: the active year and the two before it, for history extracts.
    pub school_years: u64,
    /// Rows in `student`, past students included.
    pub students: u64,
    /// Students with an enrolment in the active year (what `DemoOptions::students` asked for).
    pub active_students: u64,
    /// Rows in `enrollment`: one per student per year enrolled.
    pub enrollments: u64,
    /// Teachers hired to cover the active year's sections.
    pub staff: u64,
    /// Active-year courses, every course of a band at every school of that band.
    pub courses: u64,
    /// Active-year sections that have at least one student.
    pub sections: u64,
    /// Rows in `roster` (student-in-section placements).
    pub rosters: u64,
    /// Rows in `attendance`: absences, tardies and early releases so far this year.
    pub attendance: u64,
}

/// Why the demo database could not be built; each message names the file or folder involved.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// The active year is one the calendar arithmetic does not support.
    #[error(
        "cannot build a demo district for the school year ending in {year}: \
         the active year must be between {MIN_YEAR} and {MAX_YEAR}"
    )]
    YearOutOfRange { year: i32 },

    /// The path names a folder or root rather than a file.
    #[error("cannot build the demo database at {}: the path does not name a file", .path.display())]
    NotAFile { path: PathBuf },

    /// Whether the database already exists could not be determined.
    #[error("could not check whether the demo database {} exists: {source}", .path.display())]
    Inspect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The folder that should hold the database could not be created.
    #[error("could not create the folder {} for the demo database: {source}", .path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// SQLite refused to create or fill the temporary database.
    #[error(
        "could not build the demo database {} (in the temporary file {}): {source}",
        .path.display(), .partial.display()
    )]
    Database {
        path: PathBuf,
        partial: PathBuf,
        #[source]
        source: sqlx::Error,
    },

    /// The student photos could not be written.
    #[error("could not write the demo student photos in {}: {source}", .path.display())]
    Photos {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The finished database could not be moved into place.
    #[error(
        "built the demo database in {} but could not move it to {}: {source}",
        .partial.display(), .path.display()
    )]
    Rename {
        path: PathBuf,
        partial: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Creates the demo database at `path` unless it already exists (returns Ok(None) then).
///
/// This is what runs on every start without configuration: the first start
/// pays for generation, later ones reuse the file (and any edits made to it).
pub(crate) async fn ensure(path: &Path, opts: &DemoOptions) -> Result<Option<DemoSummary>, DemoError> {
    match tokio::fs::try_exists(path).await {
        Ok(true) => Ok(None),
        Ok(false) => create(path, opts).await.map(Some),
        Err(source) => Err(DemoError::Inspect {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Always (re)creates it, with its student photos ([`photos_dir`]).
///
/// The database is built in a uniquely named temporary file beside `path` and
/// renamed into place only once complete, so a crash or a concurrent reader
/// never sees half a district, and two processes creating it at once both
/// succeed (the last rename wins, with identical contents). Missing parent
/// folders are created.
pub(crate) async fn create(path: &Path, opts: &DemoOptions) -> Result<DemoSummary, DemoError> {
    let calendars = calendars(opts.active_year)?;
    let partial = partial_path(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| DemoError::Folder {
                path: parent.to_path_buf(),
                source,
            })?;
    }
    // A leftover from a crashed process that had the same id would make CREATE TABLE fail.
    let _ = tokio::fs::remove_file(&partial).await;
    remove_orphans(path).await;
    let summary = match build(&partial, opts, &calendars).await {
        Ok(summary) => summary,
        Err(source) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(DemoError::Database {
                path: path.to_path_buf(),
                partial,
                source,
            });
        }
    };
    if let Err(source) = tokio::fs::rename(&partial, path).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(DemoError::Rename {
            path: path.to_path_buf(),
            partial,
            source,
        });
    }
    // Photos last, from the finished database; without them the district
    // is incomplete, so it is removed and the next start builds it again.
    let photos = photos_dir(path);
    if let Err(source) = photos::write(path, &photos, opts.seed).await {
        let _ = tokio::fs::remove_file(path).await;
        return Err(DemoError::Photos { path: photos, source });
    }
    Ok(summary)
}

/// The three calendars (oldest first), or the reason the year cannot be used.
fn calendars(active_year: i32) -> Result<[Calendar; 3], DemoError> {
    let out_of_range = || DemoError::YearOutOfRange { year: active_year };
    if !(MIN_YEAR..=MAX_YEAR).contains(&active_year) {
        return Err(out_of_range());
    }
    let year = |y| Calendar::new(y).ok_or_else(out_of_range);
    Ok([year(active_year - 2)?, year(active_year - 1)?, year(active_year)?])
}

/// `demo.db` -> `demo.db.<pid>-<n>.partial`, beside the target so the final rename stays on one file system.
fn partial_path(path: &Path) -> Result<PathBuf, DemoError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let Some(name) = path.file_name() else {
        return Err(DemoError::NotAFile {
            path: path.to_path_buf(),
        });
    };
    let mut partial = OsString::from(name);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    partial.push(format!(".{}-{n}.partial", std::process::id()));
    Ok(path.with_file_name(partial))
}

/// How old another process's temporary file must be before it is taken for
/// a crash leftover: far longer than even a 100,000-student build takes.
const ORPHAN_AGE: Duration = Duration::from_secs(60 * 60);

/// Removes temporary files of `path` left behind by crashed builds, so they do not pile up.
///
/// Best effort: a folder that cannot be listed just keeps its leftovers.
async fn remove_orphans(path: &Path) {
    let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let Ok(mut entries) = tokio::fs::read_dir(folder).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !(file_name.starts_with(&prefix) && file_name.ends_with(".partial")) {
            continue;
        }
        let age = entry
            .metadata()
            .await
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|age| age > ORPHAN_AGE) {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

/// Opens a fresh SQLite file tuned for one bulk write, fills it and closes it.
///
/// No journal and no fsyncs while generating: if anything fails, the
/// temporary file is thrown away, so SQLite's crash safety buys nothing here.
/// Foreign keys are declared but not checked per insert (the tests check the
/// finished database instead), which saves a parent lookup per row.
async fn build(partial: &Path, opts: &DemoOptions, calendars: &[Calendar; 3]) -> Result<DemoSummary, sqlx::Error> {
    let mut conn = SqliteConnectOptions::new()
        .filename(partial)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off)
        .locking_mode(SqliteLockingMode::Exclusive)
        .foreign_keys(false)
        .disable_statement_logging()
        .connect()
        .await?;
    let result = generate::fill(&mut conn, opts, calendars).await;
    let closed = conn.close().await;
    let summary = result?;
    closed?;
    Ok(summary)
}
