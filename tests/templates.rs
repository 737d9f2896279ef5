//! The vendor templates in scripts/templates/ and the stdlib modules, run
//! against the demo district exactly as a user would: `ferry run
//! scripts/templates/NAME.rhai [--param ...]` with no ferry.toml. Files are
//! read back with Python (csv, zipfile) and checked against the demo
//! database.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::harness::{python_csv, Project};

/// Runs a template by path with `--param` overrides and returns stdout.
fn run(p: &Project, template: &str, params: &[&str]) -> String {
    let path = format!("scripts/templates/{template}.rhai");
    let mut args = vec!["run", path.as_str()];
    for param in params {
        args.push("--param");
        args.push(param);
    }
    p.ferry(&args).ok().to_string()
}

fn db(p: &Project) -> PathBuf {
    p.path(".ferry/demo.db")
}

/// The first column of every row of a query on a SQLite file, as text
/// (NULL as ""), read with rusqlite, not through ferry.
fn sqlite_column(path: &Path, sql: &str) -> Vec<String> {
    use rusqlite::types::ValueRef;
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = stmt
        .query_map([], |row| {
            Ok(match row.get_ref(0)? {
                ValueRef::Null => String::new(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            })
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn active_year(p: &Project) -> i64 {
    sqlite_column(&db(p), "SELECT end_year FROM school_year WHERE active = 1")[0]
        .parse()
        .unwrap()
}

/// `key|value` rows of the demo database as a map.
fn db_map(p: &Project, sql: &str) -> HashMap<String, String> {
    sqlite_column(&db(p), sql)
        .into_iter()
        .map(|line| {
            let (k, v) = line.split_once('|').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn count(p: &Project, sql: &str) -> usize {
    sqlite_column(&db(p), sql)[0].parse().unwrap()
}

/// A CSV file read strictly by Python, split into its header and rows.
fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows = python_csv(path, ',', "utf-8");
    assert!(!rows.is_empty(), "{} has no header", path.display());
    let header = rows.remove(0);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), header.len(), "{} row {}: {r:?}", path.display(), i + 1);
    }
    (header, rows)
}

/// The index of a column.
fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// Unzips with Python's zipfile (CRCs checked) and returns the entry names in
/// zip order.
fn unzip(zip: &Path, to: &Path) -> Vec<String> {
    let code = r#"
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    if bad is not None:
        raise SystemExit("CRC error in " + bad)
    names = z.namelist()
    z.extractall(sys.argv[2])
json.dump(names, sys.stdout)
"#;
    crate::harness::python_json(
        &["-c".as_ref(), code.as_ref(), zip.as_os_str(), to.as_os_str()],
        &format!("python zipfile could not read {}", zip.display()),
    )
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(std::string::ToString::to_string).collect()
}

/// True for `NNN-NN-NNNN`.
fn looks_like_ssn(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 11
        && b.iter().enumerate().all(|(i, c)| {
            if i == 3 || i == 6 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// "2026-08-15" -> "08/15/2026".
fn us(iso: &str) -> String {
    if iso.is_empty() {
        return String::new();
    }
    format!("{}/{}/{}", &iso[5..7], &iso[8..10], &iso[0..4])
}

/// Asserts no value in the file is an SSN (the column is absent, and no
/// SSN leaked into another column).
fn assert_no_ssn(file: &str, header: &[String], rows: &[Vec<String>]) {
    assert!(!header.iter().any(|h| h.contains("ssn")), "{file}: {header:?}");
    let leaked = rows.iter().flatten().find(|v| looks_like_ssn(v));
    assert!(leaked.is_none(), "{file}: an SSN without include_ssn: {leaked:?}");
}

// ---------------------------------------------------------------------------
// student_demographics

const DEMOGRAPHICS: &[&str] = &[
    "student_number",
    "state_id",
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "gender",
    "address",
    "city",
    "state",
    "zip",
    "phone",
    "email",
    "school_number",
    "school_name",
    "grade",
];

#[test]
fn student_demographics_has_one_row_per_active_student_and_ssn_only_when_asked() {
    let p = Project::from_repo();
    let out = run(&p, "student_demographics", &[]);
    assert!(out.contains("succeeded"), "{out}");
    let year = active_year(&p);
    let file = p.path("out/student_demographics.csv");
    let (header, rows) = read(&file);
    assert_eq!(header, strs(DEMOGRAPHICS));
    assert_no_ssn("student_demographics.csv", &header, &rows);

    // Exactly the students enrolled this year, once each.
    let ids: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "one row per student");
    let expected: HashSet<String> = sqlite_column(
        &db(&p),
        &format!("SELECT DISTINCT person_id FROM enrollment WHERE end_year = {year}"),
    )
    .into_iter()
    .collect();
    assert_eq!(unique, expected.iter().collect::<HashSet<_>>());

    // Values are the database's, for every row.
    let people = db_map(
        &p,
        "SELECT person_id || '|' || state_id || '|' || last_name || '|' || first_name || '|' \
         || birth_date || '|' || gender || '|' || COALESCE(email, '') FROM student",
    );
    let school = db_map(
        &p,
        &format!(
            "SELECT e.person_id || '|' || sc.state_school_id || '|' || sc.name || '|' || e.grade \
             FROM enrollment e JOIN school sc ON sc.school_id = e.school_id WHERE e.end_year = {year}"
        ),
    );
    for r in &rows {
        let want = &people[&r[0]];
        let got = [&r[1], &r[2], &r[3], &r[5], &r[6], &r[12]]
            .map(std::string::String::as_str)
            .join("|");
        assert_eq!(&got, want, "student {}", r[0]);
        assert_eq!(
            format!("{}|{}|{}", r[13], r[14], r[15]),
            school[&r[0]],
            "student {}",
            r[0]
        );
        let address = &r[col(&header, "address")];
        assert!(!address.contains('\n') && !address.contains('\r'), "{address:?}");
    }
    // The demo has two-line addresses: joined with a space, nothing lost.
    let two_line = sqlite_column(
        &db(&p),
        "SELECT person_id || '|' || replace(address, char(10), ' ') FROM student \
         WHERE address LIKE '%' || char(10) || '%'",
    );
    assert!(!two_line.is_empty());
    let addresses: HashMap<&String, &String> = rows.iter().map(|r| (&r[0], &r[7])).collect();
    for line in two_line {
        let (id, addr) = line.split_once('|').unwrap();
        if let Some(got) = addresses.get(&id.to_string()) {
            assert_eq!(got.as_str(), addr);
        }
    }
    // Names with commas and quotes survive (quoted as RFC 4180 says).
    assert!(rows.iter().any(|r| r[2].contains(',')));
    assert!(rows.iter().any(|r| r[4].contains('"')));

    // With include_ssn: the column appears after gender, with each student's SSN.
    run(&p, "student_demographics", &["include_ssn=true", "us_dates=true"]);
    let (header, rows_ssn) = read(&file);
    let mut want_header = strs(DEMOGRAPHICS);
    want_header.insert(7, "ssn".into());
    assert_eq!(header, want_header);
    let ssn = db_map(&p, "SELECT person_id || '|' || ssn FROM student");
    assert_eq!(rows_ssn.len(), rows.len());
    for r in &rows_ssn {
        assert!(looks_like_ssn(&r[7]), "{r:?}");
        assert_eq!(r[7], ssn[&r[0]], "student {}", r[0]);
        // us_dates: MM/DD/YYYY from the database's date.
        let birth = people[&r[0]].split('|').nth(3).unwrap();
        assert_eq!(r[5], us(birth), "student {}", r[0]);
    }
}

// ---------------------------------------------------------------------------
// enrollment

const ENROLLMENT: &[&str] = &[
    "enrollment_id",
    "student_number",
    "state_id",
    "last_name",
    "first_name",
    "middle_name",
    "school_number",
    "school_name",
    "school_year",
    "grade",
    "start_date",
    "end_date",
    "service_type",
];

#[test]
fn enrollment_lists_every_active_year_enrolment_and_ssn_only_when_asked() {
    let p = Project::from_repo();
    run(&p, "enrollment", &[]);
    let year = active_year(&p);
    let file = p.path("out/enrollment.csv");
    let (header, rows) = read(&file);
    assert_eq!(header, strs(ENROLLMENT));
    assert_no_ssn("enrollment.csv", &header, &rows);

    let expected = db_map(
        &p,
        &format!(
            "SELECT e.enrollment_id || '|' || e.person_id || '|' || sc.state_school_id || '|' || y.label \
             || '|' || e.grade || '|' || e.start_date || '|' || COALESCE(e.end_date, '') || '|' || e.service_type \
             FROM enrollment e JOIN school sc ON sc.school_id = e.school_id \
             JOIN school_year y ON y.end_year = e.end_year WHERE e.end_year = {year}"
        ),
    );
    assert_eq!(rows.len(), expected.len(), "every enrolment of {year}, once");
    for r in &rows {
        let got = [&r[1], &r[6], &r[8], &r[9], &r[10], &r[11], &r[12]]
            .map(std::string::String::as_str)
            .join("|");
        assert_eq!(&got, &expected[&r[0]], "enrollment {}", r[0]);
    }
    assert!(
        rows.iter().any(|r| !r[11].is_empty()) && rows.iter().any(|r| r[11].is_empty()),
        "ended enrolments keep their end date, open ones have none"
    );

    run(&p, "enrollment", &["include_ssn=true", "us_dates=true"]);
    let (header, rows_ssn) = read(&file);
    let mut want_header = strs(ENROLLMENT);
    want_header.insert(6, "ssn".into());
    assert_eq!(header, want_header);
    let ssn = db_map(&p, "SELECT person_id || '|' || ssn FROM student");
    assert_eq!(rows_ssn.len(), rows.len());
    for (r, plain) in rows_ssn.iter().zip(&rows) {
        assert_eq!(r[0], plain[0], "same order");
        assert_eq!(r[6], ssn[&r[1]], "enrollment {}", r[0]);
        assert_eq!(r[11], us(&plain[10]), "start date as MM/DD/YYYY");
        assert_eq!(r[12], us(&plain[11]), "end date as MM/DD/YYYY, empty stays empty");
    }
}

// ---------------------------------------------------------------------------
// staff_course_roster

const STAFF: &[&str] = &[
    "staff_id",
    "last_name",
    "first_name",
    "email",
    "school_number",
    "school_name",
];
const COURSES: &[&str] = &[
    "course_id",
    "school_number",
    "school_name",
    "course_number",
    "course_name",
    "department",
];
const SECTIONS: &[&str] = &[
    "section_id",
    "course_id",
    "course_number",
    "course_name",
    "term",
    "period",
    "room",
    "staff_id",
    "teacher_last_name",
    "teacher_first_name",
];
const ROSTER: &[&str] = &[
    "section_id",
    "student_number",
    "state_id",
    "last_name",
    "first_name",
    "grade",
    "start_date",
    "end_date",
];

/// Checks the four files in `dir` against the database and each other;
/// returns roster.csv.
fn check_staff_course_roster(p: &Project, dir: &Path, with_ssn: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let year = active_year(p);
    let (h, staff) = read(&dir.join("staff.csv"));
    assert_eq!(h, strs(STAFF));
    let (h, courses) = read(&dir.join("courses.csv"));
    assert_eq!(h, strs(COURSES));
    let (h, sections) = read(&dir.join("sections.csv"));
    assert_eq!(h, strs(SECTIONS));
    let (h, roster) = read(&dir.join("roster.csv"));
    let mut want = strs(ROSTER);
    if with_ssn {
        want.insert(5, "ssn".into());
    }
    assert_eq!(h, want);
    for (name, header, rows) in [
        ("staff", STAFF, &staff),
        ("courses", COURSES, &courses),
        ("sections", SECTIONS, &sections),
    ] {
        assert_no_ssn(name, &strs(header), rows);
    }

    assert_eq!(staff.len(), count(p, "SELECT COUNT(*) FROM staff"));
    assert_eq!(
        courses.len(),
        count(p, &format!("SELECT COUNT(*) FROM course WHERE end_year = {year}"))
    );
    assert_eq!(
        sections.len(),
        count(
            p,
            &format!("SELECT COUNT(*) FROM section s JOIN course c USING (course_id) WHERE c.end_year = {year}")
        )
    );
    assert_eq!(
        roster.len(),
        count(
            p,
            &format!(
                "SELECT COUNT(*) FROM roster r JOIN section s USING (section_id) \
                 JOIN course c USING (course_id) WHERE c.end_year = {year}"
            )
        )
    );
    // The files join: every id a row points to is in the file it names.
    let staff_ids: HashSet<&String> = staff.iter().map(|r| &r[0]).collect();
    let course_ids: HashSet<&String> = courses.iter().map(|r| &r[0]).collect();
    let section_ids: HashSet<&String> = sections.iter().map(|r| &r[0]).collect();
    assert_eq!(section_ids.len(), sections.len(), "section ids are unique");
    for s in &sections {
        assert!(course_ids.contains(&s[1]), "section {} -> course {}", s[0], s[1]);
        assert!(staff_ids.contains(&s[7]), "section {} -> staff {}", s[0], s[7]);
        assert!(["Year", "S1", "S2"].contains(&s[4].as_str()), "{s:?}");
    }
    for r in &roster {
        assert!(section_ids.contains(&r[0]), "roster -> section {}", r[0]);
    }
    let teacher = db_map(p, "SELECT section_id || '|' || staff_id FROM section");
    for s in &sections {
        assert_eq!(s[7], teacher[&s[0]], "section {}", s[0]);
    }
    (h, roster)
}

#[test]
fn staff_course_roster_bundles_four_joined_files_and_ssn_only_when_asked() {
    let p = Project::from_repo();
    run(&p, "staff_course_roster", &[]);
    assert_eq!(p.files("out"), ["staff_course_roster.zip"]);
    let plain = p.path("plain");
    let names = unzip(&p.path("out/staff_course_roster.zip"), &plain);
    assert_eq!(names, ["staff.csv", "courses.csv", "sections.csv", "roster.csv"]);
    let (header, roster) = check_staff_course_roster(&p, &plain, false);
    assert_no_ssn("roster.csv", &header, &roster);

    run(&p, "staff_course_roster", &["include_ssn=true", "us_dates=true"]);
    let with = p.path("with_ssn");
    unzip(&p.path("out/staff_course_roster.zip"), &with);
    let (_, roster_ssn) = check_staff_course_roster(&p, &with, true);
    let ssn = db_map(&p, "SELECT person_id || '|' || ssn FROM student");
    assert_eq!(roster_ssn.len(), roster.len());
    for (r, plain) in roster_ssn.iter().zip(&roster) {
        assert_eq!((&r[0], &r[1]), (&plain[0], &plain[1]), "same order");
        assert_eq!(r[5], ssn[&r[1]], "student {}", r[1]);
        assert_eq!((r[7].clone(), r[8].clone()), (us(&plain[6]), us(&plain[7])));
    }
    // Staff files never carry SSNs, asked or not (checked above); the
    // roster's SSN is the only one.
    let (staff_header, _) = read(&with.join("staff.csv"));
    assert!(!staff_header.contains(&"ssn".to_string()));

    // bundle = false: the four files are delivered one by one.
    std::fs::remove_dir_all(p.path("out")).unwrap();
    run(&p, "staff_course_roster", &["bundle=false"]);
    assert_eq!(
        p.files("out"),
        ["courses.csv", "roster.csv", "sections.csv", "staff.csv"]
    );
    check_staff_course_roster(&p, &p.path("out"), false);
}

// ---------------------------------------------------------------------------
// OneRoster 1.1 CSV

/// The headers of the OneRoster 1.1 CSV binding, in order (from the
/// specification's tables, independently of stdlib/oneroster.rhai).
const OR_HEADERS: &[(&str, &[&str])] = &[
    ("manifest.csv", &["propertyName", "value"]),
    (
        "orgs.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parentSourcedId",
        ],
    ),
    (
        "academicSessions.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "type",
            "startDate",
            "endDate",
            "parentSourcedId",
            "schoolYear",
        ],
    ),
    (
        "users.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
        ],
    ),
    (
        "courses.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        ],
    ),
    (
        "classes.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ],
    ),
    (
        "enrollments.csv",
        &[
            "sourcedId",
            "status",
            "dateLastModified",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ],
    ),
];

/// Columns that must hold a value on every row.
const OR_REQUIRED: &[(&str, &[&str])] = &[
    ("orgs.csv", &["sourcedId", "name", "type"]),
    (
        "academicSessions.csv",
        &["sourcedId", "title", "type", "startDate", "endDate", "schoolYear"],
    ),
    (
        "users.csv",
        &[
            "sourcedId",
            "enabledUser",
            "orgSourcedIds",
            "role",
            "username",
            "givenName",
            "familyName",
        ],
    ),
    ("courses.csv", &["sourcedId", "title", "orgSourcedId"]),
    (
        "classes.csv",
        &[
            "sourcedId",
            "title",
            "courseSourcedId",
            "classType",
            "schoolSourcedId",
            "termSourcedIds",
        ],
    ),
    (
        "enrollments.csv",
        &[
            "sourcedId",
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
        ],
    ),
];

/// Every data file the 1.1 manifest describes.
const OR_FILES: &[&str] = &[
    "academicSessions",
    "categories",
    "classes",
    "classResources",
    "courses",
    "courseResources",
    "demographics",
    "enrollments",
    "lineItems",
    "orgs",
    "resources",
    "results",
    "users",
];

/// CEDS grade levels as OneRoster 1.1 uses them.
const GRADES: &[&str] = &[
    "IT", "PR", "PK", "TK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "PS",
    "UG", "Other",
];

/// One file of the bundle: rows as maps from column name to value.
struct Table {
    rows: Vec<BTreeMap<String, String>>,
}

impl Table {
    fn load(dir: &Path, file: &str) -> Table {
        let (header, rows) = read(&dir.join(file));
        let want = OR_HEADERS.iter().find(|(f, _)| *f == file).unwrap().1;
        assert_eq!(header, strs(want), "{file}: header names and order");
        let rows = rows
            .into_iter()
            .map(|r| header.iter().cloned().zip(r).collect())
            .collect();
        Table { rows }
    }

    fn ids(&self) -> HashSet<String> {
        self.rows.iter().map(|r| r["sourcedId"].clone()).collect()
    }

    /// Asserts every row's `column` is one of `allowed` ("" allowed when `empty_ok`).
    fn enumeration(&self, file: &str, column: &str, allowed: &[&str], empty_ok: bool) {
        for r in &self.rows {
            let v = r[column].as_str();
            assert!(
                allowed.contains(&v) || (empty_ok && v.is_empty()),
                "{file}: {column} = {v:?} is not one of {allowed:?}"
            );
        }
    }

    /// Asserts every (comma-separated) id in `column` is in `targets`.
    fn references(&self, file: &str, column: &str, targets: &HashSet<String>, target_file: &str) {
        for r in &self.rows {
            let v = &r[column];
            if v.is_empty() {
                continue;
            }
            for id in v.split(',') {
                assert!(
                    targets.contains(id),
                    "{file} {}: {column} {id:?} is not a sourcedId of {target_file}",
                    r["sourcedId"]
                );
            }
        }
    }
}

fn is_date(v: &str) -> bool {
    chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() && v.len() == 10
}

/// The demo's date of today in the scripts' time zone (what `today()` gives).
fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Chicago)
        .format("%Y-%m-%d")
        .to_string()
}

