use std::io::Write;

use super::*;

const PACKAGE: &str = r#"{
  "name": "t",
  "resources": [
    { "name": "orgs", "path": "orgs.csv", "schema": {
        "fields": [
          { "name": "id", "constraints": { "required": true, "pattern": "o-[0-9]+" } },
          { "name": "parent" },
          { "name": "size", "type": "integer", "constraints": { "minimum": 1, "maximum": 10 } }
        ],
        "primaryKey": "id",
        "foreignKeys": [ { "fields": "parent", "reference": { "resource": "", "fields": "id" } } ] } },
    { "name": "links", "path": "links.csv", "schema": {
        "fields": [ { "name": "a" }, { "name": "b", "type": "date", "format": "%m/%d/%Y" } ],
        "primaryKey": ["a", "b"],
        "foreignKeys": [ { "fields": ["a"], "reference": { "resource": "orgs", "fields": ["id"] } } ] } }
  ]
}"#;

fn schema(text: &str) -> Result<Schema, String> {
    let package: model::Package = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Schema::compile("t", package)
}

fn zip(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    let path = dir.join("b.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, body) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    path
}

#[test]
fn a_bundle_is_checked_together_with_counts_and_capped_examples() {
    let s = schema(PACKAGE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let orgs = "id,parent,size\no-1,,3\no-2,o-1,11\nx-3,o-9,2\no-2,,1\n";
    let links = "a,b\no-1,01/31/2027\no-1,01/31/2027\no-1,2027-01-31\no-7,02/01/2027\n";
    let path = zip(
        dir.path(),
        &[("orgs.csv", orgs), ("links.csv", links), ("extra.txt", "")],
    );
    let got = check(&s, "b.zip", "b", &path, 1);
    assert_eq!(
        got,
        [
            "b.zip holds extra.txt, which schema t does not describe (it describes orgs.csv, links.csv)",
            "orgs.csv column size breaks maximum 10: 1 row(s), data row 2 '11'",
            "orgs.csv column id breaks pattern o-[0-9]+: 1 row(s), data row 3 'x-3'",
            "orgs.csv column parent breaks foreignKey parent -> orgs.csv id (no such row there): 1 row(s), data row 3 'o-9'",
            "orgs.csv column id breaks primaryKey id (a repeated key): 1 row(s), data row 4 'o-2' (as data row 2)",
            "links.csv breaks primaryKey a, b (a repeated key): 1 row(s), data row 2 'o-1, 01/31/2027'",
            "links.csv column b breaks type date, format %m/%d/%Y: 1 row(s), data row 3 '2027-01-31'",
            "links.csv column a breaks foreignKey a -> orgs.csv id (no such row there): 1 row(s), data row 4 'o-7'",
        ]
    );
    let path = zip(dir.path(), &[("orgs.csv", "id,parent,size\no-1,,1\no-1,,1\no-1,,1\n")]);
    assert_eq!(
        check(&s, "b.zip", "b", &path, 1),
        [
            "b.zip has no links.csv, which schema t requires",
            "orgs.csv column id breaks primaryKey id (a repeated key): 2 row(s), data row 2 'o-1' (as data row 1), ...",
        ]
    );
}

#[test]
fn what_ferry_cannot_check_is_refused_when_the_schema_loads() {
    let refused = |from: &str, to: &str| schema(&PACKAGE.replace(from, to)).unwrap_err();
    assert!(
        refused(r#""type": "date""#, r#""type": "geopoint""#).contains("field 'b': type 'geopoint' is not supported")
    );
    assert!(refused(r#""required": true"#, r#""required": true, "bareNumber": false"#).contains("bareNumber"));
    assert!(refused(r#""pattern": "o-[0-9]+""#, r#""pattern": "o-[""#).contains("pattern 'o-['"));
    assert!(refused(r#""resource": "orgs""#, r#""resource": "org""#)
        .contains("resource 'org', which the package does not have"));
    assert!(refused(r#""maximum": 10"#, r#""maximum": "ten""#).contains("maximum \"ten\" does not fit type integer"));
    let dir = tempfile::tempdir().unwrap();
    let e = load(dir.path(), "nope").unwrap_err().to_string();
    assert!(e.contains("guards: schema 'nope': ") && e.ends_with(": none"), "{e}");
    assert!(matches!(load(dir.path(), "../x"), Err(SchemaError::BadName(_))));
}
