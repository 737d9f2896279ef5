//! Delimited text files (CSV, tab, pipe, tilde...): the options vendors'
//! specifications vary on, and the writer that honours them exactly.
//!
//! The field encoder is written here rather than taken from the `csv`
//! crate: the rules are few (quote a field holding the delimiter, `"`, CR or
//! LF, or every field; double embedded quotes; write `""` for a record that
//! would otherwise be an empty line) and doing them inline over a batch's
//! cells is several times cheaper per field than the general-purpose writer.

use std::io::Write;

use super::csv_options::{CsvOptions, LineEnding};
use super::fixed::Slot;
use super::formulas::{self, Formulas};
use super::records::Filled;
use super::unquoted::{self, Unquoted};
use super::{FormatError, Place, RowWriter};
use crate::source::{Batch, Column};

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Bytes gathered before they are handed to the destination.
const BUFFER: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Begun,
    Finished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    Always,
    Necessary,
    Never,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// True when a byte of `v` is zero.
#[inline]
fn zero_byte(v: u64) -> bool {
    v.wrapping_sub(ONES) & !v & HIGHS != 0
}

/// Finds the bytes that force quotes (the delimiter, `"`, CR, LF) eight at
/// a time: a field is mostly letters and digits, and most have none.
#[derive(Clone, Copy)]
struct Specials {
    /// Each special byte repeated in every byte of a word.
    words: [u64; 4],
    /// A byte that is not special, to pad the last partial word with.
    filler: u8,
}

impl Specials {
    fn new(delimiter: u8) -> Self {
        let specials = [delimiter, b'"', b'\r', b'\n'];
        let filler = (b'a'..=b'z').find(|b| !specials.contains(b)).unwrap_or(b'a');
        Specials {
            words: specials.map(|b| ONES * u64::from(b)),
            filler,
        }
    }

    #[inline]
    fn in_word(&self, x: u64) -> bool {
        // A byte of `x ^ w` is zero where `x` holds the special byte.
        self.words.iter().any(|&w| zero_byte(x ^ w))
    }

    /// True when `bytes` holds a special byte.
    #[inline]
    fn any(&self, bytes: &[u8]) -> bool {
        self.scan(bytes, |x| self.in_word(x))
    }

    /// True when `bytes` holds a double quote.
    #[inline]
    fn any_quote(&self, bytes: &[u8]) -> bool {
        self.scan(bytes, |x| zero_byte(x ^ self.words[1]))
    }

    /// True when `found` holds for a word of `bytes`. The bytes are read as
    /// whole words, overlapping where the length is not a multiple of eight
    /// (looking at a byte twice changes nothing), never copied; a short field
    /// is padded with a byte that is not special.
    #[inline]
    fn scan(&self, bytes: &[u8], found: impl Fn(u64) -> bool) -> bool {
        let n = bytes.len();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        if n >= 8 {
            let mut at = 0;
            while at + 8 <= n {
                if found(word(at)) {
                    return true;
                }
                at += 8;
            }
            return at < n && found(word(n - 8));
        }
        let half = |at: usize| u64::from(u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default()));
        let x = match n {
            0 => return false,
            1..=3 => {
                let pad = (u64::from(self.filler) * ONES) & !0xFF_FFFF;
                pad | u64::from(bytes[0]) | u64::from(bytes[n / 2]) << 8 | u64::from(bytes[n - 1]) << 16
            }
            _ => half(0) | half(n - 4) << 32,
        };
        found(x)
    }
}

/// Fields into records: quoting, escaping, delimiters and line endings.
struct Fields {
    buf: Vec<u8>,
    quoting: Quoting,
    delimiter: u8,
    /// Bytes that force quotes under [`Quoting::Necessary`].
    specials: Specials,
    terminator: &'static [u8],
    /// Where the current record began in `buf`.
    record_start: usize,
}

impl Fields {
    fn new(quoting: Quoting, delimiter: u8, terminator: &'static [u8]) -> Self {
        Fields {
            buf: Vec::with_capacity(BUFFER + 4096),
            quoting,
            delimiter,
            specials: Specials::new(delimiter),
            terminator,
            record_start: 0,
        }
    }

