//! The script host: the only module that imports `rhai`. It loads a script
//! file (header → [`JobSpec`], code → compiled AST), checks what it can before
//! any run (databases, destinations and option names that are written
//! literally), and runs it with the primitives bound to one run.

pub mod api;
pub mod engine;
pub mod header;
mod names;
mod resolver;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rhai::{ASTNode, Expr, Scope, Stmt, AST};
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
        let uses = check(path, &ast, &spec, settings)?;
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

/// The error for a literal name the configuration does not define.
fn unknown(what: &str, table: &str, name: &str, known: impl Iterator<Item = String>) -> String {
    let known: Vec<String> = known.collect();
    format!(
        "unknown {what} '{name}' (configured: {}); add [{table}.{name}] to ferry.toml",
        known.join(", ")
    )
}

/// The database a literal name means under the header's `use_warehouse`.
fn database<'a>(spec: &JobSpec, db: &'a str) -> &'a str {
    header::database_for(spec.use_warehouse, db)
}

/// The options a primitive takes, and which argument holds them.
fn options_of(name: &str) -> Option<(&'static [&'static str], usize)> {
    Some(match name {
        "csv" | "fixed" | "ndjson" | "json" | "xlsx" | "html" => (api::format::option_names(name), 1),
        "report" => (api::report::OPTIONS, 1),
        "zip" => (api::zip::OPTIONS, 1),
        "gzip" => (api::gzip::OPTIONS, 1),
        "encrypt" => (api::pgp::ENCRYPT_OPTIONS, 1),
        "sign" => (api::pgp::SIGN_OPTIONS, 1),
        "photos" => (api::photos::OPTIONS, 0),
        _ => return None,
    })
}

fn literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::StringConstant(s, _) => Some(s.as_str()),
        _ => None,
    }
}

/// The error for a call of a function that nothing defines, with the name
/// probably meant. `own` is the script's functions; for a method, a map
/// key or property of the script may hold a function pointer (`obj.run()`).
fn unknown_call(call: &rhai::FnCallExpr, method: bool, own: &[String]) -> Option<String> {
    let name = call.name.as_str();
    let plain = call.op_token.is_none()
        && call.namespace.is_empty()
        && name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_');
    if !plain || names::is_builtin(name) || own.iter().any(|f| f == name) {
        return None;
    }
    let what = if method {
        format!("unknown method '{name}' (called as value.{name}(...))")
    } else {
        format!("unknown function '{name}'")
    };
    Some(match names::suggestion(name, own) {
        Some(meant) => format!("{what}; did you mean {meant}()?"),
        None => format!(
            "{what}: neither a ferry primitive (docs/scripting.md), a Rhai function, nor a function of this script"
        ),
    })
}

/// Checks called function names, literal database and destination names
/// and option keys.
fn check(path: &Path, ast: &AST, spec: &JobSpec, settings: &Settings) -> Result<Uses, ScriptError> {
    let mut uses = Uses::default();
    let mut problem: Option<ScriptError> = None;
    let own: Vec<String> = ast.iter_functions().map(|f| f.name.to_string()).collect();
    let mut keys = own.clone();
    ast.walk(&mut |nodes: &[ASTNode]| {
        match nodes.last() {
            Some(ASTNode::Expr(Expr::Map(m, _))) => keys.extend(m.0.iter().map(|(i, _)| i.name.to_string())),
            Some(ASTNode::Expr(Expr::Property(p, _))) => keys.push(p.2.to_string()),
            _ => {}
        }
        true
    });
    ast.walk(&mut |nodes: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::MethodCall(c, pos))) = nodes.last() {
            if let Some(message) = unknown_call(c, true, &keys) {
                problem.get_or_insert(ScriptError::at(path, pos.line().unwrap_or(1), message));
            }
        }
        let (call, pos) = match nodes.last() {
            Some(ASTNode::Expr(Expr::FnCall(c, pos))) | Some(ASTNode::Stmt(Stmt::FnCall(c, pos))) => (c, *pos),
            _ => return true,
        };
        let line = pos.line().unwrap_or(1);
        let name = call.name.as_str();
        if let Some(message) = unknown_call(call, false, &own) {
            problem.get_or_insert(ScriptError::at(path, line, message));
        }
        match name {
            "query" => {
                uses.methods.insert("SQL");
                if let Some(db) = call.args.first().and_then(literal).map(|db| database(spec, db)) {
                    uses.databases.insert(db.to_string());
                    if !settings.databases.contains_key(db) {
                        let message = unknown("database", "databases", db, settings.databases.keys().cloned());
                        problem.get_or_insert(ScriptError::at(path, line, message));
                    }
                }
            }
            "filter" => {
                uses.methods.insert("Ad hoc");
                if let Some(name) = call.args.first().and_then(literal) {
                    let checked = crate::filter::Filters::open(&settings.filters_dir).and_then(|f| f.get(name));
                    if let Err(e) = checked {
                        problem.get_or_insert(ScriptError::at(path, line, e.to_string()));
                    }
                }
            }
            "deliver" => {
                if let Some(dest) = call.args.get(1).and_then(literal) {
                    uses.destinations.insert(dest.to_string());
                    if !settings.destinations.contains_key(dest) {
                        let message = unknown(
                            "destination",
                            "destinations",
                            dest,
                            settings.destinations.keys().cloned(),
                        );
                        problem.get_or_insert(ScriptError::at(path, line, message));
                    }
                }
            }
            "photos" => {
                uses.methods.insert("Photos");
                let db = match call.args.first() {
                    Some(Expr::Map(m, _)) => match m.0.iter().find(|(i, _)| i.name == "db") {
                        Some((_, v)) => literal(v),
                        None => Some("live"),
                    },
                    _ => Some("live"),
                };
                if let Some(db) = db.map(|db| database(spec, db)) {
                    uses.databases.insert(db.to_string());
                    if !settings.databases.contains_key(db) {
                        let message = unknown("database", "databases", db, settings.databases.keys().cloned());
                        problem.get_or_insert(ScriptError::at(path, line, format!("photos(): {message}")));
                    }
                }
            }
            "report" => {
                uses.methods.insert("Report");
            }
            _ => {}
        }
        if let Some((known, at)) = options_of(name) {
            if let Some(Expr::Map(m, _)) = call.args.get(at) {
                for (ident, _) in m.0.iter().filter(|(i, _)| !known.contains(&i.name.as_str())) {
                    problem.get_or_insert(ScriptError::at(
                        path,
                        ident.pos.line().unwrap_or(line),
                        format!(
                            "{name}(): unknown option '{}' (options: {})",
                            ident.name,
                            known.join(", ")
                        ),
                    ));
                }
            }
        }
        true
    });
    match problem {
        Some(p) => Err(p),
        None => Ok(uses),
    }
}
