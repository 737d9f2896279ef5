//! Streaming validation of delivered files against a compiled schema.
//!
//! Each file is read once to validate it, and a file that others reference
//! is read once more first to collect its keys. Only sets of keys are held,
//! each key as a 64-bit hash (keyed afresh every run), whatever the values'
//! length: a unique or primary key costs 16 bytes per distinct key (hash and
//! first row) and a referenced key 8, plus the table's slack (a table of a
//! million keys has 2^21 slots: about 36 MB for a unique column, 19 MB for a
//! referenced one). Rows themselves are never kept. A hash collision (odds
//! about 1 in 3.7e7 for a million keys) would be reported as a repeated key
//! in one run; the next run uses other hash keys.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::model::{Column, Kind, Schema, Table};
use super::value::cast;
use crate::format::thousands;

/// `HashSet<u64>` of hashes need no second hashing.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Keys = HashSet<u64, BuildHasherDefault<Identity>>;

/// A key's 64-bit hash split in two halves, so a map entry with the row it
/// was first seen on (a `u32`) takes 12 bytes rather than 16: a million
/// unique keys then fit in about 27 MB.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Seen([u32; 2]);

impl std::hash::Hash for Seen {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64((u64::from(self.0[0]) << 32) | u64::from(self.0[1]));
    }
}

impl From<u64> for Seen {
    fn from(h: u64) -> Self {
        Seen([(h >> 32) as u32, h as u32])
    }
}

/// The row each key was first seen on (saturating past `u32::MAX` rows).
type FirstSeen = HashMap<Seen, u32, BuildHasherDefault<Identity>>;

fn row32(row: u64) -> u32 {
    u32::try_from(row).unwrap_or(u32::MAX)
}

/// Where the schema's files are read from.
enum Source {
    Zip(zip::ZipArchive<std::fs::File>),
    /// One path (or none) per table.
    Files(Vec<Option<PathBuf>>),
}

/// Why a rule was broken, for grouping counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Rule {
    Shape,
    Encoding,
    Required,
    Type,
    Enum,
    Pattern,
    MinLength,
    MaxLength,
    Minimum,
    Maximum,
    Unique,
    PrimaryKey,
    ForeignKey(usize),
}

struct Tally {
    table: usize,
    column: Option<usize>,
    rule: Rule,
    count: u64,
    /// (data row, value, the row it repeats).
    examples: Vec<(u64, String, Option<u64>)>,
}

/// Counts per rule with their first examples.
#[derive(Default)]
struct Tallies {
    examples: usize,
    list: Vec<Tally>,
    index: HashMap<(usize, Option<usize>, Rule), usize>,
}

