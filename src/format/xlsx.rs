//! XLSX workbooks for staff (counselors, principals), written with
//! `rust_xlsxwriter` in constant-memory mode: each row goes to a temporary
//! file in the run's folder as soon as the next one starts, so a sheet of a
//! million rows costs the memory of one row.
//!
//! Cells keep the database's types, since a reader sorts and sums them:
//! numbers are numbers, dates and timestamps are Excel dates with a date
//! format, booleans are TRUE/FALSE. Where Excel would lose information the
//! value is written as text instead: integers and decimals of more than 15
//! significant digits (Excel keeps 15), dates before 1900, NaN and the
//! infinities. Text is always a string cell, never a formula, so a value
//! such as `=cmd|...` cannot run when the sheet is opened.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatBorder, Workbook, Worksheet, XlsxError};

use super::{FormatError, Place, RowWriter};
use crate::source::{Batch, Column, Kind};

/// Excel's limit on the characters of one cell.
const CELL_CHARS: usize = 32_767;
/// Excel's rows per sheet, the header row included.
const SHEET_ROWS: u32 = 1_048_576;
/// Excel keeps this many significant digits of a number.
const DIGITS: usize = 15;
/// Widest column ferry sets, in characters.
const MAX_WIDTH: usize = 60;

/// Whether `name` may name a sheet: 1 to 31 characters, none of `[ ] : * ?
/// / \`, not starting or ending with `'`, and not `History`, which Excel
/// keeps for itself.
pub fn check_sheet_name(name: &str) -> Result<(), FormatError> {
    if name.eq_ignore_ascii_case("history") {
        return Err(FormatError::SheetName {
            name: name.to_string(),
            why: "Excel reserves the name History".into(),
        });
    }
    Worksheet::new()
        .set_name(name)
        .map(|_| ())
        .map_err(|e| FormatError::SheetName {
            name: name.to_string(),
            why: match e {
                XlsxError::SheetnameCannotBeBlank(_) => "a sheet needs a name".into(),
                XlsxError::SheetnameLengthExceeded(_) => "Excel allows at most 31 characters".into(),
                XlsxError::SheetnameContainsInvalidCharacter(_) => "Excel does not allow any of [ ] : * ? / \\".into(),
                XlsxError::SheetnameStartsOrEndsWithApostrophe(_) => {
                    "Excel does not allow ' at the start or end".into()
                }
                e => e.to_string(),
            },
        })
}

/// Cell formats, made once per workbook.
struct Formats {
    header: Format,
    date: Format,
    timestamp: Format,
    time: Format,
    /// `0.00`-style formats by decimal places, so `3.50` shows as written.
    scale: HashMap<usize, Format>,
}

/// Writes rows into the sheets of one workbook: [`XlsxWriter::sheet`] names
/// the next sheet, then `begin` … `finish` fill it; [`XlsxWriter::save`]
/// writes the workbook.
pub struct XlsxWriter {
    book: Workbook,
    formats: Formats,
    header: bool,
    /// The name of the sheet the next `begin` starts.
    next: Option<String>,
    /// Names given so far, lowercased: Excel's names ignore case.
    names: Vec<String>,
    sheet: usize,
    columns: Vec<Column>,
    /// The next row to write, 0-based, the header included.
    row: u32,
    /// Data rows written to the current sheet.
    rows: u64,
    widths: Vec<usize>,
}

impl XlsxWriter {
    /// A workbook whose sheets' temporary files go to `temp_dir` (the run's
    /// folder, on disk, rather than a `/tmp` that may be memory); `header`
    /// writes a bold first row of column names and freezes it.
    pub fn new(temp_dir: &Path, header: bool) -> Result<Self, FormatError> {
        let mut book = Workbook::new();
        book.set_tempdir(temp_dir).map_err(xlsx)?;
        Ok(XlsxWriter {
            book,
            formats: Formats {
                header: Format::new().set_bold().set_border_bottom(FormatBorder::Thin),
                date: Format::new().set_num_format("yyyy-mm-dd"),
                timestamp: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
                time: Format::new().set_num_format("hh:mm:ss"),
                scale: HashMap::new(),
            },
            header,
            next: None,
            names: Vec::new(),
            sheet: 0,
            columns: Vec::new(),
            row: 0,
            rows: 0,
            widths: Vec::new(),
        })
    }

