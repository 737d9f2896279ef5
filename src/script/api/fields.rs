//! The option maps that describe fields: the `columns` of `fixed()` and the
//! `header_record` / `trailer_record` of `csv()` and `fixed()`.
//!
//! Each map's keys are checked like a primitive's options, so a misspelt
//! `widht` is an error naming the column rather than a field silently
//! written at the default width. Messages leave out the function and the
//! option; the caller prefixes both, with the script line.

use rhai::{Array, Dynamic, Map};

use crate::format::{Align, Count, DateStamp, Field, FixedColumn, Overflow, Records, Slot, Value};

const COLUMN_KEYS: &[&str] = &["name", "width", "align", "pad", "overflow"];
const FIELD_KEYS: &[&str] = &["text", "count", "sum", "date", "width", "align", "pad", "overflow"];

/// The `columns` of a fixed-width file; `overflow` is the file-wide default.
pub(super) fn fixed_columns(v: &Dynamic, overflow: Overflow) -> Result<Vec<FixedColumn>, String> {
    let items = array(v, "a list of maps, one per column: [#{ name: \"id\", width: 9 }, ...]")?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let m = item.read_lock::<Map>().ok_or_else(|| {
                format!(
                    "columns[{i}] is {}, not a map such as #{{ name: \"id\", width: 9 }}",
                    item.type_name()
                )
            })?;
            check_keys(&m, COLUMN_KEYS, &format!("columns[{i}]"))?;
            let name = match m.get("name") {
                Some(n) if n.is_string() => n.to_string(),
                _ => return Err(format!("columns[{i}] has no name (the column of the rows it writes)")),
            };
            let what = format!("columns[{i}] ({name:?})");
            let slot = slot(&m, &what, overflow)?
                .ok_or_else(|| format!("{what} has no width; every column of a fixed-width file needs one"))?;
            Ok(FixedColumn { name, slot })
        })
        .collect()
}

/// `header_record` and `trailer_record` from the options map. In a
/// fixed-width file (`fixed`) every field needs a width.
pub(super) fn records(options: &Map, fixed: bool, overflow: Overflow) -> Result<Records, (&'static str, String)> {
    let one = |key: &'static str| match options.get(key) {
        None => Ok(Vec::new()),
        Some(v) => record(v, fixed, overflow).map_err(|e| (key, e)),
    };
    Ok(Records {
        header: one("header_record")?,
        trailer: one("trailer_record")?,
    })
}

fn record(v: &Dynamic, fixed: bool, overflow: Overflow) -> Result<Vec<Field>, String> {
    let items = array(v, "a list of fields: text, or maps such as #{ count: \"records\" }")?;
    if items.is_empty() {
        return Err("the record has no fields; leave the option out for no record".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let what = format!("field {}", i + 1);
            if item.is_string() || item.is_int() {
                if fixed {
                    return Err(format!(
                        "{what} ({item}) has no width; in a fixed-width file write it as #{{ text: \"{item}\", width: N }}"
                    ));
                }
                return Ok(Field {
                    value: Value::Text(item.to_string()),
                    slot: None,
                });
            }
            let m = item.read_lock::<Map>().ok_or_else(|| {
                format!("{what} is {}, not text or a map such as #{{ count: \"records\" }}", item.type_name())
            })?;
            check_keys(&m, FIELD_KEYS, &what)?;
            let value = value(&m, &what)?;
            let slot = slot(&m, &what, overflow)?;
            if fixed && slot.is_none() {
                return Err(format!(
                    "{what} has no width; every field of a fixed-width file's records needs one"
                ));
            }
            Ok(Field { value, slot })
        })
        .collect()
}

fn value(m: &Map, what: &str) -> Result<Value, String> {
    let given: Vec<&str> = ["text", "count", "sum", "date"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    let [key] = given[..] else {
        return Err(format!(
            "{what} must have exactly one of text, count, sum or date (it has {})",
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        ));
    };
    let v = &m[key];
    let text = if v.is_string() || (key == "text" && v.is_int()) {
        v.to_string()
    } else {
        return Err(format!("{what}: {key} must be text, not {}", v.type_name()));
    };
    Ok(match key {
        "text" => Value::Text(text),
        "count" => match text.as_str() {
            "records" => Value::Count(Count::Records),
            "all" => Value::Count(Count::All),
            other => {
                return Err(format!(
                    "{what}: count {other:?} is not \"records\" (the rows) or \"all\" (every line of the file)"
                ))
            }
        },
        "sum" => Value::Sum(text),
        _ => Value::Date(DateStamp::parse_text(&text, "date").map_err(|e| format!("{what}: {e}"))?),
    })
}

/// The width, alignment, padding and overflow of a map, if it has a width.
fn slot(m: &Map, what: &str, overflow: Overflow) -> Result<Option<Slot>, String> {
    let text = |key: &str| -> Result<Option<String>, String> {
        match m.get(key) {
            None => Ok(None),
            Some(v) if v.is_string() => Ok(Some(v.to_string())),
            Some(v) => Err(format!("{what}: {key} must be text, not {}", v.type_name())),
        }
    };
    let Some(width) = m.get("width") else {
        if let Some(k) = ["align", "pad", "overflow"].into_iter().find(|k| m.contains_key(*k)) {
            return Err(format!("{what} has {k} but no width"));
        }
        return Ok(None);
    };
    let width = width
        .as_int()
        .ok()
        .and_then(|w| usize::try_from(w).ok())
        .filter(|&w| w > 0)
        .ok_or_else(|| format!("{what}: width must be a whole number of bytes, at least 1, not {width}"))?;
    let align = match text("align")?.as_deref() {
        None | Some("left") => Align::Left,
        Some("right") => Align::Right,
        Some(other) => return Err(format!("{what}: align {other:?} is not \"left\" or \"right\"")),
    };
    let pad = match text("pad")? {
        None => b' ',
        Some(p) => match p.as_bytes() {
            [b] if (0x20..0x7F).contains(b) => *b,
            _ => {
                return Err(format!(
                    "{what}: pad {p:?} is not one printable ASCII character such as \" \" or \"0\""
                ))
            }
        },
    };
    let overflow = match text("overflow")? {
        None => overflow,
        Some(o) => parse_overflow(&o).map_err(|e| format!("{what}: {e}"))?,
    };
    Ok(Some(Slot {
        width,
        align,
        pad,
        overflow,
    }))
}

/// `"fail"` or `"truncate"`.
pub(super) fn parse_overflow(s: &str) -> Result<Overflow, String> {
    match s {
        "fail" => Ok(Overflow::Fail),
        "truncate" => Ok(Overflow::Truncate),
        other => Err(format!("overflow {other:?} is not \"fail\" or \"truncate\"")),
    }
}

fn array(v: &Dynamic, expected: &str) -> Result<Array, String> {
    v.clone()
        .try_cast::<Array>()
        .ok_or_else(|| format!("expected {expected}, got {}", v.type_name()))
}

fn check_keys(m: &Map, known: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{what} has the unknown key '{k}' (keys: {})", known.join(", "))),
        None => Ok(()),
    }
}