#[test]
fn oneroster_bundle_passes_validation() {
    let p = Project::from_repo();
    let out = run(&p, "oneroster", &[]);
    assert!(out.contains("oneroster.zip"), "{out}");
    assert_eq!(p.files("out"), ["oneroster.zip"]);
    let dir = p.path("bundle");
    let entries = unzip(&p.path("out/oneroster.zip"), &dir);

    // The zip holds the manifest and the six rostering files, at its root.
    let present: BTreeSet<String> = entries.iter().cloned().collect();
    assert_eq!(entries.len(), present.len(), "no duplicate entries");
    let want: BTreeSet<String> = OR_HEADERS.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(present, want);

    // Every file: UTF-8, a header row, CRLF records, no line break inside a value.
    for name in &entries {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let text = String::from_utf8(bytes).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        assert!(!text.starts_with('\u{feff}'), "{name}: no BOM");
        assert!(text.ends_with("\r\n"), "{name}");
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{name}: CRLF only"
        );
        let (_, rows) = read(&dir.join(name));
        assert!(!rows.is_empty(), "{name}: a file without data rows is not allowed");
        for v in rows.iter().flatten() {
            assert!(!v.contains('\n') && !v.contains('\r'), "{name}: {v:?}");
        }
    }

    // manifest.csv: versions, and file.* naming exactly the files present.
    let (header, manifest) = read(&dir.join("manifest.csv"));
    assert_eq!(header, ["propertyName", "value"]);
    let props: BTreeMap<String, String> = manifest.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    assert_eq!(props.len(), manifest.len(), "each property once");
    assert_eq!(props["manifest.version"], "1.0");
    assert_eq!(props["oneroster.version"], "1.1");
    for f in OR_FILES {
        let mode = props
            .get(&format!("file.{f}"))
            .unwrap_or_else(|| panic!("manifest has no file.{f}"));
        assert!(
            ["bulk", "delta", "absent"].contains(&mode.as_str()),
            "file.{f} = {mode}"
        );
        let in_zip = present.contains(&format!("{f}.csv"));
        assert_eq!(mode != "absent", in_zip, "file.{f} = {mode}, in the zip: {in_zip}");
        if in_zip {
            assert_eq!(mode, "bulk");
        }
    }
    for key in props.keys() {
        assert!(
            ["manifest.version", "oneroster.version"].contains(&key.as_str())
                || key.starts_with("source.")
                || OR_FILES.iter().any(|f| *key == format!("file.{f}")),
            "unknown manifest property {key}"
        );
    }

    let load = |f: &str| Table::load(&dir, f);
    let orgs = load("orgs.csv");
    let sessions = load("academicSessions.csv");
    let users = load("users.csv");
    let courses = load("courses.csv");
    let classes = load("classes.csv");
    let enrollments = load("enrollments.csv");
    let tables = [
        ("orgs.csv", &orgs),
        ("academicSessions.csv", &sessions),
        ("users.csv", &users),
        ("courses.csv", &courses),
        ("classes.csv", &classes),
        ("enrollments.csv", &enrollments),
    ];

    // Common rules: unique sourcedIds, required values, bulk status fields.
    for (file, t) in &tables {
        assert_eq!(t.ids().len(), t.rows.len(), "{file}: sourcedIds are unique");
        let required = OR_REQUIRED.iter().find(|(f, _)| f == file).unwrap().1;
        for r in &t.rows {
            for c in required {
                assert!(!r[*c].is_empty(), "{file} {}: required {c} is empty", r["sourcedId"]);
            }
            assert!(
                r["dateLastModified"].is_empty(),
                "{file}: bulk files leave dateLastModified empty"
            );
        }
        t.enumeration(file, "status", &["active", "tobedeleted"], true);
    }

    // Enumerations.
    orgs.enumeration(
        "orgs.csv",
        "type",
        &["department", "school", "district", "local", "state", "national"],
        false,
    );
    sessions.enumeration(
        "academicSessions.csv",
        "type",
        &["gradingPeriod", "semester", "schoolYear", "term"],
        false,
    );
    users.enumeration("users.csv", "enabledUser", &["true", "false"], false);
    users.enumeration(
        "users.csv",
        "role",
        &[
            "administrator",
            "aide",
            "guardian",
            "parent",
            "proctor",
            "relative",
            "student",
            "teacher",
        ],
        false,
    );
    classes.enumeration("classes.csv", "classType", &["homeroom", "scheduled"], false);
    enrollments.enumeration(
        "enrollments.csv",
        "role",
        &["administrator", "proctor", "student", "teacher"],
        false,
    );
    enrollments.enumeration("enrollments.csv", "primary", &["true", "false"], true);
    for (file, t) in [
        ("users.csv", &users),
        ("courses.csv", &courses),
        ("classes.csv", &classes),
    ] {
        for r in &t.rows {
            if !r["grades"].is_empty() {
                for g in r["grades"].split(',') {
                    assert!(GRADES.contains(&g), "{file} {}: grade {g:?}", r["sourcedId"]);
                }
            }
        }
    }

    // Dates and years.
    for r in &sessions.rows {
        assert!(is_date(&r["startDate"]) && is_date(&r["endDate"]), "{r:?}");
        assert!(r["startDate"] <= r["endDate"], "{r:?}");
        assert!(
            r["schoolYear"].len() == 4 && r["schoolYear"].parse::<u32>().is_ok(),
            "{r:?}"
        );
    }
    for r in &enrollments.rows {
        for c in ["beginDate", "endDate"] {
            assert!(r[c].is_empty() || is_date(&r[c]), "{r:?}");
        }
    }

    // References between files.
    let org_ids = orgs.ids();
    let school_ids: HashSet<String> = orgs
        .rows
        .iter()
        .filter(|r| r["type"] == "school")
        .map(|r| r["sourcedId"].clone())
        .collect();
    let session_ids = sessions.ids();
    let user_ids = users.ids();
    let course_ids = courses.ids();
    let class_ids = classes.ids();
    orgs.references("orgs.csv", "parentSourcedId", &org_ids, "orgs.csv");
    sessions.references(
        "academicSessions.csv",
        "parentSourcedId",
        &session_ids,
        "academicSessions.csv",
    );
    users.references("users.csv", "orgSourcedIds", &org_ids, "orgs.csv");
    users.references("users.csv", "agentSourcedIds", &user_ids, "users.csv");
    courses.references("courses.csv", "orgSourcedId", &org_ids, "orgs.csv");
    courses.references(
        "courses.csv",
        "schoolYearSourcedId",
        &session_ids,
        "academicSessions.csv",
    );
    classes.references("classes.csv", "courseSourcedId", &course_ids, "courses.csv");
    classes.references("classes.csv", "schoolSourcedId", &school_ids, "orgs.csv (schools)");
    classes.references("classes.csv", "termSourcedIds", &session_ids, "academicSessions.csv");
    enrollments.references("enrollments.csv", "classSourcedId", &class_ids, "classes.csv");
    enrollments.references("enrollments.csv", "userSourcedId", &user_ids, "users.csv");
    enrollments.references("enrollments.csv", "schoolSourcedId", &school_ids, "orgs.csv (schools)");
    for r in &courses.rows {
        assert!(!r["orgSourcedId"].contains(','), "a course has one org");
    }
    // An enrolment's school is its class's school, and its role the user's.
    let class_school: HashMap<&String, &String> = classes
        .rows
        .iter()
        .map(|r| (&r["sourcedId"], &r["schoolSourcedId"]))
        .collect();
    let user_role: HashMap<&String, &String> = users.rows.iter().map(|r| (&r["sourcedId"], &r["role"])).collect();
    let mut primaries: HashMap<&String, usize> = HashMap::new();
    for r in &enrollments.rows {
        assert_eq!(class_school[&r["classSourcedId"]], &r["schoolSourcedId"], "{r:?}");
        assert_eq!(user_role[&r["userSourcedId"]], &r["role"], "{r:?}");
        if r["primary"] == "true" {
            assert_eq!(r["role"], "teacher", "only teachers are primary");
            *primaries.entry(&r["classSourcedId"]).or_default() += 1;
        }
    }
    assert!(primaries.values().all(|n| *n == 1), "one primary teacher per class");

    // The content is the demo district's active year.
    let year = active_year(&p);
    let today = today();
    let n = |sql: String| count(&p, &sql);
    assert_eq!(
        orgs.rows.len(),
        1 + n("SELECT COUNT(*) FROM school".into()),
        "the district and every school"
    );
    assert_eq!(orgs.rows.iter().filter(|r| r["type"] == "district").count(), 1);
    let year_session = &sessions.rows.iter().find(|r| r["type"] == "schoolYear").unwrap();
    assert_eq!(year_session["schoolYear"], year.to_string());
    assert_eq!(
        format!("{}|{}", year_session["startDate"], year_session["endDate"]),
        sqlite_column(
            &db(&p),
            &format!("SELECT start_date || '|' || end_date FROM school_year WHERE end_year = {year}")
        )[0]
    );
    let students: Vec<_> = users.rows.iter().filter(|r| r["role"] == "student").collect();
    let teachers: Vec<_> = users.rows.iter().filter(|r| r["role"] == "teacher").collect();
    assert_eq!(
        students.len(),
        n(format!(
            "SELECT COUNT(DISTINCT person_id) FROM enrollment WHERE end_year = {year}"
        ))
    );
    assert_eq!(
        teachers.len(),
        n(format!(
            "SELECT COUNT(DISTINCT s.staff_id) FROM section s JOIN course c USING (course_id) WHERE c.end_year = {year}"
        ))
    );
    assert_eq!(
        classes.rows.len(),
        n(format!(
            "SELECT COUNT(*) FROM section s JOIN course c USING (course_id) WHERE c.end_year = {year}"
        ))
    );
    assert_eq!(
        courses.rows.len(),
        n(format!("SELECT COUNT(*) FROM course WHERE end_year = {year}"))
    );
    // sourcedIds are the demo's ids with a prefix, and names are the database's.
    let names = db_map(
        &p,
        "SELECT 'stu-' || person_id || '|' || first_name || ' ' || last_name FROM student",
    );
    for s in &students {
        assert_eq!(
            format!("{} {}", s["givenName"], s["familyName"]),
            names[&s["sourcedId"]],
            "{s:?}"
        );
    }
    // A student is enabled while one of their enrolments is still open.
    let enabled: HashSet<String> = sqlite_column(
        &db(&p),
        &format!(
            "SELECT DISTINCT 'stu-' || person_id FROM enrollment WHERE end_year = {year} \
             AND (end_date IS NULL OR end_date >= '{today}')"
        ),
    )
    .into_iter()
    .collect();
    for s in &students {
        assert_eq!(s["enabledUser"] == "true", enabled.contains(&s["sourcedId"]), "{s:?}");
    }
    // (Whether any student is disabled depends on today's date against the
    // demo's withdrawal dates, so the count is not fixed; the rule is.)
    // Student enrolments: the roster places of this year not yet ended.
    let placements = n(format!(
        "SELECT COUNT(*) FROM (SELECT r.section_id, r.person_id FROM roster r \
         JOIN section s USING (section_id) JOIN course c USING (course_id) WHERE c.end_year = {year} \
         GROUP BY r.section_id, r.person_id \
         HAVING COUNT(r.end_date) < COUNT(*) OR MAX(r.end_date) >= '{today}')"
    ));
    assert_eq!(
        enrollments.rows.iter().filter(|r| r["role"] == "student").count(),
        placements
    );
    assert_eq!(
        enrollments.rows.iter().filter(|r| r["role"] == "teacher").count(),
        n(format!(
            "SELECT COUNT(*) FROM section s JOIN course c USING (course_id) \
             WHERE c.end_year = {year} AND s.staff_id IS NOT NULL"
        )),
        "each class with a teacher has its teacher's enrolment"
    );
    // No SSN, birth date or address reaches the vendor.
    let ssns: HashSet<String> = sqlite_column(&db(&p), "SELECT ssn FROM student").into_iter().collect();
    for (file, t) in &tables {
        for v in t.rows.iter().flat_map(|r| r.values()) {
            assert!(!ssns.contains(v), "{file}: an SSN");
        }
    }

    // A second run gives the same files byte for byte (stable ids and order).
    let first: Vec<Vec<u8>> = entries.iter().map(|e| std::fs::read(dir.join(e)).unwrap()).collect();
    run(&p, "oneroster", &[]);
    let again = p.path("again");
    assert_eq!(unzip(&p.path("out/oneroster.zip"), &again), entries);
    for (e, bytes) in entries.iter().zip(&first) {
        assert_eq!(&std::fs::read(again.join(e)).unwrap(), bytes, "{e}");
    }
}

