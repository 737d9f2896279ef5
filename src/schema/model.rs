//! The subset of Frictionless Table Schema and Data Package that ferry reads,
//! and its compiled form.
//!
//! Vendors and validators already publish and read this JSON format, so a
//! schema shipped with a template can be checked by an independent tool too.
//! Keys ferry does not implement are refused when the schema loads rather
//! than ignored: a constraint that silently checks nothing is worse than none.

use std::collections::HashMap;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

/// `datapackage.json`.
#[derive(Debug, Deserialize)]
pub(crate) struct Package {
    #[serde(default)]
    pub name: Option<String>,
    pub resources: Vec<Resource>,
}

/// One file of the package.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource {
    pub name: String,
    /// The file's name in a bundle or delivery (`users.csv`).
    pub path: String,
    #[serde(default)]
    pub dialect: Dialect,
    pub schema: TableSchema,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Dialect {
    #[serde(default)]
    pub delimiter: Option<String>,
}

/// A Frictionless Table Schema (the subset guards check), as read from a data package.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TableSchema {
    pub fields: Vec<Field>,
    #[serde(default)]
    pub primary_key: Option<Names>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    #[serde(default)]
    pub missing_values: Option<Vec<String>>,
}

/// A field name or a list of them (both spellings are allowed by the spec).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Names {
    One(String),
    Many(Vec<String>),
}

