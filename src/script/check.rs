//! What is checked when a script loads, before any run: every called
//! function exists, literal option keys are known, and the literal database
//! and destination names a primitive's descriptor checks are configured.
//! The walk is here; what each primitive checks is in its descriptor
//! ([`super::api::Primitive`]).

use std::path::Path;

use rhai::{ASTNode, Expr, Stmt, AST};

use super::{api, header, names, JobSpec, ScriptError, Uses};
use crate::config::Settings;

/// One literal call of a primitive, as its descriptor's check sees it.
pub(crate) struct Call<'a> {
    /// The call's arguments as written.
    pub(crate) args: &'a [Expr],
    spec: &'a JobSpec,
    settings: &'a Settings,
    /// What the script refers to, added to by each check.
    pub(crate) uses: &'a mut Uses,
}

impl Call<'_> {
    /// The text of argument `i` when it is written as a literal string.
    pub(crate) fn literal(&self, i: usize) -> Option<&str> {
        self.args.get(i).and_then(literal)
    }

    /// Records a database the call reads (under the header's
    /// `use_warehouse`) and refuses one ferry.toml does not configure.
    pub(crate) fn database(&mut self, db: &str) -> Result<(), String> {
        let db = header::database_for(self.spec.use_warehouse, db);
        self.uses.databases.insert(db.to_string());
        if self.settings.databases.contains_key(db) {
            Ok(())
        } else {
            Err(unknown("database", "databases", db, self.settings.databases.keys()))
        }
    }

    /// Records a destination the call sends to and refuses one ferry.toml
    /// does not configure.
    pub(crate) fn destination(&mut self, dest: &str) -> Result<(), String> {
        self.uses.destinations.insert(dest.to_string());
        if self.settings.destinations.contains_key(dest) {
            Ok(())
        } else {
            Err(unknown(
                "destination",
                "destinations",
                dest,
                self.settings.destinations.keys(),
            ))
        }
    }

    /// Where saved filters live, for `filter()`'s check.
    pub(crate) fn settings(&self) -> &Settings {
        self.settings
    }
}

/// The error for a literal name the configuration does not define.
fn unknown<'k>(what: &str, table: &str, name: &str, known: impl Iterator<Item = &'k String>) -> String {
    let known: Vec<&str> = known.map(String::as_str).collect();
    format!(
        "unknown {what} '{name}' (configured: {}); add [{table}.{name}] to ferry.toml",
        known.join(", ")
    )
}

/// The text of an argument written as a literal string.
pub(crate) fn literal(e: &Expr) -> Option<&str> {
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

/// Checks called function names, option keys and what each primitive's
/// descriptor checks; the first problem is the error.
pub(crate) fn check(path: &Path, ast: &AST, spec: &JobSpec, settings: &Settings) -> Result<Uses, ScriptError> {
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
        let Some(primitive) = api::primitive(name) else {
            return true;
        };
        if let Some(check) = primitive.check {
            let mut c = Call {
                args: &call.args,
                spec,
                settings,
                uses: &mut uses,
            };
            if let Err(message) = check(&mut c) {
                problem.get_or_insert(ScriptError::at(path, line, message));
            }
        }
        if let Some((at, names)) = primitive.options {
            let known = names();
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
