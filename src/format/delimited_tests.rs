//! Tests of the delimited writer: every layout read back, quoting, charsets
//! and the unquoted and unmappable policies.

use super::*;
use crate::format::{Charset, Unmappable};
use crate::source::Kind;

/// Values that break naive writers, laid out three to a row.
const VALUES: &[Option<&str>] = &[
    Some("plain"),
    Some("a,b"),
    Some("tab\there"),
    Some("pi|pe"),
    Some("til~de"),
    Some("say \"hi\""),
    Some("cr\rx"),
    Some("lf\nx"),
    Some("crlf\r\nx"),
    Some("  padded  "),
    Some(""),
    None,
    Some("Zoë Straße"),
    Some("“smart” ‚quotes‚"),
    Some("北京"),
    Some("\""),
    Some(","),
    Some("\r\n"),
    Some("ßé"),
    Some(" lead"),
    Some("end"),
];

fn columns() -> Vec<Column> {
    vec![
        Column::new("id", Kind::Integer),
        Column::new("name, \"full\"|~", Kind::Text),
        Column::new("notes", Kind::Text),
    ]
}

fn batch(values: &[Option<&str>]) -> Batch {
    let mut b = Batch::new(3);
    for v in values {
        match v {
            Some(s) => b.push_cell(s),
            None => b.push_null(),
        }
    }
    b
}

fn write(options: CsvOptions, cols: &[Column], batches: &[Batch]) -> Result<(Vec<u8>, u64), FormatError> {
    let mut w = DelimitedWriter::new(Vec::new(), options)?;
    w.begin(cols)?;
    for b in batches {
        w.write_batch(b)?;
    }
    w.finish()?;
    let rows = w.rows();
    Ok((w.into_inner()?, rows))
}

fn read_back(bytes: &[u8], delimiter: u8) -> Vec<Vec<Vec<u8>>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .delimiter(delimiter)
        .quoting(true)
        .double_quote(true)
        .comment(None)
        .trim(csv::Trim::None)
        .from_reader(bytes);
    r.byte_records()
        .map(|rec| rec.unwrap().iter().map(<[u8]>::to_vec).collect())
        .collect()
}

/// Every combination of delimiter, quote_all, header, charset and line
/// ending, with the default Unquoted::Quote.
fn layouts() -> Vec<CsvOptions> {
    let mut all = Vec::new();
    for delimiter in [b',', b'\t', b'|', b'~'] {
        for (quote_all, header) in [(false, false), (false, true), (true, false), (true, true)] {
            for charset in [Charset::UTF_8, Charset::US_ASCII] {
                for line_ending in [LineEnding::Crlf, LineEnding::Lf] {
                    all.push(CsvOptions {
                        delimiter,
                        quote_all,
                        header,
                        charset,
                        line_ending,
                        ..CsvOptions::default()
                    });
                }
            }
        }
    }
    all
}

/// What a reader should see: NULL as empty, and for US-ASCII deunicode's
/// transliteration of the input.
fn expected(opts: &CsvOptions, cols: &[Column]) -> Vec<Vec<Vec<u8>>> {
    let cell = |v: &str| {
        if opts.charset.is_utf8() {
            v.as_bytes().to_vec()
        } else {
            deunicode::deunicode(v).into_bytes()
        }
    };
    let header = cols.iter().map(|c| cell(&c.name)).collect();
    let rows = VALUES
        .chunks(3)
        .map(|r| r.iter().map(|v| cell(v.unwrap_or(""))).collect());
    opts.header.then_some(header).into_iter().chain(rows).collect()
}

#[test]
fn every_layout_reads_back_field_for_field() {
    let cols = columns();
    let batches = [batch(&VALUES[..9]), batch(&VALUES[9..])];
    for opts in layouts() {
        let case = format!("{opts:?}");
        let want = expected(&opts, &cols);
        let (bytes, rows) = write(opts.clone(), &cols, &batches).unwrap();
        assert_eq!(rows, 7, "{case}");
        let quote = if opts.quote_all { "\"" } else { "" };
        let term = match opts.line_ending {
            LineEnding::Crlf => "\r\n",
            LineEnding::Lf => "\n",
        };
        let ending = format!("{quote}end{quote}{term}");
        assert!(bytes.ends_with(ending.as_bytes()), "{case}");
        assert_eq!(opts.quote_all, bytes.starts_with(b"\""), "{case}");
        assert!(opts.charset.is_utf8() || bytes.is_ascii(), "{case}");
        assert_eq!(read_back(&bytes, opts.delimiter), want, "{case}");
    }
}

fn two_columns() -> Vec<Column> {
    vec![Column::new("id", Kind::Integer), Column::new("name", Kind::Text)]
}

fn two_rows(second: Option<&str>) -> Batch {
    let mut b = Batch::new(2);
    b.push_cell("1");
    b.push_cell("O'Brien");
    b.push_cell("2");
    match second {
        Some(s) => b.push_cell(s),
        None => b.push_null(),
    }
    b
}

#[test]
fn quote_all_quotes_every_field_including_header_and_null() {
    let opts = CsvOptions {
        quote_all: true,
        ..CsvOptions::default()
    };
    let (bytes, _) = write(opts, &two_columns(), &[two_rows(None)]).unwrap();
    assert_eq!(bytes, b"\"id\",\"name\"\r\n\"1\",\"O'Brien\"\r\n\"2\",\"\"\r\n");
}

