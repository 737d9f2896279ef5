//! The primitives scripts call, one file per family, each primitive described
//! once by its [`Primitive`] descriptor.

pub(crate) mod deliver;
mod fields;
pub(crate) mod filter;
pub(crate) mod format;
pub(crate) mod gzip;
pub(crate) mod notify;
pub(crate) mod pgp;
pub(crate) mod photos;
pub(crate) mod query;
pub(crate) mod report;
pub(crate) mod time;
pub(crate) mod zip;

use std::sync::Arc;

use rhai::{Dynamic, Engine, Map, Position};
use serde::de::DeserializeOwned;

use super::check::Call;
use crate::run::context::RunContext;

/// Everything ferry knows about one primitive, in one place: the names a
/// script calls, its options, what is checked when a script loads, and how
/// it is bound to a run. The engine's registration, the load-time checks,
/// the "did you mean" list and the reference in docs/scripting.md (generated
/// from each descriptor's doc comment, see `tests/reference.rs`) all come
/// from [`PRIMITIVES`], so a new primitive is added in one file.
pub(crate) struct Primitive {
    /// The names a script calls. A family documented as one (`ndjson` and
    /// `json`) shares a descriptor.
    pub(crate) names: &'static [&'static str],
    /// The argument (from 0) that holds a literal options map, and the keys
    /// it accepts: a misspelt key is reported when the script loads.
    pub(crate) options: Option<(usize, OptionNames)>,
    /// What else a literal argument can tell before any run: a database or
    /// destination name the configuration lacks. Also records what
    /// `ferry list` shows.
    pub(crate) check: Option<LoadCheck>,
    /// Binds the functions to one run.
    pub(crate) register: fn(&mut Engine, Arc<RunContext>),
}

/// The keys a primitive's options accept ([`option_names`] of its type).
pub(crate) type OptionNames = fn() -> &'static [&'static str];

/// A primitive's own load-time check of one literal call: the error says
/// what to fix.
pub(crate) type LoadCheck = fn(&mut Call<'_>) -> Result<(), String>;

/// Every primitive, in the order of the reference in docs/scripting.md.
pub(crate) const PRIMITIVES: &[Primitive] = &[
    query::QUERY,
    filter::FILTER,
    report::REPORT,
    query::MAP,
    query::TO_ARRAY,
    format::CSV,
    format::FIXED,
    format::JSON,
    format::XLSX,
    format::HTML,
    zip::ZIP,
    gzip::GZIP,
    pgp::ENCRYPT,
    pgp::SIGN,
    photos::PHOTOS,
    deliver::DELIVER,
    notify::NOTIFY,
    format::FILE,
    time::TIME,
];

/// The descriptor that owns `name`, if a primitive does.
pub(crate) fn primitive(name: &str) -> Option<&'static Primitive> {
    PRIMITIVES.iter().find(|p| p.names.contains(&name))
}

/// Registers every primitive, bound to one run.
pub(crate) fn register_all(engine: &mut Engine, run: Arc<RunContext>) {
    for p in PRIMITIVES {
        (p.register)(engine, run.clone());
    }
}

/// A primitive's options as a serde type with unknown fields denied: the
/// keys a script may write are the type's fields (its descriptor lists them
/// through [`option_names`]), read by the same conversion as an inline
/// destination's map, so the load-time check, the run and the reference
/// cannot disagree about what an option is.
pub(crate) trait Options: DeserializeOwned {
    /// What `field` holds, in the reference's words, for the error
    /// "zip(): option level: expected {this}, got 12".
    fn expected(field: &str) -> &'static str;
}

/// The keys options of type `T` accept.
pub(crate) fn option_names<T: Options>() -> &'static [&'static str] {
    serde_aux::serde_introspection::serde_introspect::<T>()
}

/// Refuses an options key outside `known`, naming the accepted ones: the
/// run-time twin of the load-time check of a literal map.
pub(crate) fn refuse_unknown(
    func: &str,
    map: &Map,
    known: &[&str],
    pos: Position,
) -> Result<(), Box<rhai::EvalAltResult>> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(crate::script::engine::runtime_error(
            format!("{func}(): unknown option '{k}' (options: {})", known.join(", ")),
            pos,
        )),
        None => Ok(()),
    }
}

