//! How every column type of each database is written: the table in
//! docs/scripting.md ("How values are written"), case by case. Each case is
//! a column type, a literal inserted with the database's own client, and the
//! exact field text that Python's csv module reads back from the file ferry
//! writes. Every type also gets a NULL case, written as an empty field.
//!
//! Where ferry writes a value exactly as the server's own text form does
//! (what psql and `mariadb -B` show), the case says so and the server is
//! asked too, so a rendering that claims to be the server's is checked
//! against the server. PostgreSQL is read through both of its paths (COPY
//! and a prepared statement's rows), which must agree.

use std::collections::BTreeSet;
use std::sync::Arc;

use ferry::source::{PgSource, Query, RowStream, Source};
use ferry::state::Trigger;

use super::{mariadb, project, psql, python_csv, Project, PG_URL};

/// One value of one column type.
struct Case {
    /// The column's type in the table's DDL.
    ty: &'static str,
    /// The SQL literal inserted.
    value: &'static str,
    /// The field as read back from the CSV file.
    want: &'static str,
    /// The server's own text form of the value is the same.
    server: bool,
}

/// A value whose text is ferry's own rendering.
const fn c(ty: &'static str, value: &'static str, want: &'static str) -> Case {
    Case {
        ty,
        value,
        want,
        server: false,
    }
}

/// A value written exactly as the server prints it.
const fn s(ty: &'static str, value: &'static str, want: &'static str) -> Case {
    Case {
        ty,
        value,
        want,
        server: true,
    }
}

impl Case {
    fn name(&self) -> String {
        format!("{} {}", self.ty, self.value)
    }
}

/// The cases plus a NULL of every type used.
fn with_nulls(cases: &[Case]) -> Vec<Case> {
    let mut all: Vec<Case> = cases
        .iter()
        .map(|k| Case {
            ty: k.ty,
            value: k.value,
            want: k.want,
            server: k.server,
        })
        .collect();
    let mut seen = BTreeSet::new();
    for k in cases {
        if seen.insert(k.ty) {
            all.push(c(k.ty, "NULL", ""));
        }
    }
    all
}

fn columns(cases: &[Case]) -> String {
    cases
        .iter()
        .enumerate()
        .map(|(i, k)| format!("c{i} {}", k.ty))
        .collect::<Vec<_>>()
        .join(", ")
}

fn values(cases: &[Case]) -> String {
    cases.iter().map(|k| k.value).collect::<Vec<_>>().join(", ")
}

/// Runs `SELECT * FROM ferry_values` on database `db` into a CSV file and
/// returns its one row as Python reads it; a failed run names the case of
/// the column it names.
async fn extract(p: &Project, db: &str, cases: &[Case]) -> Vec<String> {
    p.script(
        db,
        &format!("deliver(csv(query(\"{db}\", \"SELECT * FROM ferry_values\"), #{{ name: \"{db}\" }}), \"out\");\n"),
    );
    let r = p.run(db, Trigger::Manual, &[]).await;
    if let Some(e) = r.error {
        let named: Vec<String> = (0..cases.len())
            .filter(|i| e.contains(&format!("'c{i}'")))
            .map(|i| cases[i].name())
            .collect();
        panic!("{db}: {e} (case: {})", named.join("; "));
    }
    let rows = python_csv(&p.path(&format!("out/{db}.csv")), ',', "utf-8");
    assert_eq!(rows.len(), 2, "{db}: a header and one row");
    let header: Vec<String> = (0..cases.len()).map(|i| format!("c{i}")).collect();
    assert_eq!(rows[0], header, "{db}: header");
    rows[1].clone()
}

