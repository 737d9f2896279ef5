//! The one error type of the format layer, worded for the administrator who
//! reads it in a run's history.

use std::fmt;
use std::io;

use super::charset::Unencodable;

/// Where in the output a problem value sits, so an error can point the
/// administrator at the exact record of the query result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The header row of column names.
    Header,
    /// A data row, counted from 1 (the header is not counted).
    Row(u64),
    /// The header record a vendor's layout puts before the rows.
    HeaderRecord,
    /// The trailer record a vendor's layout puts after the rows.
    TrailerRecord,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Header => f.write_str("header row"),
            Place::Row(n) => write!(f, "row {n}"),
            Place::HeaderRecord => f.write_str("header_record"),
            Place::TrailerRecord => f.write_str("trailer_record"),
        }
    }
}

/// Everything that can go wrong turning rows into a file.
///
/// Option errors are raised while a script's options are parsed, so they
/// reach the author when the script runs its first test rather than at 2 a.m.;
/// value errors name the row and column so the bad record can be found.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Writing to the file (or its buffer) failed.
    #[error("could not write the output file: {0}")]
    Io(#[from] io::Error),

    /// The csv encoder refused a record for a reason other than I/O.
    #[error("could not write a delimited record: {0}")]
    Csv(String),

    /// The charset name is not one ferry knows.
    #[error(
        "unknown character set \"{0}\": use \"utf-8\", \"us-ascii\", or an encoding label \
         such as \"windows-1252\", \"iso-8859-1\" or \"shift_jis\""
    )]
    UnknownCharset(String),

    /// The charset exists but cannot be used for flat files.
    #[error(
        "character set \"{0}\" cannot be used: it does not write ASCII characters as single \
         bytes, so delimiters and line breaks would not be recognisable; use \"utf-8\" instead"
    )]
    NotAsciiCompatible(String),

    /// A textual option (delimiter, policy, date stamp, ...) has a value
    /// ferry does not accept.
    #[error("{option} \"{value}\" is not valid: {expected}")]
    InvalidOption {
        /// The option's name as the script author knows it.
        option: &'static str,
        value: String,
        /// What would have been accepted.
        expected: String,
    },

    /// A byte-order mark was asked for in a charset that has none.
    #[error(
        "a byte-order mark is only written for UTF-8, but the character set is {0}; \
         turn the BOM off or use \"utf-8\""
    )]
    BomNeedsUtf8(&'static str),

    /// A value holds a character the output charset cannot represent and the
    /// policy says to fail.
    #[error(
        "{place}, column {column:?}: {source}; choose unmappable \"transliterate\" or \
         \"replace\", or a character set that holds it"
    )]
    Unencodable {
        place: Place,
        column: String,
        source: Unencodable,
    },

    /// Quoting is off, a value holds a character that would break the file,
    /// and the policy says to fail.
    #[error("{place}, column \"{column}\": the value starts with '{start}', so a spreadsheet would run it as a formula; set formulas: \"escape\" to write it as text, or fix the data")]
    Formula {
        place: Place,
        column: String,
        /// The character it starts with, escaped for reading (`=`, `\t`).
        start: String,
    },

    #[error(
        "{place}, column {column:?}: the value contains {problem}, and quoting is off, so \
         the file would not read back correctly; quote such values (unquoted \"quote\") or \
         replace the characters (unquoted \"replace\")"
    )]
    NeedsQuotes {
        place: Place,
        column: String,
        /// What was found, in words ("a line break", "the delimiter '|'").
        problem: String,
    },

    /// A value is wider than its fixed-width field and the policy says to
    /// fail: a cut value (a name, an ID) is worse than no file.
    #[error(
        "{place}, column {column:?}: the value is {bytes} bytes in {charset}, wider than its \
         width {width}; widen the column, or set overflow: \"truncate\" to cut it"
    )]
    TooWide {
        place: Place,
        /// The column's name (for a record, the field's number).
        column: String,
        /// The value's length after conversion.
        bytes: usize,
        width: usize,
        /// The file's charset, in which the bytes were counted.
        charset: &'static str,
    },

    /// An option names a column the rows do not have.
    #[error("{option}: the rows have no column {column:?} (they have: {available})")]
    NoSuchColumn {
        /// The option naming it (`columns`, `trailer_record`).
        option: &'static str,
        column: String,
        /// The rows' columns, comma-separated.
        available: String,
    },

    /// A value summed into a header or trailer record is not a number.
    #[error(
        "{place}, column {column:?}: {value:?} is not a decimal number, so it cannot be \
         summed for {record}"
    )]
    NotANumber {
        place: Place,
        column: String,
        /// The value, as the database gave it.
        value: String,
        record: Place,
    },

    /// A sum outgrew the 38 significant digits it is kept in exactly.
    #[error("the sum of column {0:?} has more than 38 digits and cannot be kept exactly")]
    SumTooLarge(String),

    /// A JSON column's value is not JSON, so it cannot be embedded.
    #[error("{place}, column {column:?}: the database's JSON value does not parse as JSON; cast it to text in the query to write it as a string")]
    NotJson { place: Place, column: String },

    /// A text value is longer than an Excel cell holds.
    #[error("{place}, column {column:?}: the value has {chars} characters, more than the 32,767 an Excel cell holds; shorten it in the query or write a csv() instead")]
    CellTooLong { place: Place, column: String, chars: usize },

    /// A sheet name Excel would refuse.
    #[error("sheet name {name:?} is not allowed: {why}")]
    SheetName {
        name: String,
        /// Excel's rule it breaks.
        why: String,
    },

    /// The workbook could not be written (a sheet over Excel's limits, or
    /// the temporary files in the run's folder).
    #[error("could not write the workbook: {0}")]
    Xlsx(String),

    /// The output file name is not safe to create on every destination.
    #[error("file name \"{name}\" is not allowed: {reason}")]
    BadFileName {
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A batch's rows do not have as many cells as there are columns: a bug
    /// in the caller, reported rather than writing a misaligned file.
    #[error("a batch has {got} values per row but the file has {expected} columns")]
    WidthMismatch {
        /// Columns given to `begin`.
        expected: usize,
        /// Width of the batch.
        got: usize,
    },

    /// The writer's methods were called out of order: a bug in the caller.
    #[error("file writer used out of order: {0}")]
    OutOfOrder(&'static str),
}

impl From<csv::Error> for FormatError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => FormatError::Io(io),
            other => FormatError::Csv(format!("{other:?}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_read_naturally() {
        assert_eq!(Place::Header.to_string(), "header row");
        assert_eq!(Place::Row(7).to_string(), "row 7");
        assert_eq!(Place::TrailerRecord.to_string(), "trailer_record");
    }

    #[test]
    fn csv_io_errors_become_io_errors() {
        let e: csv::Error = io::Error::other("disk full").into();
        let f = FormatError::from(e);
        assert!(matches!(f, FormatError::Io(_)), "{f:?}");
        assert!(f.to_string().contains("disk full"));
    }
}
