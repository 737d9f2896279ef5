//! Zip bundles: several finished files on disk put into one zip, streamed.
//!
//! Plain Rust with no knowledge of scripts, so `zip()` and `photos()` (and
//! anything else that needs a bundle) share one writer. What it guarantees:
//!
//! - **Streaming**: each entry is read from its file in large chunks and
//!   deflated on the way out; no file is ever held in memory, so a 1 GB
//!   roster zips in a few megabytes of memory.
//! - **Whole or nothing**: the zip is written as a [`PartialFile`] and only
//!   renamed into place once complete; an error or a stop leaves no file.
//! - **Deterministic**: entries appear in the order given, every entry carries
//!   the same timestamp (the one in [`ZipOptions::modified`], which callers
//!   derive from the run's start, not from the files' modification times) and
//!   the same permissions, so the same files at the same time give the same
//!   bytes, and the same SHA-256 in the run's history.
//! - **Zip64** where a file is too large for the classic format (4 GiB), and
//!   for more than 65,535 entries (a large district's photos).
//!
//! The zip is written without seeking (sizes and CRCs follow each entry in a
//! data descriptor), which is what lets it be hashed as it is written; every
//! common reader (Windows Explorer, macOS, `unzip`, Python, Java) reads it.

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDateTime, Timelike};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::format::{PartialFile, WrittenFile};

/// Deflate level used unless a script asks for another: zlib's and `zip`'s
/// default, the usual balance of size and speed.
pub(crate) const DEFAULT_LEVEL: u32 = 6;

/// Highest deflate level accepted.
pub(crate) const MAX_LEVEL: u32 = 9;

/// Read size for entries: large reads keep the system-call count low.
const READ_BUFFER: usize = 256 * 1024;

/// Uncompressed size from which an entry is written as Zip64 from the start.
/// Deflate can grow incompressible data by a few bytes per 64 KiB block, so
/// the margin keeps the compressed size below 4 GiB too.
const ZIP64_FROM: u64 = u32::MAX as u64 - 64 * 1024 * 1024;

/// Unix permissions recorded for every entry (`rw-r--r--`), so the bytes do
/// not depend on the permissions of the files in the run folder.
const ENTRY_MODE: u32 = 0o644;

/// One file to put into a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The name inside the zip: a plain file name, no folders.
    pub name: String,
    /// Where the content is read from.
    pub path: PathBuf,
}

/// How a bundle is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ZipOptions {
    /// Deflate level, 0 to 9; 0 stores entries uncompressed (fastest, and
    /// just as small for already-compressed content such as JPEG photos).
    pub level: u32,
    /// The timestamp every entry carries. Zip (DOS) times have no time zone
    /// and a two-second resolution: the time is written as the local time
    /// given, odd seconds rounded down, and clamped to 1980..=2107.
    pub modified: NaiveDateTime,
}

impl ZipOptions {
    /// The default level, entries stamped `modified`.
    #[cfg(test)]
    pub(crate) fn new(modified: NaiveDateTime) -> ZipOptions {
        ZipOptions {
            level: DEFAULT_LEVEL,
            modified,
        }
    }
}

/// Why a bundle could not be written; each message names the entry or file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BundleError {
    /// There is nothing to put in the zip.
    #[error("a zip needs at least one file")]
    Empty,
    /// Two entries would have the same name (ignoring case, since Windows
    /// and macOS would overwrite one with the other when extracting).
    #[error("two files are both named \"{0}\" (names inside a zip must differ, ignoring case)")]
    Duplicate(String),
    /// An entry name is not a plain file name.
    #[error("\"{0}\" cannot name a file inside a zip: use a plain file name without / or \\")]
    BadName(String),
    /// The level is out of range.
    #[error("level {0} is not between 0 (store) and {MAX_LEVEL} (smallest)")]
    Level(u32),
    /// An entry's file could not be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The zip could not be created or written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The zip (its temporary name while written).
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The caller's stop check said to stop (time limit, cancel).
    #[error("{0}")]
    Stopped(String),
}

/// Sums of what went into a bundle, with the written zip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bundle {
    /// The zip: path, name, size, SHA-256.
    pub file: WrittenFile,
    pub entries: usize,
    /// Bytes before compression.
    pub uncompressed: u64,
}