impl Names {
    pub(crate) fn list(&self) -> Vec<String> {
        match self {
            Names::One(n) => vec![n.clone()],
            Names::Many(v) => v.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ForeignKey {
    pub fields: Names,
    pub reference: Reference,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Reference {
    /// Another resource's name; empty for the same resource.
    #[serde(default)]
    pub resource: String,
    pub fields: Names,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Field {
    pub name: String,
    #[serde(rename = "type", default = "string_type")]
    pub kind: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub constraints: Constraints,
    #[serde(default)]
    pub true_values: Option<Vec<String>>,
    #[serde(default)]
    pub false_values: Option<Vec<String>>,
    // Documentation only: read so that deny_unknown_fields accepts them.
    #[allow(dead_code)]
    #[serde(default)]
    pub title: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    pub description: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    pub example: Option<Value>,
}

fn string_type() -> String {
    "string".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Constraints {
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default, rename = "enum")]
    pub enumeration: Option<Vec<Value>>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub min_length: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub minimum: Option<Value>,
    #[serde(default)]
    pub maximum: Option<Value>,
}

/// A field's type with its format, ready to test values.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    String(StringFormat),
    Integer,
    Number,
    Boolean { yes: Vec<String>, no: Vec<String> },
    Date(Option<String>),
    Datetime(Option<String>),
    Year,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum StringFormat {
    Any,
    Email,
    Uri,
    Uuid,
}

/// A value cast to its type, for enum and bounds.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(crate) enum Typed {
    Text,
    Number(f64),
    Date(chrono::NaiveDate),
    Datetime(chrono::NaiveDateTime),
    Bool(bool),
}

/// One compiled field.
#[derive(Debug)]
pub(crate) struct Column {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
    pub unique: bool,
    pub enumeration: Option<Vec<String>>,
    pub pattern: Option<(String, Regex)>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub minimum: Option<(String, Typed)>,
    pub maximum: Option<(String, Typed)>,
}

/// A compiled foreign key: columns of this table whose values must appear in
/// `target`'s `target_columns`.
#[derive(Debug)]
pub(crate) struct Link {
    pub columns: Vec<usize>,
    pub target: usize,
    pub target_columns: Vec<usize>,
}

/// One compiled resource.
#[derive(Debug)]
pub(crate) struct Table {
    pub path: String,
    pub delimiter: u8,
    pub columns: Vec<Column>,
    pub missing: Vec<String>,
    pub primary_key: Vec<usize>,
    pub links: Vec<Link>,
}

/// A compiled package.
#[derive(Debug)]
pub(crate) struct Schema {
    /// The name the guard used (`oneroster-1.1`).
    pub name: String,
    pub(crate) tables: Vec<Table>,
}

impl Schema {
    /// Reads and compiles a `datapackage.json`. Errors say which resource
    /// and field is wrong.
    pub(crate) fn compile(name: &str, package: Package) -> Result<Schema, String> {
        let index: HashMap<&str, usize> = package
            .resources
            .iter()
            .enumerate()
            .map(|(i, r)| (r.name.as_str(), i))
            .collect();
        let mut tables = Vec::new();
        for (i, r) in package.resources.iter().enumerate() {
            let at = |m: String| format!("resource '{}': {m}", r.name);
            let delimiter = match r.dialect.delimiter.as_deref() {
                None => b',',
                Some(d) if d.len() == 1 => d.as_bytes()[0],
                Some(d) => return Err(at(format!("dialect delimiter '{d}' must be one ASCII character"))),
            };
            let mut columns = Vec::new();
            for f in &r.schema.fields {
                columns.push(compile_field(f).map_err(|m| at(format!("field '{}': {m}", f.name)))?);
            }
            let position = |table: &TableSchema, n: &str| table.fields.iter().position(|f| f.name == n);
            let find = |n: &str| position(&r.schema, n).ok_or_else(|| at(format!("no field '{n}'")));
            let primary_key = match &r.schema.primary_key {
                None => Vec::new(),
                Some(k) => k.list().iter().map(|n| find(n)).collect::<Result<_, _>>()?,
            };
            let mut links = Vec::new();
            for fk in &r.schema.foreign_keys {
                let target = if fk.reference.resource.is_empty() {
                    i
                } else {
                    *index.get(fk.reference.resource.as_str()).ok_or_else(|| {
                        at(format!(
                            "foreign key to resource '{}', which the package does not have",
                            fk.reference.resource
                        ))
                    })?
                };
                let target_schema = &package.resources[target].schema;
                let cols: Vec<usize> = fk.fields.list().iter().map(|n| find(n)).collect::<Result<_, _>>()?;
                let target_columns: Vec<usize> = fk
                    .reference
                    .fields
                    .list()
                    .iter()
                    .map(|n| {
                        position(target_schema, n).ok_or_else(|| {
                            at(format!(
                                "foreign key to '{n}', which resource '{}' does not have",
                                package.resources[target].name
                            ))
                        })
                    })
                    .collect::<Result<_, _>>()?;
                if cols.len() != target_columns.len() {
                    return Err(at("a foreign key's fields and reference fields differ in number".into()));
                }
                links.push(Link {
                    columns: cols,
                    target,
                    target_columns,
                });
            }
            tables.push(Table {
                path: r.path.clone(),
                delimiter,
                columns,
                missing: r.schema.missing_values.clone().unwrap_or_else(|| vec![String::new()]),
                primary_key,
                links,
            });
        }
        Ok(Schema {
            name: package.name.unwrap_or_else(|| name.to_string()),
            tables,
        })
    }
}

fn compile_field(f: &Field) -> Result<Column, String> {
    let format = f.format.as_deref().filter(|s| *s != "default");
    let kind = match (f.kind.as_str(), format) {
        ("string", None) => Kind::String(StringFormat::Any),
        ("string", Some("email")) => Kind::String(StringFormat::Email),
        ("string", Some("uri")) => Kind::String(StringFormat::Uri),
        ("string", Some("uuid")) => Kind::String(StringFormat::Uuid),
        ("integer", None) => Kind::Integer,
        ("number", None) => Kind::Number,
        ("year", None) => Kind::Year,
        ("boolean", None) => Kind::Boolean {
            yes: f
                .true_values
                .clone()
                .unwrap_or_else(|| ["true", "True", "TRUE", "1"].map(String::from).to_vec()),
            no: f
                .false_values
                .clone()
                .unwrap_or_else(|| ["false", "False", "FALSE", "0"].map(String::from).to_vec()),
        },
        ("date", fmt) => Kind::Date(fmt.map(String::from)),
        ("datetime", fmt) => Kind::Datetime(fmt.map(String::from)),
        (t @ ("string" | "integer" | "number" | "year" | "boolean"), Some(fmt)) => {
            return Err(format!("format '{fmt}' for type {t} is not supported"))
        }
        (t, _) => {
            return Err(format!(
                "type '{t}' is not supported (string, integer, number, boolean, date, datetime, year)"
            ))
        }
    };
    if let Kind::Date(Some(p)) | Kind::Datetime(Some(p)) = &kind {
        if p == "any" || !p.contains('%') {
            return Err(format!(
                "format '{p}' is not supported: use default or a strftime pattern such as %m/%d/%Y"
            ));
        }
    }
    let c = &f.constraints;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let pattern = match &c.pattern {
        None => None,
        Some(p) => Some((
            p.clone(),
            Regex::new(&format!("^(?:{p})$")).map_err(|e| format!("pattern '{p}': {e}"))?,
        )),
    };
    let bound = |v: &Option<Value>, key: &str| -> Result<Option<(String, Typed)>, String> {
        let Some(v) = v else { return Ok(None) };
        let shown = text(v);
        match super::value::cast(&kind, &shown) {
            Some(t @ (Typed::Number(_) | Typed::Date(_) | Typed::Datetime(_))) => Ok(Some((shown, t))),
            _ => Err(format!("{key} {v} does not fit type {}", f.kind)),
        }
    };
    Ok(Column {
        name: f.name.clone(),
        required: c.required,
        unique: c.unique,
        enumeration: c.enumeration.as_ref().map(|e| e.iter().map(text).collect()),
        pattern,
        min_length: c.min_length,
        max_length: c.max_length,
        minimum: bound(&c.minimum, "minimum")?,
        maximum: bound(&c.maximum, "maximum")?,
        kind,
    })
}
