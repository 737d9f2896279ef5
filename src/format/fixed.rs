//! Fixed-width files: every field a set number of bytes, padded or cut, as
//! state agencies and the National Student Clearinghouse specify them.
//!
//! Widths are counted in bytes of the output charset after conversion,
//! because that is what the receiving program counts: `José` is four bytes
//! in windows-1252 and five in UTF-8. A value that does not fit fails the
//! run unless its column says to cut it, and a cut never splits a
//! multi-byte character (which would shift every later field of a reader
//! that decodes first).

use std::io::Write;

use super::csv_options::LineEnding;
use super::records::Filled;
use super::{Charset, FormatError, Place, RowWriter, Unmappable};
use crate::source::{Batch, Column};

/// Bytes gathered before they are handed to the destination.
const BUFFER: usize = 64 * 1024;

/// Which side of its field a value sits on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    /// Text: the value first, the padding after.
    #[default]
    Left,
    /// Numbers: the padding first.
    Right,
}

/// What a value wider than its field does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Stop the run naming the row and column: a cut ID or name is worse
    /// than a late file.
    #[default]
    Fail,
    /// Keep the first bytes that fit, on a character boundary.
    Truncate,
}

/// The bytes one value is fitted into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Bytes, at least 1.
    pub width: usize,
    /// Where the value sits.
    pub align: Align,
    /// The padding byte, a printable ASCII character (`b' '`, `b'0'`).
    pub pad: u8,
    /// What a value too wide does.
    pub overflow: Overflow,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            width: 1,
            align: Align::Left,
            pad: b' ',
            overflow: Overflow::Fail,
        }
    }
}

impl Slot {
    /// Checks the slot; `what` names it in errors (`columns[2]`).
    pub fn validate(&self, what: &str) -> Result<(), FormatError> {
        if self.width == 0 {
            return Err(FormatError::InvalidOption {
                option: "width",
                value: format!("0 (in {what})"),
                expected: "a width is at least 1 byte".into(),
            });
        }
        if !(0x20..0x7F).contains(&self.pad) {
            return Err(FormatError::InvalidOption {
                option: "pad",
                value: format!("{} (in {what})", char::from(self.pad).escape_debug()),
                expected: "pad with one printable ASCII character, such as \" \" or \"0\"".into(),
            });
        }
        Ok(())
    }

    /// Appends `value` (already in the file's charset) fitted to the slot;
    /// the value's length when it is too wide and the slot says to fail.
    ///
    /// Zero padding on the right-aligned value puts a sign first: `-42` in
    /// six bytes is `-00042`, as COBOL-style readers expect, not `000-42`.
    pub fn fit(&self, value: &[u8], charset: Charset, out: &mut Vec<u8>) -> Result<(), usize> {
        let value = if value.len() > self.width {
            match self.overflow {
                Overflow::Fail => return Err(value.len()),
                Overflow::Truncate => &value[..charset.cut(value, self.width)],
            }
        } else {
            value
        };
        let fill = self.width - value.len();
        match self.align {
            Align::Left => {
                out.extend_from_slice(value);
                out.resize(out.len() + fill, self.pad);
            }
            Align::Right => {
                let (sign, digits) = match value.first() {
                    Some(&s @ (b'-' | b'+')) if self.pad == b'0' => (Some(s), &value[1..]),
                    _ => (None, value),
                };
                out.extend(sign);
                out.resize(out.len() + fill, self.pad);
                out.extend_from_slice(digits);
            }
        }
        Ok(())
    }

    /// Appends a field of padding only: how NULL and the empty value are
    /// written.
    pub fn blank(&self, out: &mut Vec<u8>) {
        out.resize(out.len() + self.width, self.pad);
    }
}

/// One output column: the source column it takes its values from, and its
/// slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedColumn {
    /// The column of the rows.
    pub name: String,
    /// Its field.
    pub slot: Slot,
}

