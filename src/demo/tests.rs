//! Tests of the demo district as a whole: files, determinism, and the promises other code relies on.

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, Weekday};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use super::schema::TABLES;
use super::*;

fn opts(students: u32, seed: u64) -> DemoOptions {
    DemoOptions {
        students,
        seed,
        active_year: 2027,
    }
}

async fn open(path: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .unwrap()
}

async fn strings(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    sqlx::query_scalar::<_, String>(sql).fetch_all(conn).await.unwrap()
}

async fn count(conn: &mut SqliteConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql).fetch_one(conn).await.unwrap()
}

/// Every table's rows as text (SQLite's `quote`, so types and NULLs show), plus the schema.
async fn dump(path: &Path) -> Vec<String> {
    let mut conn = open(path).await;
    let mut out = strings(
        &mut conn,
        "SELECT name || ':' || ifnull(sql, '') FROM sqlite_master ORDER BY name",
    )
    .await;
    for (table, columns) in TABLES {
        let row = columns
            .iter()
            .map(|c| format!("quote({c})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let sql = format!("SELECT '{table}|' || {row} FROM {table} ORDER BY rowid");
        out.extend(strings(&mut conn, &sql).await);
    }
    conn.close().await.unwrap();
    out
}

fn db(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

#[test]
fn the_public_futures_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    let o = DemoOptions::default();
    send(&ensure(Path::new("x.db"), &o));
    send(&create(Path::new("x.db"), &o));
    assert_eq!(o.students, 2000);
    assert_eq!(o.seed, 2026);
    assert_eq!(o.active_year, school_year_for(chrono::Local::now().date_naive()));
}

#[tokio::test]
async fn same_options_give_identical_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (db(&dir, "a.db"), db(&dir, "b.db"));
    let sa = create(&a, &opts(300, 7)).await.unwrap();
    let sb = create(&b, &opts(300, 7)).await.unwrap();
    assert_eq!(sa, sb);
    let (da, dbb) = (dump(&a).await, dump(&b).await);
    let rows = sa.schools
        + sa.school_years
        + sa.students
        + sa.enrollments
        + sa.staff
        + sa.courses
        + sa.sections
        + sa.rosters
        + sa.attendance;
    assert_eq!(
        da.len() as u64,
        rows + 18,
        "9 tables, 8 indexes and state_id's autoindex"
    );
    assert_eq!(da, dbb);
    // With the same SQLite build the files themselves are identical too.
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
}

#[tokio::test]
async fn another_seed_or_year_gives_other_data() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (db(&dir, "a.db"), db(&dir, "b.db"), db(&dir, "c.db"));
    create(&a, &opts(100, 1)).await.unwrap();
    create(&b, &opts(100, 2)).await.unwrap();
    create(&c, &opts(100, 1).clone_with_year(2031)).await.unwrap();
    let students = |d: &[String]| {
        d.iter()
            .filter(|r| r.starts_with("student|"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (da, db_, dc) = (dump(&a).await, dump(&b).await, dump(&c).await);
    let (sa, sb) = (students(&da), students(&db_));
    assert_eq!(
        sa.len(),
        100 + 2 * 8 + 6,
        "this year's, two graduating classes, leavers"
    );
    let same = sa.iter().zip(&sb).filter(|(x, y)| x == y).count();
    assert_eq!(same, 0, "no student row survives a change of seed");
    let mut conn = open(&c).await;
    let years = strings(&mut conn, "SELECT label FROM school_year ORDER BY end_year").await;
    assert_eq!(years, ["2028-29", "2029-30", "2030-31"]);
    assert_ne!(da, dc);
}

impl DemoOptions {
    fn clone_with_year(&self, active_year: i32) -> DemoOptions {
        DemoOptions {
            active_year,
            ..self.clone()
        }
    }
}

#[tokio::test]
async fn ensure_creates_once_and_then_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("deeper").join("demo.db");
    let made = ensure(&path, &opts(60, 3)).await.unwrap();
    assert_eq!(made.map(|s| s.active_students), Some(60));
    let before = std::fs::read(&path).unwrap();
    assert_eq!(ensure(&path, &opts(500, 4)).await.unwrap(), None);
    assert_eq!(std::fs::read(&path).unwrap(), before, "ensure must not rebuild");

    // Not even a file that is not a database is touched.
    let other = db(&dir, "not-a-db.db");
    std::fs::write(&other, b"keep me").unwrap();
    assert_eq!(ensure(&other, &opts(60, 3)).await.unwrap(), None);
    assert_eq!(std::fs::read(&other).unwrap(), b"keep me");

    // create always rebuilds, replacing what is there, and leaves no temporary files.
    let summary = create(&other, &opts(70, 3)).await.unwrap();
    assert_eq!((summary.students, summary.active_students), (84, 70));
    let mut conn = open(&other).await;
    assert_eq!(count(&mut conn, "SELECT count(*) FROM student").await, 84);
    let enrolled = "SELECT count(*) FROM enrollment WHERE end_year = 2027";
    assert_eq!(count(&mut conn, enrolled).await, 70);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn crash_leftovers_are_cleaned_up_but_fresh_builds_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let old = db(&dir, "demo.db.4242-0.partial");
    let fresh = db(&dir, "demo.db.4243-0.partial");
    let unrelated = db(&dir, "other.db.4242-0.partial");
    for path in [&old, &fresh, &unrelated] {
        std::fs::write(path, b"half a district").unwrap();
    }
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    for path in [&old, &unrelated] {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(two_hours_ago).unwrap();
    }
    create(&db(&dir, "demo.db"), &opts(20, 1)).await.unwrap();
    assert!(!old.exists(), "an old leftover of this database is removed");
    assert!(fresh.exists(), "another process may still be building this one");
    assert!(unrelated.exists(), "other databases' files are not ours to remove");
}

#[tokio::test]
async fn failures_name_the_path_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let err = create(
        &db(&dir, "a.db"),
        &DemoOptions {
            active_year: 12_000,
            ..opts(10, 1)
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DemoError::YearOutOfRange { year: 12_000 }), "{err}");
    assert!(err.to_string().contains("12000"), "{err}");

    // A folder where the database should go cannot be replaced by it.
    let target = db(&dir, "taken");
    std::fs::create_dir(&target).unwrap();
    let err = create(&target, &opts(10, 1)).await.unwrap_err();
    assert!(err.to_string().contains(&target.display().to_string()), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the folder remains"
    );

    // A parent that is a file cannot become a folder.
    let file = db(&dir, "file");
    std::fs::write(&file, b"x").unwrap();
    let err = create(&file.join("demo.db"), &opts(10, 1)).await.unwrap_err();
    assert!(matches!(err, DemoError::Folder { .. }), "{err}");
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");
}

#[tokio::test]
async fn default_size_has_plausible_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir, "demo.db");
    let s = create(&path, &opts(2000, 2026)).await.unwrap();
    assert_eq!(
        (s.schools, s.school_years, s.students, s.active_students),
        (5, 3, 2000 + 2 * 154 + 120, 2000)
    );
    assert!((100..300).contains(&s.staff), "{s:?}");
    let mut conn = open(&path).await;
    let active = count(&mut conn, "SELECT count(*) FROM enrollment WHERE end_year = 2027").await;
    assert_eq!(active, 2000);
    // Earlier years are about as full as this one, with every grade present.
    for year in [2025, 2026] {
        let sql = format!("SELECT count(*) FROM enrollment WHERE end_year = {year}");
        let enrolled = count(&mut conn, &sql).await;
        assert!((1800..2100).contains(&enrolled), "{enrolled} students in {year}");
        let sql = format!("SELECT count(*) FROM enrollment WHERE end_year = {year} GROUP BY grade");
        let per_grade = sqlx::query_scalar::<_, i64>(&sql).fetch_all(&mut conn).await.unwrap();
        assert_eq!(per_grade.len(), 13, "{year}");
        assert!(
            per_grade.iter().all(|n| (100..200).contains(n)),
            "{year}: {per_grade:?}"
        );
    }
    let per_student = s.rosters as f64 / active as f64;
    assert!((5.5..7.0).contains(&per_student), "{per_student} sections per student");
    let share = s.attendance as f64 / (active as f64 * 100.0);
    assert!((0.03..0.05).contains(&share), "{share} of student-days have a record");
    let withdrawn = count(
        &mut conn,
        "SELECT count(*) FROM enrollment WHERE end_year = 2027 AND end_date IS NOT NULL",
    )
    .await;
    assert_eq!(withdrawn, 30);
    let counted: i64 = count(&mut conn, "SELECT count(*) FROM course").await;
    assert_eq!(counted as u64, s.courses);
    let broken: Vec<String> = strings(&mut conn, "SELECT \"table\" FROM pragma_foreign_key_check").await;
    assert!(broken.is_empty(), "rows without parents in {broken:?}");
    let ids = count(
        &mut conn,
        "SELECT count(DISTINCT state_id) FROM student WHERE length(state_id) = 10 AND state_id NOT GLOB '*[^0-9]*'",
    )
    .await;
    assert_eq!(ids as u64, s.students, "state ids are ten unique digits");
    let ssn = count(
        &mut conn,
        "SELECT count(*) FROM student WHERE ssn GLOB '9[0-9][0-9]-[0-9][0-9]-[0-9][0-9][0-9][0-9]'",
    )
    .await;
    assert_eq!(ssn as u64, s.students);
    let middle_null = count(&mut conn, "SELECT count(*) FROM student WHERE middle_name IS NULL").await;
    assert!(
        (600..850).contains(&middle_null),
        "{middle_null} students without a middle name"
    );
}