impl Tallies {
    fn note(
        &mut self,
        table: usize,
        column: Option<usize>,
        rule: Rule,
        row: u64,
        value: &dyn Fn() -> (String, Option<u64>),
    ) {
        let list = &mut self.list;
        let at = *self.index.entry((table, column, rule)).or_insert_with(|| {
            list.push(Tally {
                table,
                column,
                rule,
                count: 0,
                examples: Vec::new(),
            });
            list.len() - 1
        });
        let tally = &mut self.list[at];
        tally.count += 1;
        if tally.examples.len() < self.examples {
            let (value, first) = value();
            tally.examples.push((row, value, first));
        }
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    source: Source,
    hasher: RandomState,
    tallies: Tallies,
    /// Whole-file problems (missing file, wrong header), in order found.
    problems: Vec<String>,
}

/// Validates the delivered file at `path` (named `name`, stable name `key`)
/// against `schema`. A zip is checked as a bundle: every file in it against
/// its resource, references between them included. A single file is checked
/// against the resource with its name; references to other resources are
/// checked against the files of the same name beside it (the run's other
/// files). Returns the breaches, most `examples` examples per rule.
pub(crate) fn check(schema: &Schema, name: &str, key: &str, path: &Path, examples: usize) -> Vec<String> {
    let described = || {
        schema
            .tables
            .iter()
            .map(|t| t.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (source, checked, mut problems) = if name.to_ascii_lowercase().ends_with(".zip") {
        let archive = match std::fs::File::open(path)
            .map_err(|e| e.to_string())
            .and_then(|f| zip::ZipArchive::new(f).map_err(|e| e.to_string()))
        {
            Ok(a) => a,
            Err(e) => return vec![format!("schema {}: {name} cannot be read as a zip: {e}", schema.name)],
        };
        let mut problems = Vec::new();
        let entries: Vec<String> = archive
            .file_names()
            .filter_map(Result::ok)
            .map(std::borrow::Cow::into_owned)
            .collect();
        for entry in entries {
            if !entry.ends_with('/') && !schema.tables.iter().any(|t| t.path == entry) {
                problems.push(format!(
                    "{name} holds {entry}, which schema {} does not describe (it describes {})",
                    schema.name,
                    described()
                ));
            }
        }
        let mut checked = Vec::new();
        for (i, t) in schema.tables.iter().enumerate() {
            if archive.index_for_name(&t.path).is_some() {
                checked.push(i);
            } else {
                problems.push(format!(
                    "{name} has no {}, which schema {} requires",
                    t.path, schema.name
                ));
            }
        }
        (Source::Zip(archive), checked, problems)
    } else {
        let stem = |p: &str| p.rsplit_once('.').map_or(p, |(s, _)| s).to_string();
        let found = schema
            .tables
            .iter()
            .position(|t| t.path == name)
            .or_else(|| schema.tables.iter().position(|t| stem(&t.path) == key));
        let Some(own) = found else {
            return vec![format!(
                "{name} is not a file of schema {} (it describes {}): name the file like one of them",
                schema.name,
                described()
            )];
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        let paths = schema
            .tables
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == own {
                    Some(path.to_path_buf())
                } else {
                    Some(dir.join(&t.path)).filter(|p| p.is_file())
                }
            })
            .collect();
        (Source::Files(paths), vec![own], Vec::new())
    };
    let mut c = Checker {
        schema,
        source,
        hasher: RandomState::new(),
        tallies: Tallies {
            examples,
            ..Tallies::default()
        },
        problems: Vec::new(),
    };
    c.problems.append(&mut problems);
    c.run(&checked);
    c.report()
}

impl Checker<'_> {
    fn run(&mut self, checked: &[usize]) {
        // Pass 1: the keys that checked tables' foreign keys point at.
        let mut wanted: HashMap<usize, Vec<Vec<usize>>> = HashMap::new();
        for &t in checked {
            for link in &self.schema.tables[t].links {
                let sets = wanted.entry(link.target).or_default();
                if !sets.contains(&link.target_columns) {
                    sets.push(link.target_columns.clone());
                }
            }
        }
        let mut keys: HashMap<(usize, Vec<usize>), Keys> = HashMap::new();
        let mut targets: Vec<_> = wanted.into_iter().collect();
        targets.sort();
        for (target, sets) in targets {
            let mut collected: Vec<Keys> = vec![Keys::default(); sets.len()];
            let hasher = self.hasher.clone();
            let table = &self.schema.tables[target];
            let outcome = self.rows(target, &mut |_, record| {
                for (k, cols) in sets.iter().enumerate() {
                    if let Some(h) = key_hash(&hasher, table, cols, record) {
                        collected[k].insert(h);
                    }
                }
            });
            match outcome {
                Ok(None) => {
                    for (cols, set) in sets.into_iter().zip(collected) {
                        keys.insert((target, cols), set);
                    }
                }
                Ok(Some(problem)) | Err(problem) => {
                    if !checked.contains(&target) {
                        self.problems.push(problem);
                    }
                }
            }
        }
        // Pass 2: every rule of each checked table.
        for &t in checked {
            self.validate(t, &keys);
        }
    }

    /// Streams table `t`'s data rows into `each` (data row number, record).
    /// `Ok(Some(problem))` when the file is missing or its header is wrong,
    /// so its rows mean nothing; `Err` when it cannot be read.
    fn rows(&mut self, t: usize, each: &mut dyn FnMut(u64, &csv::ByteRecord)) -> Result<Option<String>, String> {
        let table = &self.schema.tables[t];
        let schema = &self.schema.name;
        let read =
            |input: &mut dyn Read, each: &mut dyn FnMut(u64, &csv::ByteRecord)| -> Result<Option<String>, String> {
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(table.delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(input);
                let mut record = csv::ByteRecord::new();
                let fail = |e: csv::Error| format!("{} cannot be read back for schema {schema}: {e}", table.path);
                if !reader.read_byte_record(&mut record).map_err(fail)? {
                    return Ok(Some(format!(
                        "{} is empty: schema {schema} wants a header row",
                        table.path
                    )));
                }
                let header: Vec<String> = record
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let f = if i == 0 {
                            f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                        } else {
                            f
                        };
                        String::from_utf8_lossy(f).into_owned()
                    })
                    .collect();
                if let Some(problem) = header_problem(table, &header) {
                    return Ok(Some(format!(
                        "{}: {problem} (schema {schema}), so its rows were not checked",
                        table.path
                    )));
                }
                let mut row = 0u64;
                while reader.read_byte_record(&mut record).map_err(fail)? {
                    row += 1;
                    each(row, &record);
                }
                Ok(None)
            };
        match &mut self.source {
            Source::Zip(archive) => {
                let mut entry = archive
                    .by_name(&table.path)
                    .map_err(|e| format!("{} cannot be read from the zip: {e}", table.path))?;
                read(&mut entry, each)
            }
            Source::Files(paths) => match &paths[t] {
                None => Ok(Some(format!(
                    "{} is not beside the file (schema {schema} checks references into it): build it in the same run",
                    table.path
                ))),
                Some(p) => {
                    let mut f =
                        std::fs::File::open(p).map_err(|e| format!("{} cannot be read back: {e}", p.display()))?;
                    read(&mut f, each)
                }
            },
        }
    }

