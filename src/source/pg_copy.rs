//! The PostgreSQL fast path: `COPY (query) TO STDOUT (FORMAT binary)`.
//!
//! COPY's binary format carries each value in the same binary form as a
//! result row of the extended protocol, so the values go through the same
//! renderer ([`super::pg_values`]) and the file comes out byte for byte the
//! same; what is saved is the driver's work per row and per value. COPY takes
//! no bind parameters, so the script's values are written into the SQL as
//! typed literals, of the same types the generic path binds them with.

use std::collections::BTreeMap;

use super::params::replace_placeholders;
use super::pg_values::{render_value, Decoder};
use super::{BatchSender, Dialect, Param, SourceError};

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// The COPY statement for `sql`, or `None` when the query is not a plain
/// read (SELECT, WITH, VALUES, TABLE) that COPY can wrap.
pub(crate) fn copy_statement(sql: &str, params: &BTreeMap<String, Param>) -> Option<String> {
    let body = sql.trim_end().trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    if body.contains(';') {
        return None;
    }
    let keyword = leading_keyword(body).to_ascii_lowercase();
    if !matches!(keyword.as_str(), "select" | "with" | "values" | "table") {
        return None;
    }
    let mut missing = false;
    let inlined = replace_placeholders(body, Dialect::Postgres, |name, out| match params.get(name) {
        Some(p) => literal(p, out),
        None => missing = true,
    });
    // A newline before the parenthesis ends a trailing `--` comment.
    (!missing).then(|| format!("COPY (\n{inlined}\n) TO STDOUT (FORMAT binary)"))
}

/// The first word of the SQL after spaces, comments and opening brackets.
fn leading_keyword(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(line) = trimmed.strip_prefix("--") {
            rest = line.split_once('\n').map_or("", |(_, r)| r);
        } else if let Some(block) = trimmed.strip_prefix("/*") {
            rest = block.split_once("*/").map_or("", |(_, r)| r);
        } else {
            let end = trimmed
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(trimmed.len());
            return &trimmed[..end];
        }
    }
}

/// A parameter as a SQL literal of the type the generic path binds it as
/// (`int8`, `float8`, `bool`, `text`, `date`; NULL untyped), in brackets so that no
/// neighbouring character can change how it reads.
fn literal(p: &Param, out: &mut String) {
    out.push('(');
    match p {
        Param::Null => out.push_str("NULL"),
        Param::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Param::Int(i) => {
            out.push('\'');
            out.push_str(itoa::Buffer::new().format(*i));
            out.push_str("'::int8");
        }
        Param::Float(f) => {
            let text = if f.is_nan() {
                "NaN".to_string()
            } else if f.is_infinite() {
                (if *f > 0.0 { "Infinity" } else { "-Infinity" }).to_string()
            } else {
                format!("{f:?}")
            };
            out.push('\'');
            out.push_str(&text);
            out.push_str("'::float8");
        }
        Param::Date(d) => {
            out.push('\'');
            super::render::date(out, *d);
            out.push_str("'::date");
        }
        Param::Text(s) => {
            // An escape string: backslash and quote are the only specials,
            // whatever standard_conforming_strings says.
            out.push_str("E'");
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("''"),
                    c => out.push(c),
                }
            }
            out.push_str("'::text");
        }
    }
    out.push(')');
}

/// Reads COPY's binary stream, whatever the chunking, into batches.
pub(crate) struct CopyReader<'d> {
    decoders: &'d [Decoder],
    /// The columns' names, for errors.
    names: &'d [String],
    /// Bytes of an incomplete tuple (or header) carried to the next chunk.
    carry: Vec<u8>,
    header_done: bool,
    /// The trailer (-1) has been read.
    pub(crate) done: bool,
}

fn bad(message: impl std::fmt::Display) -> SourceError {
    SourceError::Query {
        message: format!("unexpected COPY data from PostgreSQL: {message}"),
    }
}

impl<'d> CopyReader<'d> {
    /// A reader of rows of the given columns' decoders.
    pub(crate) fn new(decoders: &'d [Decoder], names: &'d [String]) -> Self {
        CopyReader {
            decoders,
            names,
            carry: Vec::new(),
            header_done: false,
            done: false,
        }
    }

    /// Renders every complete tuple of `chunk` (after any carried bytes)
    /// into `out`'s batch; returns the rows added.
    pub(crate) fn feed(&mut self, chunk: &[u8], out: &mut BatchSender) -> Result<usize, SourceError> {
        if self.carry.is_empty() {
            let used = self.parse(chunk, out)?;
            self.carry.extend_from_slice(&chunk[used.1..]);
            Ok(used.0)
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            let used = self.parse(&data, out)?;
            data.drain(..used.1);
            self.carry = data;
            Ok(used.0)
        }
    }