#[tokio::test]
async fn fifty_students_still_have_every_awkward_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir, "small.db");
    create(&path, &opts(50, 99)).await.unwrap();
    let mut conn = open(&path).await;
    let names = strings(&mut conn, "SELECT first_name || ' ' || last_name FROM student").await;
    let last = strings(&mut conn, "SELECT last_name FROM student").await;
    let middle = strings(
        &mut conn,
        "SELECT middle_name FROM student WHERE middle_name IS NOT NULL",
    )
    .await;
    let addresses = strings(&mut conn, "SELECT address FROM student").await;
    assert!(names.iter().any(|n| !n.is_ascii()), "non-ASCII name: {names:?}");
    assert!(names.iter().any(|n| n.contains('\'')), "apostrophe: {names:?}");
    assert!(last.iter().any(|n| n.contains(',')), "comma: {last:?}");
    assert!(middle.iter().any(|n| n.contains('"')), "double quote: {middle:?}");
    assert!(addresses.iter().any(|a| a.contains('\n')), "line break: {addresses:?}");
    let genders = strings(&mut conn, "SELECT DISTINCT gender FROM student ORDER BY gender").await;
    assert!(
        genders.iter().all(|g| ["F", "M", "X"].contains(&g.as_str())),
        "{genders:?}"
    );
}

