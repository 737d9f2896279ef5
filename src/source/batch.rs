//! Rendered rows in batches: the unit that travels from a database cursor to a
//! file writer.
//!
//! Values are rendered to text once, at the source, into one growing `String`
//! per batch; a cell is only an end offset and a null flag. A batch is reused
//! after it is written, so the hot path allocates nothing per value.

/// What a column holds, so writers can treat numbers, dates and text
/// differently (HTML alignment, "quote non-numeric" styles) without
/// re-parsing rendered text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Character data of any length.
    Text,
    /// Whole numbers.
    Integer,
    /// Exact decimals (NUMERIC / DECIMAL), rendered with their full scale.
    Decimal,
    /// Binary floating point, rendered in the shortest exact form.
    Float,
    /// `true` / `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// `HH:MM:SS[.ffffff]`.
    Time,
    /// A timestamp without a zone: `YYYY-MM-DD HH:MM:SS[.ffffff]`.
    Timestamp,
    /// A timestamp with a zone, rendered in UTC: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
    TimestampTz,
    /// Bytes, rendered as lowercase hexadecimal.
    Binary,
    /// JSON documents, rendered as their text.
    Json,
}

impl Kind {
    /// Numbers are right-aligned in HTML and never need quoting for a reader.
    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Integer | Kind::Decimal | Kind::Float)
    }
}

/// A named column of a result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The name the database (or the script) gave the column; used as the
    /// header.
    pub name: String,
    /// How its values were rendered.
    pub kind: Kind,
}

impl Column {
    /// A column of the given name and kind.
    pub fn new(name: impl Into<String>, kind: Kind) -> Self {
        Column {
            name: name.into(),
            kind,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Cell {
    end: usize,
    null: bool,
}

/// Rows of rendered text, `width` cells each.
///
/// Filling: write a value's text with [`Batch::text`] (or `push_str`), then
/// close it with [`Batch::end_cell`]; or call [`Batch::push_null`]. After
/// `width` cells a row is complete.
#[derive(Debug, Default)]
pub struct Batch {
    width: usize,
    text: String,
    cells: Vec<Cell>,
}

impl Batch {
    /// An empty batch for rows of `width` columns.
    pub fn new(width: usize) -> Self {
        Batch {
            width,
            text: String::with_capacity(64 * 1024),
            cells: Vec::with_capacity(width * 256),
        }
    }

    /// The number of columns of every row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The buffer the current cell's text is appended to.
    pub fn text(&mut self) -> &mut String {
        &mut self.text
    }

    /// Appends text to the current cell.
    pub fn push_str(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Closes the current cell as a (possibly empty) value.
    pub fn end_cell(&mut self) {
        self.cells.push(Cell {
            end: self.text.len(),
            null: false,
        });
    }

    /// Adds a NULL cell.
    pub fn push_null(&mut self) {
        self.cells.push(Cell {
            end: self.text.len(),
            null: true,
        });
    }

    /// Adds a whole cell holding `s`.
    pub fn push_cell(&mut self, s: &str) {
        self.text.push_str(s);
        self.end_cell();
    }

    /// Complete rows in the batch.
    pub fn len(&self) -> usize {
        self.cells.len().checked_div(self.width).unwrap_or(0)
    }

    /// True when no complete row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of rendered text held, to decide when a batch is full.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Empties the batch, keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.text.clear();
        self.cells.clear();
    }

    /// Every value of the complete rows, row after row (`width` per row):
    /// `None` for NULL. The cheapest way to walk a whole batch.
    pub fn cells(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let mut start = 0;
        let complete = self.len() * self.width;
        self.cells[..complete].iter().map(move |c| {
            let from = std::mem::replace(&mut start, c.end);
            (!c.null).then(|| &self.text[from..c.end])
        })
    }

    /// One row by index.
    pub fn row(&self, index: usize) -> Row<'_> {
        Row { batch: self, index }
    }

    /// The complete rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Row<'_>> + '_ {
        (0..self.len()).map(move |index| Row { batch: self, index })
    }
}

/// A borrowed row of a [`Batch`].
#[derive(Clone, Copy)]
pub struct Row<'a> {
    batch: &'a Batch,
    index: usize,
}

impl<'a> Row<'a> {
    /// The value of column `col`: `None` for NULL.
    pub fn get(&self, col: usize) -> Option<&'a str> {
        let at = self.index * self.batch.width + col;
        let cell = self.batch.cells[at];
        if cell.null {
            return None;
        }
        let start = if at == 0 { 0 } else { self.batch.cells[at - 1].end };
        Some(&self.batch.text[start..cell.end])
    }

    /// The values in column order: `None` for NULL.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&'a str>> + 'a {
        let row = *self;
        (0..self.batch.width).map(move |c| row.get(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_with_nulls_and_empty_strings() {
        let mut b = Batch::new(3);
        b.push_cell("a");
        b.push_null();
        b.push_cell("");
        b.push_str("x,");
        b.push_str("y");
        b.end_cell();
        b.push_cell("é");
        b.push_null();
        assert_eq!(b.len(), 2);
        let rows: Vec<Vec<Option<&str>>> = b.rows().map(|r| r.iter().collect()).collect();
        assert_eq!(
            rows,
            vec![vec![Some("a"), None, Some("")], vec![Some("x,y"), Some("é"), None]]
        );
        let flat: Vec<Option<&str>> = b.cells().collect();
        assert_eq!(flat, [Some("a"), None, Some(""), Some("x,y"), Some("é"), None]);
        b.clear();
        assert!(b.is_empty());
    }
}
