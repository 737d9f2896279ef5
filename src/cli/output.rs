//! Small shared helpers for what commands print: tables that fit the
//! terminal, `--wide` and `--json`, sizes, and times labelled with their zone.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};

/// The width a table is fitted to when neither `COLUMNS` nor a terminal
/// says: what a log file or a mail viewer shows comfortably.
pub(super) const DEFAULT_WIDTH: u16 = 100;

/// How a listing command prints: shared by every command that lists things.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct View {
    /// Full cell values, however wide the table gets.
    #[arg(long)]
    pub wide: bool,
    /// JSON instead of a table: every column, full values, times in UTC (RFC 3339).
    #[arg(long, conflicts_with = "wide")]
    pub json: bool,
}

impl View {
    /// A table for this view: fitted to the width unless `--wide`.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED).set_header(header.to_vec());
        if self.wide {
            t.set_content_arrangement(ContentArrangement::Disabled);
        } else {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            let width = std::env::var("COLUMNS")
                .ok()
                .and_then(|c| c.trim().parse::<u16>().ok())
                .filter(|w| *w > 0)
                .or_else(|| t.width())
                .unwrap_or(DEFAULT_WIDTH);
            t.set_width(width);
        }
        t
    }

    /// Sizes the columns of `t` (rows added) to the width: while the table
    /// is too wide, the widest column that may still narrow loses a
    /// character, so short columns keep their content whole and long cells
    /// wrap. `mins` gives columns a narrowest width (8 otherwise, or their
    /// content's when less), so identifiers and dates wrap at their spaces.
    pub fn fit(&self, t: &mut Table, mins: &[(usize, usize)]) {
        let Some(width) = (!self.wide).then(|| t.width()).flatten() else {
            return;
        };
        let mut widths: Vec<usize> = t.column_max_content_widths().iter().map(|w| *w as usize).collect();
        let min: Vec<usize> = (0..widths.len())
            .map(|i| {
                let asked = mins.iter().find(|(c, _)| *c == i).map_or(8, |(_, m)| *m);
                asked.min(widths[i])
            })
            .collect();
        // Each column has one space either side and a border after; the table one more.
        let budget = (width as usize).saturating_sub(widths.len() * 3 + 1);
        // Down to each column's narrowest, then (a very narrow terminal) to 3.
        for floor in [min, vec![3; widths.len()]] {
            while widths.iter().sum::<usize>() > budget {
                let widest = (0..widths.len())
                    .filter(|&i| widths[i] > floor[i])
                    .max_by_key(|&i| widths[i]);
                match widest {
                    Some(i) => widths[i] -= 1,
                    None => break,
                }
            }
        }
        for (i, w) in widths.into_iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                let w = u16::try_from(w + 2).unwrap_or(u16::MAX);
                c.set_constraint(comfy_table::ColumnConstraint::Absolute(comfy_table::Width::Fixed(w)));
            }
        }
    }

    /// A long cell: elided to `max` characters unless `--wide`.
    pub fn cell(&self, text: &str, max: usize) -> String {
        if self.wide {
            text.to_string()
        } else {
            elide(text, max)
        }
    }

    /// A local path: relative to `base` when inside it, else its tail,
    /// unless `--wide`.
    pub fn path(&self, path: &str, base: &std::path::Path, max: usize) -> String {
        if self.wide {
            return path.to_string();
        }
        let p = std::path::Path::new(path);
        let short = match p.strip_prefix(base) {
            Ok(rel) if p.is_absolute() && !rel.as_os_str().is_empty() => rel.display().to_string(),
            _ => path.to_string(),
        };
        elide_path(&short, max)
    }
}

/// Prints `value` as pretty JSON on standard output.
/// A reader that stopped early (`| head`) is not an error.
pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<(), super::Failure> {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value)?;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::from(e).into()),
        _ => Ok(()),
    }
}

/// One cell of a [`Listing`]: what the table shows and what JSON carries.
pub(super) struct Cell {
    text: String,
    value: serde_json::Value,
}

impl Cell {
    /// A value shown as itself: lists joined with ", ", nothing as blank,
    /// booleans as yes/no.
    pub(super) fn of(value: impl serde::Serialize) -> Cell {
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        let text = match &value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
            serde_json::Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        Cell { text, value }
    }

    /// A time: labelled with its zone in the table, UTC (RFC 3339) in JSON;
    /// `none` is shown when there is no time.
    pub(super) fn time(t: Option<DateTime<Utc>>, none: &str) -> Cell {
        Cell {
            text: t.map(minute).unwrap_or_else(|| none.to_string()),
            value: serde_json::to_value(t).unwrap_or(serde_json::Value::Null),
        }
    }

