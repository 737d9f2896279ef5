//! Which functions a script may call, so `ferry check` finds a misspelt
//! `qeury(...)` when the script is saved rather than at 2:30 a.m.; and the
//! engine's own words for types made readable in messages.

use std::collections::BTreeSet;
use std::sync::LazyLock;

/// The names of ferry's primitives, from their descriptors.
fn primitives() -> impl Iterator<Item = &'static str> {
    super::api::PRIMITIVES.iter().flat_map(|p| p.names.iter().copied())
}

/// Functions the Rhai language handles itself rather than through a
/// package (they are not in the engine's function list).
const KEYWORDS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
];

/// The functions of Rhai's standard packages (`len`, `push`, `to_upper`, ...).
static BUILTINS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    rhai::Engine::new()
        .gen_fn_signatures(true)
        .iter()
        .filter_map(|s| signature_name(s).map(str::to_string))
        .filter(|n| n.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_'))
        .collect()
});

/// The function name of a signature as Rhai writes it (`len(string: &str) -> i64`);
/// `None` for property getters, setters and indexers.
pub(super) fn signature_name(signature: &str) -> Option<&str> {
    let name = signature.split('(').next()?.trim();
    let name = name.rsplit(' ').next().unwrap_or(name);
    (!name.contains('$') && !name.is_empty()).then_some(name)
}

/// True when `name` is a primitive, a Rhai keyword function or a function
/// of Rhai's packages.
pub(super) fn is_builtin(name: &str) -> bool {
    super::api::primitive(name).is_some() || KEYWORDS.contains(&name) || BUILTINS.contains(name)
}

/// The closest known name to a misspelt `name`, if one is close enough to
/// be what was meant: among the primitives and `own` (the script's
/// functions) first, then Rhai's.
pub(super) fn suggestion<'a>(name: &str, own: &'a [String]) -> Option<&'a str> {
    if name.chars().count() < 3 {
        return None;
    }
    let close = |candidates: &mut dyn Iterator<Item = &'a str>| {
        candidates
            .map(|c| (strsim::damerau_levenshtein(name, c), c))
            .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
            .min()
            .map(|(_, c)| c)
    };
    close(
        &mut primitives()
            .map(|p| -> &'a str { p })
            .chain(own.iter().map(String::as_str)),
    )
    .or_else(|| close(&mut BUILTINS.iter().map(String::as_str)))
}

/// An engine message with its Rust type names replaced by the words the
/// docs use: `&str | ImmutableString | String` is text, `i64` a number.
pub(super) fn plain_types(message: &str) -> String {
    [
        ("&str | ImmutableString | String", "text"),
        ("ImmutableString", "text"),
        ("&mut ", ""),
        ("i64", "integer"),
        ("f64", "decimal"),
        ("rhai::Array", "array"),
        ("rhai::Map", "map"),
        ("Array", "array"),
        ("Map", "map"),
    ]
    .iter()
    .fold(message.to_string(), |m, (from, to)| m.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_calls_get_the_name_meant() {
        assert_eq!(suggestion("qeury", &[]), Some("query"));
        assert_eq!(suggestion("delivr", &[]), Some("deliver"));
        assert_eq!(suggestion("to_uper", &[]), Some("to_upper"));
        assert_eq!(suggestion("grade_band", &["grade_bands".into()]), Some("grade_bands"));
        assert_eq!(suggestion("frobnicate", &[]), None);
        assert!(is_builtin("len") && is_builtin("sub_string") && is_builtin("query") && is_builtin("Fn"));
        assert!(!is_builtin("qeury"));
    }

    #[test]
    fn engine_types_read_as_words() {
        assert_eq!(
            plain_types("csv (Rows, &str | ImmutableString | String, i64)"),
            "csv (Rows, text, integer)"
        );
    }
}