/// Everything a fixed-width file's layout depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixedOptions {
    /// The fields of a record, in order.
    pub columns: Vec<FixedColumn>,
    /// The output character set.
    pub charset: Charset,
    /// What to do with characters `charset` cannot hold.
    pub unmappable: Unmappable,
    /// What ends a record.
    pub line_ending: LineEnding,
    /// ASCII text some layouts put at the end of every record, before the
    /// line ending (a `*`, an end-of-record code).
    pub terminator: String,
}

impl FixedOptions {
    /// Checks the layout, so an impossible file is refused before any byte
    /// is written.
    pub fn validate(&self) -> Result<(), FormatError> {
        if self.columns.is_empty() {
            return Err(FormatError::InvalidOption {
                option: "columns",
                value: "[]".into(),
                expected: "a fixed-width file needs at least one column".into(),
            });
        }
        for (i, c) in self.columns.iter().enumerate() {
            c.slot.validate(&format!("columns[{i}], {:?}", c.name))?;
        }
        if !self.terminator.bytes().all(|b| (0x20..0x7F).contains(&b)) {
            return Err(FormatError::InvalidOption {
                option: "terminator",
                value: self.terminator.escape_debug().to_string(),
                expected: "the terminator is printable ASCII text; the line ending follows it".into(),
            });
        }
        Ok(())
    }

    /// The bytes of a detail record, terminator included, line ending not.
    pub fn record_width(&self) -> usize {
        self.columns.iter().map(|c| c.slot.width).sum::<usize>() + self.terminator.len()
    }
}

/// Writes rows as fixed-width records.
pub struct FixedWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    opts: FixedOptions,
    /// `\r\n` or `\n` after the terminator.
    end: &'static [u8],
    /// For each output column, its position in the rows.
    source: Vec<usize>,
    begun: bool,
    finished: bool,
    rows: u64,
    scratch: Vec<u8>,
}

