//! The zip writer, read back with the `zip` crate's reader (the integration
//! tests use Python's `zipfile` as an independent one).

use std::io::Read;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::*;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

fn never() -> Option<String> {
    None
}

/// Three files: text, empty, and 1 MB of poorly compressible bytes.
fn sources(dir: &Path) -> Vec<Entry> {
    let big: Vec<u8> = (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let files: [(&str, Vec<u8>); 3] = [
        ("roster.csv", b"id,name\r\n1,Zo\xc3\xab\r\n".to_vec()),
        ("empty.txt", Vec::new()),
        ("Zoë données.bin", big),
    ];
    files
        .into_iter()
        .map(|(name, data)| {
            let path = dir.join(format!("src-{name}"));
            std::fs::write(&path, data).unwrap();
            Entry {
                name: name.to_string(),
                path,
            }
        })
        .collect()
}

/// An entry as read back: name, content, time, method, Unix mode.
type ReadEntry = (String, Vec<u8>, zip::DateTime, CompressionMethod, Option<u32>);

fn read_back(path: &Path) -> Vec<ReadEntry> {
    let mut archive = zip::ZipArchive::new(File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            let time = f.last_modified().unwrap();
            (
                f.name().unwrap().to_string(),
                data,
                time,
                f.compression(),
                f.unix_mode(),
            )
        })
        .collect()
}

#[test]
fn entries_come_back_in_order_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let entries = sources(dir.path());
    let opts = ZipOptions::new(at(2027, 3, 5, 7, 8, 9));
    let b = write_zip(dir.path(), "bundle.zip", &entries, &opts, &never).unwrap();
    assert_eq!(b.file.path, dir.path().join("bundle.zip"));
    assert_eq!((b.entries, b.uncompressed), (3, 1_000_000 + 17));
    let bytes = std::fs::read(&b.file.path).unwrap();
    assert_eq!(b.file.bytes, bytes.len() as u64);
    assert_eq!(b.file.sha256, hex::encode(Sha256::digest(&bytes)));
    let back = read_back(&b.file.path);
    assert_eq!(back.len(), 3);
    for (e, (name, data, time, method, mode)) in entries.iter().zip(back) {
        assert_eq!(name, e.name);
        assert_eq!(data, std::fs::read(&e.path).unwrap(), "{name}");
        assert_eq!(
            (
                time.year(),
                time.month(),
                time.day(),
                time.hour(),
                time.minute(),
                time.second()
            ),
            (2027, 3, 5, 7, 8, 8),
            "odd seconds round down"
        );
        assert_eq!(method, CompressionMethod::Deflated);
        assert_eq!(mode.map(|m| m & 0o777), Some(0o644));
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn same_files_and_time_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let entries = sources(dir.path());
    let opts = ZipOptions::new(at(2027, 1, 2, 3, 4, 6));
    let a = write_zip(dir.path(), "a.zip", &entries, &opts, &never).unwrap();
    // Touching the sources (other mtimes, other permissions) changes nothing.
    for e in &entries {
        let f = File::options().write(true).open(&e.path).unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
    }
    let b = write_zip(dir.path(), "b.zip", &entries, &opts, &never).unwrap();
    assert_eq!(a.file.sha256, b.file.sha256);
    assert_eq!(
        std::fs::read(&a.file.path).unwrap(),
        std::fs::read(&b.file.path).unwrap()
    );
    // Another order is another zip.
    let reversed: Vec<Entry> = entries.iter().rev().cloned().collect();
    let c = write_zip(dir.path(), "c.zip", &reversed, &opts, &never).unwrap();
    assert_ne!(a.file.sha256, c.file.sha256);
    let names: Vec<String> = read_back(&c.file.path).into_iter().map(|e| e.0).collect();
    assert_eq!(names, ["Zoë données.bin", "empty.txt", "roster.csv"]);
}

