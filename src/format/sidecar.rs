//! Checksum and manifest files delivered beside a data file, for receivers
//! whose SFTP-only servers cannot hash what arrived: `roster.csv.sha256`
//! (or `.md5`) in the `sha256sum` format, so `sha256sum -c roster.csv.sha256`
//! checks the file, and `roster.csv.manifest.csv` or `.manifest.json` with
//! the file's name, size, rows, SHA-256 and creation time.
//!
//! Each sidecar is written whole under its final name (through a
//! [`PartialFile`]) and delivered after its data file has committed, so a
//! receiver that sees the sidecar can trust the data file beside it.

use std::io::{self, Read, Write};
use std::path::Path;

use md5::Digest;

use super::{PartialFile, WrittenFile};

pub(crate) use crate::config::{Checksum, Manifest, Sidecars};

/// Whether `name` is a sidecar of one of `files` (a data file of the same
/// run), so a resend sends it again only after its data file.
pub(crate) fn is_sidecar_of<'a>(name: &str, mut files: impl Iterator<Item = &'a str>) -> bool {
    const SUFFIXES: [&str; 4] = [".sha256", ".md5", ".manifest.csv", ".manifest.json"];
    files.any(|data| name.strip_prefix(data).is_some_and(|rest| SUFFIXES.contains(&rest)))
}

/// The data file a sidecar describes.
pub(crate) struct Described<'a> {
    /// Its name at the receiver.
    pub name: &'a str,
    /// Where it is on local disk.
    pub path: &'a Path,
    /// Its size.
    pub bytes: u64,
    /// Its data rows (a header row and header or trailer records not
    /// counted).
    pub rows: u64,
    /// Its SHA-256, hex.
    pub sha256: &'a str,
}

/// The manifest's fields, in the order they are written.
#[derive(serde::Serialize)]
struct Fields<'a> {
    file: &'a str,
    bytes: u64,
    rows: u64,
    sha256: &'a str,
    created: String,
}

/// Writes `sidecars` for `data` into `dir`, each committed whole.
pub(crate) fn write(dir: &Path, data: &Described<'_>, sidecars: &Sidecars) -> io::Result<Vec<WrittenFile>> {
    let mut names = sidecars.names(data.name).into_iter();
    let mut written = Vec::new();
    // `names` holds one name per checksum, then one for the manifest.
    for (&checksum, name) in sidecars.checksums.iter().zip(&mut names) {
        let digest = match checksum {
            Checksum::Sha256 => data.sha256.to_string(),
            Checksum::Md5 => md5_file(data.path)?,
        };
        // Two spaces: the text mode of `sha256sum` / `md5sum`, which `-c` reads.
        let text = format!("{digest}  {}\n", data.name);
        written.push(commit(dir, &name, text.as_bytes())?);
    }
    if let (Some(manifest), Some(name)) = (sidecars.manifest, names.next()) {
        let created: chrono::DateTime<chrono::Utc> = std::fs::metadata(data.path)?.modified()?.into();
        let fields = Fields {
            file: data.name,
            bytes: data.bytes,
            rows: data.rows,
            sha256: data.sha256,
            created: created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        let bytes = match manifest {
            Manifest::Json => {
                let mut b = serde_json::to_vec(&fields).map_err(io::Error::other)?;
                b.push(b'\n');
                b
            }
            Manifest::Csv => {
                let mut w = csv::Writer::from_writer(Vec::new());
                w.serialize(&fields).map_err(io::Error::other)?;
                w.into_inner().map_err(|e| io::Error::other(e.to_string()))?
            }
        };
        written.push(commit(dir, &name, &bytes)?);
    }
    Ok(written)
}

fn commit(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<WrittenFile> {
    let mut file = PartialFile::create(dir, name)?;
    file.write_all(bytes)?;
    file.commit()
}

fn md5_file(path: &Path) -> io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0; 256 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_are_named_after_their_file_in_sending_order() {
        let s = Sidecars {
            checksums: vec![Checksum::Sha256, Checksum::Md5],
            manifest: Some(Manifest::Json),
        };
        assert_eq!(
            s.names("roster.csv"),
            ["roster.csv.sha256", "roster.csv.md5", "roster.csv.manifest.json"]
        );
        assert!(is_sidecar_of("roster.csv.md5", ["a.csv", "roster.csv"].into_iter()));
        assert!(!is_sidecar_of("roster.csv.bak", ["roster.csv"].into_iter()));
        assert!(!is_sidecar_of("roster.csv", ["roster.csv"].into_iter()));
    }

    #[test]
    fn checksums_match_md5sum_and_the_manifest_quotes_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a,b.csv");
        std::fs::write(&path, b"abc").unwrap();
        let data = Described {
            name: "a,b.csv",
            path: &path,
            bytes: 3,
            rows: 1,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        };
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let sidecars = Sidecars {
            checksums: vec![Checksum::Md5],
            manifest: Some(Manifest::Csv),
        };
        let written = write(&out, &data, &sidecars).unwrap();
        assert_eq!(
            std::fs::read_to_string(&written[0].path).unwrap(),
            "900150983cd24fb0d6963f7d28e17f72  a,b.csv\n"
        );
        let manifest = std::fs::read_to_string(&written[1].path).unwrap();
        assert!(
            manifest.starts_with("file,bytes,rows,sha256,created\n\"a,b.csv\",3,1,ba7816bf"),
            "{manifest}"
        );
    }
}
