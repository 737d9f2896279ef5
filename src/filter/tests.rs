use std::collections::BTreeMap;

use super::*;
use crate::source::Param;

fn filters() -> Filters {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    Filters::open(&dir).unwrap()
}

fn filter(conditions: &str) -> Filter {
    toml::from_str(&format!(
        "owner = \"ann\"\nfields = [\"student.personID\", \"student.lastName\"]\nsort = [\"-student.personID\"]\n{conditions}"
    ))
    .unwrap()
}

fn sql(conditions: &str) -> (String, BTreeMap<String, Param>) {
    let q = compile(&filters().model, &filter(conditions), &BTreeMap::new(), 2027).unwrap();
    (q.sql, q.params)
}

#[test]
fn every_operator_compiles_to_bound_sql() {
    let cases = [
        ("=", "\"Lee\"", "student.last_name = :v2"),
        ("<>", "\"Lee\"", "student.last_name <> :v2"),
        ("<", "\"M\"", "student.last_name < :v2"),
        (">", "\"M\"", "student.last_name > :v2"),
        ("<=", "\"M\"", "student.last_name <= :v2"),
        (">=", "\"M\"", "student.last_name >= :v2"),
        ("between", "[\"A\", \"M\"]", "student.last_name BETWEEN :v2 AND :v3"),
        ("in", "[\"Lee\", \"Ng\"]", "student.last_name IN (:v2, :v3)"),
        ("starts with", "\"Mc\"", "student.last_name LIKE :v2 ESCAPE '!'"),
        ("contains", "\"ee\"", "student.last_name LIKE :v2 ESCAPE '!'"),
    ];
    for (op, value, want) in cases {
        let (s, _) = sql(&format!(
            "[[conditions]]\nfield = \"student.lastName\"\nop = \"{op}\"\nvalue = {value}\n"
        ));
        assert!(s.contains(want), "{op}: {s}");
    }
    let (s, _) = sql("[[conditions]]\nfield = \"student.middleName\"\nop = \"is empty\"\n");
    assert!(
        s.contains("(student.middle_name IS NULL OR student.middle_name = '')"),
        "{s}"
    );
    let (s, _) = sql("[[conditions]]\nfield = \"enrollment.endDate\"\nop = \"is empty\"\n");
    assert!(s.contains("enrollment.end_date IS NULL"), "{s}");
    let (s, p) = sql("[[conditions]]\nfield = \"student.birthDate\"\nop = \">=\"\nvalue = \"2010-01-01\"\n");
    assert!(s.contains("student.birth_date >= :v2"), "{s}");
    assert_eq!(
        p["v2"],
        Param::Date(chrono::NaiveDate::from_ymd_opt(2010, 1, 1).unwrap())
    );
}

#[test]
fn like_values_are_escaped_and_sql_in_values_stays_data() {
    let (s, p) = sql("[[conditions]]\nfield = \"student.lastName\"\nop = \"starts with\"\nvalue = \"50%_off!\"\n");
    assert_eq!(p["v2"], Param::Text("50!%!_off!!%".into()));
    let (s2, p2) =
        sql("[[conditions]]\nfield = \"student.lastName\"\nop = \"=\"\nvalue = \"'; DROP TABLE student; --\"\n");
    assert!(!s.contains("off") && !s2.contains("DROP"), "{s2}");
    assert_eq!(p2["v2"], Param::Text("'; DROP TABLE student; --".into()));
}

#[test]
fn active_year_scope_joins_and_sorts() {
    let (s, p) = sql("");
    assert_eq!(p["v1"], Param::Int(2027));
    assert!(
        s.contains(
            "FROM student AS student\nJOIN enrollment AS enrollment ON enrollment.person_id = student.person_id"
        ),
        "{s}"
    );
    assert!(s.contains("WHERE enrollment.end_year = :v1"), "{s}");
    assert!(s.contains("ORDER BY student.person_id DESC"), "{s}");
    assert!(
        s.starts_with("SELECT student.person_id AS \"personID\", student.last_name AS \"lastName\""),
        "{s}"
    );
    // school requires enrollment: joined after it.
    let f: Filter = toml::from_str("owner = \"a\"\nfields = [\"school.name\"]\n").unwrap();
    let q = compile(&filters().model, &f, &BTreeMap::new(), 2027).unwrap();
    let (e, sc) = (
        q.sql.find("JOIN enrollment").unwrap(),
        q.sql.find("JOIN school").unwrap(),
    );
    assert!(e < sc, "{}", q.sql);
}

#[test]
fn unknown_fields_operators_and_params_are_named() {
    let m = filters().model;
    let f: Filter = toml::from_str("owner = \"a\"\nfields = [\"student.shoeSize\"]\n").unwrap();
    let e = compile(&m, &f, &BTreeMap::new(), 2027).unwrap_err().to_string();
    assert!(
        e.contains("unknown field 'student.shoeSize'") && e.contains("student.lastName"),
        "{e}"
    );
    let f = filter("[[conditions]]\nfield = \"student.lastName\"\nop = \"sounds like\"\nvalue = \"x\"\n");
    let e = compile(&m, &f, &BTreeMap::new(), 2027).unwrap_err().to_string();
    assert!(
        e.contains("unknown operator 'sounds like'") && e.contains("starts with"),
        "{e}"
    );
    let f = filter("[[conditions]]\nfield = \"student.lastName\"\nop = \"=\"\nvalue = { param = \"who\" }\n");
    let e = compile(&m, &f, &BTreeMap::new(), 2027).unwrap_err().to_string();
    assert!(e.contains("needs the parameter 'who'"), "{e}");
    let given = [("who".to_string(), Param::Text("Lee".into()))].into();
    let q = compile(&m, &f, &given, 2027).unwrap();
    assert_eq!(q.params["v2"], Param::Text("Lee".into()));
}

#[test]
fn rights_cover_the_ad_hoc_right_and_sensitive_fields() {
    let fs = filters();
    let f: Filter =
        toml::from_str("owner = \"ann\"\nfields = [\"student.lastName\"]\nsort = [\"student.ssn\"]\n").unwrap();
    let granted = |r: &[&str]| OwnerRights::Granted(r.iter().map(std::string::ToString::to_string).collect());
    assert!(
        fs.check_rights("x", &f, &OwnerRights::Unchecked).is_ok(),
        "no users: single-administrator mode"
    );
    let e = fs.check_rights("x", &f, &granted(&[])).unwrap_err().to_string();
    assert!(e.contains("owner 'ann' does not have the right 'adhoc'"), "{e}");
    let e = fs.check_rights("x", &f, &granted(&["adhoc"])).unwrap_err().to_string();
    assert!(e.contains("right 'ssn' needed by student.ssn"), "{e}");
    assert!(fs.check_rights("x", &f, &granted(&["adhoc", "ssn"])).is_ok());
    let e = fs
        .check_rights("x", &f, &OwnerRights::NoSuchUser)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("owner 'ann' is not a ferry user: add them (ferry users add ann --right adhoc) or change the filter's owner in")
            && e.contains("x.toml"),
        "{e}"
    );
}

#[test]
fn the_shipped_filter_loads() {
    let fs = filters();
    assert!(fs.names().contains(&"grade_nine".to_string()));
    let f = fs.get("grade_nine").unwrap();
    assert_eq!(f.owner, "admin");
    let e = fs.get("../model").unwrap_err().to_string();
    assert!(e.contains("no filter named"), "{e}");
}
