//! Roster safety guards: checks a built file must pass before it is sent.
//!
//! A roster missing half its students makes the vendor de-enrol them, so a
//! file that looks wrong is held instead of sent. Guards come from the
//! script header's `[guards]` table and from `file.guard(#{...})`; they are
//! checked after the file is built, on the file as written (read back with a
//! CSV parser), never on what the script meant to write.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::format::thousands;

/// The checks for one file. Empty means nothing to check.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// Fewer data rows than this is a breach.
    pub min_rows: Option<u64>,
    /// Largest allowed change in row count, in percent either way, against
    /// the last delivered run of the same script and file.
    pub max_change: Option<f64>,
    /// The exact column list, in order.
    pub expect_header: Option<Vec<String>>,
    /// Columns that must never be empty.
    #[serde(default)]
    pub required: Vec<String>,
    /// Columns whose values must not repeat (a student id).
    #[serde(default)]
    pub unique: Vec<String>,
    /// A schema under `stdlib/schemas/` the file (or every file of a zip)
    /// must match (`"oneroster-1.1"`); see `crate::schema`.
    pub schema: Option<String>,
    /// How many example rows a schema breach shows per rule (default 5).
    pub schema_examples: Option<usize>,
}

impl Guards {
    /// Whether any check is set.
    pub fn is_empty(&self) -> bool {
        *self == Guards::default()
    }

    /// Checks the values make sense; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(m) = self.max_change {
            if !(m >= 0.0 && m.is_finite()) {
                return Err(format!("max_change {m} must be a percentage of 0 or more (e.g. 10)"));
            }
        }
        if let Some(name) = &self.schema {
            if name.trim().is_empty() {
                return Err("schema is empty: name a folder of stdlib/schemas/ (e.g. \"oneroster-1.1\")".into());
            }
        }
        if self.schema_examples == Some(0) {
            return Err("schema_examples must be 1 or more".into());
        }
        for (key, cols) in [("required", &self.required), ("unique", &self.unique)] {
            if cols.iter().any(|c| c.trim().is_empty()) {
                return Err(format!("{key} lists an empty column name"));
            }
        }
        Ok(())
    }

    /// `self` with `other`'s settings added (other wins where both set one).
    pub fn merged(&self, other: &Guards) -> Guards {
        let mut g = self.clone();
        g.min_rows = other.min_rows.or(g.min_rows);
        g.max_change = other.max_change.or(g.max_change);
        g.expect_header = other.expect_header.clone().or(g.expect_header);
        g.schema = other.schema.clone().or(g.schema);
        g.schema_examples = other.schema_examples.or(g.schema_examples);
        for c in &other.required {
            if !g.required.contains(c) {
                g.required.push(c.clone());
            }
        }
        for c in &other.unique {
            if !g.unique.contains(c) {
                g.unique.push(c.clone());
            }
        }
        g
    }
}

/// How to read a delimited file back.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// The field delimiter, one byte as the CSV reader takes it.
    pub delimiter: u8,
    /// Whether the first line is the header.
    pub header: bool,
    /// A header record comes first (before the column names), which is not
    /// a row.
    pub header_record: bool,
    /// A trailer record comes last, which is not a row.
    pub trailer_record: bool,
}

/// What the file is, for the checks.
pub(crate) struct Subject<'a> {
    /// File name, for messages.
    pub name: &'a str,
    /// The file on disk.
    pub path: &'a Path,
    /// Data rows, the header not counted.
    pub rows: u64,
    /// Column names, in order.
    pub columns: &'a [String],
    /// How to read the values back; `None` for files that are not delimited
    /// text (HTML, zip), where `required` and `unique` cannot apply.
    pub layout: Option<Layout>,
}

/// The outcome of the checks.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Verdict {
    /// Each failed guard, with its figures.
    pub breaches: Vec<String>,
    /// Remarks that are not failures (no baseline for max_change).
    pub notes: Vec<String>,
}