    #[inline]
    fn field(&mut self, bytes: &[u8], first: bool) {
        if !first {
            self.buf.push(self.delimiter);
        }
        let quote = match self.quoting {
            Quoting::Always => true,
            Quoting::Never => false,
            Quoting::Necessary => self.specials.any(bytes),
        };
        if !quote {
            self.buf.extend_from_slice(bytes);
            return;
        }
        self.buf.reserve(bytes.len() + 2);
        self.buf.push(b'"');
        if !self.specials.any_quote(bytes) {
            self.buf.extend_from_slice(bytes);
            self.buf.push(b'"');
            return;
        }
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'"') {
            self.buf.extend_from_slice(&rest[..=at]);
            self.buf.push(b'"');
            rest = &rest[at + 1..];
        }
        self.buf.extend_from_slice(rest);
        self.buf.push(b'"');
    }

    /// Ends the record; a record with no bytes at all is written as `""`
    /// so that it is not read as a blank line.
    fn end_record(&mut self) {
        if self.buf.len() == self.record_start {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.extend_from_slice(self.terminator);
        self.record_start = self.buf.len();
    }

    /// Hands complete records to `out` once enough are gathered (or all
    /// of them when `all`).
    fn drain(&mut self, out: &mut impl Write, all: bool) -> std::io::Result<()> {
        if self.buf.len() >= BUFFER || (all && !self.buf.is_empty()) {
            let done = self.record_start;
            out.write_all(&self.buf[..done])?;
            self.buf.drain(..done);
            self.record_start = 0;
        }
        Ok(())
    }
}

/// Writes rows as delimited text, after converting every value to the
/// output charset.
///
/// Conversion comes first because transliteration can itself produce a quote
/// or a delimiter (“ becomes `"`), and quoting must see the final bytes.
pub struct DelimitedWriter<W: Write> {
    out: W,
    fields: Fields,
    opts: CsvOptions,
    /// Quotes are never written, so values are checked here instead.
    guard: bool,
    /// Every value is written as it is (no guard, formulas kept): ASCII and
    /// UTF-8 values can skip `write_value`.
    as_is: bool,
    columns: Vec<String>,
    state: State,
    rows: u64,
    scratch: Vec<u8>,
    /// A record field fitted to its width.
    fitted: Vec<u8>,
    cleaned: Vec<u8>,
}

impl<W: Write> DelimitedWriter<W> {
    /// A writer of `options` into `out`; the options are checked here so a
    /// bad combination fails before any byte is written. The byte-order mark,
    /// if asked for, is written here.
    pub fn new(mut out: W, options: CsvOptions) -> Result<Self, FormatError> {
        options.validate()?;
        if options.bom {
            out.write_all(BOM)?;
        }
        let quoting = if options.quote_all {
            Quoting::Always
        } else if options.unquoted == Unquoted::Quote {
            Quoting::Necessary
        } else {
            Quoting::Never
        };
        let terminator: &'static [u8] = match options.line_ending {
            LineEnding::Crlf => b"\r\n",
            LineEnding::Lf => b"\n",
        };
        Ok(DelimitedWriter {
            out,
            fields: Fields::new(quoting, options.delimiter, terminator),
            guard: quoting == Quoting::Never,
            as_is: quoting != Quoting::Never && options.formulas == Formulas::Keep,
            opts: options,
            columns: Vec::new(),
            state: State::New,
            rows: 0,
            scratch: Vec::new(),
            fitted: Vec::new(),
            cleaned: Vec::new(),
        })
    }

    /// Data rows written so far (the header is not counted), for the run's
    /// history and the roster-safety guards.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and hands back the destination, so the caller can commit the
    /// file it was writing.
    pub fn into_inner(mut self) -> Result<W, FormatError> {
        self.fields.drain(&mut self.out, true)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Converts and writes one value as the next field of the record; a
    /// record's field is fitted to its `slot` first, when it has one.
    #[inline]
    fn write_value(&mut self, value: &str, place: Place, col: usize, slot: Option<&Slot>) -> Result<(), FormatError> {
        let Self {
            fields,
            opts,
            columns,
            scratch,
            fitted,
            cleaned,
            guard,
            ..
        } = self;
        let record = matches!(place, Place::HeaderRecord | Place::TrailerRecord);
        let column = || {
            if record {
                format!("field {}", col + 1)
            } else {
                columns.get(col).cloned().unwrap_or_default()
            }
        };
        let escaped;
        let value = match opts.formulas {
            Formulas::Keep => value,
            // The header and the records are the script's own text, not data.
            _ if place == Place::Header || record || !formulas::is_formula(value) => value,
            Formulas::Escape => {
                escaped = format!("'{value}");
                escaped.as_str()
            }
            Formulas::Fail => {
                return Err(FormatError::Formula {
                    place,
                    column: column(),
                    start: value
                        .chars()
                        .next()
                        .map(|c| c.escape_debug().to_string())
                        .unwrap_or_default(),
                })
            }
        };
        let bytes =
            opts.charset
                .encode(value, opts.unmappable, scratch)
                .map_err(|source| FormatError::Unencodable {
                    place,
                    column: column(),
                    source,
                })?;
        let bytes = match slot {
            None => bytes,
            Some(slot) => {
                fitted.clear();
                slot.fit(bytes, opts.charset, fitted)
                    .map_err(|bytes| FormatError::TooWide {
                        place,
                        column: column(),
                        bytes,
                        width: slot.width,
                        charset: opts.charset.name(),
                    })?;
                &fitted[..]
            }
        };
        if *guard {
            let delimiter = opts.delimiter;
            if let Some(b) = unquoted::breaking_char(opts.charset, bytes, delimiter) {
                if opts.unquoted == Unquoted::Fail {
                    return Err(FormatError::NeedsQuotes {
                        place,
                        column: column(),
                        problem: unquoted::describe(b, delimiter),
                    });
                }
                unquoted::flatten(opts.charset, bytes, delimiter, cleaned);
                fields.field(&cleaned[..], col == 0);
                return Ok(());
            }
        }
        fields.field(bytes, col == 0);
        Ok(())
    }
}