    fn validate(&mut self, t: usize, keys: &HashMap<(usize, Vec<usize>), Keys>) {
        let schema = self.schema;
        let table = &schema.tables[t];
        let hasher = self.hasher.clone();
        let single_key = |i: usize| table.primary_key.len() == 1 && table.primary_key[0] == i;
        let mut unique: Vec<(usize, Rule, FirstSeen)> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(i, c)| c.unique || single_key(*i))
            .map(|(i, _)| {
                let rule = if single_key(i) { Rule::PrimaryKey } else { Rule::Unique };
                (i, rule, FirstSeen::default())
            })
            .collect();
        let mut primary = (table.primary_key.len() > 1).then(FirstSeen::default);
        let links: Vec<Option<&Keys>> = table
            .links
            .iter()
            .map(|l| keys.get(&(l.target, l.target_columns.clone())))
            .collect();
        let mut tallies = std::mem::take(&mut self.tallies);
        let outcome = self.rows(t, &mut |row, record| {
            let mut note = |column: Option<usize>, rule: Rule, value: &dyn Fn() -> (String, Option<u64>)| {
                tallies.note(t, column, rule, row, value);
            };
            if record.len() != table.columns.len() {
                note(None, Rule::Shape, &|| (format!("{} cells", record.len()), None));
            }
            for (i, column) in table.columns.iter().enumerate() {
                let raw = record.get(i).unwrap_or_default();
                let Ok(text) = std::str::from_utf8(raw) else {
                    note(Some(i), Rule::Encoding, &|| {
                        (String::from_utf8_lossy(raw).into_owned(), None)
                    });
                    continue;
                };
                if table.missing.iter().any(|m| m == text) {
                    if column.required {
                        note(Some(i), Rule::Required, &|| (text.to_string(), None));
                    }
                    continue;
                }
                if let Some(rule) = cell_rule(column, text) {
                    note(Some(i), rule, &|| (text.to_string(), None));
                }
            }
            for (i, rule, seen) in &mut unique {
                let text = record.get(*i).unwrap_or_default();
                if table.missing.iter().any(|m| m.as_bytes() == text) {
                    continue;
                }
                let h = Seen::from(hash_one(&hasher, &[text]));
                match seen.get(&h) {
                    Some(&first) => note(Some(*i), *rule, &|| {
                        (String::from_utf8_lossy(text).into_owned(), Some(u64::from(first)))
                    }),
                    None => {
                        seen.insert(h, row32(row));
                    }
                }
            }
            if let Some(seen) = primary.as_mut() {
                match key_hash(&hasher, table, &table.primary_key, record) {
                    Some(h) if !seen.contains_key(&Seen::from(h)) => {
                        seen.insert(Seen::from(h), row32(row));
                    }
                    _ => note(None, Rule::PrimaryKey, &|| {
                        (shown_key(table, &table.primary_key, record), None)
                    }),
                }
            }
            for (k, link) in table.links.iter().enumerate() {
                let Some(set) = links[k] else { continue };
                if let Some(h) = key_hash(&hasher, table, &link.columns, record) {
                    if !set.contains(&h) {
                        note(link.columns.first().copied(), Rule::ForeignKey(k), &|| {
                            (shown_key(table, &link.columns, record), None)
                        });
                    }
                }
            }
        });
        self.tallies = tallies;
        match outcome {
            Ok(None) => {}
            Ok(Some(problem)) | Err(problem) => self.problems.push(problem),
        }
    }

    fn report(self) -> Vec<String> {
        let mut out = self.problems;
        for tally in &self.tallies.list {
            let table = &self.schema.tables[tally.table];
            let column = tally.column.map(|i| &table.columns[i]);
            let rule = describe(self.schema, table, column, tally.rule);
            let at = match column {
                Some(c) => format!("{} column {}", table.path, c.name),
                None => table.path.clone(),
            };
            let shown: Vec<String> = tally
                .examples
                .iter()
                .map(|(row, value, first)| match first {
                    None => format!("data row {row} '{}'", clip(value)),
                    Some(f) => format!("data row {row} '{}' (as data row {f})", clip(value)),
                })
                .collect();
            let more = if tally.count > tally.examples.len() as u64 {
                ", ..."
            } else {
                ""
            };
            out.push(format!(
                "{at} breaks {rule}: {} row(s), {}{more}",
                thousands(tally.count),
                shown.join(", ")
            ));
        }
        out
    }
}