impl<W: Write> FixedWriter<W> {
    /// A writer of `options` into `out`; the options are checked here.
    pub fn new(out: W, options: FixedOptions) -> Result<Self, FormatError> {
        options.validate()?;
        let end: &'static [u8] = match options.line_ending {
            LineEnding::Crlf => b"\r\n",
            LineEnding::Lf => b"\n",
        };
        Ok(FixedWriter {
            out,
            buf: Vec::with_capacity(BUFFER + 4096),
            opts: options,
            end,
            source: Vec::new(),
            begun: false,
            finished: false,
            rows: 0,
            scratch: Vec::new(),
        })
    }

    /// Data rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and hands back the destination.
    pub fn into_inner(mut self) -> Result<W, FormatError> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn end_record(&mut self) {
        self.buf.extend_from_slice(self.opts.terminator.as_bytes());
        self.buf.extend_from_slice(self.end);
    }

    /// Converts `value` and appends it fitted to `slot`.
    fn put(&mut self, value: &str, slot: &Slot, place: Place, column: impl Fn() -> String) -> Result<(), FormatError> {
        let charset = self.opts.charset;
        let encoded = charset
            .encode(value, self.opts.unmappable, &mut self.scratch)
            .map_err(|source| FormatError::Unencodable {
                place,
                column: column(),
                source,
            })?;
        slot.fit(encoded, charset, &mut self.buf)
            .map_err(|bytes| FormatError::TooWide {
                place,
                column: column(),
                bytes,
                width: slot.width,
                charset: charset.name(),
            })
    }

    fn write_rows(&mut self, columns: &[FixedColumn], batch: &Batch) -> Result<(), FormatError> {
        for row in batch.rows() {
            let place = Place::Row(self.rows + 1);
            for (c, i) in columns.iter().zip(0..) {
                match row.get(self.source[i]) {
                    None | Some("") => c.slot.blank(&mut self.buf),
                    Some(v) => self.put(v, &c.slot, place, || c.name.clone())?,
                }
            }
            self.end_record();
            self.rows += 1;
        }
        Ok(())
    }

    fn drain(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= BUFFER {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> RowWriter for FixedWriter<W> {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if self.begun {
            return Err(FormatError::OutOfOrder("begin called twice"));
        }
        self.begun = true;
        self.source = self
            .opts
            .columns
            .iter()
            .map(|c| {
                columns
                    .iter()
                    .position(|s| s.name == c.name)
                    .ok_or_else(|| FormatError::NoSuchColumn {
                        option: "columns",
                        column: c.name.clone(),
                        available: columns.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(())
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        if !self.begun || self.finished {
            return Err(FormatError::OutOfOrder("rows written outside begin/finish"));
        }
        // Taken out for the loop, so each value can be put with `&mut self`.
        let columns = std::mem::take(&mut self.opts.columns);
        let result = self.write_rows(&columns, batch);
        self.opts.columns = columns;
        result?;
        self.drain()?;
        Ok(())
    }

    fn write_record(&mut self, place: Place, fields: &[Filled]) -> Result<(), FormatError> {
        if self.finished {
            return Err(FormatError::OutOfOrder("record written after finish"));
        }
        for (i, f) in fields.iter().enumerate() {
            let column = || format!("field {}", i + 1);
            if let Some(slot) = &f.slot {
                self.put(&f.text, slot, place, column)?;
            } else {
                let encoded = self
                    .opts
                    .charset
                    .encode(&f.text, self.opts.unmappable, &mut self.scratch)
                    .map_err(|source| FormatError::Unencodable {
                        place,
                        column: column(),
                        source,
                    })?;
                self.buf.extend_from_slice(encoded);
            }
        }
        self.end_record();
        self.drain()?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        if !self.begun || self.finished {
            return Err(FormatError::OutOfOrder("finish called before begin or twice"));
        }
        self.finished = true;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Kind;

    fn slot(width: usize, align: Align, pad: u8, overflow: Overflow) -> Slot {
        Slot {
            width,
            align,
            pad,
            overflow,
        }
    }

    fn fit(s: Slot, value: &str, charset: &str) -> Result<Vec<u8>, usize> {
        let cs = Charset::parse(charset).unwrap();
        let mut scratch = Vec::new();
        let encoded = cs.encode(value, Unmappable::Fail, &mut scratch).unwrap().to_vec();
        let mut out = Vec::new();
        s.fit(&encoded, cs, &mut out).map(|()| out)
    }

    #[test]
    fn values_are_padded_on_the_side_away_from_their_alignment() {
        let l = slot(6, Align::Left, b' ', Overflow::Fail);
        let r = slot(6, Align::Right, b'0', Overflow::Fail);
        assert_eq!(fit(l, "ab", "utf-8").unwrap(), b"ab    ");
        assert_eq!(fit(r, "42", "utf-8").unwrap(), b"000042");
        assert_eq!(fit(r, "-42", "utf-8").unwrap(), b"-00042");
        assert_eq!(fit(r, "+4.5", "utf-8").unwrap(), b"+004.5");
        assert_eq!(fit(r, "123456", "utf-8").unwrap(), b"123456");
        let spaces = slot(6, Align::Right, b' ', Overflow::Fail);
        assert_eq!(fit(spaces, "-42", "utf-8").unwrap(), b"   -42");
        // Widths are bytes of the charset: é is two in UTF-8, one in windows-1252.
        assert_eq!(fit(l, "José", "utf-8").unwrap(), b"Jos\xc3\xa9 ");
        assert_eq!(fit(l, "José", "windows-1252").unwrap(), b"Jos\xe9  ");
        let mut out = Vec::new();
        r.blank(&mut out);
        assert_eq!(out, b"000000");
    }

    #[test]
    fn too_wide_fails_or_is_cut_on_a_character_boundary() {
        let fail = slot(4, Align::Left, b' ', Overflow::Fail);
        assert_eq!(fit(fail, "Renée", "utf-8"), Err(6));
        assert_eq!(fit(fail, "Renée", "windows-1252"), Err(5));
        let cut = slot(4, Align::Left, b' ', Overflow::Truncate);
        // "Ren" + the first byte of é would be 4 bytes of broken UTF-8.
        assert_eq!(fit(cut, "Renée", "utf-8").unwrap(), b"Ren ");
        assert_eq!(fit(cut, "Renée", "windows-1252").unwrap(), b"Ren\xe9");
        assert_eq!(fit(cut, "北京市", "utf-8").unwrap(), b"\xe5\x8c\x97 ");
        let right = slot(4, Align::Right, b' ', Overflow::Truncate);
        assert_eq!(fit(right, "Renée", "utf-8").unwrap(), b" Ren");
    }

    #[test]
    fn rows_become_records_of_one_length() {
        let opts = FixedOptions {
            columns: vec![
                FixedColumn {
                    name: "id".into(),
                    slot: slot(5, Align::Right, b'0', Overflow::Fail),
                },
                FixedColumn {
                    name: "name".into(),
                    slot: slot(6, Align::Left, b' ', Overflow::Truncate),
                },
            ],
            charset: Charset::parse("windows-1252").unwrap(),
            unmappable: Unmappable::Transliterate,
            line_ending: LineEnding::Lf,
            terminator: "*".into(),
        };
        assert_eq!(opts.record_width(), 12);
        let mut w = FixedWriter::new(Vec::new(), opts).unwrap();
        // The query's columns in another order, with one the file leaves out.
        w.begin(&[
            Column::new("name", Kind::Text),
            Column::new("x", Kind::Text),
            Column::new("id", Kind::Integer),
        ])
        .unwrap();
        let mut b = Batch::new(3);
        for cell in [Some("Zoë"), Some("x"), Some("7"), Some("Łucja Nowakowska"), None, None] {
            match cell {
                Some(v) => b.push_cell(v),
                None => b.push_null(),
            }
        }
        w.write_batch(&b).unwrap();
        w.finish().unwrap();
        assert_eq!(w.rows(), 2);
        assert_eq!(w.into_inner().unwrap(), b"00007Zo\xeb   *\n00000Lucja *\n");
    }

    #[test]
    fn a_missing_column_and_a_value_too_wide_are_named() {
        let opts = |overflow| FixedOptions {
            columns: vec![FixedColumn {
                name: "code".into(),
                slot: slot(2, Align::Left, b' ', overflow),
            }],
            charset: Charset::UTF_8,
            unmappable: Unmappable::Fail,
            line_ending: LineEnding::Crlf,
            terminator: String::new(),
        };
        let mut w = FixedWriter::new(Vec::new(), opts(Overflow::Fail)).unwrap();
        let e = w.begin(&[Column::new("id", Kind::Integer), Column::new("name", Kind::Text)]);
        assert_eq!(
            e.unwrap_err().to_string(),
            "columns: the rows have no column \"code\" (they have: id, name)"
        );
        let mut w = FixedWriter::new(Vec::new(), opts(Overflow::Fail)).unwrap();
        w.begin(&[Column::new("code", Kind::Text)]).unwrap();
        let mut b = Batch::new(1);
        b.push_cell("ok");
        b.push_cell("é1");
        let e = w.write_batch(&b).unwrap_err().to_string();
        assert_eq!(
            e,
            "row 2, column \"code\": the value is 3 bytes in utf-8, wider than its width 2; \
             widen the column, or set overflow: \"truncate\" to cut it"
        );
    }

    #[test]
    fn impossible_layouts_are_refused() {
        let base = FixedOptions {
            columns: vec![FixedColumn {
                name: "a".into(),
                slot: Slot::default(),
            }],
            charset: Charset::UTF_8,
            unmappable: Unmappable::Fail,
            line_ending: LineEnding::Crlf,
            terminator: String::new(),
        };
        assert!(base.validate().is_ok());
        let mut o = base.clone();
        o.columns[0].slot.width = 0;
        assert!(o.validate().unwrap_err().to_string().contains("at least 1 byte"));
        let mut o = base.clone();
        o.columns[0].slot.pad = b'\t';
        assert!(o.validate().unwrap_err().to_string().contains("printable ASCII"));
        let mut o = base.clone();
        o.terminator = "\r".into();
        assert!(o.validate().unwrap_err().to_string().starts_with("terminator"));
        let o = FixedOptions {
            columns: vec![],
            ..base
        };
        assert!(o.validate().is_err());
    }
}
