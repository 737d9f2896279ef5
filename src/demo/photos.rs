//! Student photos for the demo district: small generated JPEGs, so the photo
//! extract (`photos()`) can be tried and tested without real pictures.
//!
//! They live in a `photos/` folder beside the demo database (for the embedded
//! configuration, `.ferry/photos/`), one `<person_id>.jpg` per student, past
//! students included (so an extract must pick the active year's), and about
//! one student in twelve has none (so "missing photos" shows up in the run
//! log, as it does in every real district). Each picture is a 48×64 head and
//! shoulders silhouette on a two-colour gradient; colours and who has no
//! photo follow from the seed and the person id alone, so the same options
//! give the same files, byte for byte.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use jpeg_encoder::{ColorType, Encoder};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// Picture width and height in pixels: a passport-like 3:4.
const WIDTH: u16 = 48;
const HEIGHT: u16 = 64;
/// JPEG quality: small files, still recognisably a picture.
const QUALITY: u8 = 75;
/// About one student in this many has no photo.
const MISSING_ONE_IN: u64 = 12;

/// The photo folder of the demo database at `database`: `photos/` beside it.
///
/// `photos()` uses it as its default folder when its database is the demo,
/// so the demo works with no configuration.
pub(crate) fn photos_dir(database: &Path) -> PathBuf {
    database.parent().unwrap_or(Path::new("")).join("photos")
}

/// Whether the demo student `person_id` gets a photo with this seed.
fn has_photo(seed: u64, person_id: i64) -> bool {
    !mix(seed, person_id).is_multiple_of(MISSING_ONE_IN)
}

/// Writes a photo for most students of the finished database `database`
/// into `target`, replacing the folder as a whole: the pictures are made in
/// a temporary folder beside it and renamed into place, so a reader sees the
/// old set or the new one. Returns how many photos were written.
pub(crate) async fn write(database: &Path, target: &Path, seed: u64) -> io::Result<u64> {
    let ids = student_ids(database).await.map_err(io::Error::other)?;
    let target = target.to_path_buf();
    tokio::task::spawn_blocking(move || write_folder(&ids, &target, seed))
        .await
        .map_err(io::Error::other)?
}

/// Every person id in `student`, in order.
async fn student_ids(database: &Path) -> Result<Vec<i64>, sqlx::Error> {
    let mut conn = SqliteConnectOptions::new()
        .filename(database)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await?;
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT person_id FROM student ORDER BY person_id")
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(ids.into_iter().map(|(id,)| id).collect())
}

fn write_folder(ids: &[i64], target: &Path, seed: u64) -> io::Result<u64> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let parent = target.parent().unwrap_or(Path::new(""));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = format!("{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let partial = parent.join(format!("{name}.{unique}.partial"));
    let result = fill(&partial, ids, seed).and_then(|n| swap_in(&partial, target, &unique).map(|()| n));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn fill(folder: &Path, ids: &[i64], seed: u64) -> io::Result<u64> {
    std::fs::create_dir_all(folder)?;
    let mut jpeg = Vec::with_capacity(4096);
    let mut written = 0;
    for &id in ids.iter().filter(|&&id| has_photo(seed, id)) {
        jpeg.clear();
        Encoder::new(&mut jpeg, QUALITY)
            .encode(&picture(mix(seed, id)), WIDTH, HEIGHT, ColorType::Rgb)
            .map_err(io::Error::other)?;
        std::fs::write(folder.join(format!("{id}.jpg")), &jpeg)?;
        written += 1;
    }
    Ok(written)
}

/// Renames the new folder over the old one (moving the old one aside first:
/// a non-empty folder cannot be renamed over). If another process put its
/// own set in place meanwhile, that set is the same, and ours is dropped.
fn swap_in(partial: &Path, target: &Path, unique: &str) -> io::Result<()> {
    let old = target.with_extension(format!("{unique}.old"));
    let had_old = std::fs::rename(target, &old).is_ok();
    let moved = std::fs::rename(partial, target);
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    match moved {
        Err(_) if target.is_dir() => std::fs::remove_dir_all(partial),
        other => other,
    }
}

/// RGB pixels of one picture, from the person's hash.
fn picture(hash: u64) -> Vec<u8> {
    let byte = |shift: u32| ((hash >> shift) & 0xff) as u32;
    // Light, desaturated backgrounds and a darker figure, as studio photos.
    let top = [150 + byte(0) % 100, 150 + byte(8) % 100, 150 + byte(16) % 100];
    let bottom = [90 + byte(24) % 100, 90 + byte(32) % 100, 90 + byte(40) % 100];
    let figure = [30 + byte(48) % 70, 30 + byte(52) % 60, 30 + byte(56) % 60];
    let (w, h) = (u32::from(WIDTH), u32::from(HEIGHT));
    let mut px = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as i32 - 24, y as i32 - 26);
            let head = dx * dx + dy * dy <= 11 * 11;
            let (sx, sy) = (x as i32 - 24, y as i32 - 66);
            let shoulders = sx * sx * 18 * 18 + sy * sy * 22 * 22 <= 22 * 22 * 18 * 18;
            for c in 0..3 {
                let v = if head || shoulders {
                    figure[c]
                } else {
                    (top[c] * (h - y) + bottom[c] * y) / h
                };
                px.push(v as u8);
            }
        }
    }
    px
}

/// SplitMix64 of the seed and id: a well-spread hash that depends on nothing
/// else (not on how many students there are, nor on their order).
fn mix(seed: u64, person_id: i64) -> u64 {
    let mut z = seed ^ (person_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_in_twelve_has_no_photo_and_it_depends_on_the_seed() {
        let missing = |seed| (100_001..102_001).filter(|&id| !has_photo(seed, id)).count();
        let (a, b) = (missing(2026), missing(7));
        assert!((120..220).contains(&a) && (120..220).contains(&b), "{a} {b}");
        let differ = (100_001..102_001)
            .filter(|&id| has_photo(2026, id) != has_photo(7, id))
            .count();
        assert!(differ > 100, "{differ}");
    }

    #[test]
    fn pictures_are_small_valid_jpegs_that_differ_by_person() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<i64> = (100_001..100_041).collect();
        let target = dir.path().join("photos");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("stale.jpg"), b"old").unwrap();
        let n = write_folder(&ids, &target, 2026).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&target)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len() as u64, n);
        assert!(
            !names.contains(&"stale.jpg".to_string()),
            "the folder is replaced whole"
        );
        let expected: Vec<String> = ids
            .iter()
            .filter(|&&id| has_photo(2026, id))
            .map(|id| format!("{id}.jpg"))
            .collect();
        assert_eq!(names, expected);
        let a = std::fs::read(target.join(&names[0])).unwrap();
        let b = std::fs::read(target.join(&names[1])).unwrap();
        assert!(
            a.starts_with(&[0xFF, 0xD8]) && a.ends_with(&[0xFF, 0xD9]),
            "SOI and EOI markers"
        );
        assert!(a.len() < 2000, "{} bytes", a.len());
        assert_ne!(a, b);
        // Same seed, same bytes; nothing left beside the folder.
        write_folder(&ids, &target, 2026).unwrap();
        assert_eq!(std::fs::read(target.join(&names[0])).unwrap(), a);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