/// Every case whose field is not the one wanted, by name.
fn check(db: &str, cases: &[Case], got: &[String], source: &str) {
    assert_eq!(got.len(), cases.len(), "{db} ({source}): one field per case");
    let wrong: Vec<String> = cases
        .iter()
        .zip(got)
        .filter(|(k, g)| k.want != g.as_str())
        .map(|(k, g)| format!("  {}: got {g:?}, want {:?}", k.name(), k.want))
        .collect();
    assert!(
        wrong.is_empty(),
        "{db} ({source}): {} of {} cases wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// The unit separator: joins the server's texts of several columns.
const US: char = '\u{1f}';

const SQLITE: &[Case] = &[
    c("INTEGER", "-9223372036854775808", "-9223372036854775808"),
    c("INTEGER", "9223372036854775807", "9223372036854775807"),
    c("INTEGER", "0", "0"),
    c("REAL", "0.1", "0.1"),
    c("REAL", "-2.5", "-2.5"),
    c("REAL", "1e-7", "0.0000001"),
    c("REAL", "1e15", "1000000000000000"),
    c("REAL", "3", "3"),
    c("REAL", "9e999", "Infinity"),
    c("REAL", "-9e999", "-Infinity"),
    c("TEXT", "'Zoë O''Brien'", "Zoë O'Brien"),
    c(
        "TEXT",
        "'line one' || char(10) || 'line two, \"quoted\"' || char(9) || 'tab'",
        "line one\nline two, \"quoted\"\ttab",
    ),
    c("TEXT", "''", ""),
    c("TEXT", "'12.50'", "12.50"),
    c("VARCHAR(5)", "'ab  '", "ab  "),
    c("BLOB", "x'00ff10'", "00ff10"),
    c("BLOB", "x''", ""),
    c("BOOLEAN", "1", "true"),
    c("BOOLEAN", "0", "false"),
    c("BOOLEAN", "TRUE", "true"),
    c("DATE", "'2026-08-15'", "2026-08-15"),
    c("DATETIME", "'2026-08-15 07:30:00'", "2026-08-15 07:30:00"),
    c("TIME", "'07:30'", "07:30"),
    // DECIMAL has NUMERIC affinity: SQLite stores the number, not the text.
    c("DECIMAL(8,2)", "'12.50'", "12.5"),
    c("DECIMAL(8,2)", "'twelve'", "twelve"),
];

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_values_are_written_as_documented() {
    let cases = with_nulls(SQLITE);
    let p = project();
    p.sqlite(&format!(
        "CREATE TABLE ferry_values ({}); INSERT INTO ferry_values VALUES ({});",
        columns(&cases),
        values(&cases)
    ));
    let got = extract(&p, "live", &cases).await;
    check("sqlite", &cases, &got, "csv");
}

const POSTGRES: &[Case] = &[
    // Integers.
    s("smallint", "-32768", "-32768"),
    s("smallint", "32767", "32767"),
    s("integer", "-2147483648", "-2147483648"),
    s("integer", "2147483647", "2147483647"),
    s("bigint", "-9223372036854775808", "-9223372036854775808"),
    s("bigint", "9223372036854775807", "9223372036854775807"),
    s("oid", "4294967295", "4294967295"),
    // Exact decimals: every digit of the scale.
    s("numeric(8,2)", "12.5", "12.50"),
    s("numeric(8,2)", "-3", "-3.00"),
    s("numeric(8,2)", "0", "0.00"),
    s("numeric(10,0)", "42", "42"),
    s(
        "numeric",
        "123456789012345678901234567890.123456789",
        "123456789012345678901234567890.123456789",
    ),
    s("numeric(30,10)", "-0.0000000001", "-0.0000000001"),
    s("numeric", "1e-20", "0.00000000000000000001"),
    s("numeric", "'NaN'", "NaN"),
    s("numeric", "'Infinity'", "Infinity"),
    s("numeric", "'-Infinity'", "-Infinity"),
    c("money", "-12.5", "-12.50"),
    c("money", "1234567.89", "1234567.89"),
    c("money", "0", "0.00"),
    c("money", "'-92233720368547758.08'", "-92233720368547758.08"),
    // Floating point: the shortest text that reads back.
    c("real", "0.1", "0.1"),
    c("real", "1.5e-7", "0.00000015"),
    c("real", "16777216", "16777216"),
    s("real", "'NaN'", "NaN"),
    s("real", "'Infinity'", "Infinity"),
    s("real", "'-Infinity'", "-Infinity"),
    s("double precision", "0.1", "0.1"),
    s("double precision", "-2.5", "-2.5"),
    c("double precision", "1e-7", "0.0000001"),
    c("double precision", "1e15", "1000000000000000"),
    s("double precision", "'-0'", "-0"),
    s("double precision", "'NaN'", "NaN"),
    s("double precision", "'Infinity'", "Infinity"),
    s("double precision", "'-Infinity'", "-Infinity"),
    // Booleans.
    c("boolean", "true", "true"),
    c("boolean", "false", "false"),
    // Text.
    s("text", "'Zoë O''Brien'", "Zoë O'Brien"),
    s(
        "text",
        r#"E'line one\nline two, "quoted"\ttab \\ 😀'"#,
        "line one\nline two, \"quoted\"\ttab \\ 😀",
    ),
    s("text", "''", ""),
    s("varchar(20)", "'Đặng Thị'", "Đặng Thị"),
    s("char(5)", "'ab'", "ab   "),
    s("char(5)", "'abcde'", "abcde"),
    s("name", "'pg_class'", "pg_class"),
    s("citext", "'MiXeD Case'", "MiXeD Case"),
    s(r#""char""#, "'a'", "a"),
    s("xml", "'<a>x &amp; y</a>'", "<a>x &amp; y</a>"),
    s("ferry_values_mood", "'happy'", "happy"),
    s("ferry_values_mood", r#"'sad, "very"'"#, r#"sad, "very""#),
    // Bits.
    s("bit(1)", "B'1'", "1"),
    s("bit(1)", "B'0'", "0"),
    s("bit(4)", "B'0101'", "0101"),
    s("bit(12)", "B'101000000001'", "101000000001"),
    s("varbit(8)", "B'10'", "10"),
    s("varbit", "B''", ""),
    // Dates and times.
    s("date", "'2026-08-15'", "2026-08-15"),
    s("date", "'0001-01-01'", "0001-01-01"),
    c("date", "'0044-03-15 BC'", "-43-03-15"),
    s("time", "'07:30:00'", "07:30:00"),
    s("time", "'24:00:00'", "24:00:00"),
    c("time(6)", "'07:30:00.5'", "07:30:00.500000"),
    s("time(6)", "'23:59:59.999999'", "23:59:59.999999"),
    s("timetz", "'07:30:00+05:30'", "07:30:00+05:30"),
    c("timetz", "'07:30:00.25-02'", "07:30:00.250000-02:00"),
    c("timetz", "'23:59:59+00'", "23:59:59+00:00"),
    s(
        "interval",
        "'1 year 2 months 3 days 4 hours 5 minutes 6 seconds'",
        "P1Y2M3DT4H5M6S",
    ),
    s("interval", "'0'", "PT0S"),
    s("interval", "'-1 day 2 hours'", "P-1DT2H"),
    s("interval", "'1.5 seconds'", "PT1.5S"),
    s("interval", "'-0.000001 seconds'", "PT-0.000001S"),
    s("interval", "'-14 months'", "P-1Y-2M"),
    s("interval", "'100 hours'", "PT100H"),
    s("interval", "'1 day -1 second'", "P1DT-1S"),
    s("interval", "'-1 hour -30 minutes'", "PT-1H-30M"),
    s("interval", "'3 days'", "P3D"),
    s("interval", "'1 month 1 microsecond'", "P1MT0.000001S"),
    s("timestamp", "'2026-08-15 07:30:00'", "2026-08-15 07:30:00"),
    s(
        "timestamp(6)",
        "'2026-08-15 07:30:00.123456'",
        "2026-08-15 07:30:00.123456",
    ),
    c("timestamp(6)", "'2026-08-15 07:30:00.5'", "2026-08-15 07:30:00.500000"),
    c("timestamptz", "'2026-08-15 07:30:00+02'", "2026-08-15T05:30:00Z"),
    c(
        "timestamptz",
        "'1999-12-31 23:59:59.999999+00'",
        "1999-12-31T23:59:59.999999Z",
    ),
    // JSON, UUID, binary.
    s("json", r#"'{"a": [1, "x\"y"]}'"#, r#"{"a": [1, "x\"y"]}"#),
    s("jsonb", r#"'{"b": null,  "a": 1}'"#, r#"{"a": 1, "b": null}"#),
    s(
        "uuid",
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ),
    c("bytea", r"'\x00ff10'", "00ff10"),
    c("bytea", "''", ""),
    // Network addresses.
    s("inet", "'192.168.1.5'", "192.168.1.5"),
    s("inet", "'192.168.1.5/24'", "192.168.1.5/24"),
    s("inet", "'2001:DB8::1/64'", "2001:db8::1/64"),
    s("inet", "'::ffff:1.2.3.4'", "::ffff:1.2.3.4"),
    s("cidr", "'10.1/16'", "10.1.0.0/16"),
    s("cidr", "'2001:db8::/32'", "2001:db8::/32"),
    s("macaddr", "'08:00:2B:01:02:03'", "08:00:2b:01:02:03"),
    s("macaddr8", "'08:00:2b:01:02:03:04:05'", "08:00:2b:01:02:03:04:05"),
    // Arrays, in PostgreSQL's own text form.
    s("int[]", "'{1,2,NULL}'", "{1,2,NULL}"),
    s("int[]", "'{}'", "{}"),
    s("int[][]", "'{{1,2},{3,4}}'", "{{1,2},{3,4}}"),
    s("int[]", "'[0:1]={5,6}'", "[0:1]={5,6}"),
    s("bigint[]", "ARRAY[-9223372036854775808]", "{-9223372036854775808}"),
    s(
        "text[]",
        r#"ARRAY['a b', 'x"y', '', 'NULL', 'null', E'back\\slash', '{}', 'c,d', NULL, 'é', E'tab\there']"#,
        "{\"a b\",\"x\\\"y\",\"\",\"NULL\",\"null\",\"back\\\\slash\",\"{}\",\"c,d\",NULL,é,\"tab\there\"}",
    ),
    s("varchar(5)[]", "'{ab,cd}'", "{ab,cd}"),
    s("char(3)[]", "'{ab}'", r#"{"ab "}"#),
    s("boolean[]", "'{t,f,NULL}'", "{t,f,NULL}"),
    s("numeric[]", "'{12.50,-3,NaN}'", "{12.50,-3,NaN}"),
    s(
        "double precision[]",
        "ARRAY[1.5, 1e-7, 1e15, 123456789012345, 'NaN', '-Infinity']::float8[]",
        "{1.5,1e-07,1e+15,123456789012345,NaN,-Infinity}",
    ),
    s(
        "real[]",
        "'{0.1,123456,1234567,1.5e-7}'",
        "{0.1,123456,1.234567e+06,1.5e-07}",
    ),
    s(
        "date[]",
        "'{2026-08-15,0044-03-15 BC}'",
        r#"{2026-08-15,"0044-03-15 BC"}"#,
    ),
    s("time[]", "'{07:30:00.5,24:00:00}'", "{07:30:00.5,24:00:00}"),
    s(
        "timetz[]",
        "'{07:30:00+02,07:30:00.25-05:30}'",
        "{07:30:00+02,07:30:00.25-05:30}",
    ),
    s(
        "timestamp[]",
        "'{2026-08-15 07:30:00.12,0044-03-15 12:00:00 BC}'",
        r#"{"2026-08-15 07:30:00.12","0044-03-15 12:00:00 BC"}"#,
    ),
    s(
        "timestamptz[]",
        "'{2026-08-15 07:30:00+02}'",
        r#"{"2026-08-15 05:30:00+00"}"#,
    ),
    s("interval[]", "'{1 day,0}'", "{P1D,PT0S}"),
    s("bytea[]", r"ARRAY['\x00ff'::bytea, '']", r#"{"\\x00ff","\\x"}"#),
    s("json[]", r#"ARRAY['{"a": 1}'::json]"#, r#"{"{\"a\": 1}"}"#),
    s("jsonb[]", r#"ARRAY['{"a":1}'::jsonb]"#, r#"{"{\"a\": 1}"}"#),
    s(
        "uuid[]",
        "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'",
        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
    ),
    s(
        "ferry_values_mood[]",
        r#"ARRAY['happy', 'sad, "very"']::ferry_values_mood[]"#,
        r#"{happy,"sad, \"very\""}"#,
    ),
    s("bit(4)[]", "'{0101,1111}'", "{0101,1111}"),
    s("inet[]", "'{192.168.1.5/24,::1}'", "{192.168.1.5/24,::1}"),
    s("citext[]", "'{A,b}'", "{A,b}"),
];

const PG_SETUP: &str = "DROP TABLE IF EXISTS ferry_values; DROP TYPE IF EXISTS ferry_values_mood; \
    CREATE EXTENSION IF NOT EXISTS citext; CREATE TYPE ferry_values_mood AS ENUM ('happy', 'sad, \"very\"');";

/// The rows of `sql` as rendered cells, read through `source`.
async fn cells(source: Arc<dyn Source>, sql: &str) -> Vec<Vec<Option<String>>> {
    let query = Query {
        sql: sql.into(),
        ..Query::default()
    };
    let mut stream = RowStream::spawn(move |mut tx| {
        Box::pin(async move {
            source.stream(&query, &mut tx).await?;
            tx.finish().await
        })
    });
    stream.start(None).await.unwrap();
    let mut rows = Vec::new();
    while let Some(batch) = stream.next_batch(None).await.unwrap() {
        rows.extend(
            batch
                .rows()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>()),
        );
        stream.recycle(batch);
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_values_are_written_as_documented() {
    let cases = with_nulls(POSTGRES);
    let p = project();
    psql(&format!(
        "{PG_SETUP} CREATE TABLE ferry_values ({}); INSERT INTO ferry_values VALUES ({});",
        columns(&cases),
        values(&cases)
    ));
    let sql = "SELECT * FROM ferry_values";
    let fast = PgSource::connect(PG_URL, None).await.unwrap();
    assert!(fast.uses_copy(&Query {
        sql: sql.into(),
        ..Query::default()
    }));
    let got = extract(&p, "pg", &cases).await;
    check("postgres", &cases, &got, "csv, through COPY");
    // The prepared statement's rows give the same text as COPY.
    let generic: Arc<dyn Source> = Arc::new(fast.without_copy());
    let rows = cells(generic, sql).await;
    let generic: Vec<String> = rows[0].iter().map(|v| v.clone().unwrap_or_default()).collect();
    check("postgres", &cases, &generic, "prepared statement");
    // Where the text is PostgreSQL's own, PostgreSQL agrees: `format('%s')`
    // is the type's output function, what psql shows (`::text` would drop
    // char(n)'s padding and add inet's /32).
    let own: Vec<(usize, &Case)> = cases.iter().enumerate().filter(|(_, k)| k.server).collect();
    let list: Vec<String> = own.iter().map(|(i, _)| format!("format('%s', c{i})")).collect();
    // A function takes at most 100 arguments: the list goes in parts.
    let parts: Vec<String> = list
        .chunks(90)
        .map(|part| format!("concat_ws(chr(31), {})", part.join(", ")))
        .collect();
    let text = psql(&format!(
        "SET intervalstyle = iso_8601; SET timezone = 'UTC'; SET datestyle = 'ISO'; \
         SELECT concat_ws(chr(31), {}) FROM ferry_values",
        parts.join(", ")
    ));
    let server: Vec<String> = text.split(US).map(str::to_string).collect();
    let own_cases: Vec<Case> = own.iter().map(|(_, k)| c(k.ty, k.value, k.want)).collect();
    check("postgres", &own_cases, &server, "the server's own text");
}

const MARIADB: &[Case] = &[
    // Integers.
    s("TINYINT", "-128", "-128"),
    s("TINYINT", "127", "127"),
    s("TINYINT UNSIGNED", "255", "255"),
    s("SMALLINT", "-32768", "-32768"),
    s("SMALLINT UNSIGNED", "65535", "65535"),
    s("MEDIUMINT", "-8388608", "-8388608"),
    s("MEDIUMINT UNSIGNED", "16777215", "16777215"),
    s("INT", "-2147483648", "-2147483648"),
    s("INT UNSIGNED", "4294967295", "4294967295"),
    s("BIGINT", "-9223372036854775808", "-9223372036854775808"),
    s("BIGINT", "9223372036854775807", "9223372036854775807"),
    s("BIGINT UNSIGNED", "18446744073709551615", "18446744073709551615"),
    // Booleans: BOOLEAN is TINYINT(1).
    c("BOOLEAN", "TRUE", "true"),
    c("BOOLEAN", "FALSE", "false"),
    c("TINYINT(1)", "2", "true"),
    // Exact decimals.
    s("DECIMAL(8,2)", "12.5", "12.50"),
    s("DECIMAL(8,2)", "-3", "-3.00"),
    s("DECIMAL(8,2)", "0", "0.00"),
    s("DECIMAL(10,0)", "42", "42"),
    s(
        "DECIMAL(65,30)",
        "12345678901234567890123456789012345.123456789012345678901234567890",
        "12345678901234567890123456789012345.123456789012345678901234567890",
    ),
    s("DECIMAL(30,10)", "-0.0000000001", "-0.0000000001"),
    // Floating point.
    s("FLOAT", "0.1", "0.1"),
    c("FLOAT", "1.5e-7", "0.00000015"),
    s("FLOAT", "-2.5", "-2.5"),
    s("DOUBLE", "0.1", "0.1"),
    s("DOUBLE", "-2.5", "-2.5"),
    c("DOUBLE", "1e-7", "0.0000001"),
    c("DOUBLE", "1e15", "1000000000000000"),
    // Text in every character set and collation.
    s("VARCHAR(20) CHARACTER SET utf8mb4", "'Zoë O''Brien'", "Zoë O'Brien"),
    s(
        "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        "'Đặng Thị 😀'",
        "Đặng Thị 😀",
    ),
    s(
        "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "'Müller'",
        "Müller",
    ),
    s("VARCHAR(20) CHARACTER SET utf8mb3", "'Nuñez'", "Nuñez"),
    s(
        "VARCHAR(20) CHARACTER SET utf8mb3 COLLATE utf8mb3_bin",
        "'Šimić'",
        "Šimić",
    ),
    s("VARCHAR(20) CHARACTER SET latin1", "'José'", "José"),
    s("VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin", "'Ærø'", "Ærø"),
    s("VARCHAR(20) CHARACTER SET ascii", "'plain'", "plain"),
    s("VARCHAR(20) CHARACTER SET utf16", "'Zoë'", "Zoë"),
    c(
        "TEXT",
        r#"'line one\nline two, "quoted"\ttab \\'"#,
        "line one\nline two, \"quoted\"\ttab \\",
    ),
    c("TEXT CHARACTER SET latin1 COLLATE latin1_bin", "'a\\nb'", "a\nb"),
    s("TEXT", "''", ""),
    s("TINYTEXT", "'tiny'", "tiny"),
    s("MEDIUMTEXT COLLATE utf8mb4_bin", "'medium'", "medium"),
    s("LONGTEXT", "'long'", "long"),
    s("CHAR(5)", "'ab'", "ab"),
    s("CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", "'ab   '", "ab"),
    s("VARCHAR(5)", "'ab  '", "ab  "),
    s("ENUM('happy', 'sad, \"very\"')", "'sad, \"very\"'", "sad, \"very\""),
    s("ENUM('happy', 'sad, \"very\"')", "'happy'", "happy"),
    s("SET('a', 'b', 'c')", "'c,a'", "a,c"),
    s("SET('a', 'b', 'c')", "''", ""),
    // Bits.
    c("BIT(1)", "b'1'", "1"),
    c("BIT(1)", "b'0'", "0"),
    c("BIT(4)", "b'0101'", "0101"),
    c("BIT(8)", "b'00000101'", "00000101"),
    c("BIT(12)", "b'101000000001'", "101000000001"),
    c(
        "BIT(64)",
        "b'1000000000000000000000000000000000000000000000000000000000000001'",
        "1000000000000000000000000000000000000000000000000000000000000001",
    ),
    // Dates and times.
    s("YEAR", "2026", "2026"),
    s("YEAR", "0", "0000"),
    s("YEAR", "1901", "1901"),
    s("DATE", "'2026-08-15'", "2026-08-15"),
    s("DATE", "'1000-01-01'", "1000-01-01"),
    s("TIME", "'07:30:00'", "07:30:00"),
    s("TIME", "'-838:59:59'", "-838:59:59"),
    s("TIME", "'100:00:00'", "100:00:00"),
    s("TIME", "'-00:00:01'", "-00:00:01"),
    s("TIME(6)", "'-12:34:56.000001'", "-12:34:56.000001"),
    c("TIME(3)", "'12:00:00.25'", "12:00:00.250000"),
    c("TIME(6)", "'00:00:00'", "00:00:00"),
    s("DATETIME", "'2026-08-15 07:30:00'", "2026-08-15 07:30:00"),
    s(
        "DATETIME(6)",
        "'2026-08-15 07:30:00.123456'",
        "2026-08-15 07:30:00.123456",
    ),
    c("DATETIME(3)", "'2026-08-15 07:30:00.5'", "2026-08-15 07:30:00.500000"),
    c("TIMESTAMP NULL", "'2026-08-15 07:30:00'", "2026-08-15T07:30:00Z"),
    c(
        "TIMESTAMP(6) NULL",
        "'1999-12-31 23:59:59.5'",
        "1999-12-31T23:59:59.500000Z",
    ),
    // JSON, UUID, addresses.
    c(
        "JSON",
        r#"'{"b": null,  "a": [1, "x\\"y"]}'"#,
        r#"{"b": null,  "a": [1, "x\"y"]}"#,
    ),
    s(
        "UUID",
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    ),
    s("INET6", "'2001:DB8::1'", "2001:db8::1"),
    s("INET4", "'192.168.1.5'", "192.168.1.5"),
    // Binary strings.
    c("BLOB", "x'00ff10'", "00ff10"),
    c("TINYBLOB", "x'41'", "41"),
    c("MEDIUMBLOB", "x'deadbeef'", "deadbeef"),
    c("LONGBLOB", "x''", ""),
    c("VARBINARY(16)", "x'00ff'", "00ff"),
    c("BINARY(4)", "x'0102'", "01020000"),
    c("VARCHAR(8) CHARACTER SET binary", "'AB'", "4142"),
];

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_values_are_written_as_documented() {
    let cases = with_nulls(MARIADB);
    let p = project();
    mariadb(&format!(
        "DROP TABLE IF EXISTS ferry_values; CREATE TABLE ferry_values ({}) DEFAULT CHARSET=utf8mb4; \
         INSERT INTO ferry_values VALUES ({});",
        columns(&cases),
        values(&cases)
    ));
    let got = extract(&p, "maria", &cases).await;
    check("mariadb", &cases, &got, "csv");
    let own: Vec<(usize, &Case)> = cases.iter().enumerate().filter(|(_, k)| k.server).collect();
    let list: Vec<String> = own
        .iter()
        .map(|(i, _)| format!("coalesce(convert(c{i} using utf8mb4), '')"))
        .collect();
    let text = mariadb(&format!(
        "SELECT concat_ws(char(31), {}) FROM ferry_values",
        list.join(", ")
    ));
    let server: Vec<String> = text.split(US).map(str::to_string).collect();
    let own_cases: Vec<Case> = own.iter().map(|(_, k)| c(k.ty, k.value, k.want)).collect();
    check("mariadb", &own_cases, &server, "the server's own text");
}

/// A type ferry does not render is an error naming the column and its type
/// and asking for a cast; a value with no date to write says what to do.
#[tokio::test(flavor = "multi_thread")]
async fn unrendered_types_are_an_error_naming_the_column() {
    let p = project();
    let unrendered = [
        ("pg", "point '(1,2)'", "POINT"),
        ("pg", "int4range(1, 5)", "INT4RANGE"),
        ("pg", "ARRAY[1.5::money]", "MONEY[]"),
        ("pg", "ARRAY[point '(1,2)']", "POINT[]"),
        ("pg", "to_tsvector('simple', 'a b')", "tsvector"),
        ("pg", "ROW(1, 'a')", "RECORD"),
        ("maria", "ST_GeomFromText('POINT(1 2)')", "GEOMETRY"),
    ];
    for (db, expr, type_name) in unrendered {
        p.script(
            "u",
            &format!("deliver(csv(query(\"{db}\", \"SELECT 1 AS n, {expr} AS odd\"), #{{ name: \"u\" }}), \"out\");\n"),
        );
        let e = p.run("u", Trigger::Manual, &[]).await.error.unwrap_or_default();
        let want = format!("column 'odd' has type {type_name}, which ferry cannot render; cast it in SQL");
        assert!(e.contains(&want), "{db} {expr}: {e}");
    }
    // Values with no date to write: an error with what to do.
    mariadb(
        "DROP TABLE IF EXISTS ferry_values_zero; CREATE TABLE ferry_values_zero (d DATE); \
         INSERT INTO ferry_values_zero VALUES ('0000-00-00');",
    );
    for (db, sql, want) in [
        (
            "pg",
            "SELECT 1 AS n, 'infinity'::date AS odd",
            "the value is infinity (or beyond the dates a file can hold); turn it into NULL in SQL, e.g. NULLIF(col, 'infinity')",
        ),
        (
            "pg",
            "SELECT 1 AS n, '-infinity'::timestamp AS odd",
            "NULLIF(col, 'infinity')",
        ),
        (
            "maria",
            "SELECT 1 AS n, d AS odd FROM ferry_values_zero",
            "NULLIF(col, '0000-00-00')",
        ),
    ] {
        p.script(
            "u",
            &format!("deliver(csv(query(\"{db}\", \"{sql}\"), #{{ name: \"u\" }}), \"out\");\n"),
        );
        let e = p.run("u", Trigger::Manual, &[]).await.error.unwrap_or_default();
        assert!(
            e.contains("cannot write column 'odd': ") && e.contains(want),
            "{db} {sql}: {e}"
        );
    }
    assert!(p.files("out").is_empty());
}