#[tokio::test]
async fn one_active_year_and_one_enrollment_per_student_per_year() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir, "demo.db");
    create(&path, &opts(400, 5)).await.unwrap();
    let mut conn = open(&path).await;
    let active = strings(
        &mut conn,
        "SELECT label || ' ' || start_date || ' ' || end_date FROM school_year WHERE active",
    )
    .await;
    assert_eq!(active, ["2026-27 2026-08-15 2027-06-05"]);
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM school_year WHERE active = 0").await,
        2
    );
    let doubles = count(
        &mut conn,
        "SELECT count(*) FROM (SELECT 1 FROM enrollment GROUP BY person_id, end_year HAVING count(*) <> 1)",
    )
    .await;
    assert_eq!(doubles, 0);
    // Everyone rostered or marked absent this year is enrolled this year, at that school.
    let strays = count(&mut conn, "SELECT count(*) FROM roster r WHERE NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.person_id = r.person_id AND e.end_year = 2027)").await;
    assert_eq!(strays, 0);
    let strays = count(&mut conn, "SELECT count(*) FROM attendance a WHERE NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.person_id = a.person_id AND e.end_year = 2027 AND e.school_id = a.school_id AND a.date >= e.start_date AND (e.end_date IS NULL OR a.date <= e.end_date))").await;
    assert_eq!(strays, 0);
    // Every active-year student is in sections of their own school only.
    let wrong = count(&mut conn, "SELECT count(*) FROM roster r JOIN section s USING (section_id) JOIN course c USING (course_id) JOIN enrollment e ON e.person_id = r.person_id AND e.end_year = 2027 WHERE c.school_id <> e.school_id").await;
    assert_eq!(wrong, 0);
    let unrostered = count(&mut conn, "SELECT count(*) FROM enrollment e WHERE e.end_year = 2027 AND NOT EXISTS (SELECT 1 FROM roster r WHERE r.person_id = e.person_id)").await;
    assert_eq!(unrostered, 0);
    // Grades move up one a year.
    let skipped = count(&mut conn, "SELECT count(*) FROM enrollment a JOIN enrollment b ON a.person_id = b.person_id AND b.end_year = a.end_year + 1 WHERE (CASE b.grade WHEN 'KG' THEN 0 ELSE CAST(b.grade AS INTEGER) END) <> (CASE a.grade WHEN 'KG' THEN 0 ELSE CAST(a.grade AS INTEGER) END) + 1").await;
    assert_eq!(skipped, 0);
    let dates = strings(&mut conn, "SELECT DISTINCT date FROM attendance ORDER BY date").await;
    assert!(dates.len() > 90 && dates.len() <= 100, "{}", dates.len());
    for d in &dates {
        let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        assert!(!matches!(day.weekday(), Weekday::Sat | Weekday::Sun), "{d}");
        assert_eq!(school_year_for(day), 2027, "{d}");
    }
    let codes = strings(&mut conn, "SELECT DISTINCT code || excused FROM attendance ORDER BY 1").await;
    assert_eq!(codes, ["A0", "A1", "E0", "E1", "T0", "T1"]);
}
