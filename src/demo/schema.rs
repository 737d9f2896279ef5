//! The demo database's tables, and a batched writer that fills them quickly.
//!
//! Example scripts and vendor templates query these exact names and types, so
//! the schema is part of ferry's public face: change it only on purpose.

use sqlx::sqlite::SqliteConnection;

#[cfg(test)]
/// Tables in the order they are filled (parents before children, so the
/// declared foreign keys hold at every insert), with their columns.
pub(crate) const TABLES: &[(&str, &[&str])] = &[
    ("school", SCHOOL),
    ("school_year", SCHOOL_YEAR),
    ("student", STUDENT),
    ("enrollment", ENROLLMENT),
    ("staff", STAFF),
    ("course", COURSE),
    ("section", SECTION),
    ("roster", ROSTER),
    ("attendance", ATTENDANCE),
];

pub(crate) const SCHOOL: &[&str] = &[
    "school_id",
    "state_school_id",
    "name",
    "low_grade",
    "high_grade",
    "address",
    "city",
    "state",
    "zip",
    "phone",
];
pub(crate) const SCHOOL_YEAR: &[&str] = &["end_year", "label", "start_date", "end_date", "active"];
pub(crate) const STUDENT: &[&str] = &[
    "person_id",
    "state_id",
    "first_name",
    "middle_name",
    "last_name",
    "birth_date",
    "gender",
    "ssn",
    "email",
    "phone",
    "address",
    "city",
    "state",
    "zip",
];
pub(crate) const ENROLLMENT: &[&str] = &[
    "enrollment_id",
    "person_id",
    "school_id",
    "end_year",
    "grade",
    "start_date",
    "end_date",
    "service_type",
];
pub(crate) const STAFF: &[&str] = &["staff_id", "first_name", "last_name", "email", "school_id"];
pub(crate) const COURSE: &[&str] = &["course_id", "school_id", "end_year", "number", "name", "department"];
pub(crate) const SECTION: &[&str] = &["section_id", "course_id", "staff_id", "period", "room", "term"];
pub(crate) const ROSTER: &[&str] = &["section_id", "person_id", "start_date", "end_date"];
pub(crate) const ATTENDANCE: &[&str] = &[
    "attendance_id",
    "person_id",
    "school_id",
    "date",
    "code",
    "excused",
    "minutes",
];

/// The tables, created before any row is written.
///
/// Dates are `DATE` columns holding `YYYY-MM-DD` text and booleans are
/// `BOOLEAN` columns holding 0/1: that is what SQLite tools and sqlx's type
/// mapping expect, and text dates compare correctly in SQL.
pub(crate) const CREATE_TABLES: &str = r#"
CREATE TABLE school (
    school_id       INTEGER PRIMARY KEY,
    state_school_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    low_grade       TEXT NOT NULL,
    high_grade      TEXT NOT NULL,
    address         TEXT,
    city            TEXT,
    state           TEXT,
    zip             TEXT,
    phone           TEXT
);
CREATE TABLE school_year (
    end_year   INTEGER PRIMARY KEY,
    label      TEXT NOT NULL,
    start_date DATE NOT NULL,
    end_date   DATE NOT NULL,
    active     BOOLEAN NOT NULL
);
CREATE TABLE student (
    person_id   INTEGER PRIMARY KEY,
    state_id    TEXT NOT NULL UNIQUE,
    first_name  TEXT NOT NULL,
    middle_name TEXT,
    last_name   TEXT NOT NULL,
    birth_date  DATE NOT NULL,
    gender      TEXT NOT NULL,
    ssn         TEXT,
    email       TEXT,
    phone       TEXT,
    address     TEXT,
    city        TEXT,
    state       TEXT,
    zip         TEXT
);
CREATE TABLE enrollment (
    enrollment_id INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES student (person_id),
    school_id     INTEGER NOT NULL REFERENCES school (school_id),
    end_year      INTEGER NOT NULL REFERENCES school_year (end_year),
    grade         TEXT NOT NULL,
    start_date    DATE NOT NULL,
    end_date      DATE,
    service_type  TEXT NOT NULL
);
CREATE TABLE staff (
    staff_id   INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name  TEXT NOT NULL,
    email      TEXT,
    school_id  INTEGER REFERENCES school (school_id)
);
CREATE TABLE course (
    course_id  INTEGER PRIMARY KEY,
    school_id  INTEGER NOT NULL REFERENCES school (school_id),
    end_year   INTEGER NOT NULL REFERENCES school_year (end_year),
    number     TEXT NOT NULL,
    name       TEXT NOT NULL,
    department TEXT
);
CREATE TABLE section (
    section_id INTEGER PRIMARY KEY,
    course_id  INTEGER NOT NULL REFERENCES course (course_id),
    staff_id   INTEGER REFERENCES staff (staff_id),
    period     TEXT,
    room       TEXT,
    term       TEXT
);
CREATE TABLE roster (
    section_id INTEGER NOT NULL REFERENCES section (section_id),
    person_id  INTEGER NOT NULL REFERENCES student (person_id),
    start_date DATE NOT NULL,
    end_date   DATE
);
CREATE TABLE attendance (
    attendance_id INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES student (person_id),
    school_id     INTEGER NOT NULL REFERENCES school (school_id),
    date          DATE NOT NULL,
    code          TEXT NOT NULL,
    excused       BOOLEAN NOT NULL,
    minutes       INTEGER
);
"#;

