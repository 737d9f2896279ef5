//! The Rhai engine as ferry configures it: sandbox limits, the import
//! resolver, deadline and cancellation through the progress callback, and the
//! one function that turns engine errors into located messages.

use std::path::Path;
use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Position};

use super::resolver::SandboxResolver;
use crate::run::context::RunContext;
use crate::state::LogLevel;

/// Operations a run may perform before it is stopped (a loop gone wrong).
/// Streaming rows through `csv` costs no operations; only script code does.
pub(crate) const MAX_OPERATIONS: u64 = 500_000_000;
/// Nested function calls.
pub(crate) const MAX_CALL_LEVELS: usize = 64;
/// Bytes in one string.
pub(crate) const MAX_STRING_SIZE: usize = 16 * 1024 * 1024;
/// Items in one array (`rows.to_array()` is meant for small results).
pub(crate) const MAX_ARRAY_SIZE: usize = 1_000_000;
/// Entries in one object map.
pub(crate) const MAX_MAP_SIZE: usize = 100_000;

/// An engine with ferry's limits and import folders; `run` adds the
/// primitives bound to that run.
pub(crate) fn build(scripts_dir: &Path, stdlib_dir: &Path, run: Option<Arc<RunContext>>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(MAX_OPERATIONS)
        .set_max_call_levels(MAX_CALL_LEVELS)
        .set_max_string_size(MAX_STRING_SIZE)
        .set_max_array_size(MAX_ARRAY_SIZE)
        .set_max_map_size(MAX_MAP_SIZE)
        .set_max_expr_depths(128, 64)
        .set_max_modules(64)
        .set_module_resolver(SandboxResolver::new(&[&scripts_dir.join("lib"), stdlib_dir]));
    engine.disable_symbol("eval");
    if let Some(ctx) = run {
        let c = ctx.clone();
        // The clock is read every 1,024 operations, not every one: a row
        // closure costs a few dozen operations, so a stop still lands within
        // microseconds.
        engine.on_progress(move |ops| {
            if ops % 1024 == 0 {
                c.stop_reason().map(Dynamic::from)
            } else {
                None
            }
        });
        let c = ctx.clone();
        engine.on_print(move |s| c.log(LogLevel::Info, s));
        let c = ctx.clone();
        engine.on_debug(move |s, _, pos| c.log(LogLevel::Info, format!("line {}: {s}", pos.line().unwrap_or(0))));
        super::api::register_all(&mut engine, ctx);
        debug_assert!(
            engine
                .gen_fn_signatures(false)
                .iter()
                .filter_map(|s| super::names::signature_name(s))
                .all(|name| super::api::primitive(name).is_some()),
            "a registered function is in no primitive's descriptor (api::PRIMITIVES): {:?}",
            engine.gen_fn_signatures(false)
        );
    }
    engine
}

/// A script failure located in a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}{}: {message}", col.map(|c| format!(":{c}")).unwrap_or_default())]
pub struct ScriptError {
    /// The file.
    pub path: String,
    /// 1-based line (1 when unknown).
    pub line: usize,
    /// 1-based column, when known.
    pub col: Option<usize>,
    /// What went wrong and what to do.
    pub message: String,
}

impl ScriptError {
    /// An error at a line of `path`.
    pub fn at(path: &Path, line: usize, message: impl Into<String>) -> Self {
        ScriptError {
            path: path.display().to_string(),
            line: line.max(1),
            col: None,
            message: message.into(),
        }
    }

    /// From a run-time error, unwrapping calls into functions and modules so
    /// the message names where in the script it happened.
    pub fn eval(path: &Path, err: EvalAltResult) -> Self {
        let mut outer = Position::NONE;
        let mut chain = Vec::new();
        let mut e = err;
        loop {
            match e {
                EvalAltResult::ErrorInFunctionCall(name, source, inner, pos) => {
                    if outer.is_none() {
                        outer = pos;
                    }
                    let place = if source.is_empty() {
                        String::new()
                    } else {
                        format!(" ({source})")
                    };
                    chain.push(format!("in {name}(){place}"));
                    e = *inner;
                }
                EvalAltResult::ErrorInModule(name, inner, pos) => {
                    if outer.is_none() {
                        outer = pos;
                    }
                    chain.push(format!("in module {name}"));
                    e = *inner;
                }
                _ => break,
            }
        }
        let inner_pos = e.take_position();
        let message = match e {
            EvalAltResult::ErrorRuntime(d, _) => d.to_string(),
            EvalAltResult::ErrorParsing(t, _) => format!("syntax error: {t}"),
            EvalAltResult::ErrorTerminated(d, _) => format!("stopped: {d}"),
            EvalAltResult::ErrorTooManyOperations(_) => {
                format!("stopped: the script performed more than {MAX_OPERATIONS} operations (an endless loop?)")
            }
            EvalAltResult::ErrorFunctionNotFound(signature, _) => function_not_found(&signature),
            other => super::names::plain_types(&other.to_string()),
        };
        let pos = if outer.is_none() { inner_pos } else { outer };
        let mut message = message;
        if !chain.is_empty() {
            let at = inner_pos.line().map(|l| format!(" line {l}")).unwrap_or_default();
            message = format!("{message} ({}{at})", chain.join(", "));
        }
        ScriptError {
            path: path.display().to_string(),
            line: pos.line().unwrap_or(1),
            col: pos.position(),
            message,
        }
    }
}

/// "Function not found: csv (Rows, &str | ImmutableString | String)" as a
/// person would say it: which call, with what kinds of values.
fn function_not_found(signature: &str) -> String {
    let (name, args) = signature.split_once(' ').unwrap_or((signature, "()"));
    let args = match args.trim() {
        "()" => "no arguments".to_string(),
        a => super::names::plain_types(a),
    };
    if super::names::is_builtin(name) {
        format!(
            "{name}() cannot be called with {args}: check the number and kinds of its arguments in docs/scripting.md"
        )
    } else {
        let meant = super::names::suggestion(name, &[])
            .map(|m| format!("; did you mean {m}()?"))
            .unwrap_or_default();
        format!("there is no function {name}() taking {args}{meant}")
    }
}

/// A host-function error at the script position that called it.
pub(crate) fn runtime_error(message: impl Into<String>, pos: Position) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), pos).into()
}