/// The hash of a key's values, or `None` when every part is missing (a
/// key that is not there references nothing).
fn key_hash(hasher: &RandomState, table: &Table, columns: &[usize], record: &csv::ByteRecord) -> Option<u64> {
    let parts: Vec<&[u8]> = columns.iter().map(|&i| record.get(i).unwrap_or_default()).collect();
    if parts.iter().all(|p| table.missing.iter().any(|m| m.as_bytes() == *p)) {
        return None;
    }
    Some(hash_one(hasher, &parts))
}

fn hash_one(hasher: &RandomState, parts: &[&[u8]]) -> u64 {
    let mut h = hasher.build_hasher();
    for p in parts {
        h.write_usize(p.len());
        h.write(p);
    }
    h.finish()
}

fn shown_key(table: &Table, columns: &[usize], record: &csv::ByteRecord) -> String {
    let _ = table;
    columns
        .iter()
        .map(|&i| String::from_utf8_lossy(record.get(i).unwrap_or_default()).into_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What is wrong with a header, naming the first difference.
fn header_problem(table: &Table, header: &[String]) -> Option<String> {
    let want: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    if header.iter().map(String::as_str).eq(want.iter().copied()) {
        return None;
    }
    let at = header.iter().zip(&want).position(|(a, b)| a != b);
    let detail = match at {
        Some(i) => format!(
            "column {} is '{}', the schema has '{}' there",
            i + 1,
            clip(&header[i]),
            want[i]
        ),
        None if header.len() < want.len() => format!("the header stops before '{}'", want[header.len()]),
        None => format!("the header has an extra column '{}'", clip(&header[want.len()])),
    };
    Some(format!(
        "header breaks the schema's exact column order: {detail} (expected: {})",
        want.join(",")
    ))
}

/// The first rule a present value breaks.
fn cell_rule(c: &Column, text: &str) -> Option<Rule> {
    let Some(typed) = cast(&c.kind, text) else {
        return Some(Rule::Type);
    };
    if let Some(values) = &c.enumeration {
        if !values.iter().any(|v| v == text) {
            return Some(Rule::Enum);
        }
    }
    if let Some((_, re)) = &c.pattern {
        if !re.is_match(text) {
            return Some(Rule::Pattern);
        }
    }
    let chars = || text.chars().count();
    if c.min_length.is_some_and(|n| chars() < n) {
        return Some(Rule::MinLength);
    }
    if c.max_length.is_some_and(|n| chars() > n) {
        return Some(Rule::MaxLength);
    }
    if c.minimum.as_ref().is_some_and(|(_, m)| typed < *m) {
        return Some(Rule::Minimum);
    }
    if c.maximum.as_ref().is_some_and(|(_, m)| typed > *m) {
        return Some(Rule::Maximum);
    }
    None
}

fn describe(schema: &Schema, table: &Table, column: Option<&Column>, rule: Rule) -> String {
    let c = column;
    match rule {
        Rule::Shape => format!("the row shape ({} fields)", table.columns.len()),
        Rule::Encoding => "UTF-8 encoding".into(),
        Rule::Required => "required (an empty value)".into(),
        Rule::Type => match c.map(|c| &c.kind) {
            Some(Kind::String(f)) => format!("type string, format {}", format!("{f:?}").to_lowercase()),
            Some(Kind::Integer) => "type integer".into(),
            Some(Kind::Number) => "type number".into(),
            Some(Kind::Year) => "type year (YYYY)".into(),
            Some(Kind::Boolean { yes, no }) => format!("type boolean ({} or {})", yes.join("/"), no.join("/")),
            Some(Kind::Date(f)) => format!("type date, format {}", f.as_deref().unwrap_or("YYYY-MM-DD")),
            Some(Kind::Datetime(f)) => {
                format!(
                    "type datetime, format {}",
                    f.as_deref().unwrap_or("YYYY-MM-DDThh:mm:ssZ")
                )
            }
            None => "its type".into(),
        },
        Rule::Enum => format!(
            "enum [{}]",
            c.and_then(|c| c.enumeration.as_ref())
                .map(|e| e.join(", "))
                .unwrap_or_default()
        ),
        Rule::Pattern => format!(
            "pattern {}",
            c.and_then(|c| c.pattern.as_ref())
                .map(|p| p.0.as_str())
                .unwrap_or_default()
        ),
        Rule::MinLength => format!("minLength {}", c.and_then(|c| c.min_length).unwrap_or_default()),
        Rule::MaxLength => format!("maxLength {}", c.and_then(|c| c.max_length).unwrap_or_default()),
        Rule::Minimum => format!(
            "minimum {}",
            c.and_then(|c| c.minimum.as_ref())
                .map(|m| m.0.as_str())
                .unwrap_or_default()
        ),
        Rule::Maximum => format!(
            "maximum {}",
            c.and_then(|c| c.maximum.as_ref())
                .map(|m| m.0.as_str())
                .unwrap_or_default()
        ),
        Rule::Unique => "unique (a repeated value)".into(),
        Rule::PrimaryKey => format!("primaryKey {} (a repeated key)", names(table, &table.primary_key)),
        Rule::ForeignKey(k) => {
            let link = &table.links[k];
            let target = &schema.tables[link.target];
            format!(
                "foreignKey {} -> {} {} (no such row there)",
                names(table, &link.columns),
                target.path,
                names(target, &link.target_columns)
            )
        }
    }
}

fn names(table: &Table, columns: &[usize]) -> String {
    columns
        .iter()
        .map(|&i| table.columns[i].name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as shown in a message: at most 60 characters.
fn clip(value: &str) -> String {
    if value.chars().count() <= 60 {
        value.to_string()
    } else {
        format!("{}...", value.chars().take(57).collect::<String>())
    }
}