#[test]
fn level_zero_stores_and_higher_levels_shrink() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("t.csv");
    std::fs::write(&text, "person_id,grade\n".repeat(20_000)).unwrap();
    let entries = vec![Entry {
        name: "t.csv".into(),
        path: text,
    }];
    let mut opts = ZipOptions::new(at(2027, 1, 1, 0, 0, 0));
    let sizes: Vec<u64> = [0, 1, 9]
        .into_iter()
        .map(|level| {
            opts.level = level;
            let b = write_zip(dir.path(), &format!("l{level}.zip"), &entries, &opts, &never).unwrap();
            let back = read_back(&b.file.path);
            let method = if level == 0 {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            };
            assert_eq!(back[0].3, method, "level {level}");
            assert_eq!(back[0].1.len(), 320_000);
            b.file.bytes
        })
        .collect();
    assert!(
        sizes[0] > 320_000 && sizes[1] < 20_000 && sizes[2] <= sizes[1],
        "{sizes:?}"
    );
    opts.level = 10;
    let e = write_zip(dir.path(), "l10.zip", &entries, &opts, &never).unwrap_err();
    assert!(matches!(e, BundleError::Level(10)), "{e}");
}

#[test]
fn bad_lists_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let opts = ZipOptions::new(at(2027, 1, 1, 0, 0, 0));
    let entry = |name: &str| Entry {
        name: name.into(),
        path: dir.path().join("x"),
    };
    let e = write_zip(dir.path(), "z.zip", &[], &opts, &never).unwrap_err();
    assert!(matches!(e, BundleError::Empty));
    let dup = [entry("a.csv"), entry("b.csv"), entry("A.CSV")];
    let e = write_zip(dir.path(), "z.zip", &dup, &opts, &never).unwrap_err();
    assert_eq!(
        e.to_string(),
        "two files are both named \"A.CSV\" (names inside a zip must differ, ignoring case)"
    );
    for bad in ["", ".", "..", "a/b.csv", "a\\b.csv"] {
        let e = write_zip(dir.path(), "z.zip", &[entry(bad)], &opts, &never).unwrap_err();
        assert!(matches!(e, BundleError::BadName(_)), "{bad:?}: {e}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_file_or_a_stop_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = sources(dir.path());
    let gone = dir.path().join("gone.csv");
    entries.insert(
        1,
        Entry {
            name: "gone.csv".into(),
            path: gone.clone(),
        },
    );
    let opts = ZipOptions::new(at(2027, 1, 1, 0, 0, 0));
    let e = write_zip(dir.path(), "z.zip", &entries, &opts, &never).unwrap_err();
    assert!(matches!(e, BundleError::Read { ref path, .. } if path == &gone), "{e}");
    assert!(
        e.to_string().starts_with(&format!("cannot read {}", gone.display())),
        "{e}"
    );
    entries.remove(1);

    // Stopped in the middle of the big entry: the check runs between reads.
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        (calls.get() > 6).then(|| "the run was cancelled".to_string())
    };
    let e = write_zip(dir.path(), "z.zip", &entries, &opts, &stop).unwrap_err();
    assert!(
        matches!(e, BundleError::Stopped(ref r) if r == "the run was cancelled"),
        "{e}"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("src-"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn dos_times_round_and_clamp() {
    let t = |at: NaiveDateTime| {
        let d = dos_time(at);
        (d.year(), d.month(), d.day(), d.hour(), d.minute(), d.second())
    };
    assert_eq!(t(at(2026, 11, 28, 23, 59, 59)), (2026, 11, 28, 23, 59, 58));
    assert_eq!(t(at(1975, 6, 1, 12, 0, 0)), (1980, 1, 1, 0, 0, 0));
    assert_eq!(t(at(2200, 6, 1, 12, 0, 0)), (2107, 12, 31, 23, 59, 58));
    let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
        .unwrap();
    assert_eq!(t(leap), (2016, 12, 31, 23, 59, 58));
}

#[test]
fn zip64_is_chosen_only_near_four_gib() {
    // Writing 4 GiB is too slow for the suite (bench/zip.sh does it); the
    // threshold leaves room for deflate's worst-case growth.
    const WORST_GROWTH: u64 = ZIP64_FROM / 65_535 * 5 + 1024;
    const { assert!(ZIP64_FROM + WORST_GROWTH < u32::MAX as u64) };
    const { assert!(ZIP64_FROM > 4_000_000_000) };
}