    /// Names the sheet the next `begin` starts (else `Sheet1`, `Sheet2`, …).
    pub fn sheet(&mut self, name: &str) -> Result<(), FormatError> {
        check_sheet_name(name)?;
        let folded = name.to_lowercase();
        if self.names.contains(&folded) {
            return Err(FormatError::SheetName {
                name: name.to_string(),
                why: "another sheet has that name (Excel ignores case)".into(),
            });
        }
        self.names.push(folded);
        self.next = Some(name.to_string());
        Ok(())
    }

    /// Writes the workbook, every sheet finished, into `out`.
    pub fn save(mut self, out: impl Write + Send) -> Result<(), FormatError> {
        if self.book.worksheets().is_empty() {
            self.book.add_worksheet_with_constant_memory().map_err(xlsx)?;
        }
        self.book.save_to_writer(out).map_err(xlsx)
    }

    fn current(&mut self) -> Result<&mut Worksheet, FormatError> {
        self.book.worksheet_from_index(self.sheet).map_err(xlsx)
    }

    fn cell(&mut self, col: u16, kind: Kind, v: &str) -> Result<(), FormatError> {
        let (row, place) = (self.row, Place::Row(self.rows + 1));
        let i = usize::from(col);
        // Characters are counted only where the bytes could widen the
        // column (a character is at least one byte).
        let width = match kind {
            Kind::Date => 10,
            Kind::Timestamp | Kind::TimestampTz => 19,
            _ if v.len() <= self.widths[i] => 0,
            _ => v.chars().count(),
        };
        self.widths[i] = self.widths[i].max(width);
        let sheet = self.sheet;
        let sheet = self.book.worksheet_from_index(sheet).map_err(xlsx)?;
        let f = &mut self.formats;
        let written = match kind {
            Kind::Integer if digits(v) <= DIGITS => v.parse::<f64>().ok().map(|n| sheet.write_number(row, col, n)),
            Kind::Float => v
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .map(|n| sheet.write_number(row, col, n)),
            Kind::Decimal if digits(v) <= DIGITS => {
                v.parse::<f64>()
                    .ok()
                    .map(|n| match v.split_once('.').map(|(_, frac)| frac.len()) {
                        Some(places) if places > 0 => {
                            let format = f
                                .scale
                                .entry(places)
                                .or_insert_with(|| Format::new().set_num_format(format!("0.{}", "0".repeat(places))));
                            sheet.write_number_with_format(row, col, n, format)
                        }
                        _ => sheet.write_number(row, col, n),
                    })
            }
            Kind::Boolean => match v {
                "true" => Some(sheet.write_boolean(row, col, true)),
                "false" => Some(sheet.write_boolean(row, col, false)),
                _ => None,
            },
            Kind::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| excel_date(d.and_time(NaiveTime::MIN)))
                .map(|d| sheet.write_datetime_with_format(row, col, d, &f.date)),
            Kind::Timestamp | Kind::TimestampTz => {
                NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y-%m-%d %H:%M:%S%.f")
                    .or_else(|_| NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f"))
                    .ok()
                    .and_then(excel_date)
                    .map(|d| sheet.write_datetime_with_format(row, col, d, &f.timestamp))
            }
            Kind::Time => NaiveTime::parse_from_str(v, "%H:%M:%S%.f")
                .ok()
                .and_then(|t| {
                    let sec = f64::from(t.second()) + f64::from(t.nanosecond()) / 1e9;
                    ExcelDateTime::from_hms(t.hour() as u16, t.minute() as u8, sec).ok()
                })
                .map(|t| sheet.write_datetime_with_format(row, col, t, &f.time)),
            _ => None,
        };
        let written = match written {
            Some(w) => w,
            None if v.len() > CELL_CHARS && v.chars().count() > CELL_CHARS => {
                return Err(FormatError::CellTooLong {
                    place,
                    column: self.columns[i].name.clone(),
                    chars: v.chars().count(),
                })
            }
            None => sheet.write_string(row, col, v),
        };
        written.map(|_| ()).map_err(xlsx)
    }
}

