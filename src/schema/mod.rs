//! Schema guards: a delivered file, or every file of a zip bundle together,
//! checked against the receiver's published layout before it leaves.
//!
//! A file that arrives whole but wrong is the costliest failure a district
//! has: the vendor's importer rejects it or, worse, applies it. The schemas
//! are Frictionless Data Package / Table Schema JSON files shipped under
//! `stdlib/schemas/NAME/datapackage.json`, so an independent validator can
//! read the same files (the server suite runs Python `frictionless` on them).

mod check;
mod model;
mod value;

use std::path::{Path, PathBuf};

pub(crate) use check::check;
pub(crate) use model::Schema;

/// A schema that cannot be used: the guard's configuration is wrong, not the
/// file, so the run fails rather than holds.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    #[error(
        "guards: schema '{name}': {path} cannot be read ({reason}); the schemas shipped are in {dir}: {available}"
    )]
    Missing {
        name: String,
        path: PathBuf,
        reason: String,
        dir: PathBuf,
        available: String,
    },
    #[error("guards: schema '{name}': {path} is not a valid data package: {reason}")]
    Invalid {
        name: String,
        path: PathBuf,
        reason: String,
    },
    #[error("guards: schema '{0}' is not a plain name like \"oneroster-1.1\" (letters, digits, '.', '-', '_')")]
    BadName(String),
}

/// Reads `stdlib_dir/schemas/NAME/datapackage.json`.
pub(crate) fn load(stdlib_dir: &Path, name: &str) -> Result<Schema, SchemaError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !plain {
        return Err(SchemaError::BadName(name.to_string()));
    }
    let dir = stdlib_dir.join("schemas");
    let path = dir.join(name).join("datapackage.json");
    let text = std::fs::read_to_string(&path).map_err(|e| SchemaError::Missing {
        name: name.to_string(),
        path: path.clone(),
        reason: e.to_string(),
        available: available(&dir),
        dir: dir.clone(),
    })?;
    let invalid = |reason: String| SchemaError::Invalid {
        name: name.to_string(),
        path: path.clone(),
        reason,
    };
    let package: model::Package = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    Schema::compile(name, package).map_err(invalid)
}

fn available(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().join("datapackage.json").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