#[test]
fn minimal_quoting_touches_only_the_values_that_need_it() {
    let opts = CsvOptions {
        line_ending: LineEnding::Lf,
        ..CsvOptions::default()
    };
    let (bytes, _) = write(opts, &two_columns(), &[two_rows(Some("a,\"b\""))]).unwrap();
    assert_eq!(bytes, b"id,name\n1,O'Brien\n2,\"a,\"\"b\"\"\"\n");
    let (bytes, _) = write(CsvOptions::default(), &two_columns(), &[two_rows(None)]).unwrap();
    assert_eq!(bytes, b"id,name\r\n1,O'Brien\r\n2,\r\n");
}

#[test]
fn unquoted_fail_names_row_column_and_problem() {
    let opts = CsvOptions {
        delimiter: b'|',
        unquoted: Unquoted::Fail,
        ..CsvOptions::default()
    };
    let e = write(opts.clone(), &two_columns(), &[two_rows(Some("a|b"))]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("row 2, column \"name\": the value contains the delimiter '|'"),
        "{msg}"
    );
    let e = write(opts.clone(), &two_columns(), &[two_rows(Some("x\ny"))]).unwrap_err();
    assert!(e.to_string().contains("a line break"), "{e}");
    let cols = [Column::new("say \"id\"", Kind::Text), Column::new("n", Kind::Text)];
    let e = write(opts, &cols, &[]).unwrap_err().to_string();
    assert!(
        e.starts_with("header row, column \"say \\\"id\\\"\": the value contains a double quote"),
        "{e}"
    );
}

#[test]
fn unquoted_fail_passes_clean_values_and_double_byte_trail_bytes() {
    let opts = CsvOptions {
        delimiter: b'|',
        unquoted: Unquoted::Fail,
        charset: Charset::parse("shift_jis").unwrap(),
        ..CsvOptions::default()
    };
    // ポ is 0x83 0x7C in Shift_JIS: a trail byte equal to '|'.
    let (bytes, rows) = write(opts, &two_columns(), &[two_rows(Some("ポ"))]).unwrap();
    assert_eq!(rows, 2);
    assert_eq!(bytes, b"id|name\r\n1|O'Brien\r\n2|\x83\x7C\r\n");
}

#[test]
fn unquoted_replace_flattens_the_value() {
    let opts = CsvOptions {
        delimiter: b'|',
        unquoted: Unquoted::Replace,
        line_ending: LineEnding::Lf,
        ..CsvOptions::default()
    };
    let value = "a|b\r\nc\"d\ne\rf,g";
    let (bytes, _) = write(opts, &two_columns(), &[two_rows(Some(value))]).unwrap();
    assert_eq!(bytes, b"id|name\n1|O'Brien\n2|a b c'd e f,g\n");
    // Transliteration happens first, so a curly quote is replaced too.
    let opts = CsvOptions {
        unquoted: Unquoted::Replace,
        charset: Charset::US_ASCII,
        header: false,
        ..CsvOptions::default()
    };
    let (bytes, _) = write(opts, &two_columns(), &[two_rows(Some("“x”, y"))]).unwrap();
    assert_eq!(bytes, b"1,O'Brien\r\n2,'x'  y\r\n");
}

#[test]
fn unmappable_fail_names_row_column_and_character() {
    let opts = CsvOptions {
        charset: Charset::US_ASCII,
        unmappable: Unmappable::Fail,
        ..CsvOptions::default()
    };
    let e = write(opts, &two_columns(), &[two_rows(Some("Renée"))]).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("row 2, column \"name\": the character 'é' (U+00E9) cannot be written in us-ascii"),
        "{msg}"
    );
}

#[test]
fn bom_is_written_first_for_utf8() {
    let opts = CsvOptions {
        bom: true,
        ..CsvOptions::default()
    };
    let (bytes, _) = write(opts, &two_columns(), &[]).unwrap();
    assert_eq!(bytes, b"\xEF\xBB\xBFid,name\r\n");
    let bad = CsvOptions {
        bom: true,
        charset: Charset::parse("windows-1252").unwrap(),
        ..CsvOptions::default()
    };
    assert!(matches!(
        DelimitedWriter::new(Vec::new(), bad),
        Err(FormatError::BomNeedsUtf8("windows-1252"))
    ));
}

#[test]
fn windows_1252_writes_single_bytes() {
    let opts = CsvOptions {
        charset: Charset::parse("windows-1252").unwrap(),
        header: false,
        ..CsvOptions::default()
    };
    let (bytes, _) = write(opts, &two_columns(), &[two_rows(Some("é"))]).unwrap();
    assert_eq!(bytes, b"1,O'Brien\r\n2,\xE9\r\n");
}

#[test]
fn misuse_is_reported_not_written() {
    let mut w = DelimitedWriter::new(Vec::new(), CsvOptions::default()).unwrap();
    assert!(matches!(
        w.write_batch(&two_rows(None)),
        Err(FormatError::OutOfOrder(_))
    ));
    w.begin(&columns()).unwrap();
    let e = w.write_batch(&two_rows(None)).unwrap_err().to_string();
    assert_eq!(e, "a batch has 2 values per row but the file has 3 columns");
    w.finish().unwrap();
    assert!(w.finish().is_err());
}

#[test]
fn the_word_at_a_time_scan_finds_exactly_the_special_bytes() {
    for delimiter in [b',', b'\t', b'|', b'~', b'a'] {
        let specials = Specials::new(delimiter);
        for len in 0..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut field = vec![b'x'; len];
                    field[at] = b;
                    let want = b == delimiter || matches!(b, b'"' | b'\r' | b'\n');
                    assert_eq!(specials.any(&field), want, "{delimiter} {len} {at} {b}");
                    assert_eq!(specials.any_quote(&field), b == b'"', "{delimiter} {len} {at} {b}");
                }
            }
        }
    }
}
