//! A saved filter → parameterised SQL. Identifiers come only from the data
//! model; every value, whether written in the filter or passed by the script,
//! is bound as a parameter, never pasted into the SQL.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::model::{FieldRef, FieldType, Model};
use super::FilterError;
use crate::source::{Param, Query};

/// A value in a filter file: a literal, a list, or `{ param = "name" }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub(crate) enum Value {
    /// Supplied by the script: `filter("name", #{ prefix: "Mc" })`.
    Param {
        /// The parameter's name.
        param: String,
    },
    /// A list (`in`, `between`).
    List(Vec<Value>),
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// true / false.
    Bool(bool),
}

/// One condition of a filter file, checked against the data model when compiled.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Condition {
    /// `entity.field` in the data model, e.g. `student.lastName`.
    pub field: String,
    /// `=`, `<>`, `<`, `>`, `<=`, `>=`, `between`, `in`, `is empty`,
    /// `is not empty`, `starts with`, `contains`.
    pub op: String,
    /// The value (absent for `is empty`).
    pub value: Option<Value>,
}

/// A selected field, optionally renamed.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Selected {
    /// `"student.lastName"`: the column is named `lastName`.
    Field(String),
    /// `{ field = "student.lastName", as = "last_name" }`.
    Named {
        /// `entity.field` in the data model, e.g. `student.lastName`.
        field: String,
        /// The output column's name.
        #[serde(rename = "as")]
        alias: String,
    },
}

/// A saved filter, as written in `filters/NAME.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filter {
    pub name: Option<String>,
    /// The user whose rights the filter runs with.
    pub owner: String,
    /// Output columns.
    pub fields: Vec<Selected>,
    /// All must hold.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Sort order; a leading `-` sorts descending.
    #[serde(default)]
    pub sort: Vec<String>,
}

/// Every operator `op` accepts, listed in the error for an unknown one.
pub(crate) const OPERATORS: &[&str] = &[
    "=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "between",
    "in",
    "is empty",
    "is not empty",
    "starts with",
    "contains",
];

struct Binder<'a> {
    params: BTreeMap<String, Param>,
    given: &'a BTreeMap<String, Param>,
    n: usize,
}

impl Binder<'_> {
    /// Binds one scalar value for `field`, returning its placeholder SQL.
    fn bind(&mut self, f: &FieldRef, v: &Value, transform: impl Fn(String) -> String) -> Result<String, FilterError> {
        let raw = match v {
            Value::Param { param } => self
                .given
                .get(param)
                .cloned()
                .ok_or_else(|| FilterError::MissingParam(param.clone()))?,
            Value::Text(s) => Param::Text(s.clone()),
            Value::Int(i) => Param::Int(*i),
            Value::Float(x) => Param::Float(*x),
            Value::Bool(b) => Param::Bool(*b),
            Value::List(_) => {
                return Err(FilterError::BadValue(format!(
                    "{}.{}: a list where one value belongs",
                    f.entity, f.name
                )))
            }
        };
        let param = match (f.field.kind, raw) {
            (FieldType::Date, Param::Text(s)) => {
                Param::Date(chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| {
                    FilterError::BadValue(format!("{}.{}: '{s}' is not a date (YYYY-MM-DD)", f.entity, f.name))
                })?)
            }
            (_, Param::Text(s)) => Param::Text(transform(s)),
            (FieldType::Text, Param::Int(i)) => Param::Text(transform(i.to_string())),
            (_, p) => p,
        };
        self.n += 1;
        let name = format!("v{}", self.n);
        self.params.insert(name.clone(), param);
        Ok(format!(":{name}"))
    }
}

/// Escapes LIKE wildcards with `!` (not a backslash, which MySQL strings treat specially).
fn like_escape(s: &str) -> String {
    s.replace('!', "!!").replace('%', "!%").replace('_', "!_")
}

