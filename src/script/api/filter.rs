//! `filter("name", params)`: a saved ad hoc filter, compiled to
//! parameterised SQL over the data model, checked against its owner's
//! rights, scoped to the active year and limited in time. Returns rows like
//! `query` does.

use super::Primitive;
use std::sync::Arc;

use rhai::{Engine, Map, NativeCallContext};

use super::query::{to_param, Limit, Rows};
use crate::filter::{compile, Filters};
use crate::run::context::RunContext;
use crate::script::engine::runtime_error;
use crate::state::LogLevel;

type Res<T> = Result<T, Box<rhai::EvalAltResult>>;

fn build(ctx: &NativeCallContext, run: &RunContext, name: &str, params: Map) -> Res<Rows> {
    let pos = ctx.call_position();
    let err = |e: &dyn std::fmt::Display| runtime_error(e.to_string(), pos);
    let filters = Filters::open(&run.settings.filters_dir).map_err(|e| err(&e))?;
    let filter = filters.get(name).map_err(|e| err(&e))?;
    let rights = run
        .runtime
        .block_on(run.store.owner_rights(&filter.owner))
        .map_err(|e| err(&e))?;
    if let Err(e) = filters.check_rights(name, &filter, &rights) {
        run.lock().refusal = Some(e.to_string());
        return Err(err(&e));
    }
    let given = params
        .iter()
        .map(|(k, v)| Ok((k.to_string(), to_param(k, v, pos)?)))
        .collect::<Res<_>>()?;
    let query = compile(&filters.model, &filter, &given, run.settings.active_year()).map_err(|e| err(&e))?;
    run.log(
        LogLevel::Info,
        format!(
            "filter '{name}' (owner {}): {}",
            filter.owner,
            query.sql.replace('\n', " ")
        ),
    );
    let limit = Limit {
        after: run.settings.filter_timeout,
        message: format!(
            "filter '{name}' did not finish within {} (the ad hoc filter time limit, filter_timeout in ferry.toml)",
            humantime::format_duration(run.settings.filter_timeout)
        ),
    };
    Ok(Rows::limited("live", query, pos, limit))
}

/// ### `filter(name)` / `filter(name, params)`
///
/// Runs a saved ad hoc filter (`filters/NAME.toml`) and returns its rows, like
/// `query`: compiled from the data model to bound SQL, limited to the active
/// school year, checked against its owner's rights, and stopped after
/// `filter_timeout` (5 minutes). `params` supplies the filter's
/// `{ param = "..." }` values. See [filters](filters.md).
pub(crate) const FILTER: Primitive = Primitive {
    names: &["filter"],
    options: None,
    check: Some(|call| {
        call.uses.methods.insert("Ad hoc");
        match call.literal(0) {
            Some(name) => crate::filter::Filters::open(&call.settings().filters_dir)
                .and_then(|f| f.get(name))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }),
    register,
};

/// Registers `filter(name)` and `filter(name, params)`.
fn register(engine: &mut Engine, run: Arc<RunContext>) {
    let r = run.clone();
    engine.register_fn("filter", move |ctx: NativeCallContext, name: &str, params: Map| {
        build(&ctx, &r, name, params)
    });
    engine.register_fn("filter", move |ctx: NativeCallContext, name: &str| {
        build(&ctx, &run, name, Map::new())
    });
}
