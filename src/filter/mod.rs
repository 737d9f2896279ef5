//! Saved ad hoc filters (the original tool's "Ad Hoc" extract method): a
//! declarative selection over a data model, compiled to parameterised SQL,
//! scoped to the active school year, run with its owner's rights and under a
//! time limit.
//!
//! Files: `filters/model.toml` (the data model) and `filters/NAME.toml` (one
//! filter each). Plain Rust; the script primitive `filter()` lives in
//! `script::api::filter`.

mod compile;
mod model;

use std::path::{Path, PathBuf};

pub(crate) use compile::{compile, used_fields, Filter, OPERATORS};
pub(crate) use model::Model;

/// The right a filter's owner needs to run ad hoc filters at all.
pub(crate) const ADHOC_RIGHT: &str = "adhoc";

/// A filter or model problem, written for the person who edits them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    /// The data model file is missing or wrong.
    #[error("data model {origin}: {message}")]
    Model { origin: String, message: String },
    /// No such filter.
    #[error("no filter named '{name}' in {dir} (filters: {known})")]
    Unknown { name: String, dir: String, known: String },
    /// The filter file does not parse.
    #[error("filter {origin}: {message}")]
    Invalid { origin: String, message: String },
    /// A field the model does not list.
    #[error("unknown field '{field}'; the data model has: {known}")]
    UnknownField { field: String, known: String },
    /// An operator the compiler does not know.
    #[error("unknown operator '{op}'; operators: {known}")]
    UnknownOperator { op: String, known: String },
    /// A value of the wrong shape.
    #[error("{0}")]
    BadValue(String),
    /// A `{ param = "x" }` the script did not pass.
    #[error("the filter needs the parameter '{0}': pass it as filter(\"name\", #{{ {0}: ... }})")]
    MissingParam(String),
    /// The owner lacks a right.
    #[error("filter '{filter}' is refused: its owner '{owner}' {why}")]
    Refused {
        filter: String,
        /// The filter's owner, whose rights a filter runs with.
        owner: String,
        /// Which right is missing.
        why: String,
    },
}

/// What the state store knows of a filter owner's rights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerRights {
    /// No users are defined: single-administrator mode, nothing is checked.
    Unchecked,
    /// Users are defined, but not this one.
    NoSuchUser,
    /// The user's rights, direct and through groups.
    Granted(Vec<String>),
}

/// The filters folder: the model and the saved filters.
pub(crate) struct Filters {
    dir: PathBuf,
    /// The entities and fields filters may name; compiled filters are checked against it.
    pub model: Model,
}

impl Filters {
    /// Loads the model of a filters folder.
    pub(crate) fn open(dir: &Path) -> Result<Filters, FilterError> {
        let path = dir.join("model.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| FilterError::Model {
            origin: path.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        Ok(Filters {
            dir: dir.to_path_buf(),
            model: Model::parse(&text, &path.display().to_string())?,
        })
    }

    /// The names of the saved filters, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
                    .filter(|n| n != "model")
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Reads one filter and checks every field it names against the model.
    pub(crate) fn get(&self, name: &str) -> Result<Filter, FilterError> {
        let plain =
            !name.is_empty() && name != "model" && name.chars().all(|c| c.is_alphanumeric() || "_-".contains(c));
        let path = self.dir.join(format!("{name}.toml"));
        if !plain || !path.exists() {
            return Err(FilterError::Unknown {
                name: name.to_string(),
                dir: self.dir.display().to_string(),
                known: self.names().join(", "),
            });
        }
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| FilterError::Invalid {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        let filter: Filter = toml::from_str(&text).map_err(|e| FilterError::Invalid {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        for f in used_fields(&filter) {
            self.model.field(f)?;
        }
        for c in &filter.conditions {
            if !OPERATORS.contains(&c.op.as_str()) {
                return Err(FilterError::UnknownOperator {
                    op: c.op.clone(),
                    known: OPERATORS.join(", "),
                });
            }
        }
        Ok(filter)
    }

    /// Checks that the owner's rights allow the filter: the ad hoc right and
    /// every sensitive field's (nothing is checked in single-administrator
    /// mode, before any user is defined).
    pub(crate) fn check_rights(&self, name: &str, filter: &Filter, owner: &OwnerRights) -> Result<(), FilterError> {
        let refuse = |why: String| FilterError::Refused {
            filter: name.to_string(),
            owner: filter.owner.clone(),
            why,
        };
        let rights = match owner {
            OwnerRights::Unchecked => return Ok(()),
            OwnerRights::NoSuchUser => {
                return Err(refuse(format!(
                    "is not a ferry user: add them (ferry users add {} --right {ADHOC_RIGHT}) or change the \
                     filter's owner in {}",
                    filter.owner,
                    self.dir.join(format!("{name}.toml")).display()
                )))
            }
            OwnerRights::Granted(rights) => rights,
        };
        if !rights.iter().any(|r| r == ADHOC_RIGHT) {
            return Err(refuse(format!(
                "does not have the right '{ADHOC_RIGHT}' (ferry users grant {} {ADHOC_RIGHT})",
                filter.owner
            )));
        }
        for path in used_fields(filter) {
            let f = self.model.field(path)?;
            if let Some(right) = &f.field.right {
                if !rights.contains(right) {
                    return Err(refuse(format!("does not have the right '{right}' needed by {path}")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