// ---------------------------------------------------------------------------
// stdlib modules

/// A script that calls the stdlib helpers and writes what each returned.
const STDLIB_CHECK: &str = r#"
import "dates" as dates;
import "names" as names;
import "oneroster" as oneroster;

// `out.add(...)`: `this` is the array itself, so the pushes stay.
fn add(check, got) { this.push(#{ check: check, got: `${got}` }); }
let out = [];

out.add("us", dates::us("2026-08-15"));
out.add("us timestamp", dates::us("2027-01-04 07:30:00"));
out.add("us empty", dates::us(()));
out.add("compact", dates::compact("2026-08-05"));
out.add("from_us", dates::from_us("8/5/2026"));
out.add("from_us padded", dates::from_us("12/31/1999"));
out.add("label", dates::school_year_label(2027));
out.add("label 2000", dates::school_year_label(2000));
out.add("label text", dates::school_year_label("2010"));
out.add("year of june", dates::school_year_of("2027-06-30"));
out.add("year of july", dates::school_year_of("2026-07-01"));
out.add("age before birthday", dates::age_on("2010-09-01", "2026-08-31"));
out.add("age on birthday", dates::age_on("2010-09-01", "2026-09-01"));
out.add("age leap common", dates::age_on("2008-02-29", "2026-02-28"));
out.add("age leap march", dates::age_on("2008-02-29", "2026-03-01"));
out.add("age empty", dates::age_on((), "2026-03-01"));
out.add("leap 2000", dates::is_leap(2000));
out.add("leap 1900", dates::is_leap(1900));
out.add("days feb 2028", dates::days_in_month(2028, 2));
out.add("days feb 2027", dates::days_in_month(2027, 2));
out.add("days apr", dates::days_in_month(2027, 4));

out.add("display", names::display("O'Brien", "Zoë", "Marie"));
out.add("display no middle", names::display("Smith, Jr.", "Al", ()));
out.add("login", names::login("Lucía", "Šimić"));
out.add("login apostrophe", names::login("Henry", "L'Heureux"));
out.add("ascii", names::ascii("José Müller-Weiß"));
out.add("ascii vietnamese", names::ascii("Nguyễn Thảo"));
out.add("ascii upper", names::ascii("ÆSA ØRE İ"));
out.add("ascii other", names::ascii("日本"));

out.add("grade K", oneroster::grade("K"));
out.add("grade 0", oneroster::grade(0));
out.add("grade 7", oneroster::grade(7));
out.add("grade 12", oneroster::grade(" 12 "));
out.add("grade pk", oneroster::grade("pk"));
out.add("grade empty", oneroster::grade(()));
out.add("users columns", oneroster::columns("users").len());
out.add("select", oneroster::select("orgs", #{ sourcedId: "'sch-' || id", name: "n", type: "'school'" }));

// Per-row use, as templates do it: inside a rows.map closure.
let rows = query("live", "SELECT '2026-01-02' AS d, 'K' AS g").map(|r| #{
    check: "in a closure", got: `${dates::us(r.d)} ${oneroster::grade(r.g)}`
});
out += rows.to_array();

deliver(csv(out, #{ name: "stdlib", columns: ["check", "got"] }), "out");
"#;

#[test]
fn stdlib_modules_do_what_their_comments_say() {
    let p = Project::from_repo();
    p.script("stdlib_check", STDLIB_CHECK);
    p.ferry(&["run", "stdlib_check"]).ok();
    let rows = python_csv(&p.path("out/stdlib.csv"), ',', "utf-8");
    let got: Vec<(String, String)> = rows.into_iter().skip(1).map(|r| (r[0].clone(), r[1].clone())).collect();
    let select = "SELECT 'sch-' || id AS \"sourcedId\",\n       NULL AS \"status\",\n       \
                  NULL AS \"dateLastModified\",\n       n AS \"name\",\n       'school' AS \"type\",\n       \
                  NULL AS \"identifier\",\n       NULL AS \"parentSourcedId\"";
    let want = [
        ("us", "08/15/2026"),
        ("us timestamp", "01/04/2027"),
        ("us empty", ""),
        ("compact", "20260805"),
        ("from_us", "2026-08-05"),
        ("from_us padded", "1999-12-31"),
        ("label", "2026-27"),
        ("label 2000", "1999-00"),
        ("label text", "2009-10"),
        ("year of june", "2027"),
        ("year of july", "2027"),
        ("age before birthday", "15"),
        ("age on birthday", "16"),
        ("age leap common", "17"),
        ("age leap march", "18"),
        ("age empty", ""),
        ("leap 2000", "true"),
        ("leap 1900", "false"),
        ("days feb 2028", "29"),
        ("days feb 2027", "28"),
        ("days apr", "30"),
        ("display", "O'Brien, Zoë M."),
        ("display no middle", "Smith, Jr., Al"),
        ("login", "lsimic"),
        ("login apostrophe", "hlheureux"),
        ("ascii", "Jose Muller-Weiss"),
        ("ascii vietnamese", "Nguyen Thao"),
        ("ascii upper", "AESA ORE I"),
        ("ascii other", "日本"),
        ("grade K", "KG"),
        ("grade 0", "KG"),
        ("grade 7", "07"),
        ("grade 12", "12"),
        ("grade pk", "PK"),
        ("grade empty", ""),
        ("users columns", "18"),
        ("select", select),
        ("in a closure", "01/02/2026 KG"),
    ];
    let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn stdlib_helpers_refuse_bad_input_naming_it() {
    let p = Project::from_repo();
    let cases = [
        (
            r#"import "dates" as d; d::us("2026-02-30");"#,
            "not a date: '2026-02-30'",
        ),
        (
            r#"import "dates" as d; d::us("08/15/2026");"#,
            "not a date (expected YYYY-MM-DD): '08/15/2026'",
        ),
        (
            r#"import "dates" as d; d::from_us("8/5/26");"#,
            "not a US date (expected MM/DD/YYYY): '8/5/26'",
        ),
        (
            r#"import "dates" as d; d::age_on("2010-13-01", "2026-01-01");"#,
            "not a date: '2010-13-01'",
        ),
        (
            r#"import "oneroster" as o; o::select("users", #{ givenname: "first_name" });"#,
            "oneroster::select(\"users\"): 'givenname' is not a column of users.csv",
        ),
        (
            r#"import "oneroster" as o; o::select("orgs", #{ sourcedId: "id", name: "n" });"#,
            "oneroster::select(\"orgs\"): the required column type has no value",
        ),
        (
            r#"import "oneroster" as o; o::grade("14");"#,
            "oneroster::grade: '14' is not a grade level",
        ),
        (
            r#"import "oneroster" as o; o::grade("Grade 3");"#,
            "oneroster::grade: 'Grade 3' is not a grade level",
        ),
        (
            r#"import "oneroster" as o; o::columns("lineItems");"#,
            "describes the rostering files only",
        ),
        (
            r#"import "oneroster" as o; o::columns("students");"#,
            "no file 'students' in OneRoster 1.1",
        ),
    ];
    for (source, want) in cases {
        p.script("bad", source);
        let out = p.ferry(&["run", "bad"]);
        assert_ne!(out.code, 0, "{source}");
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(text.contains(want), "{source}: {text}");
    }
}

#[test]
fn oneroster_manifest_marks_written_files_bulk_and_others_absent() {
    let p = Project::from_repo();
    p.script(
        "orgs_only",
        r#"import "oneroster" as oneroster;
let orgs = oneroster::write(query("live", oneroster::select("orgs", #{
    sourcedId: "'sch-' || school_id", name: "name", type: "'school'" }) + " FROM school"), "orgs");
deliver(oneroster::manifest([orgs]), "out");
deliver(orgs, "out");
// An empty file is refused: the binding does not allow one.
oneroster::write(query("live", oneroster::select("orgs", #{
    sourcedId: "'x'", name: "name", type: "'school'" }) + " FROM school WHERE 0 = 1"), "users");
"#,
    );
    let out = p.ferry(&["run", "orgs_only"]);
    assert_ne!(out.code, 0);
    assert!(
        format!("{}{}", out.stdout, out.stderr).contains("the result is empty"),
        "{out:?}"
    );
    // The run failed at the last line, so nothing was delivered; run the
    // first part alone.
    let source = std::fs::read_to_string(p.path("scripts/orgs_only.rhai")).unwrap();
    let first = &source[..source.find("// An empty file").unwrap()];
    p.script("orgs_only", first);
    p.ferry(&["run", "orgs_only"]).ok();
    let manifest = python_csv(&p.path("out/manifest.csv"), ',', "utf-8");
    let mut want = vec![
        strs(&["propertyName", "value"]),
        strs(&["manifest.version", "1.0"]),
        strs(&["oneroster.version", "1.1"]),
    ];
    for f in OR_FILES {
        want.push(vec![
            format!("file.{f}"),
            if *f == "orgs" { "bulk" } else { "absent" }.to_string(),
        ]);
    }
    want.push(strs(&["source.systemName", "ferry"]));
    assert_eq!(manifest, want);
    let (header, rows) = read(&p.path("out/orgs.csv"));
    assert_eq!(header, strs(OR_HEADERS[1].1));
    assert_eq!(rows.len(), count(&p, "SELECT COUNT(*) FROM school"));
}
