//! Header and trailer records: the lines before and after the rows that
//! state agencies and the Clearinghouse require (`PH3`, a school code, the
//! run date; a record count, a control total).
//!
//! [`Framed`] wraps any [`RowWriter`] that can write a record, so counts and
//! sums accumulate while the rows stream past and the trailer is written
//! after the last row without holding a row in memory. A header record can
//! only hold a count or a sum once every row is written; such a header is
//! *deferred* (the caller writes the rows to a body file first, then the
//! file is the header followed by a copy of the body: see
//! [`Records::header_needs_totals`]).

use chrono::NaiveDateTime;

use super::decimal::{DecimalSum, SumError};
use super::fixed::Slot;
use super::{DateStamp, FormatError, Place, RowWriter};
use crate::source::{Batch, Column};

/// Which lines a count counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// The detail rows.
    Records,
    /// Every line of the file: rows, a column-name header line, and the
    /// header and trailer records themselves.
    All,
}

/// What a field of a record holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Text(String),
    Count(Count),
    /// The exact decimal sum of a column of the rows.
    Sum(String),
    /// The run's start, in a stamp pattern.
    Date(DateStamp),
}

/// One field of a header or trailer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// What it holds.
    pub value: Value,
    /// Its fixed width, if it has one (every field has one in a fixed-width
    /// file; in a delimited file it is optional).
    pub slot: Option<Slot>,
}

/// A field's text as ferry computed it, and the slot to fit it into: what a
/// writer is given to write a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filled {
    /// The text, before charset conversion.
    pub text: String,
    /// The field's width, if any.
    pub slot: Option<Slot>,
}

/// The header and trailer records of a file; either may be empty (absent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// Fields of the record before the rows.
    pub header: Vec<Field>,
    /// Fields of the record after the rows.
    pub trailer: Vec<Field>,
}

impl Records {
    /// True when there is neither record.
    pub fn is_empty(&self) -> bool {
        self.header.is_empty() && self.trailer.is_empty()
    }

    /// True when the header holds a count or a sum, known only after the
    /// last row: the header must then be written in a second pass.
    pub fn header_needs_totals(&self) -> bool {
        self.header
            .iter()
            .any(|f| matches!(f.value, Value::Count(_) | Value::Sum(_)))
    }

    /// Lines the records add to a file.
    fn lines(&self) -> u64 {
        u64::from(!self.header.is_empty()) + u64::from(!self.trailer.is_empty())
    }
}

/// A column being summed, and the first record that asked for it.
struct Summed {
    name: String,
    at: usize,
    record: Place,
    total: DecimalSum,
}

/// A [`RowWriter`] that writes the records around the rows of `inner` and
/// keeps the figures they need.
pub struct Framed<'w> {
    inner: &'w mut dyn RowWriter,
    records: &'w Records,
    at: NaiveDateTime,
    defer_header: bool,
    rows: u64,
    sums: Vec<Summed>,
}

impl<'w> Framed<'w> {
    /// Frames `inner` with `records`, dated `at` (the run's start, local
    /// time). A header that needs totals is not written here; take it from
    /// [`Framed::header`] after the rows.
    pub fn new(inner: &'w mut dyn RowWriter, records: &'w Records, at: NaiveDateTime) -> Self {
        Framed {
            inner,
            records,
            at,
            defer_header: records.header_needs_totals(),
            rows: 0,
            sums: Vec::new(),
        }
    }

    /// The header record's fields with the final figures; for a deferred
    /// header, once every row is written.
    pub fn header(&self) -> Result<Vec<Filled>, FormatError> {
        self.fill(&self.records.header)
    }

    fn fill(&self, fields: &[Field]) -> Result<Vec<Filled>, FormatError> {
        let lines = self.records.lines() + self.inner.lines_before_rows() + self.rows;
        fields
            .iter()
            .map(|f| {
                let text = match &f.value {
                    Value::Text(t) => t.clone(),
                    Value::Count(Count::Records) => self.rows.to_string(),
                    Value::Count(Count::All) => lines.to_string(),
                    Value::Sum(name) => self
                        .sums
                        .iter()
                        .find(|s| &s.name == name)
                        .map(|s| s.total.to_string())
                        .ok_or(FormatError::OutOfOrder("a sum read before begin"))?,
                    Value::Date(stamp) => stamp.render(self.at),
                };
                Ok(Filled { text, slot: f.slot })
            })
            .collect()
    }
}

