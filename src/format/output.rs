//! Files on disk that appear whole or not at all: written under a
//! `.partial` name, counted and hashed on the way, renamed when complete.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Buffer between the format writers and the file: large enough that the
/// file sees few, big writes.
const BUFFER: usize = 256 * 1024;

/// A `Write` that counts and SHA-256-hashes what passes through, so a run
/// can record its file's size and checksum without reading it back.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Bytes accepted by the inner writer so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The inner writer, the byte count, and the lowercase hex SHA-256 of
    /// everything written.
    pub fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The lowercase hex SHA-256 of a file on disk: checks that a kept file is
/// still the one a run recorded before it is sent again.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hasher.finish().2)
}

/// A finished file, as recorded in a run's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its file name, as delivered.
    pub name: String,
    /// Its size.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of its content, to prove later what was sent.
    pub sha256: String,
}

/// A file being written as `<dir>/<name>.partial`.
///
/// The final name only ever holds a complete, synced file: [`commit`]
/// renames it into place, and dropping without committing (an error, a
/// panic, a cancelled run) deletes the partial file.
///
/// [`commit`]: PartialFile::commit
pub struct PartialFile {
    dir: PathBuf,
    name: String,
    partial: PathBuf,
    writer: Option<BufWriter<HashingWriter<File>>>,
    committed: bool,
}

impl PartialFile {
    /// Starts `<dir>/<final_name>.partial`, replacing a leftover one from an
    /// interrupted run. `final_name` must be a plain file name.
    pub fn create(dir: &Path, final_name: &str) -> io::Result<PartialFile> {
        if final_name.is_empty() || final_name == "." || final_name == ".." || final_name.contains(['/', '\\']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("\"{final_name}\" is not a plain file name"),
            ));
        }
        let partial = dir.join(format!("{final_name}.partial"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)?;
        Ok(PartialFile {
            dir: dir.to_path_buf(),
            name: final_name.to_string(),
            partial,
            writer: Some(BufWriter::with_capacity(BUFFER, HashingWriter::new(file))),
            committed: false,
        })
    }

    /// The temporary path, for messages and tests.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Bytes written so far, buffered ones included.
    pub fn bytes_written(&self) -> u64 {
        self.writer
            .as_ref()
            .map_or(0, |w| w.get_ref().bytes() + w.buffer().len() as u64)
    }

    /// Flushes, syncs to disk and renames the file to its final name,
    /// replacing any file of that name, so a reader sees the old file or the
    /// new one, never a mix.
    pub fn commit(mut self) -> io::Result<WrittenFile> {
        let writer = self.writer.take().ok_or_else(closed)?;
        let (file, bytes, sha256) = writer.into_inner().map_err(|e| e.into_error())?.finish();
        file.sync_all()?;
        drop(file);
        let path = self.dir.join(&self.name);
        fs::rename(&self.partial, &path)?;
        self.committed = true;
        sync_dir(&self.dir);
        Ok(WrittenFile {
            path,
            name: std::mem::take(&mut self.name),
            bytes,
            sha256,
        })
    }
}

impl Write for PartialFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().ok_or_else(closed)?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.as_mut().ok_or_else(closed)?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().ok_or_else(closed)?.flush()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        // Close before removing: Windows cannot delete an open file.
        drop(self.writer.take());
        if !self.committed {
            let _ = fs::remove_file(&self.partial);
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the partial file is already closed")
}

/// Makes the rename durable. Best effort: some file systems (network shares
/// among them) refuse to sync a directory, and the file itself is synced.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{CsvOptions, DelimitedWriter, RowWriter};
    use crate::source::{Batch, Column, Kind};

    #[test]
    fn commit_renames_and_reports_size_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = PartialFile::create(dir.path(), "a.csv").unwrap();
        let partial = f.partial_path().to_path_buf();
        assert_eq!(partial, dir.path().join("a.csv.partial"));
        f.write_all(b"hello").unwrap();
        assert_eq!(f.bytes_written(), 5);
        assert!(partial.exists());
        assert!(!dir.path().join("a.csv").exists());
        let done = f.commit().unwrap();
        assert_eq!(done.name, "a.csv");
        assert_eq!(done.path, dir.path().join("a.csv"));
        assert_eq!(done.bytes, 5);
        assert_eq!(
            done.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(fs::read(&done.path).unwrap(), b"hello");
        assert!(!partial.exists(), "commit left the partial file behind");
    }

    #[test]
    fn dropping_without_commit_removes_the_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut f = PartialFile::create(dir.path(), "b.txt").unwrap();
        f.write_all(&[b'x'; 300 * 1024]).unwrap();
        let partial = f.partial_path().to_path_buf();
        assert!(partial.exists());
        drop(f);
        assert!(!partial.exists(), "drop left the partial file behind");
        assert!(!dir.path().join("b.txt").exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn large_files_are_counted_and_hashed_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..1_000_003u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut f = PartialFile::create(dir.path(), "big.dat").unwrap();
        for chunk in data.chunks(4093) {
            f.write_all(chunk).unwrap();
        }
        let done = f.commit().unwrap();
        assert_eq!(done.bytes, data.len() as u64);
        assert_eq!(done.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(fs::read(&done.path).unwrap(), data);
    }

    #[test]
    fn commit_replaces_an_existing_file_and_create_truncates_a_leftover() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("c.csv"), b"old content").unwrap();
        fs::write(dir.path().join("c.csv.partial"), b"stale leftover bytes").unwrap();
        let mut f = PartialFile::create(dir.path(), "c.csv").unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(dir.path().join("c.csv")).unwrap(), b"new");
    }

    #[test]
    fn only_plain_names_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["", ".", "..", "a/b", "a\\b"] {
            let e = PartialFile::create(dir.path(), bad).err().expect(bad);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn a_format_writer_streams_into_a_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = PartialFile::create(dir.path(), "r.csv").unwrap();
        let mut w = DelimitedWriter::new(file, CsvOptions::default()).unwrap();
        w.begin(&[Column::new("id", Kind::Integer)]).unwrap();
        let mut b = Batch::new(1);
        b.push_cell("1");
        w.write_batch(&b).unwrap();
        w.finish().unwrap();
        let done = w.into_inner().unwrap().commit().unwrap();
        assert_eq!(fs::read(&done.path).unwrap(), b"id\r\n1\r\n");
        assert_eq!(done.bytes, 7);
    }
}
