//! PostgreSQL's COPY fast path against the generic path: on data chosen to
//! break things (every supported type, extremes, NULLs, quotes, line breaks,
//! a quarter-megabyte value, typed parameters), the same columns, the same
//! values and the same file bytes.

use std::sync::Arc;

use ferry::format::{Charset, CsvOptions, DelimitedWriter, LineEnding, RowWriter};
use ferry::source::{Column, Param, PgSource, Query, RowStream, Source};

use super::{psql, PG_URL};

type Extract = (Vec<Column>, Vec<Vec<Option<String>>>);

async fn extract(source: Arc<dyn Source>, query: &Query) -> Result<Extract, String> {
    let query = query.clone();
    let mut stream = RowStream::spawn(move |mut tx| {
        Box::pin(async move {
            source.stream(&query, &mut tx).await?;
            tx.finish().await
        })
    });
    let columns = stream.start(None).await.map_err(|e| e.to_string())?.to_vec();
    let mut rows = Vec::new();
    while let Some(batch) = stream.next_batch(None).await.map_err(|e| e.to_string())? {
        rows.extend(
            batch
                .rows()
                .map(|r| r.iter().map(|v| v.map(str::to_string)).collect::<Vec<_>>()),
        );
        stream.recycle(batch);
    }
    Ok((columns, rows))
}

fn csv(options: CsvOptions, (columns, rows): &Extract) -> Vec<u8> {
    let mut w = DelimitedWriter::new(Vec::new(), options).unwrap();
    w.begin(columns).unwrap();
    let mut batch = ferry::source::Batch::new(columns.len());
    for row in rows {
        for v in row {
            match v {
                Some(s) => batch.push_cell(s),
                None => batch.push_null(),
            }
        }
    }
    w.write_batch(&batch).unwrap();
    w.finish().unwrap();
    w.into_inner().unwrap()
}

const TABLE: &str = r#"
DROP TABLE IF EXISTS ferry_copy; DROP TYPE IF EXISTS ferry_mood;
CREATE TYPE ferry_mood AS ENUM ('happy', 'sad, "very"');
CREATE TABLE ferry_copy (id int, i2 smallint, i4 int, i8 bigint, o oid, f4 real, f8 double precision,
    n numeric, n2 numeric(30,10), t text, v varchar(20), c char(5), nm name, d date, tm time,
    ts timestamp, tz timestamptz, b bytea, j json, jb jsonb, u uuid, bo boolean, e ferry_mood);