impl RowWriter for Framed<'_> {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        let records = self.records;
        let asked = [
            (Place::HeaderRecord, "header_record", &records.header),
            (Place::TrailerRecord, "trailer_record", &records.trailer),
        ];
        for (record, option, fields) in asked {
            for f in fields {
                let Value::Sum(name) = &f.value else { continue };
                if self.sums.iter().any(|s| &s.name == name) {
                    continue;
                }
                let at = columns
                    .iter()
                    .position(|c| &c.name == name)
                    .ok_or_else(|| FormatError::NoSuchColumn {
                        option,
                        column: name.clone(),
                        available: columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "),
                    })?;
                self.sums.push(Summed {
                    name: name.clone(),
                    at,
                    record,
                    total: DecimalSum::default(),
                });
            }
        }
        if !self.defer_header && !records.header.is_empty() {
            let fields = self.fill(&records.header)?;
            self.inner.write_record(Place::HeaderRecord, &fields)?;
        }
        self.inner.begin(columns)
    }

    fn write_batch(&mut self, batch: &Batch) -> Result<(), FormatError> {
        // Only sums read the rows; counts come from the batch sizes.
        let summed = if self.sums.is_empty() { 0 } else { batch.len() };
        for (i, row) in batch.rows().take(summed).enumerate() {
            for s in &mut self.sums {
                let Some(value) = row.get(s.at).filter(|v| !v.is_empty()) else {
                    continue;
                };
                s.total.add(value).map_err(|e| match e {
                    SumError::NotANumber => FormatError::NotANumber {
                        place: Place::Row(self.rows + i as u64 + 1),
                        column: s.name.clone(),
                        value: value.to_string(),
                        record: s.record,
                    },
                    SumError::TooLarge => FormatError::SumTooLarge(s.name.clone()),
                })?;
            }
        }
        self.inner.write_batch(batch)?;
        self.rows += batch.len() as u64;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FormatError> {
        if !self.records.trailer.is_empty() {
            let fields = self.fill(&self.records.trailer)?;
            self.inner.write_record(Place::TrailerRecord, &fields)?;
        }
        self.inner.finish()
    }

    fn write_record(&mut self, place: Place, fields: &[Filled]) -> Result<(), FormatError> {
        self.inner.write_record(place, fields)
    }

    fn lines_before_rows(&self) -> u64 {
        u64::from(!self.records.header.is_empty()) + self.inner.lines_before_rows()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::fixed::{Align, FixedColumn, FixedOptions, FixedWriter, Overflow};
    use crate::format::{Charset, CsvOptions, DelimitedWriter, LineEnding, Unmappable};
    use crate::source::Kind;

    fn at() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap()
    }

    fn text(t: &str) -> Field {
        Field {
            value: Value::Text(t.into()),
            slot: None,
        }
    }

    fn of(value: Value) -> Field {
        Field { value, slot: None }
    }

    fn rows() -> (Vec<Column>, Batch) {
        let cols = vec![Column::new("id", Kind::Integer), Column::new("fee", Kind::Text)];
        let mut b = Batch::new(2);
        for (id, fee) in [
            ("1", Some("0.10")),
            ("2", None),
            ("3", Some("0.10")),
            ("4", Some("0.10")),
        ] {
            b.push_cell(id);
            match fee {
                Some(f) => b.push_cell(f),
                None => b.push_null(),
            }
        }
        (cols, b)
    }

    fn csv(records: &Records, header: bool) -> Result<(String, Option<Vec<Filled>>), FormatError> {
        let opts = CsvOptions {
            header,
            line_ending: LineEnding::Lf,
            ..CsvOptions::default()
        };
        let mut w = DelimitedWriter::new(Vec::new(), opts)?;
        let (cols, batch) = rows();
        let deferred = {
            let mut f = Framed::new(&mut w, records, at());
            f.begin(&cols)?;
            f.write_batch(&batch)?;
            f.finish()?;
            records.header_needs_totals().then(|| f.header()).transpose()?
        };
        Ok((String::from_utf8(w.into_inner()?).unwrap(), deferred))
    }

    #[test]
    fn a_trailer_counts_and_sums_what_streamed_past() {
        let records = Records {
            header: vec![
                text("H"),
                of(Value::Date(DateStamp::parse_text("%m/%d/%Y", "date").unwrap())),
            ],
            trailer: vec![
                text("T"),
                of(Value::Count(Count::Records)),
                of(Value::Count(Count::All)),
                of(Value::Sum("fee".into())),
            ],
        };
        let (file, deferred) = csv(&records, true).unwrap();
        assert_eq!(deferred, None);
        assert_eq!(file, "H,12/03/2026\nid,fee\n1,0.10\n2,\n3,0.10\n4,0.10\nT,4,7,0.30\n");
        let (file, _) = csv(&records, false).unwrap();
        assert!(file.ends_with("4,0.10\nT,4,6,0.30\n"), "{file}");
    }

    #[test]
    fn a_header_with_totals_is_handed_back_after_the_rows() {
        let records = Records {
            header: vec![text("H"), of(Value::Count(Count::All)), of(Value::Sum("id".into()))],
            trailer: vec![],
        };
        let (file, deferred) = csv(&records, false).unwrap();
        assert_eq!(file, "1,0.10\n2,\n3,0.10\n4,0.10\n");
        let texts: Vec<String> = deferred.unwrap().into_iter().map(|f| f.text).collect();
        assert_eq!(texts, ["H", "5", "10"]);
    }

    #[test]
    fn a_sum_of_a_missing_or_non_numeric_column_is_named() {
        let records = Records {
            header: vec![],
            trailer: vec![of(Value::Sum("amount".into()))],
        };
        let e = csv(&records, true).unwrap_err().to_string();
        assert_eq!(
            e,
            "trailer_record: the rows have no column \"amount\" (they have: id, fee)"
        );
        let mut w = DelimitedWriter::new(Vec::new(), CsvOptions::default()).unwrap();
        let records = Records {
            header: vec![],
            trailer: vec![of(Value::Sum("fee".into()))],
        };
        let mut f = Framed::new(&mut w, &records, at());
        f.begin(&[Column::new("fee", Kind::Text)]).unwrap();
        let mut b = Batch::new(1);
        b.push_cell("1.00");
        b.push_cell("n/a");
        let e = f.write_batch(&b).unwrap_err().to_string();
        assert_eq!(
            e,
            "row 2, column \"fee\": \"n/a\" is not a decimal number, so it cannot be summed for trailer_record"
        );
    }

    #[test]
    fn fixed_width_records_are_padded_like_columns() {
        let slot = |width, align, pad| {
            Some(Slot {
                width,
                align,
                pad,
                overflow: Overflow::Fail,
            })
        };
        let records = Records {
            header: vec![Field {
                value: Value::Text("PH3".into()),
                slot: slot(4, Align::Left, b' '),
            }],
            trailer: vec![
                Field {
                    value: Value::Text("T".into()),
                    slot: slot(1, Align::Left, b' '),
                },
                Field {
                    value: Value::Count(Count::All),
                    slot: slot(3, Align::Right, b'0'),
                },
            ],
        };
        let opts = FixedOptions {
            columns: vec![FixedColumn {
                name: "id".into(),
                slot: Slot {
                    width: 4,
                    align: Align::Right,
                    pad: b'0',
                    overflow: Overflow::Fail,
                },
            }],
            charset: Charset::UTF_8,
            unmappable: Unmappable::Fail,
            line_ending: LineEnding::Crlf,
            terminator: String::new(),
        };
        let mut w = FixedWriter::new(Vec::new(), opts).unwrap();
        let (cols, batch) = rows();
        let mut f = Framed::new(&mut w, &records, at());
        f.begin(&cols).unwrap();
        f.write_batch(&batch).unwrap();
        f.finish().unwrap();
        assert_eq!(
            w.into_inner().unwrap(),
            b"PH3 \r\n0001\r\n0002\r\n0003\r\n0004\r\nT006\r\n"
        );
    }
}