/// Runs every guard on `file`. `baseline` is the row count of the last
/// delivered run of the same script and file, if there was one.
pub(crate) fn check(guards: &Guards, file: &Subject<'_>, baseline: Option<u64>) -> Verdict {
    let mut v = Verdict::default();
    let rows = file.rows;
    if let Some(min) = guards.min_rows {
        if rows < min {
            v.breaches.push(format!(
                "{} rows, fewer than min_rows {}",
                thousands(rows),
                thousands(min)
            ));
        }
    }
    if let Some(max) = guards.max_change {
        match baseline {
            None => v.notes.push(format!(
                "max_change {max}% had no baseline: no earlier delivered run of {}",
                file.name
            )),
            Some(base) => {
                let change = if base == 0 {
                    if rows == 0 {
                        0.0
                    } else {
                        f64::INFINITY
                    }
                } else {
                    (rows as f64 - base as f64) / base as f64 * 100.0
                };
                if change.abs() > max {
                    let shown = if change.is_finite() {
                        percent(change)
                    } else {
                        "growth from nothing".to_string()
                    };
                    v.breaches.push(format!(
                        "{} rows, last delivered {}: {shown} exceeds max_change {max}%",
                        thousands(rows),
                        thousands(base)
                    ));
                }
            }
        }
    }
    if let Some(expected) = &guards.expect_header {
        if expected.as_slice() != file.columns {
            v.breaches.push(format!(
                "header is [{}], expect_header is [{}]",
                file.columns.join(", "),
                expected.join(", ")
            ));
        }
    }
    if guards.required.is_empty() && guards.unique.is_empty() {
        return v;
    }
    let missing: Vec<&String> = guards
        .required
        .iter()
        .chain(&guards.unique)
        .filter(|c| !file.columns.contains(c))
        .collect();
    for c in &missing {
        v.breaches
            .push(format!("column '{c}' named in required/unique is not in the file"));
    }
    let Some(layout) = file.layout else {
        v.breaches.push(format!(
            "required and unique apply to delimited files; {} is not one",
            file.name
        ));
        return v;
    };
    match values(guards, file, layout) {
        Ok(found) => v.breaches.extend(found),
        Err(e) => v
            .breaches
            .push(format!("{} cannot be read back for the checks: {e}", file.name)),
    }
    v
}

/// Reads the file back and checks `required` and `unique`.
/// A change in percent as a person reads it: whole numbers, but one decimal
/// where rounding would claim all or nothing (2,000 to 10 rows is -99.5%,
/// not -100%; 2,000 to 2,001 is +0.1%, not +0%).
fn percent(change: f64) -> String {
    let misleading = |shown: f64| (shown == -100.0 && change != -100.0) || (shown == 0.0 && change != 0.0);
    for places in 0..4 {
        let text = format!("{change:+.places$}");
        if !misleading(text.parse().unwrap_or(change)) {
            return format!("{text}%");
        }
    }
    format!("{change:+.4}%")
}

