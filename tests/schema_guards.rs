//! Schema guards on the shipped templates: each template's bundle passes its
//! schema as shipped, and a copy corrupted in one way at a time (a dropped
//! required value, an unknown enumeration value, a bad date, a repeated key,
//! a reference to a row that is not in the other file, a reordered header)
//! is held, naming exactly that breach: file, column, rule, data row and
//! value. Row numbers are found independently by reading the kept file back
//! with Python's csv module.

use crate::harness::{python_csv, Project};

/// The lines after "held, not sent: " in `ferry run`'s output.
fn holds(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("held, not sent: ").map(str::to_string))
        .collect()
}

/// The run number in "run N NAME: ...".
fn run_number(stdout: &str) -> u64 {
    let line = stdout.lines().find(|l| l.starts_with("run ")).expect(stdout);
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A file a run kept, read back: header and rows.
fn kept(p: &Project, run: u64, file: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut rows = python_csv(&p.path(&format!(".ferry/work/run-{run}/{file}")), ',', "utf-8");
    let header = rows.remove(0);
    (header, rows)
}

/// The 1-based data rows whose `column` is `value`.
fn rows_where(p: &Project, run: u64, file: &str, column: &str, value: &str) -> Vec<usize> {
    let (header, rows) = kept(p, run, file);
    let i = header.iter().position(|h| h == column).unwrap();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r[i] == value)
        .map(|(n, _)| n + 1)
        .collect()
}

/// The value of `column` in every row of a kept file.
fn column(p: &Project, run: u64, file: &str, name: &str) -> Vec<String> {
    let (header, rows) = kept(p, run, file);
    let i = header.iter().position(|h| h == name).unwrap();
    rows.into_iter().map(|r| r[i].clone()).collect()
}

/// Runs a script and returns (stdout, run number).
fn run(p: &Project, script: &str) -> (String, u64, i32) {
    let out = p.ferry(&["run", script]);
    (out.stdout.clone(), run_number(&out.stdout), out.code)
}

/// Writes `scripts/NAME.rhai`: the template with `from` replaced by `to`.
fn corrupt(p: &Project, template: &str, name: &str, from: &str, to: &str) {
    let source = std::fs::read_to_string(p.path(&format!("scripts/templates/{template}.rhai"))).unwrap();
    assert_eq!(source.matches(from).count(), 1, "{template}: '{from}' must occur once");
    std::fs::write(p.path(&format!("scripts/{name}.rhai")), source.replace(from, to)).unwrap();
}

