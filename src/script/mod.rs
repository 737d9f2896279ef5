//! The script host: the only module that imports `rhai`. It loads a script
//! file (header → [`JobSpec`], code → compiled AST), checks what it can before
//! any run (databases, destinations and option names that are written
//! literally), and runs it with the primitives bound to one run.

pub(crate) mod api;
mod check;
pub(crate) mod engine;
pub(crate) mod header;
mod names;
mod resolver;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{Scope, AST};
use sha2::{Digest, Sha256};

/// The scripts folder lives with the configuration (a leaf), so the
/// application and the state store can name scripts without the engine.
pub use crate::config::{BadScriptName, ScriptsDir};
pub use engine::ScriptError;
pub use header::{CatchUp, JobSpec, ParamValue, Recovery};

use crate::config::Settings;
use crate::run::context::RunContext;

/// What a script refers to by literal name, found without running it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uses {
    /// Databases named in `query("name", ...)`.
    pub databases: BTreeSet<String>,
    /// Destinations named in `deliver(file, "name")`.
    pub destinations: BTreeSet<String>,
    /// Extract methods used (`SQL`, ...), for `ferry list`.
    pub methods: BTreeSet<&'static str>,
}

/// A loaded, validated script version.
#[derive(Clone)]
pub struct Script {
    /// The file.
    pub path: PathBuf,
    /// The file name without `.rhai`: the script's identity in history.
    pub id: String,
    /// SHA-256 of the file's content, recorded with every run.
    pub hash: String,
    /// The header.
    pub spec: JobSpec,
    /// The zone its schedule is read in: the header's `timezone`, else
    /// ferry.toml's. Resolved once here, so the scheduler, the run, the
    /// list and the timeline cannot disagree.
    pub zone: chrono_tz::Tz,
    /// How long a run may take: the header's `timeout`, else ferry.toml's
    /// `default_timeout`.
    pub timeout: std::time::Duration,
    /// Literal references.
    pub uses: Uses,
    ast: Arc<AST>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script")
            .field("path", &self.path)
            .field("hash", &self.hash)
            .finish()
    }
}

impl Script {
    /// Reads, parses, compiles (resolving imports) and checks `path`.
    pub fn load(path: &Path, settings: &Settings) -> Result<Script, ScriptError> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| ScriptError::at(path, 1, format!("cannot read the script: {e}")))?;
        Script::from_source(path, &source, settings)
    }

    /// Like [`Script::load`] with the text given.
    pub fn from_source(path: &Path, source: &str, settings: &Settings) -> Result<Script, ScriptError> {
        let id = ScriptsDir::id_of(path).unwrap_or_default();
        let spec = header::parse(source, &id).map_err(|e| ScriptError::at(path, e.line, e.message))?;
        let mut engine = engine::build(&settings.scripts_dir, &settings.stdlib_dir, None);
        // Unoptimised, so literal option maps keep their keys' positions for
        // the checks below (constant folding would merge them into one value).
        engine.set_optimization_level(rhai::OptimizationLevel::None);
        let mut ast = engine
            .compile_into_self_contained(&Scope::new(), source)
            .map_err(|e| ScriptError::eval(path, *e))?;
        ast.set_source(path.display().to_string());
        let uses = check::check(path, &ast, &spec, settings)?;
        for id in &spec.include {
            let file = ScriptsDir::of(settings).path_of(id);
            if Some(id) == ScriptsDir::id_of(path).as_ref() || !file.is_file() {
                let line = source.lines().position(|l| l.contains("include")).map_or(1, |i| i + 1);
                return Err(ScriptError::at(
                    path,
                    line,
                    format!(
                        "header: include: '{id}' is not another script in {}",
                        settings.scripts_dir.display()
                    ),
                ));
            }
        }
        // A misspelt schema name is reported when the script loads (by
        // `ferry check`, the daemon and the console's save), not at 2 a.m.
        // when the first delivery would be held for it.
        if let Some(name) = &spec.guards.schema {
            if let Err(e) = crate::schema::load(&settings.stdlib_dir, name) {
                let line = source.lines().position(|l| l.contains("schema")).map_or(1, |i| i + 1);
                return Err(ScriptError::at(path, line, format!("header: {e}")));
            }
        }
        let hash = hex::encode(Sha256::digest(source.as_bytes()));
        Ok(Script {
            path: path.to_path_buf(),
            id,
            hash,
            zone: spec.timezone.unwrap_or(settings.timezone),
            timeout: spec.timeout.unwrap_or(settings.default_timeout),
            spec,
            uses,
            ast: Arc::new(ast),
        })
    }

    /// Runs the script to completion on the calling (blocking) thread.
    pub fn run(&self, run: Arc<RunContext>, params: Vec<(String, ParamValue)>) -> Result<(), ScriptError> {
        let (scripts, stdlib) = (run.settings.scripts_dir.clone(), run.settings.stdlib_dir.clone());
        let engine = engine::build(&scripts, &stdlib, Some(run));
        let params: rhai::Map = params
            .into_iter()
            .map(|(k, v)| {
                let d = match v {
                    ParamValue::Bool(b) => rhai::Dynamic::from(b),
                    ParamValue::Int(i) => rhai::Dynamic::from(i),
                    ParamValue::Float(f) => rhai::Dynamic::from(f),
                    ParamValue::Text(s) => rhai::Dynamic::from(s),
                };
                (k.into(), d)
            })
            .collect();
        let mut scope = Scope::new();
        scope.push_constant("params", params);
        engine
            .run_ast_with_scope(&mut scope, &self.ast)
            .map_err(|e| ScriptError::eval(&self.path, *e))
    }
}