fn values(guards: &Guards, file: &Subject<'_>, layout: Layout) -> Result<Vec<String>, csv::Error> {
    let index = |c: &String| file.columns.iter().position(|x| x == c);
    let required: Vec<(usize, &String)> = guards
        .required
        .iter()
        .filter_map(|c| index(c).map(|i| (i, c)))
        .collect();
    let unique: Vec<(usize, &String)> = guards.unique.iter().filter_map(|c| index(c).map(|i| (i, c))).collect();
    let mut empty: Vec<(u64, u64)> = vec![(0, 0); required.len()]; // (count, first data row)
    let mut seen: Vec<HashMap<Vec<u8>, u64>> = vec![HashMap::new(); unique.len()];
    let mut repeats: Vec<Option<(Vec<u8>, u64, u64)>> = vec![None; unique.len()];
    let mut repeat_count = vec![0u64; unique.len()];
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_path(file.path)?;
    let mut record = csv::ByteRecord::new();
    for _ in 0..u8::from(layout.header_record) + u8::from(layout.header) {
        reader.read_byte_record(&mut record)?;
    }
    // One record ahead, so the trailer record is never taken for a row.
    let mut next = csv::ByteRecord::new();
    let mut more = reader.read_byte_record(&mut record)?;
    let mut row = 0u64;
    while more {
        more = reader.read_byte_record(&mut next)?;
        if !more && layout.trailer_record {
            break;
        }
        row += 1;
        for (k, (i, _)) in required.iter().enumerate() {
            if record.get(*i).is_none_or(<[u8]>::is_empty) {
                if empty[k].0 == 0 {
                    empty[k].1 = row;
                }
                empty[k].0 += 1;
            }
        }
        for (k, (i, _)) in unique.iter().enumerate() {
            let value = record.get(*i).unwrap_or_default();
            if let Some(first) = seen[k].insert(value.to_vec(), row) {
                repeat_count[k] += 1;
                if repeats[k].is_none() {
                    repeats[k] = Some((value.to_vec(), first, row));
                }
            }
        }
        std::mem::swap(&mut record, &mut next);
    }
    let mut out = Vec::new();
    for (k, (_, c)) in required.iter().enumerate() {
        if empty[k].0 > 0 {
            out.push(format!(
                "required column '{c}' is empty in {} row(s), first at data row {}",
                thousands(empty[k].0),
                empty[k].1
            ));
        }
    }
    for (k, (_, c)) in unique.iter().enumerate() {
        if let Some((value, first, again)) = &repeats[k] {
            out.push(format!(
                "unique column '{c}' repeats {} time(s): '{}' at data rows {first} and {again}",
                thousands(repeat_count[k]),
                String::from_utf8_lossy(value)
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentages_never_round_to_all_or_nothing() {
        use super::percent;
        assert_eq!(percent(-25.0), "-25%");
        assert_eq!(percent((10.0 - 2000.0) / 2000.0 * 100.0), "-99.5%");
        assert_eq!(percent(-100.0), "-100%");
        assert_eq!(percent((2001.0 - 2000.0) / 2000.0 * 100.0), "+0.1%");
        assert_eq!(percent(-0.004), "-0.004%");
        assert_eq!(percent(11.2), "+11%");
    }

    use super::*;

    fn subject<'a>(path: &'a Path, rows: u64, columns: &'a [String]) -> Subject<'a> {
        Subject {
            name: "roster.csv",
            path,
            rows,
            columns,
            layout: Some(Layout {
                delimiter: b',',
                header: true,
                header_record: false,
                trailer_record: false,
            }),
        }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn row_count_guards_report_their_figures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "id\r\n1\r\n").unwrap();
        let c = cols(&["id"]);
        let g = Guards {
            min_rows: Some(500),
            max_change: Some(10.0),
            ..Guards::default()
        };
        let v = check(&g, &subject(&path, 412, &c), Some(1893));
        assert_eq!(
            v.breaches,
            [
                "412 rows, fewer than min_rows 500",
                "412 rows, last delivered 1,893: -78% exceeds max_change 10%"
            ]
        );
        let v = check(&g, &subject(&path, 1900, &c), Some(1893));
        assert!(v.breaches.is_empty(), "{v:?}");
        let v = check(&g, &subject(&path, 2100, &c), Some(1893));
        assert_eq!(
            v.breaches,
            ["2,100 rows, last delivered 1,893: +11% exceeds max_change 10%"]
        );
        let v = check(&g, &subject(&path, 600, &c), None);
        assert!(v.breaches.is_empty());
        assert_eq!(
            v.notes,
            ["max_change 10% had no baseline: no earlier delivered run of roster.csv"]
        );
    }

    #[test]
    fn header_required_and_unique_read_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "id,name\r\n1,Ann\r\n2,\"\"\r\n1,\"Lee,\r\n Bo\"\r\n3,\r\n").unwrap();
        let c = cols(&["id", "name"]);
        let g = Guards {
            expect_header: Some(cols(&["id", "name", "grade"])),
            required: cols(&["name", "id"]),
            unique: cols(&["id"]),
            ..Guards::default()
        };
        let v = check(&g, &subject(&path, 4, &c), None);
        assert_eq!(
            v.breaches,
            [
                "header is [id, name], expect_header is [id, name, grade]",
                "required column 'name' is empty in 2 row(s), first at data row 2",
                "unique column 'id' repeats 1 time(s): '1' at data rows 1 and 3",
            ]
        );
        let ok = Guards {
            expect_header: Some(c.clone()),
            required: cols(&["id"]),
            unique: cols(&["name"]),
            ..Guards::default()
        };
        // "" appears twice in name but unique is about values, so it repeats.
        let v = check(&ok, &subject(&path, 4, &c), None);
        assert_eq!(
            v.breaches,
            ["unique column 'name' repeats 1 time(s): '' at data rows 2 and 4"]
        );
        let fine = Guards {
            required: cols(&["id"]),
            ..Guards::default()
        };
        assert!(check(&fine, &subject(&path, 4, &c), None).breaches.is_empty());
    }

    #[test]
    fn unknown_columns_and_bad_values_are_named() {
        let g = Guards {
            required: cols(&["ssn"]),
            ..Guards::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "id\r\n1\r\n").unwrap();
        let v = check(&g, &subject(&path, 1, &cols(&["id"])), None);
        assert_eq!(v.breaches, ["column 'ssn' named in required/unique is not in the file"]);
        assert!(Guards {
            max_change: Some(-1.0),
            ..Guards::default()
        }
        .validate()
        .unwrap_err()
        .contains("max_change"));
    }

    #[test]
    fn header_and_trailer_records_are_not_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, "H,20261203\r\nid,name\r\n1,a\r\n2,\r\n2,c\r\nT,3\r\n").unwrap();
        let c = cols(&["id", "name"]);
        let g = Guards {
            required: vec!["name".into()],
            unique: vec!["id".into()],
            ..Guards::default()
        };
        let mut file = subject(&path, 3, &c);
        file.layout = Some(Layout {
            delimiter: b',',
            header: true,
            header_record: true,
            trailer_record: true,
        });
        let v = check(&g, &file, None);
        assert_eq!(
            v.breaches,
            [
                "required column 'name' is empty in 1 row(s), first at data row 2",
                "unique column 'id' repeats 1 time(s): '2' at data rows 2 and 3",
            ]
        );
    }
}
