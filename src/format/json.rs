//! JSON for loaders and APIs (Ed-Fi, modern vendors): one object per line
//! (NDJSON) or one array of objects, values typed as in the database.
//!
//! Always UTF-8 without a byte-order mark, as RFC 8259 requires of JSON
//! exchanged between systems. Each row is built in a reused buffer and
//! written whole, so nothing is allocated per value and no row is held past
//! its batch.

use std::io::Write;

use super::{FormatError, Place, RowWriter};
use crate::source::{Batch, Column, Kind};

/// How the objects are laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonLayout {
    /// NDJSON / JSON Lines: one object per line, each line ending in `\n`.
    Lines,
    /// One JSON array, one object per line inside it.
    Array,
}

/// How exact decimals (NUMERIC, DECIMAL) are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Decimals {
    /// As JSON numbers with the database's digits (`12.50`): exact in the
    /// file; a reader that parses numbers as binary floats may round them.
    #[default]
    Number,
    /// As strings (`"12.50"`), for readers that must not round.
    String,
}

impl std::str::FromStr for Decimals {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "number" => Ok(Decimals::Number),
            "string" => Ok(Decimals::String),
            _ => Err(FormatError::InvalidOption {
                option: "decimals",
                value: s.to_string(),
                expected: "\"number\" or \"string\"".into(),
            }),
        }
    }
}

/// What a JSON file looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonOptions {
    /// Lines or one array.
    pub layout: JsonLayout,
    /// Decimals as numbers or strings.
    pub decimals: Decimals,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Begun,
    Finished,
}

/// Writes rows as JSON objects keyed by column name, in column order.
pub struct JsonWriter<W: Write> {
    out: W,
    opts: JsonOptions,
    columns: Vec<Column>,
    /// Each column's `"name":`, escaped once.
    keys: Vec<Vec<u8>>,
    state: State,
    rows: u64,
    line: Vec<u8>,
}

impl<W: Write> JsonWriter<W> {
    /// A writer of `options` into `out`; nothing is written until `begin`.
    pub fn new(out: W, options: JsonOptions) -> Self {
        JsonWriter {
            out,
            opts: options,
            columns: Vec::new(),
            keys: Vec::new(),
            state: State::New,
            rows: 0,
            line: Vec::new(),
        }
    }