/// Runs the corrupted script: it must be held with exactly one breach, in
/// `file`; returns the breach and the run.
fn held_once(p: &Project, name: &str, file: &str) -> (String, u64) {
    let (out, n, code) = run(p, name);
    assert_eq!(code, 1, "{name} must be held: {out}");
    let held = holds(&out);
    assert_eq!(held.len(), 1, "{name}: one held file: {out}");
    let prefix = format!("{file} to 'out': ");
    let why = held[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{name}: {}", held[0]));
    assert!(!why.contains("; "), "{name}: exactly one breach: {why}");
    (why.to_string(), n)
}

/// `YYYY-MM-DD` as `MM/DD/YYYY`.
fn us_date(iso: &str) -> String {
    format!("{}/{}/{}", &iso[5..7], &iso[8..10], &iso[..4])
}

/// The breaches every OneRoster version shares: the courses, classes,
/// enrollments and academicSessions queries are the same in both templates.
fn oneroster_common(p: &Project, template: &str, clean: u64, zip: &str) {
    // An unknown classType on one class.
    let first_class = column(p, clean, "classes.csv", "sourcedId")[0].clone();
    let section = first_class.strip_prefix("cls-").unwrap();
    corrupt(
        p,
        template,
        "bad_enum",
        r#"classType:       "'scheduled'","#,
        &format!(r#"classType: "CASE WHEN sec.section_id = {section} THEN 'lab' ELSE 'scheduled' END","#),
    );
    let (why, n) = held_once(p, "bad_enum", zip);
    let r = rows_where(p, n, "classes.csv", "sourcedId", &first_class)[0];
    assert_eq!(
        why,
        format!("classes.csv column classType breaks enum [homeroom, scheduled]: 1 row(s), data row {r} 'lab'")
    );

    // The second semester's start date written the US way.
    let ids = column(p, clean, "academicSessions.csv", "sourcedId");
    let starts = column(p, clean, "academicSessions.csv", "startDate");
    let k = ids.iter().position(|i| i.ends_with("-s2")).expect("a second semester");
    corrupt(
        p,
        template,
        "bad_date",
        r#"startDate:       "t.start_date","#,
        r#"startDate: "CASE WHEN t.term = 'S2' THEN strftime('%m/%d/%Y', t.start_date) ELSE t.start_date END","#,
    );
    let (why, n) = held_once(p, "bad_date", zip);
    let r = rows_where(p, n, "academicSessions.csv", "sourcedId", &ids[k])[0];
    assert_eq!(
        why,
        format!(
            "academicSessions.csv column startDate breaks type date, format YYYY-MM-DD: 1 row(s), data row {r} '{}'",
            us_date(&starts[k])
        )
    );

    // One teacher enrolment given another one's sourcedId.
    let enr = column(p, clean, "enrollments.csv", "sourcedId");
    let teachers: Vec<&String> = enr.iter().filter(|e| e.contains("-t")).collect();
    let (first, second) = (teachers[0].clone(), teachers[1].clone());
    let second_section = second.strip_prefix("enr-").unwrap().split('-').next().unwrap();
    corrupt(
        p,
        template,
        "duplicate",
        r#"sourcedId:       "'enr-' || sec.section_id || '-t' || sec.staff_id","#,
        &format!(
            r#"sourcedId: "CASE WHEN sec.section_id = {second_section} THEN '{first}' ELSE 'enr-' || sec.section_id || '-t' || sec.staff_id END","#
        ),
    );
    let (why, n) = held_once(p, "duplicate", zip);
    let r = rows_where(p, n, "enrollments.csv", "sourcedId", &first);
    assert_eq!(r.len(), 2, "{r:?}");
    assert_eq!(
        why,
        format!(
            "enrollments.csv column sourcedId breaks primaryKey sourcedId (a repeated key): 1 row(s), data row {} '{first}' (as data row {})",
            r[1], r[0]
        )
    );

    // A teacher enrolment in a class that is not in classes.csv.
    corrupt(
        p,
        template,
        "dangling",
        r#"classSourcedId:  "'cls-' || sec.section_id","#,
        &format!(
            r#"classSourcedId: "CASE WHEN sec.section_id = {section} THEN 'cls-0' ELSE 'cls-' || sec.section_id END","#
        ),
    );
    let (why, n) = held_once(p, "dangling", zip);
    let r = rows_where(p, n, "enrollments.csv", "classSourcedId", "cls-0")[0];
    assert_eq!(
        why,
        format!(
            "enrollments.csv column classSourcedId breaks foreignKey classSourcedId -> classes.csv sourcedId (no such row there): 1 row(s), data row {r} 'cls-0'"
        )
    );
}

/// Swaps two adjacent names in a stdlib module's column list: the files the
/// template writes come out with a reordered header.
fn reorder_stdlib(p: &Project, module: &str, from: &str, to: &str) -> String {
    let path = p.path(&format!("stdlib/{module}.rhai"));
    let original = std::fs::read_to_string(&path).unwrap();
    assert_eq!(original.matches(from).count(), 1, "{module}: '{from}'");
    std::fs::write(&path, original.replace(from, to)).unwrap();
    original
}

#[test]
fn oneroster_1_1_bundle_passes_its_schema_and_each_corruption_is_held_naming_it() {
    let p = Project::from_repo();
    let (out, clean, code) = run(&p, "scripts/templates/oneroster.rhai");
    assert_eq!(code, 0, "{out}");
    let log = p.ferry(&["history", "--run", &clean.to_string()]).ok().to_string();
    assert!(log.contains("oneroster.zip passed its guards"), "{log}");

    // A student without a givenName.
    let student = column(&p, clean, "users.csv", "sourcedId")[0].clone();
    let id = student.strip_prefix("stu-").unwrap();
    corrupt(
        &p,
        "oneroster",
        "no_name",
        r#"givenName:       "s.first_name","#,
        &format!(r#"givenName: "CASE WHEN s.person_id = {id} THEN NULL ELSE s.first_name END","#),
    );
    let (why, n) = held_once(&p, "no_name", "oneroster.zip");
    let r = rows_where(&p, n, "users.csv", "sourcedId", &student)[0];
    assert_eq!(
        why,
        format!("users.csv column givenName breaks required (an empty value): 1 row(s), data row {r} ''")
    );

    oneroster_common(&p, "oneroster", clean, "oneroster.zip");

    let original = reorder_stdlib(
        &p,
        "oneroster",
        r#""givenName", "familyName", "middleName""#,
        r#""familyName", "givenName", "middleName""#,
    );
    let (why, _) = held_once(&p, "scripts/templates/oneroster.rhai", "oneroster.zip");
    assert!(
        why.starts_with("users.csv: header breaks the schema's exact column order: column 9 is 'familyName', the schema has 'givenName' there"),
        "{why}"
    );
    assert!(
        why.ends_with("(schema oneroster-1.1), so its rows were not checked"),
        "{why}"
    );
    std::fs::write(p.path("stdlib/oneroster.rhai"), original).unwrap();
}

#[test]
fn oneroster_1_2_bundle_passes_its_schema_and_each_corruption_is_held_naming_it() {
    let p = Project::from_repo();
    let (out, clean, code) = run(&p, "scripts/templates/oneroster_1_2.rhai");
    assert_eq!(code, 0, "{out}");
    let log = p.ferry(&["history", "--run", &clean.to_string()]).ok().to_string();
    assert!(log.contains("oneroster.zip passed its guards"), "{log}");
    let (_, manifest) = kept(&p, clean, "manifest.csv");
    assert!(manifest.contains(&vec!["oneroster.version".to_string(), "1.2".to_string()]));

    // A student role that OneRoster 1.2 does not know.
    let role = column(&p, clean, "roles.csv", "sourcedId")
        .into_iter()
        .find(|s| s.starts_with("rol-stu-"))
        .unwrap();
    let person = role
        .strip_prefix("rol-stu-")
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    corrupt(
        &p,
        "oneroster_1_2",
        "no_name",
        r#"role:                 "'student'","#,
        &format!(r#"role: "CASE WHEN p.person_id = {person} THEN 'pupil' ELSE 'student' END","#),
    );
    let (why, n) = held_once(&p, "no_name", "oneroster.zip");
    let r = rows_where(&p, n, "roles.csv", "sourcedId", &role)[0];
    assert!(
        why.starts_with("roles.csv column role breaks enum [aide, counselor, districtAdministrator,"),
        "{why}"
    );
    assert!(why.ends_with(&format!(": 1 row(s), data row {r} 'pupil'")), "{why}");

    // A user without a familyName.
    corrupt(
        &p,
        "oneroster_1_2",
        "required",
        r#"familyName:          "s.last_name","#,
        &format!(r#"familyName: "CASE WHEN s.person_id = {person} THEN '' ELSE s.last_name END","#),
    );
    let (why, n) = held_once(&p, "required", "oneroster.zip");
    let r = rows_where(&p, n, "users.csv", "sourcedId", &format!("stu-{person}"))[0];
    assert_eq!(
        why,
        format!("users.csv column familyName breaks required (an empty value): 1 row(s), data row {r} ''")
    );

    // A role pointing at a user profile that userProfiles.csv does not have.
    corrupt(
        &p,
        "oneroster_1_2",
        "no_profile",
        r#"userProfileSourcedId: "'prf-stu-' || p.person_id""#,
        &format!(
            r#"userProfileSourcedId: "CASE WHEN p.person_id = {person} THEN 'prf-none' ELSE 'prf-stu-' || p.person_id END""#
        ),
    );
    let (why, n) = held_once(&p, "no_profile", "oneroster.zip");
    let r = rows_where(&p, n, "roles.csv", "userProfileSourcedId", "prf-none")[0];
    assert_eq!(
        why,
        format!(
            "roles.csv column userProfileSourcedId breaks foreignKey userProfileSourcedId -> userProfiles.csv sourcedId (no such row there): 1 row(s), data row {r} 'prf-none'"
        )
    );

    oneroster_common(&p, "oneroster_1_2", clean, "oneroster.zip");

    reorder_stdlib(
        &p,
        "oneroster12",
        r#""dateLastModified", "userSourcedId", "roleType","#,
        r#""dateLastModified", "roleType", "userSourcedId","#,
    );
    let (why, _) = held_once(&p, "scripts/templates/oneroster_1_2.rhai", "oneroster.zip");
    assert!(
        why.starts_with("roles.csv: header breaks the schema's exact column order: column 4 is 'roleType', the schema has 'userSourcedId' there"),
        "{why}"
    );
}

#[test]
fn clever_files_pass_their_schema_and_each_corruption_holds_that_file_naming_it() {
    let p = Project::from_repo();
    let (out, clean, code) = run(&p, "scripts/templates/clever.rhai");
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        p.files("out"),
        [
            "admins.csv",
            "enrollments.csv",
            "schools.csv",
            "sections.csv",
            "students.csv",
            "teachers.csv"
        ]
    );
    let log = p.ferry(&["history", "--run", &clean.to_string()]).ok().to_string();
    for f in ["schools", "students", "teachers", "sections", "enrollments", "admins"] {
        assert!(log.contains(&format!("{f}.csv passed its guards")), "{f}: {log}");
    }
    let student = column(&p, clean, "students.csv", "Student_id")[0].clone();

    // A student without a first name.
    corrupt(
        &p,
        "clever",
        "no_name",
        r#"s.first_name AS "First_name""#,
        &format!(r#"CASE WHEN s.person_id = {student} THEN NULL ELSE s.first_name END AS "First_name""#),
    );
    let (why, n) = held_once(&p, "no_name", "students.csv");
    let r = rows_where(&p, n, "students.csv", "Student_id", &student)[0];
    assert_eq!(
        why,
        format!("students.csv column First_name breaks required (an empty value): 1 row(s), data row {r} ''")
    );

    // A grade Clever does not know.
    corrupt(
        &p,
        "clever",
        "bad_grade",
        r#"${grade("e.grade")} AS "Grade""#,
        &format!(r#"CASE WHEN s.person_id = {student} THEN 'Grade 5' ELSE ${{grade("e.grade")}} END AS "Grade""#),
    );
    let (why, n) = held_once(&p, "bad_grade", "students.csv");
    let r = rows_where(&p, n, "students.csv", "Student_id", &student)[0];
    assert!(
        why.starts_with("students.csv column Grade breaks enum [InfantToddler, Preschool,"),
        "{why}"
    );
    assert!(why.ends_with(&format!(": 1 row(s), data row {r} 'Grade 5'")), "{why}");

    // One section's start date in ISO form, not MM/DD/YYYY.
    let section = column(&p, clean, "sections.csv", "Section_id")[0].clone();
    let start = column(&p, clean, "sections.csv", "Term_start")[0].clone();
    corrupt(
        &p,
        "clever",
        "bad_date",
        r#"${us("COALESCE(t.start_date, y.start_date)")} AS "Term_start""#,
        &format!(
            r#"CASE WHEN sec.section_id = {section} THEN COALESCE(t.start_date, y.start_date) ELSE ${{us("COALESCE(t.start_date, y.start_date)")}} END AS "Term_start""#
        ),
    );
    let (why, n) = held_once(&p, "bad_date", "sections.csv");
    let r = rows_where(&p, n, "sections.csv", "Section_id", &section)[0];
    let iso = format!("{}-{}-{}", &start[6..10], &start[0..2], &start[3..5]);
    assert_eq!(
        why,
        format!("sections.csv column Term_start breaks type date, format %m/%d/%Y: 1 row(s), data row {r} '{iso}'")
    );

    // Two students of one section: the second enrolled as the first twice.
    let (_, rows) = kept(&p, clean, "enrollments.csv");
    let x = rows[0][1].clone();
    let (a, b) = (rows[0][2].clone(), rows[1][2].clone());
    assert_eq!(rows[1][1], x, "two students in the first section");
    corrupt(
        &p,
        "clever",
        "duplicate",
        r#"r.person_id AS "Student_id""#,
        &format!(r#"CASE WHEN r.section_id = {x} AND r.person_id = {b} THEN {a} ELSE r.person_id END AS "Student_id""#),
    );
    let (why, n) = held_once(&p, "duplicate", "enrollments.csv");
    let r = rows_where(&p, n, "enrollments.csv", "Student_id", &a);
    assert_eq!(
        why,
        format!("enrollments.csv breaks primaryKey Section_id, Student_id (a repeated key): 1 row(s), data row {} '{x}, {a}'", r[1])
    );

    // An enrolment in a section that sections.csv does not have.
    corrupt(
        &p,
        "clever",
        "dangling",
        r#"r.section_id AS "Section_id""#,
        &format!(
            r#"CASE WHEN r.section_id = {x} AND r.person_id = {a} THEN 999999 ELSE r.section_id END AS "Section_id""#
        ),
    );
    let (why, n) = held_once(&p, "dangling", "enrollments.csv");
    let r = rows_where(&p, n, "enrollments.csv", "Section_id", "999999")[0];
    assert_eq!(
        why,
        format!("enrollments.csv column Section_id breaks foreignKey Section_id -> sections.csv Section_id (no such row there): 1 row(s), data row {r} '999999'")
    );

    // teachers.csv with Last_name before First_name.
    corrupt(
        &p,
        "clever",
        "reordered",
        r#"st.first_name AS "First_name", st.last_name AS "Last_name""#,
        r#"st.last_name AS "Last_name", st.first_name AS "First_name""#,
    );
    // teachers.csv is held for its header, and sections.csv with it: its
    // Teacher_id references cannot be checked against that file.
    let (out, _, code) = run(&p, "reordered");
    assert_eq!(code, 1, "{out}");
    let problem = "teachers.csv: header breaks the schema's exact column order: column 5 is 'Last_name', the schema has 'First_name' there";
    let held = holds(&out);
    assert_eq!(held.len(), 1, "{out}");
    let parts: Vec<&str> = held[0].split("; ").collect();
    assert_eq!(parts.len(), 2, "{out}");
    for (line, file) in parts.iter().zip(["teachers.csv", "sections.csv"]) {
        assert!(line.starts_with(&format!("{file} to 'out': {problem}")), "{line}");
        assert!(line.ends_with("so its rows were not checked"), "{line}");
    }
    assert!(p.path("out/schools.csv").exists());
}

/// A schema name with no schema behind it fails the run naming the folder
/// and the schemas there; a file the schema does not describe is held.
#[test]
fn unknown_schemas_and_files_are_named() {
    let p = Project::from_repo();
    p.script(
        "nope",
        "//! [guards]\n//! schema = \"oneroster-9\"\ndeliver(csv([#{ a: 1 }], #{ name: \"users\" }), \"out\");\n",
    );
    let out = p.ferry(&["run", "nope"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("guards: schema 'oneroster-9': ")
            && text.contains("schemas/oneroster-9/datapackage.json cannot be read"),
        "{text}"
    );
    assert!(text.contains("clever, oneroster-1.1, oneroster-1.2"), "{text}");
    assert!(p.files("out").is_empty());
    p.script(
        "other",
        "//! [guards]\n//! schema = \"clever\"\ndeliver(csv([#{ a: 1 }], #{ name: \"roster\" }), \"out\");\n",
    );
    let (why, _) = held_once(&p, "other", "roster.csv");
    assert_eq!(
        why,
        "roster.csv is not a file of schema clever (it describes schools.csv, students.csv, teachers.csv, sections.csv, enrollments.csv, admins.csv): name the file like one of them"
    );
}

/// The `nth` block fenced as `kind` after `after` in docs/safety.md.
fn safety_doc(after: &str, kind: &str, nth: usize) -> String {
    let doc = std::fs::read_to_string(crate::harness::repo().join("docs/safety.md")).unwrap();
    let mut section = &doc[doc.find(after).expect(after)..];
    let fence = format!("```{kind}\n");
    for _ in 0..nth {
        section = &section[section.find(&fence).unwrap() + fence.len()..];
    }
    let start = section.find(&fence).unwrap() + fence.len();
    section[start..start + section[start..].find("```").unwrap()].to_string()
}

/// docs/safety.md's own-schema example, as written: it passes on the demo
/// district; with maxLength 3 the rows with longer last names are held.
#[test]
fn the_documented_own_schema_example_runs_and_holds_what_breaks_it() {
    let p = Project::from_repo();
    let json = safety_doc("### Your own vendor's schema", "json", 0);
    let script = safety_doc("### Your own vendor's schema", "rhai", 0);
    std::fs::create_dir_all(p.path("stdlib/schemas/acme-roster")).unwrap();
    std::fs::write(p.path("stdlib/schemas/acme-roster/datapackage.json"), &json).unwrap();
    p.script("acme", &script);
    let (out, n, code) = run(&p, "acme");
    assert_eq!(code, 0, "{out}");
    let log = p.ferry(&["history", "--run", &n.to_string()]).ok().to_string();
    assert!(log.contains("roster.csv passed its guards"), "{log}");

    std::fs::write(
        p.path("stdlib/schemas/acme-roster/datapackage.json"),
        json.replace(r#""maxLength": 30"#, r#""maxLength": 3"#),
    )
    .unwrap();
    let (why, n) = held_once(&p, "acme", "roster.csv");
    let names = column(&p, n, "roster.csv", "last_name");
    let long: Vec<(usize, &String)> = names
        .iter()
        .enumerate()
        .filter(|(_, v)| v.chars().count() > 3)
        .collect();
    let shown: Vec<String> = long
        .iter()
        .take(5)
        .map(|(i, v)| format!("data row {} '{v}'", i + 1))
        .collect();
    assert_eq!(
        why,
        format!(
            "roster.csv column last_name breaks maxLength 3: {} row(s), {}, ...",
            ferry::format::thousands(long.len() as u64),
            shown.join(", ")
        )
    );
}

#[test]
fn a_misspelt_schema_is_refused_when_the_script_loads_naming_the_shipped_ones() {
    let p = Project::from_repo();
    corrupt(
        &p,
        "oneroster_1_2",
        "misspelt",
        "//! schema = \"oneroster-1.2\"",
        "//! schema = \"oneroster-12\"",
    );
    let out = p.ferry(&["check", "misspelt"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("misspelt.rhai:"), "names the file and line: {text}");
    assert!(text.contains("schema 'oneroster-12'"), "names the schema: {text}");
    assert!(
        text.contains("clever") && text.contains("oneroster-1.1") && text.contains("oneroster-1.2"),
        "lists the shipped schemas: {text}"
    );
    let ran = p.ferry(&["run", "misspelt"]);
    assert_eq!(ran.code, 2, "the run refuses the script too: {}", ran.stderr);
    assert!(ran.stderr.contains("schema 'oneroster-12'"), "{}", ran.stderr);
}