    /// A value shown differently from how JSON carries it (a secret's
    /// redacted form is shown and carried the same: never pass a secret).
    pub(super) fn shown(text: String, value: impl serde::Serialize) -> Cell {
        Cell {
            text,
            value: serde_json::to_value(value).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What a listing command prints: a fitted table, or with `--json` an
/// array of objects keyed by column, every column in full.
pub(super) struct Listing {
    view: View,
    columns: Vec<(&'static str, &'static str)>,
    rows: Vec<Vec<Cell>>,
}

impl Listing {
    /// A listing with `(table header, JSON key)` columns.
    pub(super) fn new(view: View, columns: &[(&'static str, &'static str)]) -> Listing {
        Listing {
            view,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row, one cell per column.
    pub(super) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len());
        self.rows.push(cells);
    }

    /// Prints it; `empty` (what to do when there is nothing) replaces an empty table.
    pub(super) fn print(self, empty: &str) -> Result<(), super::Failure> {
        if self.view.json {
            let objects: Vec<serde_json::Map<String, serde_json::Value>> = self
                .rows
                .into_iter()
                .map(|cells| {
                    self.columns
                        .iter()
                        .zip(cells)
                        .map(|((_, key), c)| (key.to_string(), c.value))
                        .collect()
                })
                .collect();
            return json(&objects);
        }
        if self.rows.is_empty() {
            println!("{empty}");
            return Ok(());
        }
        let header: Vec<&str> = self.columns.iter().map(|(h, _)| *h).collect();
        let mut t = self.view.table(&header);
        for cells in self.rows {
            // Wrapped, never cut: these cells are messages and names people act on.
            t.add_row(cells.into_iter().map(|c| c.text).collect::<Vec<_>>());
        }
        self.view.fit(&mut t, &[]);
        println!("{t}");
        Ok(())
    }
}

/// A table with the default view (fitted to the width).
pub(super) fn table(header: &[&str]) -> Table {
    View::default().table(header)
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub(super) fn elide(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// A path cut to `max` characters from the front, keeping whole trailing
/// components (`…/exports/roster.csv`): the end says which file it is.
pub(super) fn elide_path(path: &str, max: usize) -> String {
    if path.chars().count() <= max {
        return path.to_string();
    }
    let parts: Vec<&str> = path.split('/').collect();
    let mut tail = String::new();
    for part in parts.iter().rev() {
        let next = if tail.is_empty() {
            part.to_string()
        } else {
            format!("{part}/{tail}")
        };
        if next.chars().count() + 2 > max {
            break;
        }
        tail = next;
    }
    if tail.is_empty() {
        let last = parts.last().copied().unwrap_or(path);
        let n = last.chars().count();
        let keep: String = last.chars().skip(n.saturating_sub(max.saturating_sub(2))).collect();
        return format!("…/{keep}");
    }
    format!("…/{tail}")
}

pub(super) use crate::format::thousands;

/// `12.3 KB`.
pub(super) fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / 1024.0 / 1024.0),
    }
}

/// The zone times are shown in: the configuration's `timezone`, the
/// district's, which is also the default zone of every script's schedule.
static ZONE: OnceLock<chrono_tz::Tz> = OnceLock::new();

/// Sets the zone [`when`] shows times in (once, from the configuration).
pub(super) fn show_times_in(zone: chrono_tz::Tz) {
    let _ = ZONE.set(zone);
}

/// A time for people, labelled with its zone: `2026-12-07 02:30:00 CST`.
pub(super) fn when(t: DateTime<Utc>) -> String {
    match ZONE.get() {
        Some(zone) => when_in(t, *zone),
        None => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// A time to the minute for a table cell, labelled with its zone:
/// `2026-12-07 02:30 CST`.
pub(super) fn minute_in(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    crate::schedule::labelled(t, zone, false)
}

/// [`minute_in`] in the zone [`when`] uses.
pub(super) fn minute(t: DateTime<Utc>) -> String {
    minute_in(t, ZONE.get().copied().unwrap_or(chrono_tz::UTC))
}

/// A time in `zone`, labelled with the zone's abbreviation (or its offset
/// where the zone has no abbreviation, as `+0530`).
pub(super) fn when_in(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    crate::schedule::labelled(t, zone, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_easily() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(size(2048), "2.0 KB");
    }

    #[test]
    fn times_carry_their_zone() {
        let t = "2026-12-07T08:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(when_in(t, chrono_tz::America::Chicago), "2026-12-07 02:30:00 CST");
        assert_eq!(when_in(t, chrono_tz::Asia::Kolkata), "2026-12-07 14:00:00 IST");
        let july = "2026-07-07T08:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(when_in(july, chrono_tz::America::Chicago), "2026-07-07 03:30:00 CDT");
        assert_eq!(minute_in(july, chrono_tz::America::Chicago), "2026-07-07 03:30 CDT");
    }

    #[test]
    fn long_values_are_elided_keeping_what_identifies_them() {
        assert_eq!(elide("abcdefghij", 5), "abcd…");
        assert_eq!(elide("abc", 5), "abc");
        assert_eq!(
            elide_path("/srv/ferry/work/exports/roster.csv", 22),
            "…/exports/roster.csv"
        );
        assert_eq!(elide_path("/a/very-long-file-name.csv", 10), "…/name.csv");
    }
}
