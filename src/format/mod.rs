//! File formats: turning rendered rows into the exact bytes a vendor expects.
//!
//! Plain Rust with no knowledge of scripts: the script host parses options
//! into the types here and pushes batches through a [`RowWriter`].
//!
//! A file is made in four steps: a [`FileName`] renders the delivered name,
//! a [`PartialFile`] is created under it, a [`DelimitedWriter`],
//! [`FixedWriter`], [`JsonWriter`], [`XlsxWriter`] or [`HtmlWriter`] streams
//! rows into it (inside a [`Framed`] when the file has header or trailer
//! records), and
//! [`PartialFile::commit`] renames it into place and reports its size and
//! SHA-256 as a [`WrittenFile`].

mod charset;
mod csv_options;
mod decimal;
mod delimited;
mod error;
mod fixed;
mod formulas;
mod framing;
mod html;
mod json;
mod naming;
mod output;
mod preview;
mod records;
pub(crate) mod sidecar;
mod unquoted;
mod xlsx;

pub use charset::{Charset, Unencodable, Unmappable};
pub use csv_options::{parse_delimiter, CsvOptions, LineEnding};
pub use delimited::DelimitedWriter;
pub use error::{FormatError, Place};
pub use fixed::{Align, FixedColumn, FixedOptions, FixedWriter, Overflow, Slot};
pub use formulas::Formulas;
pub use html::{HtmlOptions, HtmlWriter};
pub use json::{Decimals, JsonLayout, JsonOptions, JsonWriter};
pub use naming::{DateStamp, FileName};
pub use output::{sha256_file, PartialFile, WrittenFile};
pub use preview::first_lines;
pub use records::{Count, Field, Filled, Framed, Records, Value};
pub use unquoted::Unquoted;
pub use xlsx::{check_sheet_name, XlsxWriter};

use crate::source::{Batch, Column};

/// A streaming file format: told the columns once, then pushed batches.
///
/// Push, not pull: the caller owns the loop over the database cursor, so a
/// writer never buffers more than the batch it is given.
pub trait RowWriter {
    /// Writes whatever precedes the rows (BOM, header row, HTML head).
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError>;
    /// Writes every complete row of `batch`.
    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError>;
    /// Writes whatever follows the rows and flushes.
    fn finish(&mut self) -> Result<(), FormatError>;
    /// Writes one record that is not a row (a header or trailer record),
    /// converted, fitted and framed by the format's own rules. Formats
    /// without such records (HTML) refuse it.
    fn write_record(&mut self, place: Place, fields: &[Filled]) -> Result<(), FormatError> {
        let _ = (place, fields);
        Err(FormatError::OutOfOrder("this format has no header or trailer records"))
    }
    /// Lines written before the first row (a header of column names), for
    /// a trailer's count of every line.
    fn lines_before_rows(&self) -> u64 {
        0
    }
}

/// `1,234,567`: counts as people read them, in messages and listings.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