INSERT INTO ferry_copy VALUES
 (1, 1, 2, 3, 4, 1.5, 0.1, 12.50, 0.5, 'Zoë O''Brien', 'v', 'ab', 'nm', '2026-08-15', '07:30:00',
  '2026-08-15 07:30:00.123456', '2026-08-15 07:30:00+02', '\x00ff10', '{"a": [1, "x\"y"]}', '{"b": null}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 'happy'),
 (2, -32768, 2147483647, -9223372036854775808, 4294967295, 'NaN', '-Infinity', 'NaN', -0.0000000001,
  E'quote " comma , lf \n crlf \r\n tab \t backslash \\ emoji 😀 smart “x”', '', 'abcde', '', '0001-01-01', '24:00:00',
  '10000-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999+00', '', '[]', '[]',
  '00000000-0000-0000-0000-000000000000', false, 'sad, "very"'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 0, '1e-7', 1e300, 123456789012345678901234567890.123456789, 0, repeat('ab,"c' || chr(10), 50000),
  'x', NULL, 'n', '4713-01-01 BC', '00:00:00.000001', '0044-03-15 12:00:00 BC', '1970-01-01 00:00:00+00',
  decode(repeat('ff', 1000), 'hex'), 'null', '"s"', NULL, NULL, NULL);
INSERT INTO ferry_copy (id, i4, t, d, ts, n2, bo)
  SELECT g, g % 7, 'row ' || g || CASE WHEN g % 11 = 0 THEN ', "quoted"' ELSE '' END,
         DATE '2000-01-01' + g, TIMESTAMP '2000-01-01' + g * INTERVAL '61 minutes', g / 3.0, g % 2 = 0
  FROM generate_series(5, 3004) AS g;
"#;

#[tokio::test(flavor = "multi_thread")]
async fn copy_gives_the_same_bytes_as_the_generic_path() {
    psql(TABLE);
    let fast = PgSource::connect(PG_URL, None).await.unwrap();
    let generic: Arc<dyn Source> = Arc::new(PgSource::connect(PG_URL, None).await.unwrap().without_copy());
    let queries = [
        Query {
            sql: "-- every row\nSELECT * FROM ferry_copy ORDER BY id;".into(),
            ..Query::default()
        },
        Query {
            sql: "SELECT id, t, :t AS echoed, :f AS f, :day AS day FROM ferry_copy \
                  WHERE i4 >= :low OR t = :t OR :flag OR d = :day OR f8 < :f OR i4 = :nothing ORDER BY id"
                .into(),
            params: [
                ("low".to_string(), Param::Int(5)),
                ("t".to_string(), Param::Text("it's a \\ test, \"ok\"".into())),
                ("flag".to_string(), Param::Bool(false)),
                (
                    "day".to_string(),
                    Param::Date(chrono::NaiveDate::from_ymd_opt(2000, 1, 9).unwrap()),
                ),
                ("f".to_string(), Param::Float(0.1)),
                ("nothing".to_string(), Param::Null),
            ]
            .into(),
        },
        Query {
            sql: "WITH x AS (SELECT 1 AS one, 'é'::text AS e) SELECT * FROM x".into(),
            ..Query::default()
        },
    ];
    assert!(queries.iter().all(|q| fast.uses_copy(q)));
    let fast: Arc<dyn Source> = Arc::new(fast);
    for q in &queries {
        let a = extract(fast.clone(), q).await.unwrap();
        let b = extract(generic.clone(), q).await.unwrap();
        assert_eq!(a.0, b.0, "columns of {}", q.sql);
        assert_eq!(a.1.len(), b.1.len(), "rows of {}", q.sql);
        for (i, (x, y)) in a.1.iter().zip(&b.1).enumerate() {
            assert_eq!(x, y, "row {i} of {}", q.sql);
        }
        for options in [
            CsvOptions::default(),
            CsvOptions {
                quote_all: true,
                charset: Charset::US_ASCII,
                line_ending: LineEnding::Lf,
                delimiter: b'|',
                ..CsvOptions::default()
            },
        ] {
            assert!(csv(options.clone(), &a) == csv(options, &b), "file bytes of {}", q.sql);
        }
    }
    let (_, rows) = extract(fast.clone(), &queries[0]).await.unwrap();
    assert_eq!(rows.len(), 3004);
    let second: Vec<&str> = rows[1].iter().map(|v| v.as_deref().unwrap_or("NULL")).collect();
    assert_eq!(
        second[1..17],
        [
            "-32768",
            "2147483647",
            "-9223372036854775808",
            "4294967295",
            "NaN",
            "-Infinity",
            "NaN",
            "-0.0000000001",
            "quote \" comma , lf \n crlf \r\n tab \t backslash \\ emoji 😀 smart “x”",
            "",
            "abcde",
            "",
            "0001-01-01",
            "24:00:00",
            "10000-01-01 00:00:00.000001",
            "1999-12-31T23:59:59.999999Z",
        ]
    );
    assert_eq!(rows[3][13].as_deref(), Some("-4712-01-01"));
    assert_eq!(rows[3][9].as_deref().map(str::len), Some(300_000));
    // An error is reported the same way on both paths, and the fast path's
    // connection is not reused mid-COPY.
    let bad = Query {
        sql: "SELECT 1 / (id - 2) FROM ferry_copy ORDER BY id".into(),
        ..Query::default()
    };
    for s in [&fast, &generic] {
        let e = extract(s.clone(), &bad).await.unwrap_err();
        assert!(e.contains("division by zero"), "{e}");
    }
    assert!(extract(fast.clone(), &queries[2]).await.is_ok());
}