    /// Hands back the destination.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn value(&mut self, col: usize, v: Option<&str>) -> Result<(), FormatError> {
        let Some(v) = v else {
            self.line.extend_from_slice(b"null");
            return Ok(());
        };
        let raw = match self.columns[col].kind {
            Kind::Integer | Kind::Float => is_number(v),
            Kind::Decimal => self.opts.decimals == Decimals::Number && is_number(v),
            Kind::Boolean => v == "true" || v == "false",
            Kind::Json => {
                if serde_json::from_str::<serde::de::IgnoredAny>(v).is_err() {
                    return Err(FormatError::NotJson {
                        place: Place::Row(self.rows + 1),
                        column: self.columns[col].name.clone(),
                    });
                }
                // Valid JSON holds line breaks only between tokens, where
                // they can go: the object stays on its one line.
                self.line.extend(v.bytes().filter(|b| !matches!(b, b'\n' | b'\r')));
                return Ok(());
            }
            _ => false,
        };
        if raw {
            self.line.extend_from_slice(v.as_bytes());
        } else {
            string(&mut self.line, v);
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string, escaped by serde_json.
fn string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing to a Vec cannot fail");
}

/// Whether `s` is a JSON number as written (`-0.5`, `12`, `1e25`): NaN,
/// infinities and text such as `007` in a loosely typed SQLite column are
/// written as strings instead, so the file is always valid JSON.
fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

impl<W: Write> RowWriter for JsonWriter<W> {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if self.state != State::New {
            return Err(FormatError::OutOfOrder("begin called twice"));
        }
        self.state = State::Begun;
        self.columns = columns.to_vec();
        self.keys = columns
            .iter()
            .map(|c| {
                let mut k = Vec::new();
                string(&mut k, &c.name);
                k.push(b':');
                k
            })
            .collect();
        if self.opts.layout == JsonLayout::Array {
            self.out.write_all(b"[")?;
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("write_batch outside begin/finish"));
        }
        if batch.width() != self.columns.len() && !batch.is_empty() {
            return Err(FormatError::WidthMismatch {
                expected: self.columns.len(),
                got: batch.width(),
            });
        }
        for row in batch.rows() {
            self.line.clear();
            if self.opts.layout == JsonLayout::Array {
                self.line.extend_from_slice(if self.rows == 0 { b"\n" } else { b",\n" });
            }
            self.line.push(b'{');
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    self.line.push(b',');
                }
                self.line.extend_from_slice(&self.keys[i]);
                self.value(i, v)?;
            }
            self.line.push(b'}');
            if self.opts.layout == JsonLayout::Lines {
                self.line.push(b'\n');
            }
            self.out.write_all(&self.line)?;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("finish before begin, or twice"));
        }
        self.state = State::Finished;
        if self.opts.layout == JsonLayout::Array {
            self.out.write_all(if self.rows == 0 { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(layout: JsonLayout, decimals: Decimals, cols: &[(&str, Kind)], rows: &[&[Option<&str>]]) -> String {
        let columns: Vec<Column> = cols.iter().map(|(n, k)| Column::new(*n, *k)).collect();
        let mut batch = Batch::new(columns.len());
        for row in rows {
            for v in *row {
                match v {
                    Some(s) => batch.push_cell(s),
                    None => batch.push_null(),
                }
            }
        }
        let mut w = JsonWriter::new(Vec::new(), JsonOptions { layout, decimals });
        w.begin(&columns).unwrap();
        w.write_batch(&batch).unwrap();
        w.finish().unwrap();
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn values_keep_their_types() {
        let cols = [
            ("id", Kind::Integer),
            ("gpa", Kind::Decimal),
            ("score", Kind::Float),
            ("active", Kind::Boolean),
            ("name", Kind::Text),
            ("born", Kind::Date),
            ("doc", Kind::Json),
        ];
        let out = write(
            JsonLayout::Lines,
            Decimals::Number,
            &cols,
            &[
                &[
                    Some("7"),
                    Some("3.50"),
                    Some("NaN"),
                    Some("true"),
                    Some("Zoë \"Z\"\n"),
                    Some("2010-01-31"),
                    Some("{\n \"a\": [1, 2]\n}"),
                ],
                &[None, None, Some("-1e25"), None, Some(""), None, None],
            ],
        );
        assert_eq!(
            out,
            "{\"id\":7,\"gpa\":3.50,\"score\":\"NaN\",\"active\":true,\"name\":\"Zoë \\\"Z\\\"\\n\",\"born\":\"2010-01-31\",\"doc\":{ \"a\": [1, 2]}}\n\
             {\"id\":null,\"gpa\":null,\"score\":-1e25,\"active\":null,\"name\":\"\",\"born\":null,\"doc\":null}\n"
        );
    }

    #[test]
    fn decimals_as_strings_and_arrays() {
        let cols = [("amount", Kind::Decimal)];
        assert_eq!(
            write(
                JsonLayout::Array,
                Decimals::String,
                &cols,
                &[&[Some("0.10")], &[Some("2")]]
            ),
            "[\n{\"amount\":\"0.10\"},\n{\"amount\":\"2\"}\n]\n"
        );
        assert_eq!(write(JsonLayout::Array, Decimals::String, &cols, &[]), "[]\n");
        assert_eq!(write(JsonLayout::Lines, Decimals::String, &cols, &[]), "");
    }

    #[test]
    fn only_json_numbers_are_written_bare() {
        for n in ["0", "-0", "12", "-3.25", "1e5", "1E+5", "2.5e-3"] {
            assert!(is_number(n), "{n}");
        }
        for s in [
            "",
            "-",
            "007",
            "1.",
            ".5",
            "+1",
            "1e",
            "Infinity",
            "-Infinity",
            "NaN",
            "1 ",
            "0x1",
        ] {
            assert!(!is_number(s), "{s}");
        }
    }

    #[test]
    fn a_json_column_that_is_not_json_names_row_and_column() {
        let columns = vec![Column::new("doc", Kind::Json)];
        let mut batch = Batch::new(1);
        batch.push_cell("{not json");
        let mut w = JsonWriter::new(
            Vec::new(),
            JsonOptions {
                layout: JsonLayout::Lines,
                decimals: Decimals::Number,
            },
        );
        w.begin(&columns).unwrap();
        let e = w.write_batch(&batch).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("\"doc\""), "{e}");
    }
}