/// Reads a script's options map into `T`. An unknown key is named with the
/// accepted ones; a value of the wrong kind is named with what it should be.
pub(crate) fn read_options<T: Options>(func: &str, map: &Map, pos: Position) -> Result<T, Box<rhai::EvalAltResult>> {
    refuse_unknown(func, map, option_names::<T>(), pos)?;
    let fail = |m: String| crate::script::engine::runtime_error(format!("{func}(): {m}"), pos);
    let table = options_table(map).map_err(fail)?;
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let field = e.path().iter().next().map(ToString::to_string).unwrap_or_default();
        match map.get(field.as_str()) {
            Some(got) => fail(format!("option {field}: expected {}, got {got}", T::expected(&field))),
            None => fail(e.inner().to_string()),
        }
    })
}

/// Refuses a second file of the same name in one run: the later would
/// overwrite the earlier in the run's folder.
pub(crate) fn name_is_free(
    func: &str,
    run: &RunContext,
    name: &str,
    pos: rhai::Position,
) -> Result<(), Box<rhai::EvalAltResult>> {
    if run.lock().files.iter().any(|f| f.name == name) {
        return Err(crate::script::engine::runtime_error(
            format!("{func}(): this run already wrote a file named {name}; give each file its own name"),
            pos,
        ));
    }
    Ok(())
}

/// A script's options map as a TOML table, so options that mirror a
/// configuration table (an inline destination, `file.guard`) are checked by
/// the same serde types as the configuration itself. The error names the key.
pub(crate) fn options_table(map: &Map) -> Result<toml::Table, String> {
    fn value(v: &Dynamic) -> Option<toml::Value> {
        if v.is_string() {
            Some(toml::Value::String(v.to_string()))
        } else if let Ok(i) = v.as_int() {
            Some(toml::Value::Integer(i))
        } else if let Ok(f) = v.as_float() {
            Some(toml::Value::Float(f))
        } else if let Ok(b) = v.as_bool() {
            Some(toml::Value::Boolean(b))
        } else if let Some(items) = v.read_lock::<rhai::Array>() {
            items.iter().map(value).collect::<Option<_>>().map(toml::Value::Array)
        } else if let Some(map) = v.read_lock::<Map>() {
            map.iter()
                .map(|(k, v)| value(v).map(|v| (k.to_string(), v)))
                .collect::<Option<_>>()
                .map(toml::Value::Table)
        } else {
            None
        }
    }
    map.iter()
        .map(|(k, v)| {
            value(v).map(|t| (k.to_string(), t)).ok_or_else(|| {
                format!(
                    "option '{k}' is {}, expected text, a number, true/false or a list of them",
                    v.type_name()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error<T: Options>(func: &str, entries: &[(&str, Dynamic)]) -> String {
        let map: Map = entries.iter().map(|(k, v)| ((*k).into(), v.clone())).collect();
        match read_options::<T>(func, &map, Position::NONE) {
            Ok(_) => panic!("{func}() accepted {map:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn options_are_read_by_their_serde_type_and_refused_in_the_reference_words() {
        let e = error::<pgp::SignOptions>("sign", &[("armor", Dynamic::from("yes"))]);
        assert!(
            e.contains("sign(): option armor: expected true (ASCII armor, .asc) or false (binary), got yes"),
            "{e}"
        );
        let e = error::<pgp::EncryptOptions>("encrypt", &[("to", Dynamic::from(5_i64))]);
        assert!(
            e.contains("encrypt(): option to: expected a key name or a list of key names"),
            "{e}"
        );
        let e = error::<zip::ZipOptions>("zip", &[("level", Dynamic::from(3.5_f64))]);
        assert!(
            e.contains("zip(): option level: expected a whole number from 0 (store) to 9"),
            "{e}"
        );
        let e = error::<gzip::GzipOptions>("gzip", &[("levl", Dynamic::from(3_i64))]);
        assert!(e.contains("gzip(): unknown option 'levl' (options: level)"), "{e}");
        let names: Vec<&str> = PRIMITIVES
            .iter()
            .filter_map(|p| p.options)
            .flat_map(|(_, names)| names().iter().copied())
            .collect();
        assert!(
            names.contains(&"to") && names.contains(&"delimiter") && names.contains(&"dir"),
            "{names:?}"
        );
    }
}