    /// Parses from `data`: (rows, bytes consumed).
    fn parse(&mut self, data: &[u8], out: &mut BatchSender) -> Result<(usize, usize), SourceError> {
        let mut at = 0;
        if !self.header_done {
            let fixed = SIGNATURE.len() + 8;
            if data.len() < fixed {
                return Ok((0, 0));
            }
            if !data.starts_with(SIGNATURE) {
                return Err(bad("no PGCOPY signature"));
            }
            let ext = u32::from_be_bytes(data[fixed - 4..fixed].try_into().unwrap_or_default()) as usize;
            if data.len() < fixed + ext {
                return Ok((0, 0));
            }
            at = fixed + ext;
            self.header_done = true;
        }
        let width = self.decoders.len();
        let mut rows = 0;
        while !self.done {
            let Some(tuple) = tuple_len(&data[at..], width)? else {
                break;
            };
            let Some(end) = tuple else {
                self.done = true;
                at += 2;
                break;
            };
            self.render_tuple(&data[at + 2..at + end], out)?;
            at += end;
            rows += 1;
        }
        Ok((rows, at))
    }

    fn render_tuple(&self, mut b: &[u8], out: &mut BatchSender) -> Result<(), SourceError> {
        let batch = out.batch();
        for (i, &d) in self.decoders.iter().enumerate() {
            let len = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            b = &b[4..];
            if len < 0 {
                batch.push_null();
                continue;
            }
            let (value, rest) = b.split_at(len as usize);
            b = rest;
            render_value(d, value, batch.text()).map_err(|e| SourceError::unreadable(self.names, i, e))?;
            batch.end_cell();
        }
        Ok(())
    }
}

/// The length of the tuple starting `data` (field count included), checked
/// to be complete: `Ok(None)` when more bytes are needed, `Some(None)` for
/// the trailer.
fn tuple_len(data: &[u8], width: usize) -> Result<Option<Option<usize>>, SourceError> {
    let Some(count) = data.get(..2) else {
        return Ok(None);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Some(None));
    }
    if count as usize != width {
        return Err(bad(format!("a row of {count} values for {width} columns")));
    }
    let mut at = 2;
    for _ in 0..width {
        let Some(len) = data.get(at..at + 4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4 + usize::try_from(len).unwrap_or(0);
        if at > data.len() {
            return Ok(None);
        }
    }
    Ok(Some(Some(at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_reads_are_wrapped() {
        let none = BTreeMap::new();
        let c = copy_statement("  -- roster\n(SELECT 1) ; \n", &none).unwrap();
        assert_eq!(c, "COPY (\n  -- roster\n(SELECT 1)\n) TO STDOUT (FORMAT binary)");
        assert!(copy_statement("WITH a AS (SELECT 1) SELECT * FROM a -- end", &none).is_some());
        assert!(copy_statement("SHOW search_path", &none).is_none());
        assert!(copy_statement("DELETE FROM t RETURNING id", &none).is_none());
        assert!(copy_statement("SELECT 1; SELECT 2", &none).is_none());
        assert!(copy_statement("SELECT :missing", &none).is_none());
    }

    #[test]
    fn parameters_become_typed_literals() {
        let params: BTreeMap<String, Param> = [
            ("t".to_string(), Param::Text("it's \\ ok".into())),
            ("i".to_string(), Param::Int(-5)),
            ("f".to_string(), Param::Float(0.1)),
            ("b".to_string(), Param::Bool(true)),
            ("n".to_string(), Param::Null),
            (
                "d".to_string(),
                Param::Date(chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap()),
            ),
        ]
        .into();
        let c = copy_statement(
            "SELECT 1 WHERE x-:i > 0 AND :t <> '' AND :f::text <> ':no' AND :b OR :n OR :d",
            &params,
        );
        assert_eq!(
            c.unwrap(),
            "COPY (\nSELECT 1 WHERE x-('-5'::int8) > 0 AND (E'it''s \\\\ ok'::text) <> '' AND \
             ('0.1'::float8)::text <> ':no' AND (true) OR (NULL) OR ('2026-08-01'::date)\n) TO STDOUT (FORMAT binary)"
        );
    }

    #[test]
    fn tuples_are_found_whatever_the_chunking() {
        let mut stream = SIGNATURE.to_vec();
        stream.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        for v in [Some(&b"ab"[..]), None] {
            stream.extend_from_slice(&1i16.to_be_bytes());
            match v {
                Some(b) => {
                    stream.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    stream.extend_from_slice(b);
                }
                None => stream.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        stream.extend_from_slice(&(-1i16).to_be_bytes());
        let body = &stream[SIGNATURE.len() + 8..];
        assert_eq!(tuple_len(body, 1).unwrap(), Some(Some(8)));
        assert_eq!(tuple_len(&body[..7], 1).unwrap(), None);
        assert_eq!(tuple_len(&body[8..], 1).unwrap(), Some(Some(6)));
        assert_eq!(tuple_len(&body[14..], 1).unwrap(), Some(None));
        assert!(tuple_len(body, 2).is_err());
    }
}