/// Significant digits of a decimal or integer as written.
fn digits(v: &str) -> usize {
    let d = v.bytes().filter(u8::is_ascii_digit).skip_while(|&b| b == b'0').count();
    // `0.05` has one significant digit; trailing zeros after the point count,
    // as Excel would have to hold them.
    d.max(1)
}

/// The Excel date of a moment, if Excel has one (1900 to 9999).
fn excel_date(t: NaiveDateTime) -> Option<ExcelDateTime> {
    let year = u16::try_from(t.year()).ok().filter(|y| (1900..=9999).contains(y))?;
    let sec = f64::from(t.second()) + f64::from(t.nanosecond()) / 1e9;
    ExcelDateTime::from_ymd(year, t.month() as u8, t.day() as u8)
        .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, sec))
        .ok()
}

fn xlsx(e: XlsxError) -> FormatError {
    FormatError::Xlsx(e.to_string())
}

impl RowWriter for XlsxWriter {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if columns.len() > 16_384 {
            return Err(FormatError::Xlsx(format!(
                "{} columns; an Excel sheet holds at most 16,384",
                columns.len()
            )));
        }
        let name = if let Some(n) = self.next.take() {
            n
        } else {
            let n = format!("Sheet{}", self.book.worksheets().len() + 1);
            self.sheet(&n)?;
            self.next.take().unwrap_or(n)
        };
        self.book
            .add_worksheet_with_constant_memory()
            .map_err(xlsx)?
            .set_name(name)
            .map_err(xlsx)?;
        self.sheet = self.book.worksheets().len() - 1;
        self.columns = columns.to_vec();
        self.widths = columns.iter().map(|c| c.name.chars().count()).collect();
        self.rows = 0;
        self.row = 0;
        if self.header {
            let header = self.formats.header.clone();
            let sheet = self.current()?;
            for (i, c) in columns.iter().enumerate() {
                sheet
                    .write_string_with_format(0, i as u16, &c.name, &header)
                    .map_err(xlsx)?;
            }
            sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
            self.row = 1;
        }
        Ok(())
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        if batch.width() != self.columns.len() && !batch.is_empty() {
            return Err(FormatError::WidthMismatch {
                expected: self.columns.len(),
                got: batch.width(),
            });
        }
        for row in batch.rows() {
            if self.row >= SHEET_ROWS {
                return Err(FormatError::Xlsx(format!(
                    "more than {} rows for one sheet, Excel's limit; split the rows over several sheets",
                    super::thousands(u64::from(SHEET_ROWS - u32::from(self.header)))
                )));
            }
            for (i, v) in row.iter().enumerate() {
                if let Some(v) = v {
                    self.cell(i as u16, self.columns[i].kind, v)?;
                }
            }
            self.row += 1;
            self.rows += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        let widths = std::mem::take(&mut self.widths);
        let sheet = self.current()?;
        for (i, w) in widths.into_iter().enumerate() {
            sheet
                .set_column_width(i as u16, (w + 2).min(MAX_WIDTH) as f64)
                .map_err(xlsx)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_follow_excels_rules() {
        for ok in ["Students", "Grade 9 – Zoë", "a'b", &"x".repeat(31)] {
            assert!(check_sheet_name(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "needs a name"),
            (&"x".repeat(32), "31 characters"),
            ("Q1/Q2", "[ ] : * ? / \\"),
            ("'quoted'", "'"),
            ("history", "History"),
        ] {
            let e = check_sheet_name(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn a_second_sheet_of_the_same_name_in_other_case_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = XlsxWriter::new(dir.path(), true).unwrap();
        w.sheet("Staff").unwrap();
        let e = w.sheet("STAFF").unwrap_err().to_string();
        assert!(e.contains("another sheet"), "{e}");
    }

    #[test]
    fn significant_digits_are_counted_as_excel_keeps_them() {
        assert_eq!(digits("0.05"), 1);
        assert_eq!(digits("-123.50"), 5);
        assert_eq!(digits("0"), 1);
        assert_eq!(digits("1234567890123456"), 16);
    }
}