/// Indexes for the joins extract scripts make, created after the rows (faster than maintaining them per insert).
pub(crate) const CREATE_INDEXES: &str = r#"
CREATE INDEX enrollment_year_person ON enrollment (end_year, person_id);
CREATE INDEX enrollment_school ON enrollment (school_id, end_year);
CREATE INDEX roster_person ON roster (person_id);
CREATE INDEX roster_section ON roster (section_id);
CREATE INDEX section_course ON section (course_id);
CREATE INDEX course_school ON course (school_id, end_year);
CREATE INDEX attendance_date ON attendance (date);
CREATE INDEX attendance_person ON attendance (person_id, date);
"#;

/// One value to insert.
#[derive(Clone, Debug)]
pub(crate) enum Cell {
    Int(i64),
    Text(String),
    Null,
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Int(i64::from(v))
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_string())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// Bound parameters per statement: under SQLite's historical limit of 999 so
/// any build of the library accepts the statements.
const MAX_PARAMS: usize = 990;

/// Buffers rows of one table and writes them many per `INSERT`.
///
/// One statement per row costs a round trip to sqlx's SQLite worker thread
/// each time; batching is what lets 2,000 students generate in a fraction of
/// a second even in a debug build. The full-batch statement is prepared once
/// and reused from sqlx's statement cache.
pub(crate) struct Inserter {
    table: &'static str,
    columns: &'static [&'static str],
    per_statement: usize,
    full_sql: String,
    buffer: Vec<Cell>,
    rows: u64,
}

impl Inserter {
    /// A writer for `table`, whose columns are `columns` in the order rows give them.
    pub(super) fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        let per_statement = (MAX_PARAMS / columns.len()).clamp(1, 200);
        Inserter {
            table,
            columns,
            per_statement,
            full_sql: insert_sql(table, columns, per_statement),
            buffer: Vec::with_capacity(per_statement * columns.len()),
            rows: 0,
        }
    }

    /// Queues one row, writing a batch when the buffer is full.
    pub(super) async fn row<const N: usize>(
        &mut self,
        conn: &mut SqliteConnection,
        cells: [Cell; N],
    ) -> Result<(), sqlx::Error> {
        debug_assert_eq!(N, self.columns.len(), "row width for {}", self.table);
        self.buffer.extend(cells);
        self.rows += 1;
        if self.buffer.len() >= self.per_statement * self.columns.len() {
            self.flush(conn).await?;
        }
        Ok(())
    }

    /// Writes what is left and returns how many rows the table received.
    pub(super) async fn finish(mut self, conn: &mut SqliteConnection) -> Result<u64, sqlx::Error> {
        self.flush(conn).await?;
        Ok(self.rows)
    }

    async fn flush(&mut self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rows = self.buffer.len() / self.columns.len();
        let partial_sql;
        let sql = if rows == self.per_statement {
            &self.full_sql
        } else {
            partial_sql = insert_sql(self.table, self.columns, rows);
            &partial_sql
        };
        let mut query = sqlx::query(sql);
        for cell in self.buffer.drain(..) {
            query = match cell {
                Cell::Int(v) => query.bind(v),
                Cell::Text(v) => query.bind(v),
                Cell::Null => query.bind(None::<i64>),
            };
        }
        query.execute(&mut *conn).await?;
        Ok(())
    }
}

/// `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), ...` for `rows` rows.
fn insert_sql(table: &str, columns: &[&str], rows: usize) -> String {
    let placeholders = format!("({})", vec!["?"; columns.len()].join(", "));
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(", "),
        vec![placeholders; rows].join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_name_every_column_and_placeholder() {
        assert_eq!(
            insert_sql("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        for (table, columns) in TABLES {
            let create = format!("CREATE TABLE {table} (");
            let start = CREATE_TABLES.find(&create).expect(table);
            let body = &CREATE_TABLES[start..];
            let body = &body[..body.find(");").unwrap()];
            let declared = body.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
            assert_eq!(declared, columns.len(), "{table}");
            for column in *columns {
                assert!(body.contains(&format!("\n    {column} ")), "{table}.{column}");
            }
        }
    }
}