/// Compiles `filter` over `model`, scoped to `year`, with the script's `given` values.
pub(crate) fn compile(
    model: &Model,
    filter: &Filter,
    given: &BTreeMap<String, Param>,
    year: i32,
) -> Result<Query, FilterError> {
    let mut b = Binder {
        params: BTreeMap::new(),
        given,
        n: 0,
    };
    let mut needed: Vec<&str> = Vec::new();
    let mut select = Vec::new();
    let mut names: Vec<String> = Vec::new();
    if filter.fields.is_empty() {
        return Err(FilterError::BadValue("a filter selects at least one field".into()));
    }
    for s in &filter.fields {
        let (path, alias) = match s {
            Selected::Field(p) => (p.as_str(), None),
            Selected::Named { field, alias } => (field.as_str(), Some(alias.as_str())),
        };
        let f = model.field(path)?;
        let alias = alias.unwrap_or(f.name).to_string();
        if alias.contains('"') || alias.is_empty() {
            return Err(FilterError::BadValue(format!("column name '{alias}' is not allowed")));
        }
        if names.contains(&alias) {
            return Err(FilterError::BadValue(format!(
                "two columns would be named '{alias}'; rename one: {{ field = \"{path}\", as = \"...\" }}"
            )));
        }
        needed.push(f.entity);
        select.push(format!("{} AS \"{alias}\"", f.sql()));
        names.push(alias);
    }
    let mut wheres = Vec::new();
    if let Some(scope) = &model.scope {
        let f = model.field(scope)?;
        needed.push(f.entity);
        let p = b.bind(&f, &Value::Int(year as i64), |s| s)?;
        wheres.push(format!("{} = {p}", f.sql()));
    }
    for c in &filter.conditions {
        let f = model.field(&c.field)?;
        needed.push(f.entity);
        let col = f.sql();
        let value = |what: &str| {
            c.value
                .clone()
                .ok_or_else(|| FilterError::BadValue(format!("{} {}: needs {what}", c.field, c.op)))
        };
        let text_like = f.field.kind == FieldType::Text;
        let sql = match c.op.as_str() {
            op @ ("=" | "<>" | "<" | ">" | "<=" | ">=") => {
                format!("{col} {op} {}", b.bind(&f, &value("a value")?, |s| s)?)
            }
            "between" => match value("two values [low, high]")? {
                Value::List(v) if v.len() == 2 => {
                    format!(
                        "{col} BETWEEN {} AND {}",
                        b.bind(&f, &v[0], |s| s)?,
                        b.bind(&f, &v[1], |s| s)?
                    )
                }
                _ => {
                    return Err(FilterError::BadValue(format!(
                        "{} between: needs two values [low, high]",
                        c.field
                    )))
                }
            },
            "in" => match value("a list of values")? {
                Value::List(v) if !v.is_empty() => {
                    let p: Vec<String> = v.iter().map(|x| b.bind(&f, x, |s| s)).collect::<Result<_, _>>()?;
                    format!("{col} IN ({})", p.join(", "))
                }
                _ => return Err(FilterError::BadValue(format!("{} in: needs a non-empty list", c.field))),
            },
            "is empty" if text_like => format!("({col} IS NULL OR {col} = '')"),
            "is empty" => format!("{col} IS NULL"),
            "is not empty" if text_like => format!("({col} IS NOT NULL AND {col} <> '')"),
            "is not empty" => format!("{col} IS NOT NULL"),
            "starts with" => format!(
                "{col} LIKE {} ESCAPE '!'",
                b.bind(&f, &value("a value")?, |s| format!("{}%", like_escape(&s)))?
            ),
            "contains" => format!(
                "{col} LIKE {} ESCAPE '!'",
                b.bind(&f, &value("a value")?, |s| format!("%{}%", like_escape(&s)))?
            ),
            other => {
                return Err(FilterError::UnknownOperator {
                    op: other.to_string(),
                    known: OPERATORS.join(", "),
                })
            }
        };
        wheres.push(sql);
    }
    let mut order = Vec::new();
    for s in &filter.sort {
        let (path, desc) = match s.strip_prefix('-') {
            Some(p) => (p, true),
            None => (s.as_str(), false),
        };
        let f = model.field(path)?;
        needed.push(f.entity);
        order.push(format!("{}{}", f.sql(), if desc { " DESC" } else { "" }));
    }
    let mut sql = format!("SELECT {}\nFROM ", select.join(", "));
    for (i, e) in model.join_order(&needed).into_iter().enumerate() {
        let ent = &model.entities[e];
        if i == 0 {
            sql.push_str(&format!("{} AS {e}", ent.table));
        } else {
            sql.push_str(&format!(
                "\nJOIN {} AS {e} ON {}",
                ent.table,
                ent.join.as_deref().unwrap_or("1 = 1")
            ));
        }
    }
    if !wheres.is_empty() {
        sql.push_str(&format!("\nWHERE {}", wheres.join("\n  AND ")));
    }
    if !order.is_empty() {
        sql.push_str(&format!("\nORDER BY {}", order.join(", ")));
    }
    Ok(Query { sql, params: b.params })
}

/// Every field a filter uses (selected, conditions, sort), for rights checks.
pub(crate) fn used_fields(filter: &Filter) -> Vec<&str> {
    let mut v: Vec<&str> = filter
        .fields
        .iter()
        .map(|s| match s {
            Selected::Field(p) => p.as_str(),
            Selected::Named { field, .. } => field.as_str(),
        })
        .collect();
    v.extend(filter.conditions.iter().map(|c| c.field.as_str()));
    v.extend(filter.sort.iter().map(|s| s.trim_start_matches('-')));
    v
}