impl<W: Write> RowWriter for DelimitedWriter<W> {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if self.state != State::New {
            return Err(FormatError::OutOfOrder("begin called twice"));
        }
        self.state = State::Begun;
        self.columns = columns.iter().map(|c| c.name.clone()).collect();
        if self.opts.header && !columns.is_empty() {
            for (i, c) in columns.iter().enumerate() {
                self.write_value(&c.name, Place::Header, i, None)?;
            }
            self.fields.end_record();
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("rows written outside begin/finish"));
        }
        let width = self.columns.len();
        if batch.width() != width {
            return Err(FormatError::WidthMismatch {
                expected: width,
                got: batch.width(),
            });
        }
        let mut col = 0;
        if self.opts.charset.is_utf8() && self.as_is {
            // UTF-8, quoted where needed or always: the values are written
            // as they are, so nothing but the quoting looks at them.
            for value in batch.cells() {
                self.fields.field(value.unwrap_or("").as_bytes(), col == 0);
                col += 1;
                if col == width {
                    col = 0;
                    self.fields.end_record();
                    self.rows += 1;
                }
            }
            self.fields.drain(&mut self.out, false)?;
            return Ok(());
        }
        for value in batch.cells() {
            let value = value.unwrap_or("");
            if value.is_ascii() && self.as_is {
                // ASCII is written as itself in every accepted charset.
                self.fields.field(value.as_bytes(), col == 0);
            } else {
                self.write_value(value, Place::Row(self.rows + 1), col, None)?;
            }
            col += 1;
            if col == width {
                col = 0;
                self.fields.end_record();
                self.rows += 1;
            }
        }
        self.fields.drain(&mut self.out, false)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        if self.state != State::Begun {
            return Err(FormatError::OutOfOrder("finish called before begin or twice"));
        }
        self.state = State::Finished;
        self.fields.drain(&mut self.out, true)?;
        self.out.flush()?;
        Ok(())
    }

    /// A record is joined with the file's delimiter and quoted by its rules,
    /// like a row.
    fn write_record(&mut self, place: Place, fields: &[Filled]) -> Result<(), FormatError> {
        if self.state == State::Finished {
            return Err(FormatError::OutOfOrder("record written after finish"));
        }
        for (i, f) in fields.iter().enumerate() {
            self.write_value(&f.text, place, i, f.slot.as_ref())?;
        }
        self.fields.end_record();
        self.fields.drain(&mut self.out, false)?;
        Ok(())
    }

    fn lines_before_rows(&self) -> u64 {
        // `begin` writes the column names when asked and there are columns.
        u64::from(self.opts.header && !self.columns.is_empty())
    }
}

#[cfg(test)]
#[path = "delimited_tests.rs"]
mod tests;