/// Writes `entries`, in order, to `<dir>/<name>` and returns it once renamed
/// into place. `stop` is asked between reads; when it returns a reason the
/// bundle is abandoned (nothing is left on disk) with [`BundleError::Stopped`].
pub(crate) fn write_zip(
    dir: &Path,
    name: &str,
    entries: &[Entry],
    opts: &ZipOptions,
    stop: &dyn Fn() -> Option<String>,
) -> Result<Bundle, BundleError> {
    check_entries(entries)?;
    if opts.level > MAX_LEVEL {
        return Err(BundleError::Level(opts.level));
    }
    let mut partial = PartialFile::create(dir, name).map_err(|source| BundleError::Write {
        path: dir.join(name),
        source,
    })?;
    let partial_path = partial.partial_path().to_path_buf();
    let write_err = |source: io::Error| BundleError::Write {
        path: partial_path.clone(),
        source,
    };
    let base = SimpleFileOptions::default()
        .last_modified_time(dos_time(opts.modified))
        .unix_permissions(ENTRY_MODE);
    let base = if opts.level == 0 {
        base.compression_method(CompressionMethod::Stored)
    } else {
        base.compression_method(CompressionMethod::Deflated)
            .compression_level(Some(i64::from(opts.level)))
    };
    let mut zip = ZipWriter::new_stream(&mut partial).set_auto_large_file();
    let mut uncompressed = 0u64;
    for entry in entries {
        if let Some(reason) = stop() {
            return Err(BundleError::Stopped(reason));
        }
        let read_err = |source: io::Error| BundleError::Read {
            path: entry.path.clone(),
            source,
        };
        let file = File::open(&entry.path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        zip.start_file(entry.name.as_str(), base.large_file(len >= ZIP64_FROM))
            .map_err(|e| write_err(e.into()))?;
        let mut reader = BufReader::with_capacity(READ_BUFFER, Checked { inner: file, stop });
        uncompressed += io::copy(&mut reader, &mut zip).map_err(|e| match e.downcast::<Stop>() {
            Ok(Stop(reason)) => BundleError::Stopped(reason),
            Err(e) => match e.downcast::<ReadFailed>() {
                Ok(ReadFailed(e)) => read_err(e),
                Err(e) => write_err(e),
            },
        })?;
    }
    zip.finish().map_err(|e| write_err(e.into()))?;
    let file = partial.commit().map_err(write_err)?;
    Ok(Bundle {
        file,
        entries: entries.len(),
        uncompressed,
    })
}

/// Refuses an empty list, names that are not plain file names, and names
/// that would collide when extracted on a case-insensitive file system.
fn check_entries(entries: &[Entry]) -> Result<(), BundleError> {
    if entries.is_empty() {
        return Err(BundleError::Empty);
    }
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for e in entries {
        let n = e.name.as_str();
        if n.is_empty() || n == "." || n == ".." || n.contains(['/', '\\', '\0']) {
            return Err(BundleError::BadName(e.name.clone()));
        }
        if !seen.insert(n.to_lowercase()) {
            return Err(BundleError::Duplicate(e.name.clone()));
        }
    }
    Ok(())
}

/// `at` as a zip timestamp: within the range DOS times can hold, seconds
/// rounded down to even.
fn dos_time(at: NaiveDateTime) -> zip::DateTime {
    let year = at.year().clamp(1980, 2107);
    let (month, day, hour, minute, second) = if year == at.year() {
        (at.month(), at.day(), at.hour(), at.minute(), at.second().min(59) & !1)
    } else if year == 1980 {
        (1, 1, 0, 0, 0)
    } else {
        (12, 31, 23, 59, 58)
    };
    let narrow = |v: u32| v as u8;
    zip::DateTime::from_date_and_time(
        year as u16,
        narrow(month),
        narrow(day),
        narrow(hour),
        narrow(minute),
        narrow(second),
    )
    .unwrap_or_default()
}

/// A reader that asks the stop check before each read and tags its own
/// errors, so the writer can tell a failed read from a failed write.
struct Checked<'a> {
    inner: File,
    stop: &'a dyn Fn() -> Option<String>,
}

/// A stop requested while an entry was being copied.
#[derive(Debug)]
struct Stop(String);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

/// A read error of an entry's file, wrapped to survive `io::copy`.
#[derive(Debug)]
struct ReadFailed(io::Error);

impl std::fmt::Display for ReadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFailed {}

impl Read for Checked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(reason) = (self.stop)() {
            return Err(io::Error::other(Stop(reason)));
        }
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io::Error::other(ReadFailed(e))),
                Ok(n) => return Ok(n),
            }
        }
    }
}
